// The shared filter compiler. Operator behaviour is tabular, so it lives in data files: one per
// operator family under tests/core/data/filter/, each with a "covers" header, "targets", the field
// layout, default documents and cases ({"filter", "expected": [ids]} or {"filter", "error": {"code",
// "message"}}, optionally with their own "documents"). Every case runs against a real table through CompileFilter (with the document
// store's fields, or the typed columns and prefixed JSON column the file declares) and, when the file
// targets "document", through DocumentStore::Query and Count as well, so the store's path over the
// same compiler is covered. The C++ tests below check what a table cannot show: the SQL text holds
// no user text, fields render as the index expression, and which conjuncts are prunable.
#include "core/filter_compiler.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/database_internals.h"
#include "document/query_compiler.h"
#include "dotdo/document.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using internal::ColumnField;
using internal::CompiledFilter;
using internal::CompileFilter;
using internal::FieldResolver;
using internal::JsonColumnFields;
using internal::PrunableTerm;
using internal::SqlValue;
using internal::ValueKind;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;
using Ids = std::vector<std::string>;

const std::filesystem::path kCaseDir = std::filesystem::path(DOTDO_TEST_DATA_DIR) / "filter";

std::vector<std::string> CaseFileNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kCaseDir, ec))
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

Json LoadCaseFile(const std::string& name) {
  std::ifstream in(kCaseDir / (name + ".json"));
  return Json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// A parameter as JSON, for comparisons and readable failures: {"int": 1}, {"real": 1.5}, "text", null.
Json Param(const SqlValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return {{"int", *i}};
  if (const auto* d = std::get_if<double>(&v)) return {{"real", *d}};
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (std::holds_alternative<internal::SqlBlob>(v)) return {{"blob", std::get<internal::SqlBlob>(v).bytes}};
  return nullptr;
}

// The fields a case file declares: "document" (the document store's own), or a layout over the test
// table {"columns": [[field, column, kind], ...], "json_column": "data", "json_prefix": "meta."}
// whose typed columns are id, size, ratio, at and label.
const FieldResolver& DeclaredFields(const Json& spec) {
  if (spec == "document") return internal::DocumentFields();
  static std::map<std::string, std::unique_ptr<JsonColumnFields>> declared;
  std::unique_ptr<JsonColumnFields>& fields = declared[spec.dump()];
  if (fields == nullptr) {
    static const std::map<std::string, ValueKind> kKinds = {
        {"text", ValueKind::kText}, {"integer", ValueKind::kInteger}, {"real", ValueKind::kReal}, {"time", ValueKind::kTime}};
    static const std::set<std::string> kTableColumns = {"id", "size", "ratio", "at", "label"};
    std::vector<ColumnField> columns;
    for (const Json& c : spec.value("columns", Json::array())) {
      const std::string column = c.at(1), kind = c.at(2);
      EXPECT_TRUE(kTableColumns.count(column)) << "the test table has no column " << column;
      EXPECT_TRUE(kKinds.count(kind)) << "unknown value kind " << kind;
      columns.push_back({c.at(0), column, kKinds.count(kind) ? kKinds.at(kind) : ValueKind::kText});
    }
    fields = std::make_unique<JsonColumnFields>(std::move(columns), spec.value("json_column", "data"),
                                                spec.value("json_prefix", ""));
  }
  return *fields;
}

// The typed-column layout of columns.json.
const FieldResolver& TypedColumnFields() { return DeclaredFields(LoadCaseFile("columns").at("fields")); }

std::optional<StatusCode> CodeNamed(std::string_view name) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kDataLoss); ++c)
    if (StatusCodeName(static_cast<StatusCode>(c)) == name) return static_cast<StatusCode>(c);
  return std::nullopt;
}

// A plain table holding the documents: their ids and system values, typed columns filled from the
// top-level fields of the same names, and the whole document as JSONB.
class FilterTable {
 public:
  explicit FilterTable(const Json& documents) {
    auto& conn = internal::DatabaseInternals::Conn(*db_);
    EXPECT_THAT(conn.Exec("CREATE TABLE filter_rows(seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, "
                          "version INTEGER NOT NULL, size INTEGER, ratio REAL, at INTEGER, label TEXT, "
                          "data BLOB NOT NULL)"),
                IsOk());
    for (const Json& d : documents) {
      auto st = conn.Prepare("INSERT INTO filter_rows(id, type, version, size, ratio, at, label, data) "
                             "VALUES (?1, 'T', 1, ?2, ?3, ?4, ?5, jsonb(?6))");
      EXPECT_THAT(st, IsOk());
      if (!st.ok()) return;
      st->Bind(1, d["$id"].get<std::string>());
      int i = 2;
      for (const char* column : {"size", "ratio", "at", "label"}) st->Bind(i++, internal::ToSqlValue(d.value(column, Json())));
      st->Bind(6, d.dump());
      EXPECT_THAT(st->Run(), IsOk());
    }
  }

