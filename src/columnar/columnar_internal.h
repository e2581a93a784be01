// Internals shared by the ColumnarStore files: the schema, chunk metadata (the accelerator), the
// shredding of records into columns and back, the chunk reader and the filter evaluator.
//
// Invariants (docs/formats/columnar.md):
//   1. A chunk holds the records of one (type, UTC day) partition; col_chunks.rows = the length of
//      every column of the chunk; `$id` and `$createdAt` always exist, `_rest` is absent when every
//      row's remaining data is {}.
//   2. A row's data = its `_rest` JSON plus, for every subcolumn whose presence bit is set, the
//      column's value (JSON null when the non-null bit is clear) at the column's path. A value that
//      does not fit a chunk's column kind stays in `_rest` (counted in the column's rest_count).
//   3. Min/max of a column cover its non-null values; a chunk is skipped by a column statistic only
//      when that column's rest_count is 0 (so every value of the path in the chunk is in it).
//   4. col_deletes holds a bitmap of tombstoned rows per chunk; col_chunks.deleted is its popcount.
//   5. A chunk written with row groups has its rows in $createdAt order, every column cut into
//      groups of its group_rows rows (ColumnarOptions::row_group_rows when written), and per group
//      the same statistics as the chunk (min/max of $createdAt and of every subcolumn) and, from
//      schema version 3 on, a bloom per bloom column: a group is skipped exactly as a chunk would be.
//   6. A chunk's layout says where its columns live: kColumnBlobs (versions 1 and 2) one
//      col_columns row per column (a single frame, or a grouped blob); kGroupRows (version 3) one
//      col_groups row per (column, group), every group of a column present.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cdc/store_scaffold.h"
#include "columnar/column_codec.h"
#include "columnar/sketches.h"
#include "core/filter_compiler.h"
#include "core/json_path.h"
#include "dotdo/columnar.h"

