// Differential test of ColumnarStore filters: 10,000 random predicates over JSON paths with nulls,
// missing values, mixed types, booleans beside numbers and arrays (of scalars and of objects, on
// subcolumn paths and across their prefixes) give the same records (1) with chunk pruning, (2) as a full scan
// (the same filter under $not/$not, which the accelerator never prunes), (3) as a plain SQLite row
// table filtered by the platform filter compiler's SQL (the oracle: MongoDB's semantics, with the
// platform evaluator behind dotdo_match), and — for the predicates over the
// consistently typed paths — (4) as DuckDB over the same data, with the filter written in SQL.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "columnar/columnar_internal.h"
#include "core/json_path.h"
#include "core/database_internals.h"
#include "core/filter_compiler.h"
#include "core/json.h"
#include "dotdo/columnar.h"
#include "sqlite/connection.h"
#include "testing/test_util.h"

#ifdef DOTDO_HAVE_DUCKDB
#include <duckdb.h>
#endif

namespace dotdo {
namespace {

constexpr int64_t kT0 = 1'767'225'600'000;
constexpr int64_t kDay = 86'400'000;
constexpr int kRecords = 600;

const char* kStrings[] = {"a", "b", "ab", "B", "", "%x_", "zz", "paid"};

Json RandomMixed(std::mt19937& rng) {
  switch (rng() % 8) {
    case 0: return nullptr;
    case 1: return static_cast<int>(rng() % 11) - 5;
    case 2: return (static_cast<int>(rng() % 21) - 10) / 4.0;
    case 3: return rng() % 2 == 0;
    default: return kStrings[rng() % 8];
  }
}

struct Data {
  std::vector<ColumnarRecord> records;
};

// Batches whose paths are consistent in some chunks and mixed in others.
Data MakeData(std::mt19937& rng) {
  Data d;
  for (int i = 0; i < kRecords; ++i) {
    const int phase = (i / 50) % 4;
    Json data = Json::object();
    if (rng() % 5) data["t_s"] = kStrings[rng() % 8];
    if (rng() % 5) data["t_n"] = static_cast<int>(rng() % 100) - 20 + phase * 30;
    if (rng() % 5) data["t_d"] = (static_cast<int>(rng() % 400) - 100) / 8.0;
    if (rng() % 3) data["m"] = phase == 0 ? Json(static_cast<int>(rng() % 9)) : RandomMixed(rng);
    if (rng() % 4) data["o"] = {{"p", phase < 2 ? Json(static_cast<int>(rng() % 7)) : RandomMixed(rng)}};
    if (rng() % 9 == 0) data["rare"] = RandomMixed(rng);
    // Arrays (they stay in `_rest`): on a path that is a subcolumn elsewhere, across a prefix of
    // one (o.p through an array of objects), and on a path of their own.
    if (phase == 3 && rng() % 3 == 0) data["m"] = Json::array({RandomMixed(rng), RandomMixed(rng)});
    if (phase >= 2 && rng() % 4 == 0)
      data["o"] = Json::array({{{"p", RandomMixed(rng)}}, {{"p", RandomMixed(rng)}}, RandomMixed(rng)});
    if (rng() % 2) {
      Json arr = Json::array();
      for (int k = 0, n = static_cast<int>(rng() % 4); k < n; ++k)
        arr.push_back(rng() % 3 ? RandomMixed(rng) : Json{{"q", RandomMixed(rng)}});
      data["arr"] = arr;
    } else if (rng() % 3 == 0) {
      data["arr"] = RandomMixed(rng);
    }
    d.records.push_back({.id = "id" + std::to_string(1000 + i), .type = "R", .data = data,
                         .created_at = kT0 + (i / 75) * kDay + i});
  }
  return d;
}

Json RandomValue(std::mt19937& rng, const std::string& field, bool typed) {
  if (field == "$id") return "id" + std::to_string(1000 + rng() % kRecords);
  if (field == "$createdAt") return kT0 + static_cast<int64_t>(rng() % 9) * kDay + static_cast<int64_t>(rng() % kRecords);
  if (field == "t_s") return kStrings[rng() % 8];
  if (field == "t_n") return static_cast<int>(rng() % 140) - 30;
  if (field == "t_d") return (static_cast<int>(rng() % 400) - 100) / 8.0;
  if (typed) return 0;
  return RandomMixed(rng);
}

// A range operand: a number, a string or a boolean.
Json RandomBound(std::mt19937& rng, const std::string& field, bool typed) {
  const Json v = RandomValue(rng, field, typed);
  return v.is_null() ? Json(static_cast<int>(rng() % 9)) : v;
}

// The operators only JSON fields take: $regex, $type, $size, $all, $elemMatch, field-level $not.
Json RandomJsonOnlyTerm(std::mt19937& rng, const std::string& field) {
  static const char* kRegex[] = {"^a", "b$", "A", "^$", "x_", "^(a|zz)$"};
  static const char* kTypes[] = {"number", "double", "int", "string", "bool", "null", "array", "object"};
  switch (rng() % 8) {
    case 0: {
      Json c = {{"$regex", kRegex[rng() % 6]}};
      if (rng() % 2) c["$options"] = "i";
      return {{field, c}};
    }
    case 1: return {{field, {{"$type", kTypes[rng() % 8]}}}};
    case 2: return {{field, {{"$size", static_cast<int>(rng() % 4)}}}};
    case 3: return {{field, {{"$all", Json::array({RandomMixed(rng), RandomMixed(rng)})}}}};
    case 4: return {{field, {{"$elemMatch", {{"$gte", RandomBound(rng, field, false)}}}}}};
    case 5: return {{field, {{"$elemMatch", {{"q", RandomMixed(rng)}}}}}};
    case 6: return {{field, {{"$not", {{"$gt", RandomBound(rng, field, false)}}}}}};
    default: return {{field, Json::array({RandomMixed(rng), RandomMixed(rng)})}};  // whole-array equality
  }
}

Json RandomTerm(std::mt19937& rng, bool typed) {
  static const std::vector<std::string> kTyped = {"t_s", "t_n", "t_d", "$id", "$createdAt"};
  static const std::vector<std::string> kAll = {"t_s", "t_n", "t_d", "m",   "o.p",     "o",     "rare",
                                                "arr", "arr.q", "arr.0", "missing", "$id", "$createdAt"};
  const std::string field = typed ? kTyped[rng() % kTyped.size()] : kAll[rng() % kAll.size()];
  const bool text = field == "t_s" || field == "$id";
  if (!typed && field[0] != '$' && rng() % 4 == 0) return RandomJsonOnlyTerm(rng, field);
  switch (rng() % 11) {
    case 0: return {{field, RandomValue(rng, field, typed)}};
    case 1: return {{field, {{"$ne", RandomValue(rng, field, typed)}}}};
    case 2: return {{field, {{"$gt", RandomBound(rng, field, typed)}}}};
    case 3: return {{field, {{"$gte", RandomBound(rng, field, typed)}}}};
    case 4: return {{field, {{"$lt", RandomBound(rng, field, typed)}}}};
    case 5: return {{field, {{"$lte", RandomBound(rng, field, typed)}, {"$gt", RandomBound(rng, field, typed)}}}};
    case 6:
    case 7: {
      Json list = Json::array();
      for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i) list.push_back(RandomValue(rng, field, typed));
      return {{field, {{rng() % 2 ? "$in" : "$nin", list}}}};
    }
    case 8:
      if (field[0] == '$') return {{field, RandomValue(rng, field, typed)}};
      return {{field, {{"$exists", rng() % 2 == 0}}}};
    case 9:
      if (field == "$createdAt" || (typed && !text)) return {{field, {{"$ne", nullptr}}}};
      if (!typed && field[0] != '$' && rng() % 2) return {{field, rng() % 3 == 0 ? Json(nullptr) : Json(rng() % 2 == 0)}};
      if (field == "$id" && rng() % 2) return {{field, {{"$regex", rng() % 2 ? "^id10" : "5$"}}}};
      return {{field, {{"$like", std::vector<std::string>{"a%", "%b", "_", "%", "A_", "%x\\_"}[rng() % 6]}}}};
    default: return {{field, nullptr}};
  }
}

Json RandomFilter(std::mt19937& rng, bool typed, int depth = 0) {
  const int pick = depth >= 2 ? 0 : static_cast<int>(rng() % 6);
  if (pick <= 2) return RandomTerm(rng, typed);
  if (pick == 5) return {{"$not", RandomFilter(rng, typed, depth + 1)}};
  Json parts = Json::array();
  for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i) parts.push_back(RandomFilter(rng, typed, depth + 1));
  // $nor has no DuckDB rendering here; the typed predicates keep to $and / $or / $not.
  return {{pick == 3 ? "$and" : (!typed && rng() % 3 == 0) ? "$nor" : "$or", parts}};
}

