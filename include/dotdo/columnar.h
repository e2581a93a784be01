// ColumnarStore: analytics records `{ $id, $type, data, $createdAt }` stored column by column. An
// InsertBatch writes, per partition (type x UTC day) and per chunk of at most max_chunk_rows
// records, one SQLite row per column and row group — ids, timestamps, every extracted JSON
// subcolumn and the `_rest` JSON — plus one chunk row holding the chunk's accelerator (row count, min/max per
// column, bloom filters on $id and the configured columns, the type index, HyperLogLog sketches).
// Columns are typed binary encodings (dictionary strings, delta + bit-packed integers, plain
// doubles, bit-packed booleans, null bitmaps) with zstd on top where it pays
// (docs/formats/columnar.md). Queries read and decode only the columns they need and skip chunks
// the accelerator rules out; filters follow the platform's filter language (the same operators and
// type rules as the document store) evaluated over the decoded columns.
//
//   dotdo::ColumnarStore col(*db);
//   col.InsertBatch({{.type = "Order", .data = {{"status", "paid"}, {"amount", 12.5}}}});
//   auto rows = col.Query({.type = "Order", .where = {{"amount", {{"$gt", 10}}}}, .limit = 10});
//   auto cols = col.Query({.type = "Order", .columns = {"amount"}, .layout = dotdo::ColumnarLayout::kColumns});
//   auto agg = col.Aggregate({.type = "Order", .group_by = {"status"}, .metrics = {"count", "sum:amount"}});
//
// Rules (anything else is kInvalidArgument and nothing is written):
//   - $type follows the shared type-name grammar; $id (optional, a ULID is generated) the record-id
//     grammar; $createdAt (optional, default now) is ms since the epoch in 0..9999-12-31.
//   - data is a JSON object, at most max_record_bytes serialized, valid UTF-8, nesting at most 64
//     levels; numbers must be finite (NaN and infinities are refused: JSON cannot carry them).
//   - A $id given twice in one batch is kInvalidArgument. Across batches ids are not checked (the
//     store is append-only, like an analytics table): both records are kept, Get returns the most
//     recently inserted one, Delete removes all of them.
//   - Mixed types in one path never fail a batch: the path's column type widens
//     (bool | int -> double -> string); values that do not fit a chunk's column stay in `_rest`.
//
// Thread-safety: a ColumnarStore is a light handle over a Database (held by reference; the
// Database must outlive it) and follows the Database's rules: calls serialize on its lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

// Largest InsertBatch.
inline constexpr size_t kMaxColumnarBatch = 1'000'000;
// Largest Query limit.
inline constexpr int64_t kMaxColumnarQueryLimit = 100'000;

struct ColumnarRecord {
  std::optional<std::string> id;        // $id; a ULID when absent
  std::string type;                     // $type, required
  Json data = Json::object();           // the record's fields
  std::optional<int64_t> created_at;    // $createdAt, ms since the epoch; now when absent
};