namespace dotdo::internal {

extern const StoreSpec kColumnarSpec;

inline constexpr std::string_view kIdColumn = "$id";
inline constexpr std::string_view kCreatedColumn = "$createdAt";
inline constexpr std::string_view kRestColumn = "_rest";
// Rows per block of a blocked group frame (EncodeGroupFrame): the $id, bloom and lookup columns.
inline constexpr size_t kPointBlockRows = 128;

// Bits of a path's kind mask in the type's path statistics.
inline constexpr uint32_t kSeenNull = 1, kSeenBool = 2, kSeenInt = 4, kSeenDouble = 8, kSeenString = 16,
                          kSeenOther = 32, kSeenObject = 64;

Status ValidateColumnarOptions(const ColumnarOptions& options);

// Statistics of one column of one chunk.
struct ColumnStats {
  std::string name;
  ColumnKind kind = ColumnKind::kInt;
  int64_t present = 0, nonnull = 0, rest_count = 0;
  bool has_minmax = false;
  int64_t min_i = 0, max_i = 0;
  double min_d = 0, max_d = 0;
  std::string min_s, max_s;
};


// Where a chunk's columns are stored (invariant 6).
enum class ChunkLayout : uint8_t { kColumnBlobs = 0, kGroupRows = 1 };

// One col_chunks row, or one row group of it (then rows, min_ts, max_ts and columns are the
// group's, first_row its first row in the chunk, and groups is empty).
struct ChunkMeta {
  int64_t chunk_id = 0;
  std::string type, day;
  int64_t rows = 0, deleted = 0, min_ts = 0, max_ts = 0, bytes = 0;
  std::vector<ColumnStats> columns;  // subcolumns only
  int64_t first_row = 0;
  // Row groups of group_rows rows (the last may be shorter); empty for a chunk written before row
  // groups (its column blobs are single frames).
  int64_t group_rows = 0;
  std::vector<ChunkMeta> groups;
  ChunkLayout layout = ChunkLayout::kColumnBlobs;
  // Whether the chunk has a `_rest` column, once a reader of a kGroupRows chunk looked (a chunk's
  // columns never change), so later readers of the cached metadata skip the query for a column
  // it does not have.
  mutable std::optional<bool> has_rest;
  const ColumnStats* Column(std::string_view name) const;
};
// The `stats` blob: the chunk's column statistics, then (chunks with row groups) the group count,
// the rows per group and per group its row count, min/max $createdAt and column statistics, then
// (kGroupRows chunks) the layout byte.
std::string EncodeChunkStats(const std::vector<ColumnStats>& columns, const std::vector<ChunkMeta>& groups = {},
                             int64_t group_rows = 0, ChunkLayout layout = ChunkLayout::kColumnBlobs);
Status DecodeChunkStats(std::string_view bytes, ChunkMeta& meta);

// The accelerator blob: bloom filters (name -> bloom) and HyperLogLogs (name -> sketch), then
// (schema version 3) per row group the blooms over the group's values only (`groups`, whose own
// hlls and groups are empty; absent in older chunks).
struct ChunkAccel {
  std::map<std::string, std::string, std::less<>> blooms, hlls;
  std::vector<ChunkAccel> groups;
};
std::string EncodeAccel(const ChunkAccel& accel);
Status DecodeAccel(std::string_view bytes, ChunkAccel& accel);

// The hash under which a value enters a bloom filter / HyperLogLog: equal SQL values (5 and 5.0)
// hash alike. nullopt for values no bloom holds (null, booleans, containers).
std::optional<uint64_t> ValueHash(const Json& v);
std::optional<uint64_t> ValueHash(const SqlValue& v);

// A record after validation.
struct PreparedRecord {
  std::string id, type;
  int64_t created_at = 0;
  const Json* data = nullptr;
  size_t bytes = 0;
};

// A subcolumn of a chunk: a dotted path of object keys and its kind.
struct SubColumn {
  std::string path;
  std::vector<std::string> keys;
  ColumnKind kind;
};

// Path statistics of a type (col_types).
struct TypePaths {
  int64_t records = 0;
  std::map<std::string, std::pair<int64_t, uint32_t>> paths;  // path -> (records seen, kind mask)
  void Add(const Json& data);
  // The typed subcolumns the thresholds select, most frequent first.
  std::vector<SubColumn> Select(const ColumnarOptions& options) const;
};
std::optional<ColumnKind> WidenedKind(uint32_t mask);

// A chunk read from disk, decoding columns on first use. It covers a window of the chunk's rows:
// row i of the reader (and of every column it returns) is row first_row() + i of the chunk.
class ChunkReader {
 public:
  // The whole chunk; `groups` (optional, one flag per row group of the chunk, kept by the caller):
  // only these groups are decoded; rows of the others read as absent and must not be asked for.
  ChunkReader(Connection& conn, const ChunkMeta& meta, const std::vector<uint8_t>* groups = nullptr);
  // Only row groups [first_group, end_group) of a kGroupRows chunk, of which those flagged in
  // `groups` (per chunk group) are read. REQUIRES: meta.layout == kGroupRows, the range in bounds.
  ChunkReader(Connection& conn, const ChunkMeta& meta, const std::vector<uint8_t>* groups, size_t first_group,
              size_t end_group);
  // Row `row` of a kGroupRows chunk alone (rows() == 1, first_row() == row): each column fetches
  // the row's group and decodes that one row of it (DecodeColumnRow), so a point read costs one
  // row per column, not a group. REQUIRES: meta.layout == kGroupRows, row < meta.rows.
  static ChunkReader OneRow(Connection& conn, const ChunkMeta& meta, size_t row);
  const ChunkMeta& meta() const { return meta_; }
  size_t rows() const { return rows_; }
  size_t first_row() const { return first_row_; }
  // nullptr when the chunk has no such column (`_rest` of an all-empty chunk, a path not extracted).
  Result<const ColumnData*> Column(std::string_view name);
  Result<const std::vector<uint8_t>*> Deleted();  // 1 = tombstoned
  // The row's remaining data ({} when none).
  Result<const Json*> Rest(size_t row);
  // The value at `path` in the row's data (nullptr when missing); `scratch` keeps a rebuilt value.
  Result<const Json*> Value(const JsonPath& path, const std::string& dotted, size_t row, Json& scratch);
  Result<Json> Data(size_t row);  // the whole data object
  int64_t data_reads() const { return data_reads_; }