std::set<std::string> Ids(const ColumnarQueryResult& r) {
  std::set<std::string> out;
  for (const auto& row : r.rows) out.insert(row.id);
  return out;
}

#ifdef DOTDO_HAVE_DUCKDB
std::string DuckLiteral(const Json& v) {
  if (v.is_string()) {
    std::string s = "'";
    for (char c : v.get<std::string>()) s += c == '\'' ? std::string("''") : std::string(1, c);
    return s + "'";
  }
  return internal::DumpJson(v);
}

std::string DuckColumn(const std::string& field) {
  return field == "$id" ? "id" : field == "$createdAt" ? "ts" : field;
}

// The filter in DuckDB SQL over typed columns (missing = NULL), three-valued logic as the
// platform compiler's SQL: NULL is false at the top and under $not.
std::string DuckSql(const Json& f) {
  std::vector<std::string> terms;
  for (auto it = f.begin(); it != f.end(); ++it) {
    const std::string& key = it.key();
    if (key == "$and" || key == "$or") {
      std::vector<std::string> parts;
      for (const Json& sub : it.value()) parts.push_back(DuckSql(sub));
      std::string s = "(";
      for (size_t i = 0; i < parts.size(); ++i) s += (i ? (key == "$and" ? " AND " : " OR ") : "") + parts[i];
      terms.push_back(s + ")");
      continue;
    }
    if (key == "$not") {
      terms.push_back("(NOT COALESCE(" + DuckSql(it.value()) + ", false))");
      continue;
    }
    const std::string c = DuckColumn(key);
    const Json ops = it.value().is_object() ? it.value() : Json{{"$eq", it.value()}};
    for (auto op = ops.begin(); op != ops.end(); ++op) {
      const std::string& o = op.key();
      const Json& v = op.value();
      if (o == "$eq") terms.push_back(v.is_null() ? c + " IS NULL" : c + " = " + DuckLiteral(v));
      else if (o == "$ne") terms.push_back(v.is_null() ? c + " IS NOT NULL" : c + " IS DISTINCT FROM " + DuckLiteral(v));
      else if (o == "$gt") terms.push_back(c + " > " + DuckLiteral(v));
      else if (o == "$gte") terms.push_back(c + " >= " + DuckLiteral(v));
      else if (o == "$lt") terms.push_back(c + " < " + DuckLiteral(v));
      else if (o == "$lte") terms.push_back(c + " <= " + DuckLiteral(v));
      else if (o == "$in" || o == "$nin") {
        std::string list;
        for (const Json& x : v) list += (list.empty() ? "" : ", ") + DuckLiteral(x);
        terms.push_back(o == "$in" ? c + " IN (" + list + ")" : "(" + c + " IS NULL OR " + c + " NOT IN (" + list + "))");
      } else if (o == "$exists") terms.push_back(c + (v.get<bool>() ? " IS NOT NULL" : " IS NULL"));
      else if (o == "$like") terms.push_back(c + " ILIKE " + DuckLiteral(v));
      else if (o == "$regex") terms.push_back("regexp_matches(" + c + ", " + DuckLiteral(v) + ")");  // RE2, partial
    }
  }
  if (terms.empty()) return "true";
  std::string s = "(";
  for (size_t i = 0; i < terms.size(); ++i) s += (i ? " AND " : "") + terms[i];
  return s + ")";
}

