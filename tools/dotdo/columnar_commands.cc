// `dotdo col ...`: the ColumnarStore from the shell — insert records from a JSON-lines file or
// stdin ({"$id"?, "$type", "$createdAt"?, "data": {...}} per line, in batches), query (filter,
// columns, order, limit), agg (group by + metrics), count and stats. Inputs are validated by the
// store itself (a batch whole before its transaction), so the CLI accepts what the C++ API does.
#include <sstream>

#include "cli.h"
#include "core/json.h"
#include "dotdo/clock.h"
#include "dotdo/columnar.h"

namespace dotdo::cli {
namespace {

struct ColArgs {
  std::string file = "-", type, where, columns, order_by, group_by, metrics = "count";
  bool desc = false;
  int64_t limit = 100, batch = 10'000;
  std::vector<std::string> blooms;
};

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) if (!item.empty()) out.push_back(item);
  return out;
}

Result<ColumnarRecord> RecordFromJson(const Json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgumentError(where + ": expected a JSON object");
  ColumnarRecord r;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "$id") {
      if (!v.is_string()) return InvalidArgumentError(where + ": \"$id\" must be a string");
      r.id = v.get<std::string>();
    } else if (k == "$type") {
      if (!v.is_string()) return InvalidArgumentError(where + ": \"$type\" must be a string");
      r.type = v.get<std::string>();
    } else if (k == "$createdAt") {
      if (v.is_number_integer()) r.created_at = v.get<int64_t>();
      else if (v.is_string()) {
        auto at = ParseIso8601(v.get<std::string>());
        if (!at.ok()) return at.status().WithContext(where);
        r.created_at = *at;
      } else return InvalidArgumentError(where + ": \"$createdAt\" must be ms since the epoch or an ISO 8601 string");
    } else if (k == "data") {
      r.data = v;
    } else {
      return InvalidArgumentError(where + ": unknown field '" + k + "' (use $id, $type, $createdAt, data)");
    }
  }
  if (r.type.empty()) return InvalidArgumentError(where + ": \"$type\" is required");
  return r;
}

Json RowJson(const ColumnarRow& r) {
  return Json{{"$id", r.id}, {"$type", r.type}, {"$createdAt", FormatIso8601(r.created_at)}, {"data", r.data}};
}

Json ScanJson(const ColumnarScanStats& s) {
  return Json{{"chunks_total", s.chunks_total}, {"chunks_read", s.chunks_read}, {"chunks_skipped", s.chunks_skipped}};
}

Result<Json> WhereArg(const std::string& text) {
  if (text.empty()) return Json(nullptr);
  DOTDO_ASSIGN_OR_RETURN(std::string body, ReadArgText(text));
  return ParseJsonArg("where", body);
}

Result<Json> RunInsert(Context& ctx, const ColArgs& a) {
  if (a.batch < 1 || a.batch > static_cast<int64_t>(kMaxColumnarBatch))
    return InvalidArgumentError("--batch must be 1.." + std::to_string(kMaxColumnarBatch));
  DOTDO_ASSIGN_OR_RETURN(std::string text, ReadArgText(a.file == "-" ? "-" : "@" + a.file));
  // Every line is parsed before the first batch is written, so a bad line writes nothing.
  std::vector<ColumnarRecord> records;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(n);
    DOTDO_ASSIGN_OR_RETURN(Json j, internal::ParseJson(line, where));
    DOTDO_ASSIGN_OR_RETURN(ColumnarRecord r, RecordFromJson(j, where));
    records.push_back(std::move(r));
  }
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(true));
  ColumnarStore store(*db, {.bloom_columns = a.blooms});
  int64_t inserted = 0, batches = 0;
  for (size_t b = 0; b < records.size(); b += static_cast<size_t>(a.batch)) {
    std::vector<ColumnarRecord> part(records.begin() + static_cast<std::ptrdiff_t>(b),
                                     records.begin() + static_cast<std::ptrdiff_t>(std::min(records.size(), b + static_cast<size_t>(a.batch))));
    DOTDO_ASSIGN_OR_RETURN(auto ids, store.InsertBatch(part));
    inserted += static_cast<int64_t>(ids.size());
    ++batches;
  }
  return Json{{"inserted", inserted}, {"batches", batches}};
}

