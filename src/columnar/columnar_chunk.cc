// Chunks: the binary chunk statistics and accelerator blobs, shredding a partition's records
// into typed columns (WriteChunk), and ChunkReader, which loads and decodes columns on first use
// and rebuilds records from their columns and `_rest`.
#include <algorithm>
#include <bit>
#include <cstring>

#include "columnar/columnar_internal.h"
#include "core/json.h"
#include "sqlite/connection.h"

namespace dotdo::internal {
namespace {

constexpr size_t kMaxStatString = 256;

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out += s;
}

bool GetString(std::string_view& in, std::string& s) {
  uint64_t n = 0;
  if (!GetVarint(in, n) || n > in.size()) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

uint64_t Zig(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t Unzig(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

// The value at `keys` in `obj`, or nullptr.
Json* Find(Json& obj, const std::vector<std::string>& keys) {
  Json* cur = &obj;
  for (const std::string& k : keys) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(k);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

// True when the walk along `keys` meets an array before the last key.
bool ArrayOnPrefix(const Json& obj, const std::vector<std::string>& keys) {
  const Json* cur = &obj;
  for (const std::string& k : keys) {
    if (cur->is_array()) return true;
    if (!cur->is_object()) return false;
    auto it = cur->find(k);
    if (it == cur->end()) return false;
    cur = &*it;
  }
  return false;
}

// Erases the value at `keys` and then every parent object the erase left empty.
void EraseAndPrune(Json& obj, const std::vector<std::string>& keys, size_t depth = 0) {
  if (depth + 1 == keys.size()) {
    obj.erase(keys[depth]);
    return;
  }
  auto it = obj.find(keys[depth]);
  if (it == obj.end() || !it->is_object()) return;
  EraseAndPrune(*it, keys, depth + 1);
  if (it->empty()) obj.erase(it);
}

// Stores v into column c at row i when it fits the kind; true when stored.
bool Fit(ColumnData& c, size_t i, const Json& v, std::vector<std::string>& strings) {
  switch (c.kind) {
    case ColumnKind::kBool:
      if (!v.is_boolean()) return false;
      c.ints[i] = v.get<bool>() ? 1 : 0;
      return true;
    case ColumnKind::kInt:
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return false;
      if (!v.is_number_integer()) return false;
      c.ints[i] = v.get<int64_t>();
      return true;
    case ColumnKind::kDouble:
      if (v.is_number_float()) {
        c.doubles[i] = v.get<double>();
        return true;
      }
      if (v.is_number_integer() && !v.is_number_unsigned()) {
        const int64_t x = v.get<int64_t>();
        if (x < -(int64_t{1} << 53) || x > (int64_t{1} << 53)) return false;
        c.doubles[i] = static_cast<double>(x);
        c.was_int[i] = 1;
        return true;
      }
      if (v.is_number_unsigned() && v.get<uint64_t>() <= (uint64_t{1} << 53)) {
        c.doubles[i] = static_cast<double>(v.get<uint64_t>());
        c.was_int[i] = 1;
        return true;
      }
      return false;
    case ColumnKind::kString:
      if (!v.is_string()) return false;
      strings[i] = v.get<std::string>();
      return true;
  }
  return false;
}

// Counts and min/max of rows [begin, end) of the column into s.
void MinMax(const ColumnData& c, ColumnStats& s, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    s.present += c.present[i];
    s.nonnull += c.nonnull[i];
    if (!c.nonnull[i]) continue;
    if (c.kind == ColumnKind::kDouble) {
      const double d = c.doubles[i];
      if (!s.has_minmax || d < s.min_d) s.min_d = d;
      if (!s.has_minmax || d > s.max_d) s.max_d = d;
    } else if (c.kind == ColumnKind::kString) {
      std::string_view v = c.Str(i);
      if (!s.has_minmax || v < s.min_s) s.min_s = v;
      if (!s.has_minmax || v > s.max_s) s.max_s = v;
    } else {
      if (!s.has_minmax || c.ints[i] < s.min_i) s.min_i = c.ints[i];
      if (!s.has_minmax || c.ints[i] > s.max_i) s.max_i = c.ints[i];
    }
    s.has_minmax = true;
  }
  // A long string bound would make the row large; without it the column is never pruned.
  if (c.kind == ColumnKind::kString && (s.min_s.size() > kMaxStatString || s.max_s.size() > kMaxStatString)) {
    s.has_minmax = false;
    s.min_s.clear();
    s.max_s.clear();
  }
}


Status PutGroup(Connection& conn, int64_t chunk_id, std::string_view name, size_t group, const std::string& frame) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT INTO col_groups (chunk_id, name, grp, data) VALUES (?1, ?2, ?3, ?4)"));
  st.Bind(1, chunk_id).Bind(2, name).Bind(3, static_cast<int64_t>(group)).BindBlob(4, frame);
  return st.Run();
}

}  // namespace

const ColumnStats* ChunkMeta::Column(std::string_view name) const {
  for (const ColumnStats& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

namespace {

void EncodeColumnStats(std::string& out, const std::vector<ColumnStats>& columns) {
  PutVarint(out, columns.size());
  for (const ColumnStats& c : columns) {
    PutString(out, c.name);
    out.push_back(static_cast<char>(c.kind));
    PutVarint(out, static_cast<uint64_t>(c.present));
    PutVarint(out, static_cast<uint64_t>(c.nonnull));
    PutVarint(out, static_cast<uint64_t>(c.rest_count));
    out.push_back(c.has_minmax ? 1 : 0);
    if (!c.has_minmax) continue;
    if (c.kind == ColumnKind::kDouble) {
      char b[16];
      std::memcpy(b, &c.min_d, 8);
      std::memcpy(b + 8, &c.max_d, 8);
      out.append(b, 16);
    } else if (c.kind == ColumnKind::kString) {
      PutString(out, c.min_s);
      PutString(out, c.max_s);
    } else {
      PutVarint(out, Zig(c.min_i));
      PutVarint(out, Zig(c.max_i));
    }
  }
}

bool DecodeColumnStats(std::string_view& in, std::vector<ColumnStats>& columns) {
  uint64_t n = 0;
  if (!GetVarint(in, n) || n > in.size()) return false;
  columns.resize(n);
  for (ColumnStats& c : columns) {
    uint64_t present = 0, nonnull = 0, rest = 0;
    if (!GetString(in, c.name) || in.empty()) return false;
    const uint8_t kind = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (kind < 1 || kind > 4) return false;
    c.kind = static_cast<ColumnKind>(kind);
    if (!GetVarint(in, present) || !GetVarint(in, nonnull) || !GetVarint(in, rest) || in.empty()) return false;
    c.present = static_cast<int64_t>(present);
    c.nonnull = static_cast<int64_t>(nonnull);
    c.rest_count = static_cast<int64_t>(rest);
    c.has_minmax = in[0] != 0;
    in.remove_prefix(1);
    if (!c.has_minmax) continue;
    if (c.kind == ColumnKind::kDouble) {
      if (in.size() < 16) return false;
      std::memcpy(&c.min_d, in.data(), 8);
      std::memcpy(&c.max_d, in.data() + 8, 8);
      in.remove_prefix(16);
    } else if (c.kind == ColumnKind::kString) {
      if (!GetString(in, c.min_s) || !GetString(in, c.max_s)) return false;
    } else {
      uint64_t a = 0, b = 0;
      if (!GetVarint(in, a) || !GetVarint(in, b)) return false;
      c.min_i = Unzig(a);
      c.max_i = Unzig(b);
    }
  }
  return true;
}

}  // namespace

std::string EncodeChunkStats(const std::vector<ColumnStats>& columns, const std::vector<ChunkMeta>& groups, int64_t group_rows,
                             ChunkLayout layout) {
  std::string out;
  EncodeColumnStats(out, columns);
  if (groups.empty()) return out;
  PutVarint(out, groups.size());
  PutVarint(out, static_cast<uint64_t>(group_rows));
  for (const ChunkMeta& g : groups) {
    PutVarint(out, static_cast<uint64_t>(g.rows));
    PutVarint(out, Zig(g.min_ts));
    PutVarint(out, Zig(g.max_ts));
    EncodeColumnStats(out, g.columns);
  }
  if (layout != ChunkLayout::kColumnBlobs) out.push_back(static_cast<char>(layout));
  return out;
}

Status DecodeChunkStats(std::string_view in, ChunkMeta& meta) {
  auto bad = [] { return DataLossError("corrupt columnar chunk statistics"); };
  if (!DecodeColumnStats(in, meta.columns)) return bad();
  meta.groups.clear();
  if (in.empty()) return OkStatus();  // a chunk without row groups
  uint64_t n = 0, group_rows = 0;
  if (!GetVarint(in, n) || !GetVarint(in, group_rows) || group_rows == 0 || group_rows > 65536 ||
      n != (static_cast<uint64_t>(meta.rows) + group_rows - 1) / group_rows)
    return bad();
  meta.group_rows = static_cast<int64_t>(group_rows);
  meta.groups.resize(n);
  int64_t first = 0;
  for (ChunkMeta& g : meta.groups) {
    uint64_t rows = 0, lo = 0, hi = 0;
    if (!GetVarint(in, rows) || !GetVarint(in, lo) || !GetVarint(in, hi) || !DecodeColumnStats(in, g.columns)) return bad();
    g.chunk_id = meta.chunk_id;
    g.rows = static_cast<int64_t>(rows);
    g.min_ts = Unzig(lo);
    g.max_ts = Unzig(hi);
    g.first_row = first;
    first += g.rows;
    if (g.rows != std::min<int64_t>(meta.group_rows, meta.rows - g.first_row)) return bad();
  }
  meta.layout = ChunkLayout::kColumnBlobs;
  if (!in.empty()) {  // schema version 3: the layout byte
    if (static_cast<uint8_t>(in[0]) != static_cast<uint8_t>(ChunkLayout::kGroupRows)) return bad();
    meta.layout = ChunkLayout::kGroupRows;
    in.remove_prefix(1);
  }
  return in.empty() ? OkStatus() : bad();
}

namespace {

using NamedBlobs = std::map<std::string, std::string, std::less<>>;

void PutNamedBlobs(std::string& out, const NamedBlobs& m) {
  PutVarint(out, m.size());
  for (const auto& [name, bytes] : m) {
    PutString(out, name);
    PutString(out, bytes);
  }
}

bool GetNamedBlobs(std::string_view& in, NamedBlobs& m) {
  uint64_t n = 0;
  if (!GetVarint(in, n) || n > in.size()) return false;
  for (uint64_t i = 0; i < n; ++i) {
    std::string name, bytes;
    if (!GetString(in, name) || !GetString(in, bytes)) return false;
    m[name] = std::move(bytes);
  }
  return true;
}

}  // namespace

std::string EncodeAccel(const ChunkAccel& a) {
  std::string out;
  PutNamedBlobs(out, a.blooms);
  PutNamedBlobs(out, a.hlls);
  if (a.groups.empty()) return out;
  PutVarint(out, a.groups.size());
  for (const ChunkAccel& g : a.groups) PutNamedBlobs(out, g.blooms);
  return out;
}

Status DecodeAccel(std::string_view in, ChunkAccel& a) {
  auto bad = [] { return DataLossError("corrupt columnar accelerator"); };
  if (!GetNamedBlobs(in, a.blooms) || !GetNamedBlobs(in, a.hlls)) return bad();
  a.groups.clear();
  if (in.empty()) return OkStatus();  // written before per-group blooms
  uint64_t n = 0;
  if (!GetVarint(in, n) || n > in.size()) return bad();
  a.groups.resize(n);
  for (ChunkAccel& g : a.groups)
    if (!GetNamedBlobs(in, g.blooms)) return bad();
  return in.empty() ? OkStatus() : bad();
}

Result<std::vector<ChunkMeta>> LoadChunks(Connection& conn, std::string_view type) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(type.empty()
      ? "SELECT chunk_id, type, day, rows, deleted, min_ts, max_ts, bytes, stats FROM col_chunks ORDER BY chunk_id"
      : "SELECT chunk_id, type, day, rows, deleted, min_ts, max_ts, bytes, stats FROM col_chunks WHERE type = ?1 "
        "ORDER BY chunk_id"));
  if (!type.empty()) st.Bind(1, type);
  std::vector<ChunkMeta> out;
  while (true) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ChunkMeta m;
    m.chunk_id = st.ColumnInt64(0);
    m.type = st.ColumnString(1);
    m.day = st.ColumnString(2);
    m.rows = st.ColumnInt64(3);
    m.deleted = st.ColumnInt64(4);
    m.min_ts = st.ColumnInt64(5);
    m.max_ts = st.ColumnInt64(6);
    m.bytes = st.ColumnInt64(7);
    DOTDO_RETURN_IF_ERROR(DecodeChunkStats(st.ColumnBlob(8), m));
    out.push_back(std::move(m));
  }
  return out;
}

Result<ChunkAccel> LoadAccel(Connection& conn, int64_t chunk_id) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT accel FROM col_chunks WHERE chunk_id = ?1"));
  st.Bind(1, chunk_id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return DataLossError("columnar chunk " + std::to_string(chunk_id) + " vanished");
  ChunkAccel a;
  DOTDO_RETURN_IF_ERROR(DecodeAccel(st.ColumnBlob(0), a));
  return a;
}

Result<int64_t> WriteChunk(Connection& conn, const std::vector<PreparedRecord>& input, const std::vector<SubColumn>& schema,
                           const ColumnarOptions& options) {
  // Rows in $createdAt order (ties keep their input order), so row groups cover narrow times.
  std::vector<PreparedRecord> records = input;
  std::stable_sort(records.begin(), records.end(),
                   [](const PreparedRecord& a, const PreparedRecord& b) { return a.created_at < b.created_at; });
  const size_t n = records.size();
  std::vector<std::vector<uint8_t>> in_rest(schema.size(), std::vector<uint8_t>(n, 0));  // the row's value stayed in _rest
  ColumnData ids{.kind = ColumnKind::kString}, ts{.kind = ColumnKind::kInt}, rest{.kind = ColumnKind::kString};
  ids.Resize(n);
  ts.Resize(n);
  rest.Resize(n);
  std::vector<ColumnData> cols(schema.size());
  std::vector<std::vector<std::string>> strings(schema.size());
  std::vector<ColumnStats> stats(schema.size());
  std::vector<std::string> id_strings(n), rest_strings(n);
  for (size_t c = 0; c < schema.size(); ++c) {
    cols[c].kind = schema[c].kind;
    cols[c].Resize(n);
    if (schema[c].kind == ColumnKind::kString) strings[c].resize(n);
    stats[c].name = schema[c].path;
    stats[c].kind = schema[c].kind;
  }
  bool any_rest = false;
  int64_t min_ts = INT64_MAX, max_ts = INT64_MIN;
  for (size_t i = 0; i < n; ++i) {
    const PreparedRecord& r = records[i];
    id_strings[i] = r.id;
    ids.present[i] = ids.nonnull[i] = 1;
    ts.present[i] = ts.nonnull[i] = 1;
    ts.ints[i] = r.created_at;
    min_ts = std::min(min_ts, r.created_at);
    max_ts = std::max(max_ts, r.created_at);
    Json data = *r.data;
    for (size_t c = 0; c < schema.size(); ++c) {
      Json* v = Find(data, schema[c].keys);
      if (v == nullptr) {
        // An array on a prefix: the path reaches values in `_rest` (through the array's elements).
        if (ArrayOnPrefix(data, schema[c].keys)) in_rest[c][i] = 1;
        continue;
      }
      if (v->is_null()) {
        cols[c].present[i] = 1;
      } else if (Fit(cols[c], i, *v, strings[c])) {
        cols[c].present[i] = cols[c].nonnull[i] = 1;
      } else {
        in_rest[c][i] = 1;
        continue;
      }
      EraseAndPrune(data, schema[c].keys);
    }
    if (!data.empty()) {
      DOTDO_ASSIGN_OR_RETURN(rest_strings[i], DumpJsonChecked(data, "record data"));
      rest.present[i] = rest.nonnull[i] = 1;
      any_rest = true;
    }
  }
  // Strings become dictionary form (value = its own code) for the encoder.
  auto strings_into = [](ColumnData& c, std::vector<std::string>& values) {
    c.dict = values;
    for (size_t i = 0; i < c.codes.size(); ++i) c.codes[i] = static_cast<uint32_t>(i);
    if (c.dict.empty()) c.dict.emplace_back();
  };
  strings_into(ids, id_strings);
  strings_into(rest, rest_strings);
  ChunkAccel accel;
  BloomFilter id_bloom(n);
  HyperLogLog id_hll;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t h = *ValueHash(SqlValue(records[i].id));
    id_bloom.Add(h);
    id_hll.Add(h);
  }
  accel.blooms[std::string(kIdColumn)] = id_bloom.Serialize();
  accel.hlls[std::string(kIdColumn)] = id_hll.Serialize();
  const auto group_rows = static_cast<size_t>(options.row_group_rows);
  accel.groups.resize((n + group_rows - 1) / group_rows);
  // Per-group blooms: a lookup reads only the group that may hold the value.
  auto group_blooms = [&](const std::string& name, auto&& hash_of) {
    for (size_t g = 0, b = 0; b < n; ++g, b += group_rows) {
      const size_t e = std::min(n, b + group_rows);
      std::vector<uint64_t> hashes;
      for (size_t i = b; i < e; ++i)
        if (auto h = hash_of(i)) hashes.push_back(*h);
      BloomFilter bf(hashes.size());
      for (uint64_t h : hashes) bf.Add(h);
      accel.groups[g].blooms[name] = bf.Serialize();
    }
  };
  group_blooms(std::string(kIdColumn), [&](size_t i) { return ValueHash(SqlValue(records[i].id)); });
  for (size_t c = 0; c < schema.size(); ++c) {
    if (schema[c].kind == ColumnKind::kString) strings_into(cols[c], strings[c]);
    for (size_t i = 0; i < n; ++i) stats[c].rest_count += in_rest[c][i];
    MinMax(cols[c], stats[c], 0, n);
    const bool bloom = std::find(options.bloom_columns.begin(), options.bloom_columns.end(), schema[c].path) !=
                       options.bloom_columns.end();
    BloomFilter bf(static_cast<size_t>(stats[c].nonnull));
    HyperLogLog hll;
    for (size_t i = 0; i < n; ++i) {
      if (!cols[c].nonnull[i]) continue;
      const uint64_t h = *RowHash(cols[c], i);
      hll.Add(h);
      if (bloom) bf.Add(h);
    }
    accel.hlls[schema[c].path] = hll.Serialize();
    if (bloom) {
      accel.blooms[schema[c].path] = bf.Serialize();
      group_blooms(schema[c].path, [&](size_t i) { return cols[c].nonnull[i] ? RowHash(cols[c], i) : std::nullopt; });
    }
  }
  // The row-group index: per group the chunk's statistics over its rows only.
  std::vector<ChunkMeta> groups;
  for (size_t b = 0; b < n; b += group_rows) {
    const size_t e = std::min(n, b + group_rows);
    ChunkMeta& g = groups.emplace_back();
    g.rows = static_cast<int64_t>(e - b);
    g.min_ts = records[b].created_at;
    g.max_ts = records[e - 1].created_at;
    for (size_t c = 0; c < schema.size(); ++c) {
      ColumnStats& gs = g.columns.emplace_back();
      gs.name = schema[c].path;
      gs.kind = schema[c].kind;
      for (size_t i = b; i < e; ++i) gs.rest_count += in_rest[c][i];
      MinMax(cols[c], gs, b, e);
    }
  }
  // One frame per (column, row group), each its own col_groups row.
  std::vector<std::pair<std::string, const ColumnData*>> columns;
  columns.emplace_back(std::string(kIdColumn), &ids);
  columns.emplace_back(std::string(kCreatedColumn), &ts);
  if (any_rest) columns.emplace_back(std::string(kRestColumn), &rest);
  for (size_t c = 0; c < schema.size(); ++c) columns.emplace_back(schema[c].path, &cols[c]);
  std::vector<std::vector<std::string>> frames(columns.size());
  int64_t bytes = 0;
  auto listed = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (size_t k = 0; k < columns.size(); ++k) {
    // The columns point reads look up by ($id, bloom and lookup columns) are stored in blocks, so
    // a read of one row decompresses a block, not the whole group. (Blocking every column of a
    // store with lookup columns made a 10M-record point lookup 16 % faster but aggregates 25-40 %
    // and range scans 10 % slower: docs/benchmarks.md.)
    const std::string& name = columns[k].first;
    const bool blocked = name == kIdColumn || listed(options.bloom_columns, name) || listed(options.lookup_columns, name);
    for (size_t b = 0; b < n; b += group_rows) {
      frames[k].push_back(EncodeGroupFrame(SliceColumn(*columns[k].second, b, std::min(n, b + group_rows)), blocked ? kPointBlockRows : 0));
      bytes += static_cast<int64_t>(frames[k].back().size());
    }
  }
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "INSERT INTO col_chunks (type, day, rows, min_ts, max_ts, bytes, stats, accel) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  st.Bind(1, records[0].type).Bind(2, DayOf(records[0].created_at)).Bind(3, static_cast<int64_t>(n)).Bind(4, min_ts);
  st.Bind(5, max_ts).Bind(6, bytes).BindBlob(7, EncodeChunkStats(stats, groups, options.row_group_rows, ChunkLayout::kGroupRows));
  st.BindBlob(8, EncodeAccel(accel));
  DOTDO_RETURN_IF_ERROR(st.Run());
  const int64_t chunk_id = conn.LastInsertRowId();
  for (size_t k = 0; k < columns.size(); ++k)
    for (size_t g = 0; g < frames[k].size(); ++g) DOTDO_RETURN_IF_ERROR(PutGroup(conn, chunk_id, columns[k].first, g, frames[k][g]));
  return chunk_id;
}