class DuckTable {
 public:
  explicit DuckTable(const Data& d) {
    EXPECT_EQ(duckdb_open(nullptr, &db_), DuckDBSuccess);
    EXPECT_EQ(duckdb_connect(db_, &con_), DuckDBSuccess);
    Exec("CREATE TABLE r (id VARCHAR, ts BIGINT, t_s VARCHAR, t_n BIGINT, t_d DOUBLE)");
    std::string sql = "INSERT INTO r VALUES ";
    for (size_t i = 0; i < d.records.size(); ++i) {
      const ColumnarRecord& r = d.records[i];
      auto get = [&](const char* k) { return r.data.contains(k) ? DuckLiteral(r.data[k]) : std::string("NULL"); };
      sql += (i ? ", (" : "(") + DuckLiteral(*r.id) + ", " + std::to_string(*r.created_at) + ", " + get("t_s") + ", " +
             get("t_n") + ", " + get("t_d") + ")";
    }
    Exec(sql);
  }
  ~DuckTable() {
    duckdb_disconnect(&con_);
    duckdb_close(&db_);
  }
  std::set<std::string> Ids(const Json& filter) {
    duckdb_result res;
    const std::string sql = "SELECT id FROM r WHERE COALESCE(" + DuckSql(filter) + ", false)";
    std::set<std::string> out;
    if (duckdb_query(con_, sql.c_str(), &res) != DuckDBSuccess) {
      ADD_FAILURE() << duckdb_result_error(&res) << " in " << sql;
      duckdb_destroy_result(&res);
      return out;
    }
    for (idx_t i = 0, n = duckdb_row_count(&res); i < n; ++i) {
      char* v = duckdb_value_varchar(&res, 0, i);
      out.insert(v);
      duckdb_free(v);
    }
    duckdb_destroy_result(&res);
    return out;
  }

