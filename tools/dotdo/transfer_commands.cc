// `dotdo doc import|export` and `dotdo graph import|export`: bulk data in and out as JSON Lines.
//
//   import  reads JSON Lines (one record per line; blank lines skipped) or one JSON array, from a
//           file or stdin, and writes them in transactions of --batch-size records. A bad record
//           (malformed JSON, or one the store refuses) stops the import with "line N: <error>" —
//           batches before it are committed — or, with --skip-bad, is reported and skipped. Prints
//           {"imported", "skipped", "errors" (the first 20), "seconds", "perSecond"}; progress goes
//           to stderr when it is a terminal.
//   export  prints every live document (of --type, or of every type) or every edge as JSON Lines
//           that import reads back: documents with their $id and $type, edges as from/to/type/data.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include "cli.h"
#include "core/json.h"

namespace dotdo::cli {
namespace {

struct TransferArgs {
  std::string source = "-";
  std::vector<std::string> types;
  int64_t batch_size = 1000;
  bool skip_bad = false;
  bool upsert = false;
};

constexpr size_t kMaxReportedErrors = 20;
constexpr int64_t kMaxBatchSize = 100000;

// One record of the input and where it was.
struct Record {
  int64_t line = 0;  // 1-based line (JSON Lines) or element number (JSON array)
  Result<Json> value = Json();
};

// The records of a JSON Lines stream or of one JSON array, read one at a time.
class RecordReader {
 public:
  static Result<std::unique_ptr<RecordReader>> Open(const std::string& source) {
    auto r = std::unique_ptr<RecordReader>(new RecordReader());
    if (source != "-") {
      r->file_.open(source, std::ios::binary);
      if (!r->file_) return NotFoundError("cannot read file '" + source + "'");
      r->in_ = &r->file_;
    }
    // A JSON array is read whole; JSON Lines stream in bounded memory.
    int c;
    while ((c = r->in_->peek()) != EOF && std::isspace(c)) r->in_->get();
    if (c == '[') {
      const std::string text((std::istreambuf_iterator<char>(*r->in_)), std::istreambuf_iterator<char>());
      DOTDO_ASSIGN_OR_RETURN(Json array, internal::ParseJson(text, "the input array"));
      r->array_ = std::move(array);
      r->is_array_ = true;
    }
    return r;
  }

  // False at the end of the input.
  bool Next(Record& out) {
    if (is_array_) {
      if (index_ >= array_.size()) return false;
      out.line = static_cast<int64_t>(++index_);
      out.value = std::move(array_[index_ - 1]);
      return true;
    }
    std::string text;
    while (std::getline(*in_, text)) {
      ++line_;
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      out.line = line_;
      out.value = internal::ParseJson(text, "the record");
      return true;
    }
    return false;
  }