std::optional<uint64_t> RowHash(const ColumnData& c, size_t i) {
  switch (c.kind) {
    case ColumnKind::kInt: return ValueHash(SqlValue(c.ints[i]));
    case ColumnKind::kDouble: return ValueHash(SqlValue(c.doubles[i]));
    case ColumnKind::kString: return ValueHash(SqlValue(std::string(c.Str(i))));
    case ColumnKind::kBool: return ValueHash(SqlValue(c.ints[i]));
  }
  return std::nullopt;
}

Json ColumnValueJson(const ColumnData& c, size_t row) {
  if (!c.nonnull[row]) return nullptr;
  switch (c.kind) {
    case ColumnKind::kBool: return c.ints[row] != 0;
    case ColumnKind::kInt: return c.ints[row];
    case ColumnKind::kDouble:
      if (c.was_int[row]) return static_cast<int64_t>(c.doubles[row]);
      return c.doubles[row];
    case ColumnKind::kString: return std::string(c.Str(row));
  }
  return nullptr;
}

ChunkReader::ChunkReader(Connection& conn, const ChunkMeta& meta, const std::vector<uint8_t>* groups)
    : conn_(conn), meta_(meta), groups_(groups), end_group_(meta.groups.size()), rows_(static_cast<size_t>(meta.rows)) {}

