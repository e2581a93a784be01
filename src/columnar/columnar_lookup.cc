// The in-memory lookup index of a (type, column): build, sync with the chunk list, find.
#include "columnar/columnar_lookup.h"

#include <algorithm>
#include <bit>

#include "sqlite/connection.h"

namespace dotdo::internal {
namespace {

// Spreads a value hash over the table (the hashes are already mixed; this guards the bits used).
size_t Home(uint64_t hash, size_t mask) { return static_cast<size_t>((hash ^ (hash >> 29)) * 0x9E3779B97F4A7C15ULL >> 7) & mask; }

uint64_t Stored(uint64_t hash) { return hash == 0 ? 1 : hash; }

}  // namespace

LookupIndex::LookupIndex(std::string column) : column_(std::move(column)) {}

void LookupIndex::Place(const Entry& e) {
  const size_t mask = table_.size() - 1;
  for (size_t i = Home(e.hash, mask);; i = (i + 1) & mask) {
    if (table_[i].hash != 0) continue;
    table_[i] = e;
    ++used_;
    ++live_;
    return;
  }
}

void LookupIndex::Insert(uint64_t hash, uint32_t slot, uint32_t row) {
  if ((used_ + 1) * 4 > table_.size() * 3) Rebuild(std::max<size_t>(1024, std::bit_ceil((live_ + 1) * 2)), {});
  Place({Stored(hash), slot, row});
}

void LookupIndex::Rebuild(size_t capacity, const std::vector<uint32_t>& remap) {
  std::vector<Entry> old = std::move(table_);
  table_.assign(capacity, Entry{});
  used_ = live_ = 0;
  for (Entry e : old) {
    if (e.hash == 0) continue;
    if (!remap.empty()) {
      if (remap[e.slot] == UINT32_MAX) continue;
      e.slot = remap[e.slot];
    } else if (slots_[e.slot].meta == nullptr) {
      continue;
    }
    Place(e);
  }
}

void LookupIndex::DropGoneSlots() {
  std::vector<uint32_t> remap(slots_.size(), UINT32_MAX);
  std::vector<Slot> kept;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].meta == nullptr) continue;
    remap[i] = static_cast<uint32_t>(kept.size());
    kept.push_back(std::move(slots_[i]));
  }
  slots_ = std::move(kept);
  by_chunk_.clear();
  for (size_t i = 0; i < slots_.size(); ++i) by_chunk_[slots_[i].chunk_id] = static_cast<uint32_t>(i);
  Rebuild(std::max<size_t>(1024, std::bit_ceil(std::max<size_t>(1, live_) * 2)), remap);
}

Status LookupIndex::IndexChunk(Connection& conn, const ChunkMeta& meta) {
  const auto slot = static_cast<uint32_t>(slots_.size());
  slots_.push_back({.chunk_id = meta.chunk_id, .meta = &meta});
  by_chunk_[meta.chunk_id] = slot;
  ChunkReader reader(conn, meta);
  size_t added = 0;
  std::vector<uint32_t> unhashable;
  auto add = [&](uint64_t h, size_t row) {
    Insert(h, slot, static_cast<uint32_t>(row));
    ++added;
  };
  const ColumnStats* stats = meta.Column(column_);
  if (column_ == kIdColumn || (stats != nullptr && stats->rest_count == 0 && stats->kind != ColumnKind::kBool)) {
    // Every value of the column is in its typed column: hash the decoded values.
    DOTDO_ASSIGN_OR_RETURN(const ColumnData* c, reader.Column(column_));
    if (c == nullptr) return DataLossError("columnar chunk " + std::to_string(meta.chunk_id) + " lacks its column '" + column_ + "'");
    for (size_t i = 0; i < c->size(); ++i)
      if (c->nonnull[i]) add(*RowHash(*c, i), i);
  } else {
    // Walk the path's keys through each whole row: an array on the way or at the end may match an
    // equality through its elements (filters cross arrays), so the row is a candidate of every
    // lookup; a scalar is indexed; a missing value, null or a boolean matches no hashed operand.
    std::vector<std::string> keys;
    for (size_t b = 0, e; b <= column_.size(); b = e + 1) {
      e = column_.find('.', b);
      if (e == std::string::npos) e = column_.size();
      keys.push_back(column_.substr(b, e - b));
    }
    for (size_t i = 0; i < reader.rows(); ++i) {
      DOTDO_ASSIGN_OR_RETURN(Json data, reader.Data(i));
      const Json* v = &data;
      for (const std::string& k : keys) {
        if (v->is_array()) break;
        auto it = v->is_object() ? v->find(k) : v->end();
        v = it == v->end() ? nullptr : &*it;
        if (v == nullptr) break;
      }
      if (v == nullptr || v->is_null() || v->is_boolean()) continue;
      if (v->is_array() || v->is_object()) unhashable.push_back(static_cast<uint32_t>(i));
      else if (std::optional<uint64_t> h = ValueHash(*v)) add(*h, i);
    }
  }
  Slot& s = slots_[slot];
  s.entries = added;
  s.unhashable = std::move(unhashable);
  unhashable_ = unhashable_ || !s.unhashable.empty();
  return OkStatus();
}