const CommandGroup kColumnarCommands(27, [](CLI::App& app, Context& ctx) {
  auto* col = app.add_subcommand("col", "Columnar analytics records: insert, query, agg, count, stats");
  col->require_subcommand(1);
  auto a = std::make_shared<ColArgs>();

  auto* insert = col->add_subcommand("insert", "Insert JSON lines {\"$type\", \"data\", \"$id\"?, \"$createdAt\"?} from a file or stdin");
  insert->add_option("--file", a->file, "JSON-lines file, or - for stdin (default -)");
  insert->add_option("--batch", a->batch, "Records per InsertBatch transaction (default 10000)");
  insert->add_option("--bloom", a->blooms, "Data path that gets a bloom filter per chunk (repeatable)");
  insert->callback([&ctx, a] { ctx.Finish(RunInsert(ctx, *a)); });

  auto* query = col->add_subcommand("query", "Records of a type matching a filter");
  query->add_option("type", a->type, "Record type")->required();
  query->add_option("--where", a->where, "Filter JSON (or @file, - for stdin)");
  query->add_option("--columns", a->columns, "Comma-separated data paths to return (default: whole records)");
  query->add_option("--order-by", a->order_by, "A data path, $id or $createdAt");
  query->add_flag("--desc", a->desc, "Descending order");
  query->add_option("--limit", a->limit, "At most this many records (default 100)");
  query->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Json where, WhereArg(a->where));
      DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(false));
      DOTDO_ASSIGN_OR_RETURN(auto r, ColumnarStore(*db).Query({.type = a->type, .where = where, .columns = SplitList(a->columns),
                                                                .order_by = a->order_by, .descending = a->desc, .limit = a->limit}));
      Json rows = Json::array();
      for (const auto& row : r.rows) rows.push_back(RowJson(row));
      return Json{{"rows", std::move(rows)}, {"scan", ScanJson(r.scan)}};
    }());
  });

  auto* agg = col->add_subcommand("agg", "Aggregates of a type, optionally grouped");
  agg->add_option("type", a->type, "Record type")->required();
  agg->add_option("--where", a->where, "Filter JSON (or @file, - for stdin)");
  agg->add_option("--group-by", a->group_by, "Comma-separated data paths");
  agg->add_option("--metrics", a->metrics, "count,sum:x,avg:x,min:x,max:x,count_distinct:x (default count)");
  agg->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Json where, WhereArg(a->where));
      DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(false));
      DOTDO_ASSIGN_OR_RETURN(auto r, ColumnarStore(*db).Aggregate({.type = a->type, .where = where, .group_by = SplitList(a->group_by),
                                                                    .metrics = SplitList(a->metrics)}));
      return Json{{"groups", r.groups}, {"scan", ScanJson(r.scan)}};
    }());
  });

  auto* count = col->add_subcommand("count", "Number of records of a type (from the chunk index without --where)");
  count->add_option("type", a->type, "Record type")->required();
  count->add_option("--where", a->where, "Filter JSON (or @file, - for stdin)");
  count->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Json where, WhereArg(a->where));
      DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(false));
      DOTDO_ASSIGN_OR_RETURN(auto r, ColumnarStore(*db).Count(a->type, where));
      return Json{{"count", r.count}, {"scan", ScanJson(r.scan)}};
    }());
  });

  auto* stats = col->add_subcommand("stats", "Per type: records, chunks, bytes and the typed columns");
  stats->callback([&ctx] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(false));
      DOTDO_ASSIGN_OR_RETURN(auto all, ColumnarStore(*db).Stats());
      Json types = Json::array();
      for (const auto& t : all) {
        Json cols = Json::array();
        for (const auto& c : t.columns)
          cols.push_back({{"path", c.path}, {"kind", c.kind}, {"seen", c.seen}, {"distinct_estimate", c.distinct_estimate}});
        types.push_back({{"type", t.type}, {"records", t.records}, {"deleted", t.deleted}, {"chunks", t.chunks},
                         {"bytes", t.bytes}, {"columns", std::move(cols)}});
      }
      return Json{{"types", std::move(types)}};
    }());
  });
});

}  // namespace
}  // namespace dotdo::cli
