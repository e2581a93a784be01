// ColumnarStore schema, option checks, value hashing for the accelerator and the per-type path
// statistics that decide the subcolumns.
#include <algorithm>
#include <bit>
#include <cmath>

#include "columnar/columnar_internal.h"
#include "columnar/columnar_lookup.h"
#include "core/json.h"
#include "dotdo/clock.h"
#include "sqlite/connection.h"

namespace dotdo::internal {
namespace {

constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE col_types (
  type    TEXT PRIMARY KEY,
  records INTEGER NOT NULL,
  paths   TEXT NOT NULL
);
CREATE TABLE col_chunks (
  chunk_id INTEGER PRIMARY KEY,
  type     TEXT NOT NULL,
  day      TEXT NOT NULL,
  rows     INTEGER NOT NULL,
  deleted  INTEGER NOT NULL DEFAULT 0,
  min_ts   INTEGER NOT NULL,
  max_ts   INTEGER NOT NULL,
  bytes    INTEGER NOT NULL,
  stats    BLOB NOT NULL,
  accel    BLOB NOT NULL
);
CREATE INDEX col_chunks_by_type ON col_chunks (type, day);
CREATE TABLE col_columns (
  chunk_id INTEGER NOT NULL,
  name     TEXT NOT NULL,
  data     BLOB NOT NULL,
  PRIMARY KEY (chunk_id, name)
);
CREATE TABLE col_deletes (
  chunk_id INTEGER PRIMARY KEY,
  rows     BLOB NOT NULL
);
)sql",
    // v2: chunks written from this version on have row groups (rows in $createdAt order, grouped
    // column blobs, the group index at the end of col_chunks.stats). Version 1 chunks stay
    // readable as they are; the version refuses a build that cannot read row groups.
    R"sql(
-- no table changes: chunk blobs carry their own format (docs/formats/columnar.md)
)sql",
    // v3: chunks written from this version on keep one row per (column, row group), so a read
    // fetches only the groups it decodes; their stats end with the layout byte and their accel
    // holds per-group blooms. Older chunks stay in col_columns and are read as before.
    R"sql(
CREATE TABLE col_groups (
  chunk_id INTEGER NOT NULL,
  name     TEXT NOT NULL,
  grp      INTEGER NOT NULL,
  data     BLOB NOT NULL,
  PRIMARY KEY (chunk_id, name, grp)
);
)sql",
    // v4: chunk ids are never reused (AUTOINCREMENT), so an in-memory structure keyed by chunk id
    // (the lookup index) never mistakes a new chunk for a compacted one. Chunks are unchanged.
    R"sql(
CREATE TABLE col_chunks_v4 (
  chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
  type     TEXT NOT NULL,
  day      TEXT NOT NULL,
  rows     INTEGER NOT NULL,
  deleted  INTEGER NOT NULL DEFAULT 0,
  min_ts   INTEGER NOT NULL,
  max_ts   INTEGER NOT NULL,
  bytes    INTEGER NOT NULL,
  stats    BLOB NOT NULL,
  accel    BLOB NOT NULL
);
INSERT INTO col_chunks_v4 (chunk_id, type, day, rows, deleted, min_ts, max_ts, bytes, stats, accel)
  SELECT chunk_id, type, day, rows, deleted, min_ts, max_ts, bytes, stats, accel FROM col_chunks;
DROP TABLE col_chunks;
ALTER TABLE col_chunks_v4 RENAME TO col_chunks;
CREATE INDEX col_chunks_by_type ON col_chunks (type, day);
)sql"};

// Keys a subcolumn path may consist of (other keys stay in `_rest`).
bool SimpleKey(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  if (!(std::isalpha(static_cast<unsigned char>(k[0])) || k[0] == '_')) return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

constexpr size_t kMaxPathDepth = 8;
constexpr size_t kMaxTrackedPaths = 1024;

uint32_t KindBit(const Json& v) {
  if (v.is_null()) return kSeenNull;
  if (v.is_boolean()) return kSeenBool;
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX) ? kSeenInt : kSeenDouble;
  if (v.is_number_integer()) return kSeenInt;
  if (v.is_number_float()) return kSeenDouble;
  if (v.is_string()) return kSeenString;
  if (v.is_object()) return kSeenObject;
  return kSeenOther;
}

void Walk(const Json& obj, std::string& prefix, size_t depth, std::map<std::string, std::pair<int64_t, uint32_t>>& paths) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!SimpleKey(it.key())) continue;
    const size_t mark = prefix.size();
    if (!prefix.empty()) prefix += '.';
    prefix += it.key();
    auto found = paths.find(prefix);
    if (found == paths.end() && paths.size() < kMaxTrackedPaths) found = paths.emplace(prefix, std::make_pair(0, 0u)).first;
    if (found != paths.end()) {
      found->second.first += 1;
      found->second.second |= KindBit(it.value());
    }
    if (it.value().is_object() && depth + 1 < kMaxPathDepth) Walk(it.value(), prefix, depth + 1, paths);
    prefix.resize(mark);
  }
}

}  // namespace

