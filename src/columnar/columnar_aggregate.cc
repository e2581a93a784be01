// ColumnarStore analytics and maintenance: Aggregate over decoded column vectors (group ids per
// row from dictionary codes where the group column allows it, then one tight loop per metric),
// Stats (path statistics and merged HyperLogLogs) and Compact.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "columnar/columnar_rows.h"
#include "core/read_snapshot.h"
#include "core/json.h"
#include "core/names.h"

namespace dotdo {

using internal::ChunkMeta;
using internal::ChunkReader;
using internal::ColumnData;
using internal::ColumnKind;
using internal::Connection;
using internal::DatabaseInternals;
using internal::JsonPath;

namespace {

// Exact integer sums (GCC/Clang extension; -Wpedantic is told so).
__extension__ typedef __int128 Int128;

enum class Fn { kCount, kSum, kAvg, kMin, kMax, kCountDistinct };

struct Metric {
  std::string name;
  Fn fn = Fn::kCount;
  std::optional<JsonPath> path;
  std::string dotted;
};

struct MetricState {
  double sum = 0;
  Int128 isum = 0;
  int64_t n = 0;
  bool all_int = true;
  bool has_min = false, has_max = false;
  Json min, max;
  std::unordered_set<std::string> distinct;
};

struct Group {
  Json key;  // array of group values
  int64_t count = 0;
  std::vector<MetricState> m;
};

int CmpNumbers(const Json& a, const Json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    const auto x = a.get<int64_t>(), y = b.get<int64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const double x = a.get<double>(), y = b.get<double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Equal SQL values (5 and 5.0) share a key; booleans count as the numbers 1/0, as SQL sees them.
std::string DistinctKey(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "i1" : "i0";
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
    return "i" + std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    const double d = v.get<double>();
    if (d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
      return "i" + std::to_string(static_cast<int64_t>(d));
    return "d" + internal::DumpJson(v);
  }
  if (v.is_string()) return "s" + v.get<std::string>();
  return "o" + internal::DumpJson(v);
}

void AddNumber(MetricState& s, Fn fn, const Json& v) {
  if (fn == Fn::kCountDistinct) {
    if (!v.is_null()) s.distinct.insert(DistinctKey(v));
    return;
  }
  if (!v.is_number()) return;
  ++s.n;
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
    s.isum += v.get<int64_t>();
    s.sum += static_cast<double>(v.get<int64_t>());
  } else {
    s.all_int = false;
    s.sum += v.get<double>();
  }
  if (!s.has_min || CmpNumbers(v, s.min) < 0) s.min = v;
  if (!s.has_max || CmpNumbers(v, s.max) > 0) s.max = v;
  s.has_min = s.has_max = true;
}

Json Output(const MetricState& s, Fn fn, int64_t count) {
  switch (fn) {
    case Fn::kCount: return count;
    case Fn::kSum:
      if (s.n == 0) return nullptr;
      if (s.all_int && s.isum >= INT64_MIN && s.isum <= INT64_MAX) return static_cast<int64_t>(s.isum);
      return s.sum;
    case Fn::kAvg: return s.n == 0 ? Json(nullptr) : Json(s.sum / static_cast<double>(s.n));
    case Fn::kMin: return s.has_min ? s.min : Json(nullptr);
    case Fn::kMax: return s.has_max ? s.max : Json(nullptr);
    case Fn::kCountDistinct: return static_cast<int64_t>(s.distinct.size());
  }
  return nullptr;
}

Result<std::vector<Metric>> ParseMetrics(const std::vector<std::string>& metrics) {
  if (metrics.empty() || metrics.size() > 32) return InvalidArgumentError("give 1..32 metrics");
  std::vector<Metric> out;
  for (const std::string& m : metrics) {
    Metric x;
    x.name = m;
    if (m == "count") {
      out.push_back(std::move(x));
      continue;
    }
    const size_t colon = m.find(':');
    const std::string fn = m.substr(0, colon);
    if (colon == std::string::npos) return InvalidArgumentError("unknown metric '" + m + "' (use count, sum:x, avg:x, min:x, max:x, count_distinct:x)");
    if (fn == "sum") x.fn = Fn::kSum;
    else if (fn == "avg") x.fn = Fn::kAvg;
    else if (fn == "min") x.fn = Fn::kMin;
    else if (fn == "max") x.fn = Fn::kMax;
    else if (fn == "count_distinct") x.fn = Fn::kCountDistinct;
    else return InvalidArgumentError("unknown metric '" + m + "' (use count, sum:x, avg:x, min:x, max:x, count_distinct:x)");
    DOTDO_ASSIGN_OR_RETURN(JsonPath p, JsonPath::Parse(m.substr(colon + 1)));
    x.dotted = p.ToDotted();
    x.path = std::move(p);
    out.push_back(std::move(x));
  }
  return out;
}

// A typed column covering every value of the path in the chunk, or nullptr.
Result<const ColumnData*> FullColumn(ChunkReader& chunk, const std::string& path) {
  const internal::ColumnStats* s = chunk.meta().Column(path);
  if (s == nullptr || s->rest_count > 0) return static_cast<const ColumnData*>(nullptr);
  return chunk.Column(path);
}

}  // namespace

Result<ColumnarAggregateResult> ColumnarStore::Aggregate(const ColumnarAggregateOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypeName(o.type, "$type"));
  if (o.group_by.size() > 8) return InvalidArgumentError("at most 8 group_by paths");
  std::vector<JsonPath> group_paths;
  for (const std::string& g : o.group_by) {
    DOTDO_ASSIGN_OR_RETURN(JsonPath p, JsonPath::Parse(g));
    group_paths.push_back(std::move(p));
  }
  DOTDO_ASSIGN_OR_RETURN(std::vector<Metric> metrics, ParseMetrics(o.metrics));
  DOTDO_ASSIGN_OR_RETURN(internal::ColumnarFilter filter, internal::ColumnarFilter::Compile(o.where));
  ColumnarAggregateResult out;
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db_, internal::kColumnarSpec));
  if (!present) return out;
  internal::ReadSnapshot snapshot(conn);  // one read transaction: one consistent state, one lock
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  std::vector<Group> groups;
  std::unordered_map<std::string, uint32_t> group_index;
  auto group_of = [&](const Json& key) {
    auto [it, fresh] = group_index.try_emplace(internal::DumpJson(key), static_cast<uint32_t>(groups.size()));
    if (fresh) groups.push_back({key, 0, std::vector<MetricState>(metrics.size())});
    return it->second;
  };
  if (group_paths.empty()) group_of(Json::array());
  DOTDO_RETURN_IF_ERROR(internal::ScanChunks(db_, o.type, filter, options_.lookup_columns, out.scan, [&](ChunkReader& chunk, const std::vector<uint8_t>& match) -> Result<bool> {
    const size_t n = chunk.rows();
    std::vector<uint32_t> gid(n, 0);
    const ColumnData* gcol = nullptr;
    if (group_paths.size() == 1) {
      DOTDO_ASSIGN_OR_RETURN(gcol, FullColumn(chunk, o.group_by[0]));
    }
    if (group_paths.empty()) {
      // every row in group 0
    } else if (gcol != nullptr && gcol->kind == ColumnKind::kString) {
      std::vector<uint32_t> by_code(gcol->dict.size());
      for (size_t c = 0; c < gcol->dict.size(); ++c) by_code[c] = group_of(Json::array({std::string(gcol->dict[c])}));
      const uint32_t null_group = group_of(Json::array({nullptr}));
      for (size_t i = 0; i < n; ++i) gid[i] = gcol->nonnull[i] ? by_code[gcol->codes[i]] : null_group;
    } else {
      for (size_t i = 0; i < n; ++i) {
        if (!match[i]) continue;
        Json key = Json::array();
        for (size_t g = 0; g < group_paths.size(); ++g) {
          Json scratch;
          DOTDO_ASSIGN_OR_RETURN(const Json* v, chunk.Value(group_paths[g], o.group_by[g], i, scratch));
          key.push_back(v == nullptr ? Json(nullptr) : *v);
        }
        gid[i] = group_of(key);
      }
    }
    for (size_t i = 0; i < n; ++i) groups[gid[i]].count += match[i];
    for (size_t m = 0; m < metrics.size(); ++m) {
      const Metric& mt = metrics[m];
      if (mt.fn == Fn::kCount) continue;
      DOTDO_ASSIGN_OR_RETURN(const ColumnData* col, FullColumn(chunk, mt.dotted));
      const bool numeric_fast = col != nullptr && (mt.fn == Fn::kSum || mt.fn == Fn::kAvg) &&
                                (col->kind == ColumnKind::kDouble || col->kind == ColumnKind::kInt);
      if (numeric_fast && col->kind == ColumnKind::kDouble) {
        // The hot loop of an analytics aggregate: branch-free over the decoded vector.
        std::vector<double> sums(groups.size(), 0.0);
        std::vector<int64_t> counts(groups.size(), 0), non_int(groups.size(), 0);
        const double* v = col->doubles.data();
        for (size_t i = 0; i < n; ++i) {
          const int take = match[i] & col->nonnull[i];
          sums[gid[i]] += take ? v[i] : 0.0;
          counts[gid[i]] += take;
          non_int[gid[i]] += take & !col->was_int[i];
        }
        for (size_t g = 0; g < groups.size(); ++g) {
          MetricState& s = groups[g].m[m];
          if (counts[g] == 0) continue;
          s.sum += sums[g];
          s.n += counts[g];
          if (non_int[g] > 0) s.all_int = false;
          else s.isum += static_cast<Int128>(sums[g]);  // integral doubles within 2^53: exact
        }
        continue;
      }
      if (numeric_fast) {
        std::vector<Int128> sums(groups.size(), 0);
        std::vector<int64_t> counts(groups.size(), 0);
        const int64_t* v = col->ints.data();
        for (size_t i = 0; i < n; ++i) {
          const int take = match[i] & col->nonnull[i];
          sums[gid[i]] += take ? v[i] : 0;
          counts[gid[i]] += take;
        }
        for (size_t g = 0; g < groups.size(); ++g) {
          MetricState& s = groups[g].m[m];
          s.isum += sums[g];
          s.sum += static_cast<double>(sums[g]);
          s.n += counts[g];
        }
        continue;
      }
      for (size_t i = 0; i < n; ++i) {
        if (!match[i]) continue;
        Json scratch;
        DOTDO_ASSIGN_OR_RETURN(const Json* v, chunk.Value(*mt.path, mt.dotted, i, scratch));
        if (v != nullptr) AddNumber(groups[gid[i]].m[m], mt.fn, *v);
      }
    }
    return true;
  }));
  std::vector<size_t> order;
  for (size_t g = 0; g < groups.size(); ++g)
    if (groups[g].count > 0 || group_paths.empty()) order.push_back(g);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Json& x = groups[a].key;
    const Json& y = groups[b].key;
    for (size_t i = 0; i < x.size(); ++i) {
      auto cls = [](const Json& v) { return v.is_null() ? 0 : (v.is_number() || v.is_boolean()) ? 1 : 2; };
      const int cx = cls(x[i]), cy = cls(y[i]);
      if (cx != cy) return cx < cy;
      if (cx == 1) {
        const double dx = x[i].is_boolean() ? x[i].get<bool>() : x[i].get<double>();
        const double dy = y[i].is_boolean() ? y[i].get<bool>() : y[i].get<double>();
        if (dx != dy) return dx < dy;
      } else if (cx == 2) {
        const std::string sx = x[i].is_string() ? x[i].get<std::string>() : internal::DumpJson(x[i]);
        const std::string sy = y[i].is_string() ? y[i].get<std::string>() : internal::DumpJson(y[i]);
        if (sx != sy) return sx < sy;
      }
    }
    return false;
  });
  for (size_t g : order) {
    Json row = Json::object();
    for (size_t i = 0; i < o.group_by.size(); ++i) row[o.group_by[i]] = groups[g].key[i];
    for (size_t m = 0; m < metrics.size(); ++m) row[metrics[m].name] = Output(groups[g].m[m], metrics[m].fn, groups[g].count);
    out.groups.push_back(std::move(row));
  }
  return out;
}

