// Column codec: the binary encodings of one column of one chunk (docs/formats/columnar.md).
// A column is a kind (bool, int, double, string), a row count, a presence bitmap (the path exists
// in the row's data, possibly as JSON null), a non-null bitmap, and the non-null values:
//   int     delta from the previous value (wrapping), zigzag, bit-packed at the widest delta's width
//   double  plain little-endian IEEE 754 bits (every value, NaN payloads and denormals exact), plus a
//           bitmap of the rows whose JSON value was an integer
//   bool    bit-packed
//   string  a dictionary (distinct values + bit-packed codes) when it is smaller, else plain
//           (varint lengths + bytes)
// The whole encoding is then framed as [codec byte][raw length][bytes] with codec zstd when that
// saves at least 1/8, else none.
//
// Invariants:
//   1. Decode(Encode(c)) == c for every column, including empty, all-null, INT64_MIN/MAX, NaN,
//      denormals and long strings.
//   2. Decode never reads past its input: a truncated or corrupt blob is kDataLoss.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/status.h"

namespace dotdo::internal {

enum class ColumnKind : uint8_t { kBool = 1, kInt = 2, kDouble = 3, kString = 4 };

const char* ColumnKindName(ColumnKind kind);

// The strings of a column's dictionary, stored back to back in one buffer: decoding a group of
// long strings costs one buffer, not one allocation per value.
class StringDict {
 public:
  StringDict() = default;
  StringDict(std::initializer_list<std::string_view> values) { *this = values; }
  StringDict& operator=(std::initializer_list<std::string_view> values) {
    clear();
    for (std::string_view v : values) push_back(v);
    return *this;
  }
  StringDict& operator=(const std::vector<std::string>& values) {
    clear();
    for (const std::string& v : values) push_back(v);
    return *this;
  }
  size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::string_view operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return {bytes_.data() + begin, ends_[i] - begin};
  }
  void push_back(std::string_view v) {
    bytes_.append(v);
    ends_.push_back(bytes_.size());
  }
  void emplace_back(std::string_view v = {}) { push_back(v); }
  void clear() {
    bytes_.clear();
    ends_.clear();
  }
  void reserve(size_t values, size_t bytes) {
    ends_.reserve(values);
    bytes_.reserve(bytes);
  }
  void Append(const StringDict& other) {
    for (size_t i = 0; i < other.size(); ++i) push_back(other[i]);
  }
  friend bool operator==(const StringDict&, const StringDict&) = default;

 private:
  std::string bytes_;
  std::vector<size_t> ends_;  // end offset of each value in bytes_
};

// A decoded column: one slot per row. Values of rows that are absent or null are 0 / "".
struct ColumnData {
  ColumnKind kind = ColumnKind::kInt;
  std::vector<uint8_t> present;   // 1 = the path is in the row (value or JSON null)
  std::vector<uint8_t> nonnull;   // 1 = a value of `kind` (implies present)
  std::vector<int64_t> ints;      // kInt values; kBool 0/1
  std::vector<double> doubles;    // kDouble
  std::vector<uint8_t> was_int;   // kDouble: the JSON value was an integer
  // kString: values as codes into dict (plain encodings decode to a dictionary of all values).
  std::vector<uint32_t> codes;
  StringDict dict;

  size_t size() const { return present.size(); }
  void Resize(size_t n);
  std::string_view Str(size_t row) const { return dict[codes[row]]; }
  friend bool operator==(const ColumnData&, const ColumnData&) = default;
};

std::string EncodeColumn(const ColumnData& column);
Result<ColumnData> DecodeColumn(std::string_view blob);
// Row `row` of a frame (EncodeColumn) as a column of one row, decoding only what that row needs:
// its bits of the bitmaps and its value, the values before it stepped over (integer deltas
// summed, strings skipped), nothing after it; of a blocked frame (EncodeGroupFrame) only the row's
// block. A point read of one row pays this, not the decode of the whole frame. kDataLoss when the
// frame is corrupt or has no row `row`.
Result<ColumnData> DecodeColumnRow(std::string_view blob, size_t row);

// Row groups: a column cut into groups of `group_rows` rows (the last may be shorter), each
// encoded by EncodeColumn on its own, behind a directory of their lengths:
//   grouped := 2:u8 group_rows:varint groups:varint (frame_length:varint)* frame*
// so a reader decodes only the groups it needs. DecodeColumn refuses a grouped blob.
std::string EncodeGroupedColumn(const ColumnData& column, size_t group_rows);
bool IsGroupedColumn(std::string_view blob);
// Decodes a grouped column of `rows` rows: the groups whose `wanted` flag is set (every group
// when `wanted` is null) hold their values, the other rows are absent. kDataLoss when the blob
// is corrupt or does not hold `rows` rows in groups of `group_rows`.
Result<ColumnData> DecodeGroupedColumn(std::string_view blob, size_t rows, size_t group_rows,
                                       const std::vector<uint8_t>* wanted);
// Row groups stored one per SQLite row: frames[g] is the frame of group g (EncodeGroupFrame) of a
// column of `rows` rows cut into groups of `group_rows`, or empty when the group is not read (its
// rows are absent). kDataLoss when a frame is corrupt or holds the wrong row count.
Result<ColumnData> DecodeGroupFrames(const std::vector<std::string_view>& frames, size_t rows, size_t group_rows);
// The frame of one row group: EncodeColumn, or — when `block_rows` > 0 and the group has more rows —
// a blocked frame, the grouped form above over blocks of `block_rows` rows, each compressed on its
// own, so DecodeColumnRow decompresses one block (a point read of a group of 1024 long strings
// decompresses 128 of them). DecodeGroupFrame decodes either form of a group of `rows` rows.
std::string EncodeGroupFrame(const ColumnData& group, size_t block_rows);
Result<ColumnData> DecodeGroupFrame(std::string_view frame, size_t rows);
// Rows [begin, end) of a column as a column of their own.
ColumnData SliceColumn(const ColumnData& column, size_t begin, size_t end);

// Building blocks, exposed for the tests and the chunk index.
void PutVarint(std::string& out, uint64_t v);
bool GetVarint(std::string_view& in, uint64_t& v);
std::string PackBits(const std::vector<uint64_t>& values, int width);
bool UnpackBits(std::string_view& in, size_t count, int width, std::vector<uint64_t>& out);
// [codec][raw length][payload]: zstd when it saves at least 1/8 of `raw`.
std::string Frame(const std::string& raw);
Result<std::string> Unframe(std::string_view blob);

}  // namespace dotdo::internal