  Result<Ids> Matching(const Json& filter, const FieldResolver& fields) {
    DOTDO_ASSIGN_OR_RETURN(CompiledFilter f, CompileFilter(filter, fields));
    auto& conn = internal::DatabaseInternals::Conn(*db_);
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.PrepareUncached("SELECT id FROM filter_rows WHERE " + f.sql + " ORDER BY seq"));
    st.BindValues(f.params);
    Ids out;
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(st.ColumnString(0));
    }
    return out;
  }

 private:
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb();
};

// The same documents in a DocumentStore, as type "T"; with `indexes`, an index and statistics on
// each of those paths first (so every write maintains them, arrays included).
class FilterDocuments {
 public:
  explicit FilterDocuments(const Json& documents, const Json& indexes = Json::array()) {
    for (const Json& path : indexes) {
      EXPECT_THAT(store_.CreateIndex("T", path.get<std::string>()), IsOk()) << path;
      EXPECT_THAT(store_.ConfigureStats("T", path.get<std::string>()), IsOk()) << path;
    }
    for (Json d : documents) {
      d["$type"] = "T";
      EXPECT_THAT(store_.Create(d), IsOk()) << d.dump();
    }
  }

  // Ids that Query returns; Count must agree with their number.
  Result<Ids> Matching(const Json& filter) {
    DocumentQueryOptions q;
    q.type = "T";
    q.where = filter;
    q.limit = 1000;
    DOTDO_ASSIGN_OR_RETURN(auto page, store_.Query(q));
    Ids out;
    for (const Json& d : page.items) out.push_back(d["$id"]);
    DOTDO_ASSIGN_OR_RETURN(int64_t n, store_.Count("T", filter));
    if (n != static_cast<int64_t>(out.size()))
      return InternalError("Count says " + std::to_string(n) + ", Query returned " + std::to_string(out.size()));
    return out;
  }

  Status CountStatus(const Json& filter) { return store_.Count("T", filter).status(); }

 private:
  ManualClock clock_;
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
  DocumentStore store_{*db_};
};

class FilterCaseFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FilterCaseFileTest, EveryCaseMatchesTheExpectedIdsOrFailsWithTheExpectedError) {
  const Json file = LoadCaseFile(GetParam());
  ASSERT_TRUE(file.is_object()) << GetParam() << ".json is not a JSON object";
  ASSERT_TRUE(file.contains("covers") && file["covers"].is_string() && !file["covers"].get<std::string>().empty())
      << "every case file says what it covers";
  ASSERT_TRUE(file["targets"].is_array());
  const bool through_store =
      std::find(file["targets"].begin(), file["targets"].end(), Json("document")) != file["targets"].end();
  ASSERT_TRUE(file["fields"] == "document" || file["fields"].is_object()) << file["fields"];
  ASSERT_FALSE(through_store && file["fields"] != "document") << "DocumentStore has the document field layout only";
  const FieldResolver& fields = DeclaredFields(file["fields"]);
  ASSERT_TRUE(file["cases"].is_array() && !file["cases"].empty());