 private:
  void Exec(const std::string& sql) {
    duckdb_result res;
    EXPECT_EQ(duckdb_query(con_, sql.c_str(), &res), DuckDBSuccess) << duckdb_result_error(&res);
    duckdb_destroy_result(&res);
  }
  duckdb_database db_ = nullptr;
  duckdb_connection con_ = nullptr;
};
#endif

TEST(ColumnarDifferentialTest, RandomPredicatesAgreeWithFullScanSqliteAndDuckDb) {
  std::mt19937 rng(2024);
  const Data d = MakeData(rng);
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.max_chunk_rows = 60, .subcolumn_threshold = 0.5, .bloom_columns = {"t_s", "m"}});
  // The same records in large chunks of small row groups (its own Database: Compact merges every
  // type's partitions): pruning inside chunks.
  auto grouped_db = testing::OpenMemoryDb(nullptr, "grouped");
  ColumnarStore grouped(*grouped_db, {.max_chunk_rows = 600, .row_group_rows = 16, .subcolumn_threshold = 0.5, .bloom_columns = {"t_s", "m"}});
  for (size_t b = 0; b < d.records.size(); b += 150) {
    std::vector<ColumnarRecord> batch(d.records.begin() + b, d.records.begin() + std::min(d.records.size(), b + 150));
    DOTDO_ASSERT_OK(col.InsertBatch(batch));
    DOTDO_ASSERT_OK(grouped.InsertBatch(batch));
  }
  DOTDO_ASSERT_OK(grouped.Compact());  // merges each partition into chunks of up to 600 rows
  // The same two stores read through lookup indexes (arrays, objects, mixed kinds, nulls, bools).
  const std::vector<std::string> lookups = {"t_s", "t_n", "arr.q", "m", "o.p", "o", "arr", "$id"};
  ColumnarStore indexed(*db, {.max_chunk_rows = 60, .subcolumn_threshold = 0.5, .bloom_columns = {"t_s", "m"}, .lookup_columns = lookups});
  ColumnarStore grouped_indexed(*grouped_db, {.max_chunk_rows = 600, .row_group_rows = 16, .subcolumn_threshold = 0.5,
                                              .bloom_columns = {"t_s", "m"}, .lookup_columns = lookups});
  int64_t lookup_rows = 0, lookups_used = 0;

  // The row table: one row per record, data as JSON, filtered by the compiled SQL.
  auto rows_db = testing::OpenMemoryDb(nullptr, "rows");
  internal::Connection& conn = internal::DatabaseInternals::Conn(*rows_db);
  DOTDO_ASSERT_OK(conn.Exec("CREATE TABLE r (id TEXT PRIMARY KEY, created_at INTEGER, data TEXT)"));
  for (const ColumnarRecord& r : d.records) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto st, conn.Prepare("INSERT INTO r VALUES (?1, ?2, ?3)"));
    st.BindAll(*r.id, *r.created_at, internal::DumpJson(r.data));
    DOTDO_ASSERT_OK(st.Run());
  }