 private:
  RecordReader() = default;
  std::ifstream file_;
  std::istream* in_ = &std::cin;
  bool is_array_ = false;
  Json array_;
  size_t index_ = 0;
  int64_t line_ = 0;
};

using ApplyOne = std::function<Status(const Json&)>;
// Writes a whole batch at once (the store's many-record call: one savepoint for the batch), or
// nullptr when the store has none. A failure makes the import replay the batch record by record to
// find (and with --skip-bad, skip) the bad ones.
using ApplyMany = std::function<Status(std::vector<Json>&)>;

// Reads every record and applies it, --batch-size records per transaction.
Result<Json> Import(Context& ctx, const TransferArgs& a, const ApplyOne& apply, const ApplyMany& apply_many) {
  if (a.batch_size < 1 || a.batch_size > kMaxBatchSize)
    return InvalidArgumentError("--batch-size must be between 1 and " + std::to_string(kMaxBatchSize));
  DOTDO_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(a.source));
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb());
  const auto start = std::chrono::steady_clock::now();
  const bool progress = ::isatty(STDERR_FILENO) != 0;
  int64_t imported = 0, skipped = 0;
  Json errors = Json::array();
  auto report = [&](int64_t line, const Status& s) {
    ++skipped;
    if (errors.size() < kMaxReportedErrors) errors.push_back({{"line", line}, {"error", s.ToString()}});
  };
  std::vector<Record> batch;
  auto flush = [&]() -> Status {
    if (apply_many && std::all_of(batch.begin(), batch.end(), [](const Record& r) { return r.value.ok(); })) {
      std::vector<Json> values;
      values.reserve(batch.size());
      for (Record& r : batch) values.push_back(*r.value);
      if (db->Transaction([&] { return apply_many(values); }).ok()) {
        imported += static_cast<int64_t>(batch.size());
        batch.clear();
        return OkStatus();
      }
    }
    int64_t done = 0, bad = 0;
    std::vector<std::pair<int64_t, Status>> refused;
    Status st = db->Transaction([&]() -> Status {
      for (Record& r : batch) {
        Status s = r.value.ok() ? apply(*r.value) : r.value.status();
        if (s.ok()) {
          ++done;
        } else if (a.skip_bad) {  // each record is its own savepoint: only this one is undone
          ++bad;
          refused.emplace_back(r.line, s);
        } else {
          return s.WithContext("line " + std::to_string(r.line));
        }
      }
      return OkStatus();
    });
    batch.clear();
    if (!st.ok()) {
      return Status(st.code(), st.message() + " (" + std::to_string(imported) +
                                   " records of earlier batches were imported; --skip-bad goes on past bad records)");
    }
    imported += done;
    for (auto& [line, s] : refused) report(line, s);
    (void)bad;
    if (progress) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\rimported %lld (%.0f/s)", static_cast<long long>(imported), imported / std::max(secs, 1e-9));
    }
    return OkStatus();
  };
  Record r;
  while (reader->Next(r)) {
    batch.push_back(std::move(r));
    if (static_cast<int64_t>(batch.size()) == a.batch_size) DOTDO_RETURN_IF_ERROR(flush());
  }
  if (!batch.empty()) DOTDO_RETURN_IF_ERROR(flush());
  if (progress) std::fprintf(stderr, "\n");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Json{{"imported", imported},
              {"skipped", skipped},
              {"errors", errors},
              {"seconds", secs},
              {"perSecond", secs > 0 ? static_cast<double>(imported) / secs : 0.0}};
}

// Rows of a read-only query, page by page (keyset over `keys`), so no page passes the door's row
// limit: `sql` ends in "WHERE (<keys>) > (?1, ...)" placeholders filled from the last row.
Status ForEachRow(Database& db, const std::string& table, const std::string& sql_before_keyset,
                  const std::vector<std::string>& keys, const std::function<Status(const Json&)>& row_fn) {
  DOTDO_ASSIGN_OR_RETURN(Json exists, db.QueryReadOnly("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                                                       {Json(table)}));
  if (exists.empty()) return OkStatus();  // the store was never written: nothing to export
  std::string cols, marks;
  for (size_t i = 0; i < keys.size(); ++i) {
    cols += (i ? ", " : "") + keys[i];
    marks += (i ? ", ?" : "?") + std::to_string(i + 1);
  }
  constexpr int kPage = 1000;
  std::vector<Json> last(keys.size(), Json(""));
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(Json rows, db.QueryReadOnly(sql_before_keyset + " (" + cols + ") > (" + marks + ") ORDER BY " +
                                                           cols + " LIMIT " + std::to_string(kPage),
                                                       last));
    for (const Json& row : rows) DOTDO_RETURN_IF_ERROR(row_fn(row));
    if (rows.size() < static_cast<size_t>(kPage)) return OkStatus();
    for (size_t i = 0; i < keys.size(); ++i) last[i] = rows.back()[keys[i]];
  }
}

Status PrintLine(const Json& value) {
  DOTDO_ASSIGN_OR_RETURN(std::string line, internal::DumpJsonChecked(value, "exported record"));
  std::cout << line << '\n';
  return std::cout ? OkStatus() : UnavailableError("cannot write to stdout");
}

Status ExportDocuments(Context& ctx, const TransferArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(/*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, ctx.Documents(/*create=*/false));
  std::vector<std::string> types = a.types;
  if (types.empty()) {
    DOTDO_RETURN_IF_ERROR(ForEachRow(*db, "doc_documents", "SELECT DISTINCT type FROM doc_documents WHERE deleted = 0 AND",
                                     {"type"}, [&](const Json& row) {
                                       types.push_back(row["type"].get<std::string>());
                                       return OkStatus();
                                     }));
  }
  for (const std::string& type : types) {
    DocumentQueryOptions q;
    q.type = type;
    q.limit = 1000;
    do {
      DOTDO_ASSIGN_OR_RETURN(DocumentPage page, docs.Query(q));
      for (const Json& d : page.items) DOTDO_RETURN_IF_ERROR(PrintLine(d));
      q.cursor = page.next_cursor;
    } while (!q.cursor.empty());
  }
  return OkStatus();
}