  FilterTable table(file["documents"]);
  std::optional<FilterDocuments> store, indexed;
  if (through_store) store.emplace(file["documents"]);
  if (through_store && file.contains("indexes")) indexed.emplace(file["documents"], file["indexes"]);
  for (const Json& c : file["cases"]) {
    ASSERT_TRUE(c.contains("name") && c.contains("filter") && (c.contains("expected") != c.contains("error"))) << c.dump();
    SCOPED_TRACE(GetParam() + ".json: " + c["name"].get<std::string>() + " " + c["filter"].dump().substr(0, 200));
    const Json& filter = c["filter"];
    // A case with its own "documents" runs over those instead of the file's.
    std::optional<FilterTable> own_table;
    std::optional<FilterDocuments> own_store;
    FilterTable* rows = &table;
    FilterDocuments* docs = store ? &*store : nullptr;
    if (c.contains("documents")) {
      rows = &own_table.emplace(c["documents"]);
      if (store) docs = &own_store.emplace(c["documents"]);
    }
    if (c.contains("expected")) {
      const Ids expected = c["expected"].get<Ids>();
      Result<Ids> got = rows->Matching(filter, fields);
      ASSERT_THAT(got, IsOk());
      EXPECT_EQ(*got, expected) << "table";
      if (docs != nullptr) {
        Result<Ids> from_store = docs->Matching(filter);
        ASSERT_THAT(from_store, IsOk());
        EXPECT_EQ(*from_store, expected) << "DocumentStore";
      }
      if (indexed && !c.contains("documents")) {
        Result<Ids> from_indexed = indexed->Matching(filter);
        ASSERT_THAT(from_indexed, IsOk());
        EXPECT_EQ(*from_indexed, expected) << "DocumentStore with indexes and statistics";
      }
      continue;
    }
    std::optional<StatusCode> code = CodeNamed(c["error"]["code"].get<std::string>());
    ASSERT_TRUE(code.has_value()) << "unknown status code name " << c["error"]["code"];
    const std::string message = c["error"]["message"];
    EXPECT_THAT(rows->Matching(filter, fields), StatusIs(*code, message)) << "table";
    if (docs != nullptr) {
      EXPECT_THAT(docs->Matching(filter), StatusIs(*code, message)) << "DocumentStore::Query";
      EXPECT_THAT(docs->CountStatus(filter), StatusIs(*code, message)) << "DocumentStore::Count";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Files, FilterCaseFileTest, ::testing::ValuesIn(CaseFileNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(FilterCaseFilesTest, EveryOperatorFamilyHasItsFileAndTheTableStaysBroad) {
  const std::vector<std::string> names = CaseFileNames();
  for (const char* family : {"comparison", "in", "logical", "exists", "like", "errors", "columns", "arrays", "regex"})
    EXPECT_NE(std::find(names.begin(), names.end(), family), names.end()) << family;
  size_t cases = 0, errors = 0;
  for (const std::string& name : names) {
    const Json file = LoadCaseFile(name);
    ASSERT_TRUE(file.is_object()) << name;
    for (const Json& c : file["cases"]) {
      ++cases;
      errors += c.contains("error");
    }
  }
  EXPECT_GE(cases, 200u);
  EXPECT_GE(errors, 80u);
}

TEST(FilterCompilerTest, SqlTextHoldsOnlyPlaceholdersForValues) {
  const std::string evil = "x'); DROP TABLE filter_rows; --";
  const Json where = {{"name", evil}, {"tag", {{"$in", {evil, 1}}}}, {"note", {{"$like", evil}}}, {"n", {{"$gt", 3}}}};
  DOTDO_ASSERT_OK_AND_ASSIGN(CompiledFilter f, CompileFilter(where, internal::DocumentFields()));
  EXPECT_EQ(f.sql.find("DROP"), std::string::npos) << f.sql;
  EXPECT_EQ(std::count(f.sql.begin(), f.sql.end(), '?'), 13) << f.sql;
  // Parameters follow the "?" in the text; the object's keys are visited in sorted order. Each JSON
  // term first binds its path and condition for rows whose path holds an array (dotdo_match).
  Json params = Json::array();
  for (const SqlValue& v : f.params) params.push_back(Param(v));
  EXPECT_EQ(params, Json({"n", R"({"$gt":3})", {{"int", 3}},
                          "name", Json({{"$eq", evil}}).dump(), evil,
                          "note", Json({{"$like", evil}}).dump(), evil,
                          "tag", Json({{"$in", {evil, 1}}}).dump(), evil, {{"int", 1}}}));
  // Without the array check (an index path vouched array-free) only the values are bound.
  const std::set<std::string> scalar = {"n", "name", "note", "tag"};
  DOTDO_ASSERT_OK_AND_ASSIGN(CompiledFilter plain, CompileFilter(where, internal::DocumentFields(), &scalar));
  EXPECT_EQ(plain.sql.find("dotdo_match"), std::string::npos) << plain.sql;
  EXPECT_EQ(plain.params.size(), 5u);
}

TEST(FilterCompilerTest, FieldsRenderAsTheExpressionAnIndexUses) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto path, internal::DocumentFields().Resolve("tags.0"));
  EXPECT_EQ(path.Expression(), "json_extract(data, '$.\"tags\"[0]')");
  EXPECT_EQ(path.name, "tags.0");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto column, internal::DocumentFields().Resolve("$version"));
  EXPECT_EQ(column.Expression(), "version");
  EXPECT_FALSE(column.is_json());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto meta, TypedColumnFields().Resolve("meta.owner.name"));
  EXPECT_EQ(meta.name, "meta.owner.name");
  EXPECT_EQ(meta.Expression(), "json_extract(data, '$.\"owner\".\"name\"')");
  // Every operator compares that same expression, byte for byte.
  for (const Json& op : {Json(7), Json{{"$gte", 1}}, Json{{"$lt", "x"}}, Json{{"$in", {1, 2}}}, Json{{"$like", "a%"}}}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(CompiledFilter f, CompileFilter({{"tags.0", op}}, internal::DocumentFields()));
    EXPECT_NE(f.sql.find(path.Expression() + " "), std::string::npos) << f.sql;
  }
}