ChunkReader::ChunkReader(Connection& conn, const ChunkMeta& meta, const std::vector<uint8_t>* groups, size_t first_group,
                         size_t end_group)
    : conn_(conn), meta_(meta), groups_(groups), first_group_(first_group), end_group_(end_group) {
  first_row_ = static_cast<size_t>(meta.groups[first_group].first_row);
  const ChunkMeta& last = meta.groups[end_group - 1];
  rows_ = static_cast<size_t>(last.first_row + last.rows) - first_row_;
}

ChunkReader ChunkReader::OneRow(Connection& conn, const ChunkMeta& meta, size_t row) {
  const size_t g = row / static_cast<size_t>(meta.group_rows);
  ChunkReader reader(conn, meta, nullptr, g, g + 1);
  reader.first_row_ = row;
  reader.rows_ = 1;
  reader.one_row_ = true;
  return reader;
}

Result<std::optional<ColumnData>> ChunkReader::LoadGroupRows(std::string_view name) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn_.Prepare(
      "SELECT grp, data FROM col_groups WHERE chunk_id = ?1 AND name = ?2 AND grp >= ?3 AND grp < ?4 ORDER BY grp"));
  const size_t count = end_group_ - first_group_;
  std::vector<std::string> owned(count);
  std::vector<std::string_view> frames(count);
  auto wanted = [&](size_t g) { return groups_ == nullptr || (*groups_)[g] != 0; };
  size_t runs = 0;
  // One range read per run of consecutive wanted groups: the groups in between are not fetched.
  for (size_t a = first_group_; a < end_group_;) {
    if (!wanted(a)) {
      ++a;
      continue;
    }
    size_t b = a + 1;
    while (b < end_group_ && wanted(b)) ++b;
    st.Reset();
    st.Bind(1, meta_.chunk_id).Bind(2, name).Bind(3, static_cast<int64_t>(a)).Bind(4, static_cast<int64_t>(b));
    size_t found = 0;
    while (true) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const int64_t g = st.ColumnInt64(0);
      if (g < static_cast<int64_t>(a) || g >= static_cast<int64_t>(b)) return DataLossError("columnar row group out of range");
      const size_t k = static_cast<size_t>(g) - first_group_;
      owned[k] = std::string(st.ColumnBlob(1));
      if (owned[k].empty()) return DataLossError("columnar row group " + std::to_string(g) + " of '" + std::string(name) + "' is empty");
      frames[k] = owned[k];
      ++found;
    }
    if (found == 0 && runs == 0) return std::optional<ColumnData>();  // the chunk has no such column
    if (found != b - a) return DataLossError("columnar column '" + std::string(name) + "' lacks row groups");
    ++runs;
    a = b;
  }
  if (runs == 0) return DataLossError("columnar read of '" + std::string(name) + "' with no row group wanted");
  ++data_reads_;
  if (one_row_) {
    DOTDO_ASSIGN_OR_RETURN(ColumnData c, DecodeColumnRow(frames[0], first_row_ - static_cast<size_t>(meta_.groups[first_group_].first_row)));
    return std::optional<ColumnData>(std::move(c));
  }
  DOTDO_ASSIGN_OR_RETURN(ColumnData c, DecodeGroupFrames(frames, rows_, static_cast<size_t>(meta_.group_rows)));
  return std::optional<ColumnData>(std::move(c));
}

