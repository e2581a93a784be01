// The lookup index of ColumnarOptions::lookup_columns: per (type, column) an in-memory hash table
// from the hash (ValueHash) of each row's value at the column to the row's (chunk, row), so an
// equality filter on the column goes to its rows without probing every chunk's blooms.
//
// It is a cache derived from the chunks and never stored. The first lookup of a (type, column)
// builds it by reading that column of every chunk of the type; later ones bring it in step with the
// chunk list when the list changed: a chunk not yet indexed is read and added, a chunk no longer
// listed (compacted away) has its entries dropped. This relies on chunk ids never being reused
// (col_chunks is AUTOINCREMENT from schema version 4) and on a chunk's rows never changing (deletes
// are tombstones, which the read checks). It is used and synced only outside transactions, so a
// chunk it indexed is committed.
//
// Invariants:
//   1. For every indexed chunk and row whose value at the column is a scalar with a hash, the table
//      holds (hash, slot of the chunk, row); rows whose value is an array or an object (it may
//      match an equality through its elements) are kept in the slot's `unhashable` list and are a
//      candidate of every lookup. Rows without the value or with null are not indexed (no equality
//      with a hashable operand matches them).
//   2. Find returns a superset of the rows with an equal value: the read evaluates the filter on
//      each candidate row.
// Memory: a 16-byte entry per indexed row in a power-of-two table 3/8 to 3/4 full (21-43 bytes a row).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "columnar/columnar_internal.h"

namespace dotdo::internal {

class LookupIndex {
 public:
  struct Hit {
    const ChunkMeta* chunk;
    uint32_t row;
  };
  explicit LookupIndex(std::string column);
  // Brings the index in step with `chunks` (the type's chunks, in chunk_id order, owned by the
  // ColumnarState whose reload count is `generation`). REQUIRES: outside a transaction.
  Status Sync(Connection& conn, const std::vector<const ChunkMeta*>& chunks, int64_t generation);
  // The candidate rows for these hashes, in chunk_id then row order, each once.
  // REQUIRES: Sync with the current chunk list.
  std::vector<Hit> Find(const std::vector<uint64_t>& hashes) const;

 private:
  struct Entry {
    uint64_t hash = 0;  // 0 = empty slot (a hash of 0 is stored as 1)
    uint32_t slot = 0;
    uint32_t row = 0;
  };
  struct Slot {
    int64_t chunk_id = 0;
    const ChunkMeta* meta = nullptr;  // nullptr once the chunk is gone
    size_t entries = 0;
    std::vector<uint32_t> unhashable;
  };
  Status IndexChunk(Connection& conn, const ChunkMeta& meta);
  void Place(const Entry& e);  // REQUIRES: a free slot in table_
  void Insert(uint64_t hash, uint32_t slot, uint32_t row);
  // A table of `capacity` with the entries of live slots (renumbered by `remap` when not empty:
  // old slot -> new slot, UINT32_MAX = dropped).
  void Rebuild(size_t capacity, const std::vector<uint32_t>& remap);
  void DropGoneSlots();  // forgets the slots of gone chunks and their entries

  std::string column_;
  int64_t generation_ = -1;
  std::vector<Entry> table_;
  size_t used_ = 0;  // entries in table_ (live and of gone chunks)
  size_t live_ = 0;  // entries of live chunks
  std::vector<Slot> slots_;
  std::unordered_map<int64_t, uint32_t> by_chunk_;  // chunk_id -> slot
  bool unhashable_ = false;                          // some live slot has unhashable rows
};

}  // namespace dotdo::internal