TEST(FilterCompilerTest, OnlyTopLevelConjunctsOnJsonFieldsArePrunable) {
  const Json where = {{"a", 1},
                      {"b", {{"$in", {1, 2}}}},
                      {"c", {{"$gt", 3}, {"$lte", "z"}}},
                      {"$and", {{{"d", {{"$gte", 4}}}}}},
                      {"$or", {{{"e", 1}}}},
                      {"$not", {{"f", 1}}},
                      {"$id", "x"},
                      {"g", true},
                      {"h", nullptr},
                      {"i", {{"$ne", 1}, {"$nin", {1}}, {"$like", "x"}, {"$exists", true}}}};
  DOTDO_ASSERT_OK_AND_ASSIGN(CompiledFilter f, CompileFilter(where, internal::DocumentFields()));
  std::vector<std::pair<std::string, PrunableTerm::Op>> got;
  for (const PrunableTerm& t : f.prunable) got.emplace_back(t.path, t.op);
  const std::vector<std::pair<std::string, PrunableTerm::Op>> want = {
      {"d", PrunableTerm::Op::kGte}, {"a", PrunableTerm::Op::kEq}, {"b", PrunableTerm::Op::kIn},
      {"c", PrunableTerm::Op::kGt},  {"c", PrunableTerm::Op::kLte}};
  EXPECT_EQ(got, want);
  ASSERT_EQ(f.prunable.size(), want.size());
  EXPECT_EQ(f.prunable[2].values, (std::vector<Json>{1, 2}));
  // Prunable paths are relative to the JSON column, without a store's field prefix.
  DOTDO_ASSERT_OK_AND_ASSIGN(CompiledFilter meta, CompileFilter({{"meta.w", 5}, {"size", 5}}, TypedColumnFields()));
  ASSERT_EQ(meta.prunable.size(), 1u);
  EXPECT_EQ(meta.prunable[0].path, "w");
}

TEST(FilterCompilerTest, NullAndEmptyFiltersMatchEverything) {
  for (const Json& where : {Json(), Json::object(), Json{{"$and", {Json::object()}}}}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(CompiledFilter f, CompileFilter(where, internal::DocumentFields()));
    EXPECT_EQ(f.sql, "1") << where.dump();
    EXPECT_TRUE(f.params.empty());
  }
}

TEST(FilterCompilerTest, ToSqlValueKeepsIntegersExactAndBooleansAsNumbers) {
  EXPECT_EQ(Param(internal::ToSqlValue(true)), Json({{"int", 1}}));
  EXPECT_EQ(Param(internal::ToSqlValue(false)), Json({{"int", 0}}));
  EXPECT_EQ(Param(internal::ToSqlValue(9007199254740993)), Json({{"int", 9007199254740993}}));
  EXPECT_EQ(Param(internal::ToSqlValue(18446744073709551615u)), Json({{"real", 18446744073709551615.0}}));
  EXPECT_EQ(Param(internal::ToSqlValue(1.5)), Json({{"real", 1.5}}));
  EXPECT_EQ(Param(internal::ToSqlValue("s")), Json("s"));
  EXPECT_EQ(Param(internal::ToSqlValue(nullptr)), Json());
}

TEST(FilterCompilerTest, ResolversRejectUnknownFieldsWithTheFieldsTheyKnow) {
  EXPECT_THAT(TypedColumnFields().Resolve("weight"),
              StatusIs(StatusCode::kInvalidArgument, "use id, size, ratio, at, label or meta.<path>"));
  EXPECT_THAT(internal::DocumentFields().Resolve("$deleted"),
              StatusIs(StatusCode::kInvalidArgument, "($id, $type, $version, $createdAt, $updatedAt)"));
  DOTDO_EXPECT_OK(internal::DocumentFields().Resolve("$createdAt"));
  EXPECT_THAT(internal::DocumentFields().Resolve("a..b"), StatusIs(StatusCode::kInvalidArgument, "invalid path"));
}

}  // namespace
}  // namespace dotdo