Result<const ColumnData*> ChunkReader::Load(std::string_view name) {
  if (auto it = columns_.find(name); it != columns_.end()) return it->second.get();
  if (missing_.contains(name)) return static_cast<const ColumnData*>(nullptr);
  if (meta_.layout == ChunkLayout::kGroupRows) {
    const bool rest = name == kRestColumn;
    if (rest && meta_.has_rest == false) return static_cast<const ColumnData*>(nullptr);
    DOTDO_ASSIGN_OR_RETURN(std::optional<ColumnData> c, LoadGroupRows(name));
    if (rest) meta_.has_rest = c.has_value();
    if (!c) {
      missing_.emplace(std::string(name), true);
      return static_cast<const ColumnData*>(nullptr);
    }
    if (c->size() != rows()) return DataLossError("columnar column '" + std::string(name) + "' has the wrong row count");
    auto owned = std::make_unique<ColumnData>(std::move(*c));
    const ColumnData* p = owned.get();
    columns_.emplace(std::string(name), std::move(owned));
    return p;
  }
  DOTDO_ASSIGN_OR_RETURN(auto st, conn_.Prepare("SELECT data FROM col_columns WHERE chunk_id = ?1 AND name = ?2"));
  st.Bind(1, meta_.chunk_id).Bind(2, name);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    missing_.emplace(std::string(name), true);
    return static_cast<const ColumnData*>(nullptr);
  }
  ++data_reads_;
  std::string_view blob = st.ColumnBlob(0);
  ColumnData c;
  if (IsGroupedColumn(blob)) {
    if (meta_.groups.empty()) return DataLossError("columnar column '" + std::string(name) + "' has row groups its chunk lacks");
    DOTDO_ASSIGN_OR_RETURN(c, DecodeGroupedColumn(blob, rows(), static_cast<size_t>(meta_.group_rows), groups_));
  } else {
    DOTDO_ASSIGN_OR_RETURN(c, DecodeColumn(blob));
  }
  if (c.size() != rows()) return DataLossError("columnar column '" + std::string(name) + "' has the wrong row count");
  auto owned = std::make_unique<ColumnData>(std::move(c));
  const ColumnData* p = owned.get();
  columns_.emplace(std::string(name), std::move(owned));
  return p;
}