#ifdef DOTDO_HAVE_DUCKDB
  DuckTable duck(d);
#endif
  int64_t pruned_chunks = 0, pruned_groups = 0, nonempty = 0, duck_checked = 0;
  for (int i = 0; i < 10000; ++i) {
    const bool typed = i % 2 == 0;
    const Json where = RandomFilter(rng, typed);
    SCOPED_TRACE(internal::DumpJson(where));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto pruned, col.Query({.type = "R", .where = where, .limit = 100000}));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto full, col.Query({.type = "R", .where = {{"$not", {{"$not", where}}}}, .limit = 100000}));
    ASSERT_EQ(full.scan.chunks_skipped, 0);
    pruned_chunks += pruned.scan.chunks_skipped;
    const std::set<std::string> got = Ids(pruned);
    ASSERT_EQ(got, Ids(full));
    if (i % 3 == 0) {
      DOTDO_ASSERT_OK_AND_ASSIGN(auto in_groups, grouped.Query({.type = "R", .where = where, .limit = 100000}));
      ASSERT_EQ(Ids(in_groups), got);
      pruned_groups += in_groups.scan.groups_skipped;
      DOTDO_ASSERT_OK_AND_ASSIGN(auto by_index, grouped_indexed.Query({.type = "R", .where = where, .limit = 100000}));
      ASSERT_EQ(by_index.rows, in_groups.rows);  // the same records, in the same order
    }
    DOTDO_ASSERT_OK_AND_ASSIGN(auto by_index, indexed.Query({.type = "R", .where = where, .limit = 100000}));
    ASSERT_EQ(by_index.rows, pruned.rows);
    lookup_rows += by_index.scan.lookup_rows;
    lookups_used += by_index.scan.lookup_rows > 0;
    DOTDO_ASSERT_OK_AND_ASSIGN(auto compiled, internal::CompileFilter(where, internal::ColumnarFields()));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto st, conn.Prepare("SELECT id FROM r WHERE " + compiled.sql));
    st.BindValues(compiled.params);
    std::set<std::string> expect;
    while (true) {
      DOTDO_ASSERT_OK_AND_ASSIGN(bool row, st.Step());
      if (!row) break;
      expect.insert(st.ColumnString(0));
    }
    ASSERT_EQ(got, expect);
    nonempty += !got.empty() && got.size() < static_cast<size_t>(kRecords);
#ifdef DOTDO_HAVE_DUCKDB
    if (typed) {
      ASSERT_EQ(got, duck.Ids(where));
      ++duck_checked;
    }
#endif
  }
  EXPECT_GT(pruned_chunks, 10000);  // the accelerator did prune
  EXPECT_GT(pruned_groups, 1500);   // and so did the row-group index (2451 with this seed)
  EXPECT_GT(nonempty, 3000);        // most predicates select something, not everything
  EXPECT_GT(lookups_used, 500);     // and many went through a lookup index (751 with this seed)
  EXPECT_GT(lookup_rows, lookups_used);
#ifdef DOTDO_HAVE_DUCKDB
  EXPECT_EQ(duck_checked, 5000);
#endif
}