struct ColumnarOptions {
  // Most records in one chunk. Default 65536; 1..1048576.
  int64_t max_chunk_rows = 65536;
  // Rows per row group: a chunk's rows are sorted by $createdAt and cut into groups with their own
  // statistics and blooms, each column's group stored (one SQLite row) and decoded on its own, so a
  // chunk writes columns x groups rows. Default 1024; 1..65536.
  int64_t row_group_rows = 1024;
  // A chunk also ends once its records' serialized data reach this many bytes. Default 16 MiB.
  int64_t max_chunk_bytes = int64_t{16} << 20;
  // A JSON path becomes a typed column once it is seen in at least this fraction of a type's records
  // with a consistent (widenable) type. Default 0.5; 0 < threshold <= 1.
  double subcolumn_threshold = 0.5;
  // Most typed subcolumns per type (the most frequent paths win). Default 64.
  int64_t max_subcolumns = 64;
  // Data paths that get a bloom filter in every chunk (the $id always has one). Default none.
  std::vector<std::string> bloom_columns;
  // Columns ("$id" or data paths) with a lookup index: an in-memory hash table from each row's
  // value to its chunk and row, so a read whose filter has an $eq / $in on one (Query, Count,
  // Aggregate, and Get for "$id") decodes only those rows instead of probing every chunk's blooms
  // and decoding a row group per column. Nothing is stored and no write costs more: the index is
  // built from the chunks on the first such read of a type (reading the column of each chunk) and
  // kept in step with new and compacted chunks. Memory: 21-43 bytes per row and column. Reads
  // inside a transaction do not use it. The lookup columns of the chunks a store writes are stored
  // in blocks of 128 rows (as $id and the bloom columns are), so a hit decompresses one block of
  // them. Default none; at most 8.
  std::vector<std::string> lookup_columns;
  // Largest serialized `data` of one record. Default 1 MiB.
  int64_t max_record_bytes = int64_t{1} << 20;
};

// How much of the store a read touched: chunks of the type, chunks decoded, chunks skipped by
// the accelerator (count from the index, bloom miss, min/max prune).
struct ColumnarScanStats {
  int64_t chunks_total = 0;
  int64_t chunks_read = 0;
  int64_t chunks_skipped = 0;
  // Row groups (chunks written with row groups) of the chunks read: those
  // decoded and those skipped by their statistics.
  int64_t groups_read = 0;
  int64_t groups_skipped = 0;
  // Candidate rows a lookup index (ColumnarOptions::lookup_columns) sent the read to; 0 when the
  // read used none.
  int64_t lookup_rows = 0;
};

struct ColumnarRow {
  std::string id;
  std::string type;
  int64_t created_at = 0;
  Json data = Json::object();  // all fields, or only the requested columns
  friend bool operator==(const ColumnarRow&, const ColumnarRow&) = default;
};

// How Query returns its records.
enum class ColumnarLayout : uint8_t {
  kRows,     // ColumnarQueryResult::rows: one ColumnarRow (a Json object) per record
  kColumns,  // ColumnarQueryResult::columns: one typed vector per projected path
};

struct ColumnarQueryOptions {
  std::string type;                  // required
  Json where = nullptr;              // the platform filter language; null = every record
  std::vector<std::string> columns;  // data paths to return; empty = the whole record
  std::string order_by;              // a data path, "$id" or "$createdAt"; empty = insertion order
  bool descending = false;
  int64_t limit = 1000;              // 1..kMaxColumnarQueryLimit
  // Default kRows. kColumns requires `columns` (a whole record has no fixed set of paths).
  ColumnarLayout layout = ColumnarLayout::kRows;
};

// The kind of every non-null value of a result column.
enum class ColumnarValueKind : uint8_t {
  kNone,    // no returned record has a non-null value at the path
  kBool,    // ints: 0 / 1
  kInt,     // ints
  kDouble,  // doubles (integers among them come back as doubles)
  kString,  // strings
  kJson,    // json: mixed kinds, arrays, objects, or integers a double cannot hold exactly
};

// One projected path of a columnar result: slot i belongs to record i of the result.
struct ColumnarColumn {
  std::string path;
  ColumnarValueKind kind = ColumnarValueKind::kNone;
  std::vector<uint8_t> present;      // 1 = the path is in the record (a value or JSON null)
  std::vector<uint8_t> nonnull;      // 1 = a value (present and not JSON null)
  // Only the vector of `kind` is filled (one slot per record; 0 / "" / null where there is no value).
  std::vector<int64_t> ints;         // kBool, kInt
  std::vector<double> doubles;       // kDouble
  std::vector<std::string> strings;  // kString
  std::vector<Json> json;            // kJson
  size_t size() const { return present.size(); }
  // Slot i as JSON: null when absent or null. REQUIRES: i < size().
  Json Value(size_t i) const;
};