Result<const ColumnData*> ChunkReader::Column(std::string_view name) { return Load(name); }

Result<const std::vector<uint8_t>*> ChunkReader::Deleted() {
  if (!deleted_) {
    deleted_.emplace(rows(), 0);
    if (meta_.deleted > 0) {
      DOTDO_ASSIGN_OR_RETURN(auto st, conn_.Prepare("SELECT rows FROM col_deletes WHERE chunk_id = ?1"));
      st.Bind(1, meta_.chunk_id);
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row) {
        std::string_view bits = st.ColumnBlob(0);
        if (bits.size() != (static_cast<size_t>(meta_.rows) + 7) / 8) return DataLossError("corrupt columnar delete bitmap");
        for (size_t i = 0; i < rows(); ++i) {
          const size_t r = first_row_ + i;
          (*deleted_)[i] = (static_cast<uint8_t>(bits[r / 8]) >> (r % 8)) & 1;
        }
      }
    }
  }
  return &*deleted_;
}

Result<const Json*> ChunkReader::Rest(size_t row) {
  static const Json* const kEmpty = new Json(Json::object());
  if (!rest_loaded_) {
    DOTDO_ASSIGN_OR_RETURN(const ColumnData* c, Load(kRestColumn));
    // Parsed on first use per row: a lookup of one row parses one, and a chunk without `_rest`
    // (every value in subcolumns) parses and allocates nothing.
    rest_column_ = c;
    if (c != nullptr) rest_.assign(rows(), Json());
    rest_parsed_.assign(c != nullptr ? rows() : 0, 0);
    rest_loaded_ = true;
  }
  if (rest_column_ == nullptr || !rest_column_->nonnull[row]) return kEmpty;
  if (!rest_parsed_[row]) {
    DOTDO_ASSIGN_OR_RETURN(rest_[row], ParseJson(rest_column_->Str(row), "columnar _rest", {.max_depth = kNoDepthCheck}));
    rest_parsed_[row] = 1;
  }
  return &rest_[row];
}