// The columnar result holds, slot by slot, what the row form returns for the same query.
void ExpectSameRecords(const ColumnarQueryResult& rows, const ColumnarQueryResult& cols, const std::vector<std::string>& paths) {
  const ColumnarColumns& c = cols.columns;
  ASSERT_TRUE(cols.rows.empty());
  ASSERT_EQ(c.size(), rows.rows.size());
  ASSERT_EQ(c.created_at.size(), c.size());
  ASSERT_EQ(c.columns.size(), paths.size());
  for (size_t k = 0; k < paths.size(); ++k) {
    const ColumnarColumn& col = c.columns[k];
    ASSERT_EQ(col.path, paths[k]);
    ASSERT_EQ(col.size(), c.size());
    ASSERT_EQ(col.nonnull.size(), c.size());
    DOTDO_ASSERT_OK_AND_ASSIGN(internal::JsonPath path, internal::JsonPath::Parse(paths[k]));
    for (size_t i = 0; i < c.size(); ++i) {
      const ColumnarRow& row = rows.rows[i];
      ASSERT_EQ(c.ids[i], row.id);
      ASSERT_EQ(c.created_at[i], row.created_at);
      const Json* v = path.Find(row.data);
      ASSERT_EQ(col.present[i] != 0, v != nullptr) << paths[k] << " of " << row.id;
      ASSERT_EQ(col.nonnull[i] != 0, v != nullptr && !v->is_null()) << paths[k] << " of " << row.id;
      if (v != nullptr) {
        ASSERT_EQ(col.Value(i), *v) << paths[k] << " of " << row.id;  // 5 == 5.0
      }
    }
  }
}

TEST(ColumnarDifferentialTest, ColumnarResultEqualsRowsOverRandomPredicates) {
  std::mt19937 rng(77);
  const Data d = MakeData(rng);
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.max_chunk_rows = 60, .row_group_rows = 16, .subcolumn_threshold = 0.5, .bloom_columns = {"t_s"}});
  for (size_t b = 0; b < d.records.size(); b += 150) {
    std::vector<ColumnarRecord> batch(d.records.begin() + b, d.records.begin() + std::min(d.records.size(), b + 150));
    DOTDO_ASSERT_OK(col.InsertBatch(batch));
  }
  // Typed paths, mixed ones (nulls, booleans beside numbers, arrays in `_rest`), a nested path that
  // crosses arrays, a rare one and one no record has.
  const std::vector<std::string> paths = {"t_s", "t_n", "t_d", "m", "o.p", "arr", "rare", "nope"};
  const std::vector<std::string> orders = {"", "$id", "$createdAt", "t_n", "m"};
  std::map<ColumnarValueKind, int> kinds;
  for (int i = 0; i < 1500; ++i) {
    const Json where = i % 10 == 0 ? Json(nullptr) : RandomFilter(rng, i % 2 == 0);
    ColumnarQueryOptions o{.type = "R", .where = where, .columns = paths, .order_by = orders[i % orders.size()],
                           .descending = i % 3 == 0, .limit = i % 4 == 0 ? 1 + static_cast<int64_t>(rng() % 40) : 100000};
    SCOPED_TRACE(internal::DumpJson(where) + " order " + o.order_by + " limit " + std::to_string(o.limit));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto as_rows, col.Query(o));
    o.layout = ColumnarLayout::kColumns;
    DOTDO_ASSERT_OK_AND_ASSIGN(auto as_cols, col.Query(o));
    ExpectSameRecords(as_rows, as_cols, paths);
    EXPECT_EQ(as_cols.scan.chunks_read, as_rows.scan.chunks_read);
    for (const ColumnarColumn& c : as_cols.columns.columns) ++kinds[c.kind];
  }
  // Every kind occurs: the consistent paths stay typed, the mixed ones become JSON.
  for (ColumnarValueKind k : {ColumnarValueKind::kNone, ColumnarValueKind::kInt, ColumnarValueKind::kDouble, ColumnarValueKind::kString,
                              ColumnarValueKind::kJson})
    EXPECT_GT(kinds[k], 0) << static_cast<int>(k);
}

}  // namespace
}  // namespace dotdo
