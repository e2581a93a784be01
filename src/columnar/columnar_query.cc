// ColumnarStore reads: the chunk scan with accelerator pruning, Query (projection, order, limit),
// Count (from the chunk index when there is no filter), Get and the id lookups behind
// Delete/Update (bloom on $id, then the id column of the candidate chunks), and tombstones.
#include <algorithm>

#include "columnar/columnar_lookup.h"
#include "columnar/columnar_result.h"
#include "columnar/columnar_rows.h"
#include "core/json.h"
#include "core/read_snapshot.h"
#include "core/names.h"

namespace dotdo {

using internal::ChunkLayout;
using internal::ChunkMeta;
using internal::ChunkReader;
using internal::ColumnarState;
using internal::ColumnarFilter;
using internal::Connection;
using internal::DatabaseInternals;

namespace internal {
namespace {

// SQL ORDER BY classes: NULL < numbers < text.
struct SortKey {
  int cls = 0;
  double num = 0;
  std::string text;
};

SortKey KeyOf(const Json* v) {
  SortKey k;
  if (v == nullptr || v->is_null()) return k;
  if (v->is_boolean()) {
    k.cls = 1;
    k.num = v->get<bool>() ? 1 : 0;
  } else if (v->is_number()) {
    k.cls = 1;
    k.num = v->get<double>();
  } else {
    k.cls = 2;
    k.text = v->is_string() ? v->get<std::string>() : DumpJson(*v);
  }
  return k;
}

bool KeyLess(const SortKey& a, const SortKey& b) {
  if (a.cls != b.cls) return a.cls < b.cls;
  if (a.cls == 1) return a.num < b.num;
  return a.text < b.text;
}

Result<std::vector<JsonPath>> ParsePaths(const std::vector<std::string>& names, const char* what) {
  if (names.size() > 64) return InvalidArgumentError(std::string("at most 64 ") + what);
  std::vector<JsonPath> out;
  for (const std::string& n : names) {
    if (!n.empty() && n[0] == '$') return InvalidArgumentError(std::string(what) + " name data paths; '" + n + "' is a system field");
    DOTDO_ASSIGN_OR_RETURN(JsonPath p, JsonPath::Parse(n));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

Json RowImage(const ColumnarRow& row) {
  return Json{{"$id", row.id}, {"$type", row.type}, {"$createdAt", row.created_at}, {"data", row.data}};
}

Result<ColumnarRow> ReadRow(ChunkReader& chunk, size_t row, const std::vector<JsonPath>& columns) {
  ColumnarRow out;
  DOTDO_ASSIGN_OR_RETURN(const ColumnData* ids, chunk.Column(kIdColumn));
  DOTDO_ASSIGN_OR_RETURN(const ColumnData* ts, chunk.Column(kCreatedColumn));
  if (ids == nullptr || ts == nullptr) return DataLossError("columnar chunk lacks its system columns");
  out.id = std::string(ids->Str(row));
  out.type = chunk.meta().type;
  out.created_at = ts->ints[row];
  if (columns.empty()) {
    DOTDO_ASSIGN_OR_RETURN(out.data, chunk.Data(row));
    return out;
  }
  for (const JsonPath& p : columns) {
    Json scratch;
    DOTDO_ASSIGN_OR_RETURN(const Json* v, chunk.Value(p, p.ToDotted(), row, scratch));
    if (v != nullptr) DOTDO_RETURN_IF_ERROR(p.Set(out.data, *v));
  }
  return out;
}

Result<size_t> AppendRecords(ChunkReader& chunk, const std::vector<uint8_t>& match, size_t limit, const std::vector<JsonPath>& columns,
                             const std::vector<std::string>& dotted, ColumnarColumns& out) {
  DOTDO_ASSIGN_OR_RETURN(const ColumnData* ids, chunk.Column(kIdColumn));
  DOTDO_ASSIGN_OR_RETURN(const ColumnData* ts, chunk.Column(kCreatedColumn));
  if (ids == nullptr || ts == nullptr) return DataLossError("columnar chunk lacks its system columns");
  // Per path, once per chunk: its own subcolumn, and whether a row outside it lacks the path.
  std::vector<const ColumnData*> own(columns.size(), nullptr);
  std::vector<uint8_t> absent_is_missing(columns.size(), 0);
  for (size_t k = 0; k < columns.size(); ++k) {
    if (const ColumnStats* s = chunk.meta().Column(dotted[k])) {
      DOTDO_ASSIGN_OR_RETURN(own[k], chunk.Column(s->name));
      absent_is_missing[k] = own[k] != nullptr && s->rest_count == 0;
    }
  }
  size_t appended = 0;
  for (size_t row = 0; row < match.size() && out.size() < limit; ++row) {
    if (!match[row]) continue;
    ++appended;
    out.ids.emplace_back(ids->Str(row));
    out.created_at.push_back(ts->ints[row]);
    for (size_t k = 0; k < columns.size(); ++k) {
      ColumnarColumn& col = out.columns[k];
      // The path's own subcolumn answers when the row's value is in it, or when the chunk keeps
      // no value of the path elsewhere (rest_count 0: a row without it lacks the path).
      if (own[k] != nullptr && own[k]->present[row]) {
        AppendColumnValue(col, *own[k], row);
      } else if (absent_is_missing[k]) {
        AppendMissing(col);
      } else {
        Json scratch;
        DOTDO_ASSIGN_OR_RETURN(const Json* v, chunk.Value(columns[k], dotted[k], row, scratch));
        if (v == nullptr) AppendMissing(col);
        else AppendJson(col, *v);
      }
    }
  }
  return appended;
}

void AppendRow(const ColumnarRow& row, const std::vector<JsonPath>& columns, ColumnarColumns& out) {
  out.ids.push_back(row.id);
  out.created_at.push_back(row.created_at);
  for (size_t k = 0; k < columns.size(); ++k) {
    const Json* v = columns[k].Find(row.data);
    if (v == nullptr) AppendMissing(out.columns[k]);
    else AppendJson(out.columns[k], *v);
  }
}

namespace {

// The reader of the wanted row groups of a chunk: for a kGroupRows chunk only the span from the
// first to the last wanted group is fetched (the unwanted ones inside it read as absent); a chunk
// in column blobs is read whole. REQUIRES: `wanted` has one flag per group, one of them set.
ChunkReader WantedReader(Connection& conn, const ChunkMeta& meta, const std::vector<uint8_t>& wanted) {
  if (meta.groups.empty()) return ChunkReader(conn, meta);
  if (meta.layout != ChunkLayout::kGroupRows) return ChunkReader(conn, meta, &wanted);
  size_t first = 0, end = wanted.size();
  while (first < end && !wanted[first]) ++first;
  while (end > first + 1 && !wanted[end - 1]) --end;
  return ChunkReader(conn, meta, &wanted, first, end);
}

// The live rows of the reader's window that lie in wanted groups.
Result<std::vector<uint8_t>> LiveRows(ChunkReader& reader, const std::vector<uint8_t>& wanted) {
  DOTDO_ASSIGN_OR_RETURN(const std::vector<uint8_t>* deleted, reader.Deleted());
  const ChunkMeta& meta = reader.meta();
  std::vector<uint8_t> live(reader.rows());
  for (size_t i = 0; i < live.size(); ++i)
    live[i] = !(*deleted)[i] && (meta.groups.empty() || wanted[(reader.first_row() + i) / static_cast<size_t>(meta.group_rows)]);
  return live;
}

// A chunk's candidates (rows [begin, end) of `hits`, all of one chunk) with at most this many
// rows are read one row at a time; more, and the groups holding them are decoded.
constexpr size_t kOneRowReads = 4;

// Reads the candidate rows of a lookup index: per chunk, each row alone (ChunkReader::OneRow) when
// there are few, else the groups that hold them, with the filter applied to the candidates only.
// The chunks of the type it was not sent to count as skipped.
Status VisitHits(Connection& conn, const std::vector<LookupIndex::Hit>& hits, size_t type_chunks, const ColumnarFilter& filter,
                 ColumnarScanStats& scan, const std::function<Result<bool>(ChunkReader&, const std::vector<uint8_t>&)>& visit) {
  scan.lookup_rows += static_cast<int64_t>(hits.size());
  scan.chunks_skipped += static_cast<int64_t>(type_chunks);
  std::vector<uint8_t> wanted, match;
  for (size_t begin = 0, end; begin < hits.size(); begin = end) {
    const ChunkMeta& meta = *hits[begin].chunk;
    for (end = begin + 1; end < hits.size() && hits[end].chunk == &meta;) ++end;
    if (meta.deleted == meta.rows) continue;
    ++scan.chunks_read;
    --scan.chunks_skipped;
    wanted.assign(meta.groups.size(), 0);
    for (size_t i = begin; i < end; ++i)
      if (!wanted.empty()) wanted[hits[i].row / static_cast<size_t>(meta.group_rows)] = 1;
    size_t groups = 0;
    for (uint8_t w : wanted) groups += w;
    scan.groups_read += static_cast<int64_t>(groups);
    scan.groups_skipped += static_cast<int64_t>(wanted.size() - groups);
    if (meta.layout == ChunkLayout::kGroupRows && end - begin <= kOneRowReads) {
      for (size_t i = begin; i < end; ++i) {
        ChunkReader reader = ChunkReader::OneRow(conn, meta, hits[i].row);
        DOTDO_ASSIGN_OR_RETURN(const std::vector<uint8_t>* deleted, reader.Deleted());
        match.assign(1, (*deleted)[0] ? 0 : 1);
        if (!match[0]) continue;
        DOTDO_RETURN_IF_ERROR(filter.Apply(reader, match));
        DOTDO_ASSIGN_OR_RETURN(bool more, visit(reader, match));
        if (!more) return OkStatus();
      }
      continue;
    }
    if (wanted.empty()) wanted.assign(1, 1);  // a chunk without row groups: WantedReader reads it whole
    ChunkReader reader = WantedReader(conn, meta, wanted);
    DOTDO_ASSIGN_OR_RETURN(const std::vector<uint8_t>* deleted, reader.Deleted());
    match.assign(reader.rows(), 0);
    for (size_t i = begin; i < end; ++i) {
      const size_t r = hits[i].row - reader.first_row();
      match[r] = (*deleted)[r] ? 0 : 1;
    }
    DOTDO_RETURN_IF_ERROR(filter.Apply(reader, match));
    DOTDO_ASSIGN_OR_RETURN(bool more, visit(reader, match));
    if (!more) return OkStatus();
  }
  return OkStatus();
}

}  // namespace

Status ScanChunks(Database& db, const std::string& type, const ColumnarFilter& filter, const std::vector<std::string>& lookup_columns,
                  ColumnarScanStats& scan, const std::function<Result<bool>(ChunkReader&, const std::vector<uint8_t>&)>& visit) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(ColumnarState * state, ColumnarState::Of(db));
  DOTDO_ASSIGN_OR_RETURN(const std::vector<const ChunkMeta*>* chunk_list, state->Chunks(type));
  const std::vector<const ChunkMeta*>& chunks = *chunk_list;
  scan.chunks_total += static_cast<int64_t>(chunks.size());
  // An equality on a lookup column: only the index's candidate rows are read.
  if (!db.InTransaction()) {  // a write transaction may have written chunks a rollback removes
    for (const std::string& column : lookup_columns) {
      std::optional<std::vector<uint64_t>> hashes = filter.EqualityHashes(column);
      if (!hashes) continue;
      DOTDO_ASSIGN_OR_RETURN(const LookupIndex* index, state->Lookup(type, column));
      return VisitHits(conn, index->Find(*hashes), chunks.size(), filter, scan, visit);
    }
  }
  const bool accel = filter.NeedsAccel();
  std::vector<uint8_t> wanted;
  for (const ChunkMeta* meta : chunks) {
    bool may = meta->deleted < meta->rows && filter.MayMatch(*meta, nullptr);
    const ChunkAccel* a = nullptr;
    if (may && accel) {
      DOTDO_ASSIGN_OR_RETURN(a, state->Accel(*meta));
      may = filter.MayMatch(*meta, a);
    }
    // Row groups: each is pruned by its own statistics and blooms, as a chunk is.
    size_t groups_wanted = 0;
    wanted.assign(meta->groups.size(), 0);
    if (may && !meta->groups.empty()) {
      const bool group_blooms = a != nullptr && a->groups.size() == meta->groups.size();
      for (size_t g = 0; g < wanted.size(); ++g) {
        wanted[g] = filter.MayMatch(meta->groups[g], group_blooms ? &a->groups[g] : nullptr) ? 1 : 0;
        groups_wanted += wanted[g];
      }
      may = groups_wanted > 0;
    }
    if (!may) {
      ++scan.chunks_skipped;
      continue;
    }
    ++scan.chunks_read;
    scan.groups_read += static_cast<int64_t>(groups_wanted);
    scan.groups_skipped += static_cast<int64_t>(meta->groups.size() - groups_wanted);
    ChunkReader reader = WantedReader(conn, *meta, wanted);
    DOTDO_ASSIGN_OR_RETURN(std::vector<uint8_t> match, LiveRows(reader, wanted));
    DOTDO_RETURN_IF_ERROR(filter.Apply(reader, match));
    DOTDO_ASSIGN_OR_RETURN(bool more, visit(reader, match));
    if (!more) break;
  }
  return OkStatus();
}

Result<std::vector<RowHit>> FindLive(Database& db, const std::vector<std::string>& ids, bool id_lookup) {
  Connection& conn = DatabaseInternals::Conn(db);
  std::vector<uint64_t> hashes;
  for (const std::string& id : ids) hashes.push_back(*ValueHash(SqlValue(id)));
  std::vector<std::string> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  DOTDO_ASSIGN_OR_RETURN(ColumnarState * state, ColumnarState::Of(db));
  std::vector<RowHit> hits;
  if (id_lookup && !db.InTransaction()) {  // the $id lookup index over every type's chunks
    DOTDO_ASSIGN_OR_RETURN(const LookupIndex* index, state->Lookup("", std::string(kIdColumn)));
    DOTDO_ASSIGN_OR_RETURN(ColumnarFilter filter, ColumnarFilter::Compile(Json{{"$id", {{"$in", ids}}}}));
    ColumnarScanStats scan;
    DOTDO_RETURN_IF_ERROR(VisitHits(conn, index->Find(hashes), 0, filter, scan, [&](ChunkReader& reader, const std::vector<uint8_t>& match) -> Result<bool> {
      for (size_t i = 0; i < match.size(); ++i) {
        if (!match[i]) continue;
        DOTDO_ASSIGN_OR_RETURN(ColumnarRow row, ReadRow(reader, i, {}));
        hits.push_back({reader.meta().chunk_id, reader.first_row() + i, std::move(row)});
      }
      return true;
    }));
    return hits;
  }
  DOTDO_ASSIGN_OR_RETURN(const std::vector<const ChunkMeta*>* chunk_list, state->Chunks(""));
  const std::vector<const ChunkMeta*>& chunks = *chunk_list;
  // True when the accelerator has no $id bloom or one of the ids may be in it.
  auto may_hold = [&](const ChunkAccel& a) {
    auto it = a.blooms.find(kIdColumn);
    if (it == a.blooms.end()) return true;
    for (uint64_t h : hashes)
      if (BloomFilter::MayContain(it->second, h)) return true;
    return false;
  };
  std::vector<uint8_t> wanted;
  for (const ChunkMeta* meta : chunks) {
    if (meta->deleted == meta->rows) continue;
    DOTDO_ASSIGN_OR_RETURN(const ChunkAccel* a, state->Accel(*meta));
    if (!may_hold(*a)) continue;
    wanted.assign(meta->groups.size(), 1);
    if (!meta->groups.empty() && a->groups.size() == meta->groups.size()) {  // per-group $id blooms
      size_t any = 0;
      for (size_t g = 0; g < wanted.size(); ++g) {
        wanted[g] = may_hold(a->groups[g]) ? 1 : 0;
        any += wanted[g];
      }
      if (any == 0) continue;
    }
    ChunkReader reader = WantedReader(conn, *meta, wanted);
    DOTDO_ASSIGN_OR_RETURN(const ColumnData* col, reader.Column(kIdColumn));
    DOTDO_ASSIGN_OR_RETURN(std::vector<uint8_t> live, LiveRows(reader, wanted));
    if (col == nullptr) return DataLossError("columnar chunk lacks its $id column");
    for (size_t i = 0; i < reader.rows(); ++i) {
      if (!live[i] || !std::binary_search(sorted.begin(), sorted.end(), col->Str(i))) continue;
      DOTDO_ASSIGN_OR_RETURN(ColumnarRow row, ReadRow(reader, i, {}));
      hits.push_back({meta->chunk_id, reader.first_row() + i, std::move(row)});
    }
  }
  return hits;
}

RowHit Latest(const std::vector<RowHit>& hits) {
  const RowHit* best = &hits[0];
  for (const RowHit& h : hits)
    if (h.row.created_at >= best->row.created_at) best = &h;
  return *best;
}

Status Tombstone(Database& db, const std::vector<RowHit>& hits) {
  Connection& conn = DatabaseInternals::Conn(db);
  std::map<int64_t, std::vector<size_t>> by_chunk;
  for (const RowHit& h : hits) by_chunk[h.chunk_id].push_back(h.index);
  for (const auto& [chunk_id, rows] : by_chunk) {
    DOTDO_ASSIGN_OR_RETURN(auto q, conn.Prepare(
        "SELECT c.rows, d.rows FROM col_chunks c LEFT JOIN col_deletes d USING (chunk_id) WHERE c.chunk_id = ?1"));
    q.Bind(1, chunk_id);
    DOTDO_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return DataLossError("columnar chunk vanished");
    const auto n = static_cast<size_t>(q.ColumnInt64(0));
    std::string bits = q.IsNull(1) ? std::string((n + 7) / 8, '\0') : std::string(q.ColumnBlob(1));
    q.Reset();
    if (bits.size() != (n + 7) / 8) return DataLossError("corrupt columnar delete bitmap");
    for (size_t r : rows) bits[r / 8] = static_cast<char>(static_cast<uint8_t>(bits[r / 8]) | (1u << (r % 8)));
    int64_t count = 0;
    for (size_t i = 0; i < n; ++i) count += (static_cast<uint8_t>(bits[i / 8]) >> (i % 8)) & 1;
    DOTDO_ASSIGN_OR_RETURN(auto put, conn.Prepare("INSERT OR REPLACE INTO col_deletes (chunk_id, rows) VALUES (?1, ?2)"));
    put.Bind(1, chunk_id).BindBlob(2, bits);
    DOTDO_RETURN_IF_ERROR(put.Run());
    DOTDO_ASSIGN_OR_RETURN(auto upd, conn.Prepare("UPDATE col_chunks SET deleted = ?2 WHERE chunk_id = ?1"));
    upd.Bind(1, chunk_id).Bind(2, count);
    DOTDO_RETURN_IF_ERROR(upd.Run());
  }
  return OkStatus();
}

}  // namespace internal

Result<ColumnarQueryResult> ColumnarStore::Query(const ColumnarQueryOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypeName(o.type, "$type"));
  if (o.limit < 1 || o.limit > kMaxColumnarQueryLimit)
    return InvalidArgumentError("limit must be 1.." + std::to_string(kMaxColumnarQueryLimit) + ", got " + std::to_string(o.limit));
  DOTDO_ASSIGN_OR_RETURN(auto columns, internal::ParsePaths(o.columns, "columns"));
  std::optional<internal::JsonPath> order;
  const bool by_id = o.order_by == "$id", by_ts = o.order_by == "$createdAt";
  if (!o.order_by.empty() && !by_id && !by_ts) {
    DOTDO_ASSIGN_OR_RETURN(auto p, internal::ParsePaths({o.order_by}, "order_by"));
    order = p[0];
  }
  const bool columnar = o.layout == ColumnarLayout::kColumns;
  if (columnar && columns.empty()) return InvalidArgumentError("layout kColumns needs the columns to return");
  DOTDO_ASSIGN_OR_RETURN(ColumnarFilter filter, ColumnarFilter::Compile(o.where));
  ColumnarQueryResult out;
  std::vector<std::string> dotted;
  if (columnar) {
    for (const std::string& c : o.columns) out.columns.columns.push_back({.path = c});
    for (const internal::JsonPath& p : columns) dotted.push_back(p.ToDotted());
  }
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db_, internal::kColumnarSpec));
  if (!present) return out;
  internal::ReadSnapshot snapshot(conn);  // one read transaction: one consistent state, one lock
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  const auto limit = static_cast<size_t>(o.limit);
  const bool sorted = !o.order_by.empty();
  std::vector<std::pair<internal::SortKey, ColumnarRow>> best;  // kept sorted, at most `limit`
  auto less = [&](const auto& a, const auto& b) {
    return o.descending ? internal::KeyLess(b.first, a.first) : internal::KeyLess(a.first, b.first);
  };
  DOTDO_RETURN_IF_ERROR(internal::ScanChunks(db_, o.type, filter, options_.lookup_columns, out.scan, [&](ChunkReader& chunk, const std::vector<uint8_t>& match) -> Result<bool> {
    if (!sorted && columnar) {
      DOTDO_RETURN_IF_ERROR(internal::AppendRecords(chunk, match, limit, columns, dotted, out.columns).status());
      return out.columns.size() < limit;
    }
    for (size_t i = 0; i < match.size(); ++i) {
      if (!match[i]) continue;
      if (!sorted) {
        DOTDO_ASSIGN_OR_RETURN(ColumnarRow row, internal::ReadRow(chunk, i, columns));
        out.rows.push_back(std::move(row));
        if (out.rows.size() >= limit) return false;
        continue;
      }
      internal::SortKey key;
      Json scratch;
      if (by_id || by_ts) {
        DOTDO_ASSIGN_OR_RETURN(const internal::ColumnData* c, chunk.Column(by_id ? internal::kIdColumn : internal::kCreatedColumn));
        scratch = by_id ? Json(std::string(c->Str(i))) : Json(c->ints[i]);
        key = internal::KeyOf(&scratch);
      } else {
        DOTDO_ASSIGN_OR_RETURN(const Json* v, chunk.Value(*order, order->ToDotted(), i, scratch));
        key = internal::KeyOf(v);
      }
      std::pair<internal::SortKey, ColumnarRow> cand{std::move(key), {}};
      if (best.size() >= limit && !less(cand, best.back())) continue;
      DOTDO_ASSIGN_OR_RETURN(cand.second, internal::ReadRow(chunk, i, columns));
      best.insert(std::upper_bound(best.begin(), best.end(), cand, less), std::move(cand));
      if (best.size() > limit) best.pop_back();
    }
    return true;
  }));
  for (auto& b : best) {
    if (columnar) internal::AppendRow(b.second, columns, out.columns);
    else out.rows.push_back(std::move(b.second));
  }
  return out;
}