Status LookupIndex::Sync(Connection& conn, const std::vector<const ChunkMeta*>& chunks, int64_t generation) {
  if (generation == generation_) return OkStatus();
  // Mark every slot gone, then revive (and re-point) the ones still listed.
  std::vector<const ChunkMeta*> fresh;
  for (Slot& s : slots_) s.meta = nullptr;
  for (const ChunkMeta* m : chunks) {
    auto it = by_chunk_.find(m->chunk_id);
    if (it == by_chunk_.end()) fresh.push_back(m);
    else slots_[it->second].meta = m;
  }
  size_t gone = 0;
  unhashable_ = false;
  for (const Slot& s : slots_) {
    if (s.meta == nullptr) gone += s.entries;
    else unhashable_ = unhashable_ || !s.unhashable.empty();
  }
  live_ -= std::min(live_, gone);
  for (Slot& s : slots_)
    if (s.meta == nullptr) s.entries = 0;  // counted once
  // Entries of gone chunks stay in the table (skipped by Find) until they are a quarter of it.
  if (used_ > 0 && (used_ - live_) * 4 > used_) DropGoneSlots();
  for (const ChunkMeta* m : fresh) DOTDO_RETURN_IF_ERROR(IndexChunk(conn, *m));
  generation_ = generation;
  return OkStatus();
}

std::vector<LookupIndex::Hit> LookupIndex::Find(const std::vector<uint64_t>& hashes) const {
  std::vector<std::pair<uint32_t, uint32_t>> found;  // (slot, row)
  if (!table_.empty()) {
    const size_t mask = table_.size() - 1;
    for (uint64_t hash : hashes) {
      const uint64_t h = Stored(hash);
      for (size_t i = Home(h, mask); table_[i].hash != 0; i = (i + 1) & mask)
        if (table_[i].hash == h && slots_[table_[i].slot].meta != nullptr) found.emplace_back(table_[i].slot, table_[i].row);
    }
  }
  if (unhashable_)
    for (uint32_t s = 0; s < slots_.size(); ++s)
      if (slots_[s].meta != nullptr)
        for (uint32_t row : slots_[s].unhashable) found.emplace_back(s, row);
  std::vector<Hit> out;
  out.reserve(found.size());
  for (const auto& [s, row] : found) out.push_back({slots_[s].meta, row});
  std::sort(out.begin(), out.end(), [](const Hit& a, const Hit& b) {
    return a.chunk->chunk_id != b.chunk->chunk_id ? a.chunk->chunk_id < b.chunk->chunk_id : a.row < b.row;
  });
  out.erase(std::unique(out.begin(), out.end(), [](const Hit& a, const Hit& b) { return a.chunk == b.chunk && a.row == b.row; }), out.end());
  return out;
}

}  // namespace dotdo::internal