Result<std::vector<ColumnarTypeStats>> ColumnarStore::Stats() {
  std::vector<ColumnarTypeStats> out;
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db_, internal::kColumnarSpec));
  if (!present) return out;
  DOTDO_ASSIGN_OR_RETURN(std::vector<ChunkMeta> chunks, internal::LoadChunks(conn, ""));
  std::map<std::string, std::vector<const ChunkMeta*>> by_type;
  for (const ChunkMeta& c : chunks) by_type[c.type].push_back(&c);
  DOTDO_ASSIGN_OR_RETURN(auto types, conn.Prepare("SELECT type FROM col_types ORDER BY type"));
  while (true) {
    DOTDO_ASSIGN_OR_RETURN(bool row, types.Step());
    if (!row) break;
    ColumnarTypeStats ts;
    ts.type = types.ColumnString(0);
    DOTDO_ASSIGN_OR_RETURN(internal::TypePaths paths, internal::LoadTypePaths(conn, ts.type));
    std::map<std::string, internal::HyperLogLog> hlls;
    for (const ChunkMeta* c : by_type[ts.type]) {
      ++ts.chunks;
      ts.records += c->rows - c->deleted;
      ts.deleted += c->deleted;
      ts.bytes += c->bytes;
      DOTDO_ASSIGN_OR_RETURN(internal::ChunkAccel a, internal::LoadAccel(conn, c->chunk_id));
      for (const auto& [name, bytes] : a.hlls) hlls[name].Merge(internal::HyperLogLog::Parse(bytes));
    }
    for (const internal::SubColumn& sc : paths.Select(options_)) {
      ColumnarColumnInfo info{sc.path, internal::ColumnKindName(sc.kind), paths.paths[sc.path].first, 0};
      if (auto it = hlls.find(sc.path); it != hlls.end()) info.distinct_estimate = std::llround(it->second.Estimate());
      ts.columns.push_back(std::move(info));
    }
    out.push_back(std::move(ts));
  }
  return out;
}