// A query result column by column: the same records, in the same order, as the row form.
struct ColumnarColumns {
  std::vector<std::string> ids;
  std::vector<int64_t> created_at;
  std::vector<ColumnarColumn> columns;  // one per ColumnarQueryOptions::columns, in that order
  size_t size() const { return ids.size(); }
};

struct ColumnarQueryResult {
  std::vector<ColumnarRow> rows;  // layout kRows
  ColumnarColumns columns;        // layout kColumns
  ColumnarScanStats scan;
};

struct ColumnarAggregateOptions {
  std::string type;                   // required
  Json where = nullptr;
  std::vector<std::string> group_by;  // data paths; a missing value groups as null. At most 8.
  // "count", "sum:<path>", "avg:<path>", "min:<path>", "max:<path>", "count_distinct:<path>".
  // sum/avg/min/max take the numbers of the path (other values are ignored; null when there are
  // none); count_distinct counts the distinct non-null values. At most 32.
  std::vector<std::string> metrics;
};

struct ColumnarAggregateResult {
  // One object per group, ordered by the group values: {"<group path>": value, ..., "<metric>": value}.
  std::vector<Json> groups;
  ColumnarScanStats scan;
};

struct ColumnarCountResult {
  int64_t count = 0;
  ColumnarScanStats scan;
};

struct ColumnarColumnInfo {
  std::string path;
  std::string kind;            // "bool" | "int" | "double" | "string"
  int64_t seen = 0;            // records of the type that had the path
  int64_t distinct_estimate = 0;  // HyperLogLog over every chunk's values
};

struct ColumnarTypeStats {
  std::string type;
  int64_t records = 0;         // live records
  int64_t deleted = 0;         // tombstoned, not yet compacted
  int64_t chunks = 0;
  int64_t bytes = 0;           // encoded column bytes
  std::vector<ColumnarColumnInfo> columns;
};

struct ColumnarCompactResult {
  int64_t chunks_before = 0;
  int64_t chunks_after = 0;
  int64_t records_dropped = 0;  // tombstoned records removed
};

class DOTDO_EXPORT ColumnarStore {
 public:
  // Checks the options and any existing tables (makes none). REQUIRES: db outlives the store.
  static Result<ColumnarStore> Open(Database& db, ColumnarOptions options = {});
  explicit ColumnarStore(Database& db, ColumnarOptions options = {});

  // Writes the records in one transaction (all or nothing) with one cdc.batch_insert event
  // (op "c", table = the batch's first type; after = {count, partition, partitions}). Returns the
  // ids in input order.
  Result<std::vector<std::string>> InsertBatch(const std::vector<ColumnarRecord>& records);

  Result<ColumnarQueryResult> Query(const ColumnarQueryOptions& options);
  Result<ColumnarAggregateResult> Aggregate(const ColumnarAggregateOptions& options);
  // Records of `type` matching `where`; without a filter answered from the chunk index alone.
  Result<ColumnarCountResult> Count(const std::string& type, const Json& where = nullptr);
  // The most recently inserted live record with this id; kNotFound when there is none.
  Result<ColumnarRow> Get(const std::string& id);

  // Tombstones every live record with one of `ids` (cdc.delete per record); returns how many.
  Result<int64_t> Delete(const std::vector<std::string>& ids);
  // Replaces the data of the live record `id` (keeps $id, $type, $createdAt): the old row is
  // tombstoned and the new one appended (cdc.update). kNotFound when there is none.
  Status Update(const std::string& id, const Json& data);
  // Rewrites each partition whose chunks are small or hold tombstones into full chunks, with the
  // type's current columns. Changes no record, so it emits no CDC event.
  Result<ColumnarCompactResult> Compact();

  Result<std::vector<ColumnarTypeStats>> Stats();

 private:
  Database& db_;
  ColumnarOptions options_;
};

}  // namespace dotdo