const StoreSpec kColumnarSpec{"columnar", "col_", kMigrations};

Status ValidateColumnarOptions(const ColumnarOptions& o) {
  if (o.max_chunk_rows < 1 || o.max_chunk_rows > (int64_t{1} << 20))
    return InvalidArgumentError("max_chunk_rows must be 1..1048576, got " + std::to_string(o.max_chunk_rows));
  if (o.row_group_rows < 1 || o.row_group_rows > 65536)
    return InvalidArgumentError("row_group_rows must be 1..65536, got " + std::to_string(o.row_group_rows));
  if (o.max_chunk_bytes < 1024) return InvalidArgumentError("max_chunk_bytes must be at least 1024");
  if (!(o.subcolumn_threshold > 0 && o.subcolumn_threshold <= 1))
    return InvalidArgumentError("subcolumn_threshold must be in (0, 1]");
  if (o.max_subcolumns < 0 || o.max_subcolumns > 1000) return InvalidArgumentError("max_subcolumns must be 0..1000");
  if (o.max_record_bytes < 16 || o.max_record_bytes > (int64_t{64} << 20))
    return InvalidArgumentError("max_record_bytes must be 16..67108864");
  if (o.bloom_columns.size() > 16) return InvalidArgumentError("at most 16 bloom_columns");
  for (const std::string& c : o.bloom_columns) {
    DOTDO_ASSIGN_OR_RETURN(JsonPath p, JsonPath::Parse(c));
    if (p.ToDotted() != c) return InvalidArgumentError("bloom column '" + c + "' is not a canonical dotted path");
  }
  if (o.lookup_columns.size() > 8) return InvalidArgumentError("at most 8 lookup_columns");
  for (const std::string& c : o.lookup_columns) {
    if (c == kIdColumn) continue;
    if (!c.empty() && c[0] == '$') return InvalidArgumentError("lookup column '" + c + "': of the system fields only $id has a lookup index");
    DOTDO_ASSIGN_OR_RETURN(JsonPath p, JsonPath::Parse(c));
    const bool keys = std::all_of(p.segments().begin(), p.segments().end(), [](const JsonPath::Segment& s) {
      return std::holds_alternative<std::string>(s) && SimpleKey(std::get<std::string>(s));
    });
    if (p.ToDotted() != c || !keys)
      return InvalidArgumentError("lookup column '" + c + "' must be a dotted path of object keys ([A-Za-z_][A-Za-z0-9_]*)");
  }
  return OkStatus();
}

std::string DayOf(int64_t ts) { return FormatIso8601(ts).substr(0, 10); }

std::optional<uint64_t> ValueHash(const SqlValue& v) {
  char buf[9];
  if (const auto* i = std::get_if<int64_t>(&v)) {
    buf[0] = 'i';
    std::memcpy(buf + 1, i, 8);
    return HashBytes({buf, 9});
  }
  if (const auto* d = std::get_if<double>(&v)) {
    if (*d == std::trunc(*d) && *d >= -9223372036854775808.0 && *d < 9223372036854775808.0)
      return ValueHash(SqlValue(static_cast<int64_t>(*d)));
    buf[0] = 'd';
    const double x = *d;
    std::memcpy(buf + 1, &x, 8);
    return HashBytes({buf, 9});
  }
  if (const auto* s = std::get_if<std::string>(&v)) return HashBytes("s" + *s);
  return std::nullopt;
}

std::optional<uint64_t> ValueHash(const Json& v) {
  if (v.is_boolean() || !(v.is_number() || v.is_string())) return std::nullopt;
  return ValueHash(ToSqlValue(v));
}

std::optional<ColumnKind> WidenedKind(uint32_t mask) {
  mask &= ~kSeenNull;
  if (mask == 0 || (mask & (kSeenOther | kSeenObject))) return std::nullopt;
  if (mask == kSeenBool) return ColumnKind::kBool;
  if (mask == kSeenInt) return ColumnKind::kInt;
  if ((mask & ~(kSeenInt | kSeenDouble)) == 0) return ColumnKind::kDouble;
  return ColumnKind::kString;
}

void TypePaths::Add(const Json& data) {
  ++records;
  std::string prefix;
  Walk(data, prefix, 0, paths);
}