Result<ColumnarCompactResult> ColumnarStore::Compact() {
  DOTDO_RETURN_IF_ERROR(internal::ValidateColumnarOptions(options_));
  ColumnarCompactResult result;
  Status st = db_.Transaction([&]() -> Status {
    result = {};
    DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db_, internal::kColumnarSpec));
    if (!present) return OkStatus();
    Connection& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(std::vector<ChunkMeta> chunks, internal::LoadChunks(conn, ""));
    result.chunks_before = result.chunks_after = static_cast<int64_t>(chunks.size());
    std::map<std::pair<std::string, std::string>, std::vector<const ChunkMeta*>> parts;
    for (const ChunkMeta& c : chunks) parts[{c.type, c.day}].push_back(&c);
    for (const auto& [key, list] : parts) {
      int64_t small = 0, deleted = 0;
      for (const ChunkMeta* c : list) {
        small += c->rows < options_.max_chunk_rows / 2;
        deleted += c->deleted;
      }
      if (deleted == 0 && (list.size() < 2 || small == 0)) continue;
      std::vector<Json> datas;
      std::vector<internal::PreparedRecord> records;
      for (const ChunkMeta* c : list) {
        ChunkReader reader(conn, *c);
        DOTDO_ASSIGN_OR_RETURN(const std::vector<uint8_t>* dead, reader.Deleted());
        for (size_t i = 0; i < reader.rows(); ++i) {
          if ((*dead)[i]) continue;
          DOTDO_ASSIGN_OR_RETURN(ColumnarRow row, internal::ReadRow(reader, i, {}));
          internal::PreparedRecord r{row.id, row.type, row.created_at, nullptr, internal::DumpJson(row.data).size()};
          records.push_back(std::move(r));
          datas.push_back(std::move(row.data));
        }
        for (const char* sql : {"DELETE FROM col_columns WHERE chunk_id = ?1", "DELETE FROM col_groups WHERE chunk_id = ?1",
                                "DELETE FROM col_deletes WHERE chunk_id = ?1",
                                "DELETE FROM col_chunks WHERE chunk_id = ?1"}) {
          DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare(sql));
          del.Bind(1, c->chunk_id);
          DOTDO_RETURN_IF_ERROR(del.Run());
        }
      }
      for (size_t i = 0; i < records.size(); ++i) records[i].data = &datas[i];
      // The partition in $createdAt order, so the new chunks (and their row groups) cover disjoint times.
      std::stable_sort(records.begin(), records.end(),
                       [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
      result.records_dropped += deleted;
      DOTDO_ASSIGN_OR_RETURN(internal::TypePaths paths, internal::LoadTypePaths(conn, key.first));
      const std::vector<internal::SubColumn> schema = paths.Select(options_);
      result.chunks_after -= static_cast<int64_t>(list.size());
      for (size_t b = 0; b < records.size();) {
        std::vector<internal::PreparedRecord> chunk;
        int64_t bytes = 0;
        while (b < records.size() && static_cast<int64_t>(chunk.size()) < options_.max_chunk_rows &&
               (chunk.empty() || bytes + static_cast<int64_t>(records[b].bytes) <= options_.max_chunk_bytes)) {
          bytes += static_cast<int64_t>(records[b].bytes);
          chunk.push_back(records[b++]);
        }
        DOTDO_RETURN_IF_ERROR(internal::WriteChunk(conn, chunk, schema, options_).status());
        ++result.chunks_after;
      }
    }
    return OkStatus();
  });
  DOTDO_RETURN_IF_ERROR(st);
  return result;
}

}  // namespace dotdo