Status ExportEdges(Context& ctx) {
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(/*create=*/false));
  return ForEachRow(*db, "graph_relationships",
                    "SELECT from_id, type, to_id, json(data) AS data FROM graph_relationships WHERE",
                    {"from_id", "type", "to_id"}, [&](const Json& row) -> Status {
                      DOTDO_ASSIGN_OR_RETURN(Json data, internal::ParseJson(row["data"].get<std::string>(), "edge data",
                                                                            {.max_depth = internal::kNoDepthCheck}));
                      return PrintLine(Json{{"from", row["from_id"]}, {"to", row["to_id"]}, {"type", row["type"]},
                                            {"data", std::move(data)}});
                    });
}

Result<EdgeInput> EdgeOf(const Json& r) {
  if (!r.is_object()) return InvalidArgumentError("an edge record must be an object {\"from\",\"to\",\"type\",\"data\"}");
  EdgeInput e;
  const std::pair<const char*, std::string*> fields[] = {{"from", &e.from}, {"to", &e.to}, {"type", &e.type}};
  for (auto [field, out] : fields) {
    auto it = r.find(field);
    if (it == r.end() || !it->is_string()) return InvalidArgumentError(std::string("edge record needs a string \"") + field + "\"");
    *out = it->get<std::string>();
  }
  if (auto it = r.find("data"); it != r.end()) e.data = *it;
  return e;
}

void AddImportOptions(CLI::App* cmd, TransferArgs& a) {
  cmd->add_option("source", a.source, "JSON Lines or a JSON array: a file, or - for stdin (default -)");
  cmd->add_option("--batch-size", a.batch_size, "Records per transaction, 1..100000 (default 1000)");
  cmd->add_flag("--skip-bad", a.skip_bad, "Report and skip records that are malformed or refused, instead of stopping");
}

const CommandGroup kTransferCommands(90, [](CLI::App& app, Context& ctx) {
  auto a = std::make_shared<TransferArgs>();
  CLI::App* doc = app.get_subcommand("doc");
  auto* doc_import = doc->add_subcommand("import", "Load documents from JSON Lines (or a JSON array) in batched transactions");
  AddImportOptions(doc_import, *a);
  doc_import->add_flag("--upsert", a->upsert, "Replace documents whose $id exists instead of refusing them");
  doc_import->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, ctx.Documents());
      return Import(
          ctx, *a, [&](const Json& d) -> Status { return (a->upsert ? docs.Upsert(d) : docs.Create(d)).status(); },
          a->upsert ? ApplyMany() : [&](std::vector<Json>& batch) { return docs.CreateMany(std::move(batch)).status(); });
    }());
  });
  auto* doc_export = doc->add_subcommand("export", "Print live documents as JSON Lines (what doc import reads)");
  doc_export->add_option("--type", a->types, "Only this $type; repeatable (default: every type)");
  doc_export->callback([&ctx, a] {
    Status s = ExportDocuments(ctx, *a);
    if (!s.ok()) ctx.Fail(s);
  });

  CLI::App* graph = app.get_subcommand("graph");
  auto* graph_import = graph->add_subcommand("import", "Load edges {\"from\",\"to\",\"type\",\"data\"} from JSON Lines");
  AddImportOptions(graph_import, *a);
  graph_import->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(GraphStore graph, ctx.Graph());
      return Import(
          ctx, *a,
          [&](const Json& r) -> Status {
            DOTDO_ASSIGN_OR_RETURN(EdgeInput e, EdgeOf(r));
            return graph.Relate(e.from, e.to, e.type, std::move(e.data)).status();
          },
          [&](std::vector<Json>& batch) -> Status {
            std::vector<EdgeInput> edges;
            edges.reserve(batch.size());
            for (const Json& r : batch) {
              DOTDO_ASSIGN_OR_RETURN(EdgeInput e, EdgeOf(r));
              edges.push_back(std::move(e));
            }
            return graph.RelateMany(edges).status();
          });
    }());
  });
  graph->add_subcommand("export", "Print every edge as JSON Lines (what graph import reads)")->callback([&ctx] {
    Status s = ExportEdges(ctx);
    if (!s.ok()) ctx.Fail(s);
  });
});

}  // namespace
}  // namespace dotdo::cli