Result<Json> ChunkReader::Data(size_t row) {
  DOTDO_ASSIGN_OR_RETURN(const Json* rest, Rest(row));
  Json data = *rest;
  for (const ColumnStats& s : meta_.columns) {
    DOTDO_ASSIGN_OR_RETURN(const ColumnData* c, Load(s.name));
    if (c == nullptr) return DataLossError("columnar column '" + s.name + "' is missing");
    if (!c->present[row]) continue;
    Json* cur = &data;
    for (size_t b = 0, e; b <= s.name.size(); b = e + 1) {
      e = s.name.find('.', b);
      if (e == std::string::npos) e = s.name.size();
      cur = &(*cur)[s.name.substr(b, e - b)];
    }
    *cur = ColumnValueJson(*c, row);
  }
  return data;
}

Result<const Json*> ChunkReader::Value(const JsonPath& path, const std::string& dotted, size_t row, Json& scratch) {
  if (const ColumnStats* s = meta_.Column(dotted)) {
    DOTDO_ASSIGN_OR_RETURN(const ColumnData* c, Load(s->name));
    if (c != nullptr && c->present[row]) {
      scratch = ColumnValueJson(*c, row);
      return &scratch;
    }
  } else {
    const std::string prefix = dotted + ".";
    for (const ColumnStats& cs : meta_.columns) {
      if (cs.name.compare(0, prefix.size(), prefix) != 0) continue;
      DOTDO_ASSIGN_OR_RETURN(Json data, Data(row));  // part of the value lives in subcolumns
      const Json* v = path.Find(data);
      if (v == nullptr) return static_cast<const Json*>(nullptr);
      scratch = *v;
      return &scratch;
    }
  }
  DOTDO_ASSIGN_OR_RETURN(const Json* rest, Rest(row));
  return path.Find(*rest);
}

}  // namespace dotdo::internal