Result<ColumnarCountResult> ColumnarStore::Count(const std::string& type, const Json& where) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypeName(type, "$type"));
  DOTDO_ASSIGN_OR_RETURN(ColumnarFilter filter, ColumnarFilter::Compile(where));
  ColumnarCountResult out;
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db_, internal::kColumnarSpec));
  if (!present) return out;
  internal::ReadSnapshot snapshot(conn);  // one read transaction: one consistent state, one lock
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  if (filter.empty()) {  // from the chunk index: no column is read
    DOTDO_ASSIGN_OR_RETURN(auto q, conn.Prepare("SELECT COUNT(*), COALESCE(SUM(rows - deleted), 0) FROM col_chunks WHERE type = ?1"));
    q.Bind(1, type);
    DOTDO_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) {
      out.scan.chunks_total = out.scan.chunks_skipped = q.ColumnInt64(0);
      out.count = q.ColumnInt64(1);
    }
    return out;
  }
  DOTDO_RETURN_IF_ERROR(internal::ScanChunks(db_, type, filter, options_.lookup_columns, out.scan, [&](ChunkReader&, const std::vector<uint8_t>& match) -> Result<bool> {
    for (uint8_t m : match) out.count += m;
    return true;
  }));
  return out;
}

Result<ColumnarRow> ColumnarStore::Get(const std::string& id) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateRecordId(id, "$id"));
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db_, internal::kColumnarSpec));
  if (!present) return NotFoundError("no columnar record with $id '" + id + "'");
  internal::ReadSnapshot snapshot(conn);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  const bool id_lookup = std::find(options_.lookup_columns.begin(), options_.lookup_columns.end(), internal::kIdColumn) !=
                         options_.lookup_columns.end();
  DOTDO_ASSIGN_OR_RETURN(auto hits, internal::FindLive(db_, {id}, id_lookup));
  if (hits.empty()) return NotFoundError("no columnar record with $id '" + id + "'");
  return internal::Latest(hits).row;
}

}  // namespace dotdo