std::vector<SubColumn> TypePaths::Select(const ColumnarOptions& options) const {
  std::vector<std::pair<int64_t, std::string>> picked;
  for (const auto& [path, stat] : paths) {
    if (static_cast<double>(stat.first) < options.subcolumn_threshold * static_cast<double>(records)) continue;
    if (!WidenedKind(stat.second)) continue;
    picked.emplace_back(stat.first, path);
  }
  std::sort(picked.begin(), picked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (picked.size() > static_cast<size_t>(options.max_subcolumns)) picked.resize(static_cast<size_t>(options.max_subcolumns));
  std::vector<SubColumn> out;
  for (auto& [count, path] : picked) {
    SubColumn c{path, {}, *WidenedKind(paths.at(path).second)};
    for (size_t s = 0, e; s <= path.size(); s = e + 1) {
      e = path.find('.', s);
      if (e == std::string::npos) e = path.size();
      c.keys.push_back(path.substr(s, e - s));
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const SubColumn& a, const SubColumn& b) { return a.path < b.path; });
  return out;
}

Result<TypePaths> LoadTypePaths(Connection& conn, std::string_view type) {
  TypePaths tp;
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT records, paths FROM col_types WHERE type = ?1"));
  st.Bind(1, type);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return tp;
  tp.records = st.ColumnInt64(0);
  DOTDO_ASSIGN_OR_RETURN(Json paths, ParseJson(st.ColumnText(1), "columnar path statistics", {.max_depth = kNoDepthCheck}));
  Status s = CatchAll("columnar path statistics", [&]() -> Status {
    for (auto it = paths.begin(); it != paths.end(); ++it)
      tp.paths[it.key()] = {it.value().at(0).get<int64_t>(), it.value().at(1).get<uint32_t>()};
    return OkStatus();
  });
  if (!s.ok()) return DataLossError(s.message());
  return tp;
}

Result<std::vector<SubColumn>> UpdateTypePaths(Connection& conn, std::string_view type,
                                               const std::vector<PreparedRecord>& records, const ColumnarOptions& options) {
  DOTDO_ASSIGN_OR_RETURN(TypePaths tp, LoadTypePaths(conn, type));
  for (const PreparedRecord& r : records) tp.Add(*r.data);
  Json paths = Json::object();
  for (const auto& [path, stat] : tp.paths) paths[path] = Json::array({stat.first, stat.second});
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "INSERT INTO col_types (type, records, paths) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (type) DO UPDATE SET records = excluded.records, paths = excluded.paths"));
  st.BindAll(type, tp.records, DumpJson(paths));
  DOTDO_RETURN_IF_ERROR(st.Run());
  return tp.Select(options);
}

ColumnarState::ColumnarState(Database& db) : db_(db) { DatabaseInternals::AddObserver(db_, this); }
ColumnarState::~ColumnarState() { DatabaseInternals::RemoveObserver(db_, this); }

Result<ColumnarState*> ColumnarState::Of(Database& db) {
  ColumnarState& state = DatabaseInternals::Extension<ColumnarState>(db);
  // Another connection (a second Database on the file, another process) may have committed since
  // the cache was filled: then nothing in it is trusted.
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db).Prepare("PRAGMA data_version"));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  const int64_t version = row ? st.ColumnInt64(0) : 0;
  if (version != state.data_version_) {
    state.Reset();
    state.data_version_ = version;
  }
  return &state;
}

void ColumnarState::Reset() {
  loaded_ = false;
  chunks_.clear();
  all_.clear();
  by_type_.clear();
  accel_.clear();
}


Result<const std::vector<const ChunkMeta*>*> ColumnarState::Chunks(std::string_view type) {
  if (db_.InTransaction()) Reset();  // a write transaction may have written: always fresh
  if (!loaded_) {
    DOTDO_ASSIGN_OR_RETURN(chunks_, LoadChunks(DatabaseInternals::Conn(db_), ""));
    for (const ChunkMeta& c : chunks_) {
      all_.push_back(&c);
      by_type_[c.type].push_back(&c);
    }
    loaded_ = true;
    ++loads_;
  }
  if (type.empty()) return &all_;
  static const std::vector<const ChunkMeta*> kNone;
  auto it = by_type_.find(type);
  return it == by_type_.end() ? &kNone : &it->second;
}

Result<const LookupIndex*> ColumnarState::Lookup(std::string_view type, const std::string& column) {
  DOTDO_ASSIGN_OR_RETURN(const std::vector<const ChunkMeta*>* chunks, Chunks(type));
  std::string key = std::string(type) + '\x1f' + column;
  auto it = lookups_.find(key);
  if (it == lookups_.end()) it = lookups_.emplace(std::move(key), std::make_unique<LookupIndex>(column)).first;
  Status synced = it->second->Sync(DatabaseInternals::Conn(db_), *chunks, loads_);
  if (!synced.ok()) {
    lookups_.erase(it);  // half-built: start over on the next lookup
    return synced;
  }
  return it->second.get();
}

Result<const ChunkAccel*> ColumnarState::Accel(const ChunkMeta& meta) {
  std::unique_ptr<ChunkAccel>& slot = accel_[meta.chunk_id];
  if (!slot) {
    DOTDO_ASSIGN_OR_RETURN(ChunkAccel a, LoadAccel(DatabaseInternals::Conn(db_), meta.chunk_id));
    a.hlls.clear();  // reads probe blooms only; the sketches are read by Stats
    slot = std::make_unique<ChunkAccel>(std::move(a));
  }
  return slot.get();
}

}  // namespace dotdo::internal
