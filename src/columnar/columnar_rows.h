// Row-level helpers of the ColumnarStore shared by its write and read files: validation of a
// record's data, the partitioned chunk writer, finding live rows by $id through the blooms,
// tombstones, and the chunk scan every read uses.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "columnar/columnar_internal.h"

namespace dotdo::internal {

// kInvalidArgument unless data is an object within the limits; sets *bytes to its serialized size.
Status ValidateColumnarData(const Json& data, const ColumnarOptions& options, const std::string& what, size_t* bytes);
// Writes records (any types and days) as chunks; appends {"partition", "count"} per partition.
// REQUIRES: inside db.Transaction with the schema ensured.
Status WritePartitioned(Database& db, const std::vector<PreparedRecord>& records, const ColumnarOptions& options,
                        Json* partitions);

struct RowHit {
  int64_t chunk_id = 0;
  size_t index = 0;  // row in the chunk
  ColumnarRow row;  // the record
};

// Live rows whose $id is one of `ids`, in storage order; through the $id lookup index when
// `id_lookup` and no transaction is open, else the $id blooms. REQUIRES: lock held, schema present.
Result<std::vector<RowHit>> FindLive(Database& db, const std::vector<std::string>& ids, bool id_lookup = false);
// The hit with the latest $createdAt (ties: stored last). REQUIRES: !hits.empty().
RowHit Latest(const std::vector<RowHit>& hits);
// Marks the hits' rows deleted. REQUIRES: inside db.Transaction.
Status Tombstone(Database& db, const std::vector<RowHit>& hits);
// The CDC image of a record: {"$id", "$type", "$createdAt", "data"}.
Json RowImage(const ColumnarRow& row);

// Visits the chunks of `type` that may hold rows matching `filter`: for each, `visit` gets a
// reader and the match mask (live rows that pass the filter) and returns false to stop. Readers
// come in chunk_id order, rows within a chunk in order. When the filter has an equality on one of
// `lookup_columns` (and no transaction is open) only the lookup index's candidate rows are read,
// a reader per row or per chunk. Counts chunks and row groups read and skipped into `scan`. Uses
// the ColumnarState cache. REQUIRES: lock held, schema present.
Status ScanChunks(Database& db, const std::string& type, const ColumnarFilter& filter, const std::vector<std::string>& lookup_columns,
                  ColumnarScanStats& scan, const std::function<Result<bool>(ChunkReader&, const std::vector<uint8_t>&)>& visit);

// The record at `row` of the chunk, with all data or only `columns`.
Result<ColumnarRow> ReadRow(ChunkReader& chunk, size_t row, const std::vector<JsonPath>& columns);
// Appends the matching rows of the chunk to `out` until it holds `limit` records, one slot per
// path of `columns` (`dotted`: their ToDotted() forms; out.columns in the same order): the same
// values ReadRow would return. Returns how many were appended.
Result<size_t> AppendRecords(ChunkReader& chunk, const std::vector<uint8_t>& match, size_t limit, const std::vector<JsonPath>& columns,
                             const std::vector<std::string>& dotted, ColumnarColumns& out);
// Appends a row read by ReadRow with `columns` to `out`.
void AppendRow(const ColumnarRow& row, const std::vector<JsonPath>& columns, ColumnarColumns& out);

}  // namespace dotdo::internal