 private:
  Result<const ColumnData*> Load(std::string_view name);
  // A kGroupRows column: the window's groups from col_groups; nullopt when the chunk lacks it.
  Result<std::optional<ColumnData>> LoadGroupRows(std::string_view name);
  Connection& conn_;
  const ChunkMeta& meta_;
  const std::vector<uint8_t>* groups_;
  size_t first_group_ = 0, end_group_ = 0, first_row_ = 0, rows_ = 0;
  bool one_row_ = false;
  std::map<std::string, std::unique_ptr<ColumnData>, std::less<>> columns_;
  std::map<std::string, bool, std::less<>> missing_;
  const ColumnData* rest_column_ = nullptr;  // owned by columns_
  std::vector<Json> rest_;                   // parsed `_rest` of the rows flagged in rest_parsed_
  std::vector<uint8_t> rest_parsed_;
  bool rest_loaded_ = false;
  std::optional<std::vector<uint8_t>> deleted_;
  int64_t data_reads_ = 0;
};

// Column value of `row` as JSON (null when present but null). REQUIRES: c.present[row].
Json ColumnValueJson(const ColumnData& c, size_t row);
// ValueHash of the non-null value at `row` (a bool as its 0 / 1). REQUIRES: c.nonnull[row].
std::optional<uint64_t> RowHash(const ColumnData& c, size_t row);

// The filter of a read, validated by the platform compiler and evaluated over decoded columns.
class ColumnarFilter {
 public:
  static Result<ColumnarFilter> Compile(const Json& where);
  // Sets match[i] = 0 for rows that do not match; match.size() == rows.
  Status Apply(ChunkReader& chunk, std::vector<uint8_t>& match) const;
  // False when the accelerator proves no row of the chunk matches.
  bool MayMatch(const ChunkMeta& meta, const ChunkAccel* accel) const;
  bool NeedsAccel() const;
  bool empty() const;
  // Every data path the filter reads.
  std::vector<std::string> Paths() const;
  // When every row the filter matches has at `column` ("$id" or a dotted data path) a value equal
  // to one of a few strings or numbers (an $eq or $in on it in the top-level conjunction): their
  // hashes (ValueHash). nullopt otherwise.
  std::optional<std::vector<uint64_t>> EqualityHashes(std::string_view column) const;

  struct Node;
  ColumnarFilter();
  ~ColumnarFilter();
  ColumnarFilter(ColumnarFilter&&) noexcept;
  ColumnarFilter& operator=(ColumnarFilter&&) noexcept;

 private:
  std::unique_ptr<Node> root_;
};

// The resolver of the filter language over a record: $id (text), $createdAt (time), data paths.
const FieldResolver& ColumnarFields();

// Chunk metadata of `type` (or every type when empty), in chunk_id order. REQUIRES: lock held.
Result<std::vector<ChunkMeta>> LoadChunks(Connection& conn, std::string_view type);
Result<ChunkAccel> LoadAccel(Connection& conn, int64_t chunk_id);

class LookupIndex;

// Per-Database cache of the chunk metadata and accelerators, so a read does not fetch and decode
// every chunk's statistics and blooms from SQLite. It is trusted only outside transactions: it is
// dropped at every commit and rollback of this Database (a write always commits through
// db.Transaction), reloaded on every use inside a transaction (which may have written), and
// dropped when another connection committed to the file since it was filled (PRAGMA
// data_version). REQUIRES: used with the connection lock held.
class ColumnarState final : public TransactionObserver {
 public:
  explicit ColumnarState(Database& db);
  ~ColumnarState() override;
  // REQUIRES: the store's schema is present.
  static Result<ColumnarState*> Of(Database& db);
  // The chunks of `type` (every type when empty) in chunk_id order; valid until the next call.
  Result<const std::vector<const ChunkMeta*>*> Chunks(std::string_view type);
  // The accelerator of a chunk returned by Chunks.
  Result<const ChunkAccel*> Accel(const ChunkMeta& meta);
  // The lookup index of (type, column), in step with the type's chunks (ColumnarOptions::
  // lookup_columns; columnar_lookup.h): built on first use, kept across commits. Valid until the
  // next call. REQUIRES: outside a transaction.
  Result<const LookupIndex*> Lookup(std::string_view type, const std::string& column);
  // Times the metadata was read from SQLite (for tests and the bench).
  int64_t loads() const { return loads_; }
  void Reset();

  void OnBegin(int) override {}
  void OnRollback(int) override { Reset(); }
  void OnRelease(int) override {}
  void OnCommit() override { Reset(); }

 private:
  Database& db_;
  bool loaded_ = false;
  int64_t loads_ = 0;
  int64_t data_version_ = -1;
  std::vector<ChunkMeta> chunks_;
  std::vector<const ChunkMeta*> all_;
  std::map<std::string, std::vector<const ChunkMeta*>, std::less<>> by_type_;
  std::unordered_map<int64_t, std::unique_ptr<ChunkAccel>> accel_;
  std::map<std::string, std::unique_ptr<LookupIndex>, std::less<>> lookups_;  // "<type>\x1f<column>"; not reset
};

// Writes the records (one partition, in order) as one chunk with these subcolumns; returns its id.
Result<int64_t> WriteChunk(Connection& conn, const std::vector<PreparedRecord>& records, const std::vector<SubColumn>& schema,
                           const ColumnarOptions& options);
// Loads, updates and stores the path statistics of `type` with `records`; returns the schema.
Result<std::vector<SubColumn>> UpdateTypePaths(Connection& conn, std::string_view type,
                                               const std::vector<PreparedRecord>& records, const ColumnarOptions& options);
Result<TypePaths> LoadTypePaths(Connection& conn, std::string_view type);

// The partition label "<type>/<YYYY-MM-DD>".
std::string DayOf(int64_t ts);

}  // namespace dotdo::internal
