// The column encodings of column_codec.h: bitmaps, varints, bit packing, the four typed payloads
// and the zstd frame.
#include "columnar/column_codec.h"

#include <bit>
#include <cstring>
#include <unordered_map>

#include <zstd.h>

namespace dotdo::internal {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kPlainStrings = 0, kDictStrings = 1;
constexpr uint8_t kFrameNone = 0, kFrameZstd = 1, kGrouped = 2;

Status Corrupt(std::string_view what) { return DataLossError(std::string("corrupt columnar column: ") + std::string(what)); }

int WidthOf(uint64_t max) { return max == 0 ? 0 : 64 - std::countl_zero(max); }

std::string PackBitmap(const std::vector<uint8_t>& bits) {
  std::string out((bits.size() + 7) / 8, '\0');
  for (size_t i = 0; i < bits.size(); ++i)
    if (bits[i]) out[i / 8] = static_cast<char>(static_cast<uint8_t>(out[i / 8]) | (1u << (i % 8)));
  return out;
}

bool UnpackBitmap(std::string_view& in, size_t n, std::vector<uint8_t>& out) {
  const size_t bytes = (n + 7) / 8;
  if (in.size() < bytes) return false;
  out.resize(n);
  for (size_t i = 0; i < n; ++i) out[i] = (static_cast<uint8_t>(in[i / 8]) >> (i % 8)) & 1;
  in.remove_prefix(bytes);
  return true;
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

// Value `index` of a run packed at `width` bits. REQUIRES: the run holds it.
uint64_t PackedAt(std::string_view packed, size_t index, int width) {
  const auto* p = reinterpret_cast<const uint8_t*>(packed.data());
  size_t bit = index * static_cast<size_t>(width);
  if (width <= 56 && bit / 8 + 8 <= packed.size()) {  // one unaligned 8-byte load
    uint64_t word;
    std::memcpy(&word, p + bit / 8, 8);  // little-endian hosts only, as the format says
    return (word >> (bit % 8)) & ((uint64_t{1} << width) - 1);
  }
  uint64_t v = 0;
  for (int done = 0; done < width;) {
    const int off = static_cast<int>(bit % 8);
    const int take = std::min(8 - off, width - done);
    v |= static_cast<uint64_t>((p[bit / 8] >> off) & ((1u << take) - 1)) << done;
    done += take;
    bit += static_cast<size_t>(take);
  }
  return v;
}

void PutU64(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);  // little-endian hosts only (x86-64, aarch64): stated in the format doc
  out.append(b, 8);
}

bool GetU64(std::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  std::memcpy(&v, in.data(), 8);
  in.remove_prefix(8);
  return true;
}

bool GetBytes(std::string_view& in, size_t n, std::string_view& out) {
  if (in.size() < n) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

// Integers: first value, then zigzag deltas bit-packed at one width.
void EncodeInts(const std::vector<int64_t>& values, std::string& out) {
  PutVarint(out, values.size());
  if (values.empty()) return;
  PutU64(out, static_cast<uint64_t>(values[0]));
  std::vector<uint64_t> deltas(values.size() - 1);
  uint64_t max = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    deltas[i - 1] = ZigZag(static_cast<int64_t>(static_cast<uint64_t>(values[i]) - static_cast<uint64_t>(values[i - 1])));
    max |= deltas[i - 1];
  }
  const int width = WidthOf(max);
  out.push_back(static_cast<char>(width));
  out += PackBits(deltas, width);
}

bool DecodeInts(std::string_view& in, std::vector<int64_t>& values) {
  uint64_t n = 0;
  if (!GetVarint(in, n) || n > (uint64_t{1} << 32)) return false;
  values.clear();
  if (n == 0) return true;
  uint64_t first = 0;
  if (!GetU64(in, first) || in.empty()) return false;
  const int width = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (width > 64) return false;
  std::vector<uint64_t> deltas;
  if (!UnpackBits(in, n - 1, width, deltas)) return false;
  values.resize(n);
  values[0] = static_cast<int64_t>(first);
  uint64_t cur = first;
  for (size_t i = 1; i < n; ++i) {
    cur += static_cast<uint64_t>(UnZigZag(deltas[i - 1]));
    values[i] = static_cast<int64_t>(cur);
  }
  return true;
}

void EncodeStrings(const ColumnData& c, std::string& out) {
  // The values of the non-null rows, in row order, as codes into a dictionary of first appearance.
  std::unordered_map<std::string_view, uint32_t> index;
  std::vector<std::string_view> dict;
  std::vector<uint64_t> codes;
  size_t plain_bytes = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c.nonnull[i]) continue;
    std::string_view v = c.Str(i);
    auto [it, fresh] = index.try_emplace(v, static_cast<uint32_t>(dict.size()));
    if (fresh) dict.push_back(v);
    codes.push_back(it->second);
    plain_bytes += v.size() + 1;
  }
  size_t dict_bytes = 0;
  for (std::string_view v : dict) dict_bytes += v.size() + 1;
  const int width = WidthOf(dict.empty() ? 0 : dict.size() - 1);
  dict_bytes += (codes.size() * static_cast<size_t>(width) + 7) / 8;
  if (dict_bytes < plain_bytes) {
    out.push_back(static_cast<char>(kDictStrings));
    PutVarint(out, dict.size());
    for (std::string_view v : dict) {
      PutVarint(out, v.size());
      out += v;
    }
    PutVarint(out, codes.size());
    out.push_back(static_cast<char>(width));
    out += PackBits(codes, width);
  } else {
    out.push_back(static_cast<char>(kPlainStrings));
    PutVarint(out, codes.size());
    for (uint64_t code : codes) {
      PutVarint(out, dict[code].size());
      out += dict[code];
    }
  }
}

bool DecodeStrings(std::string_view& in, ColumnData& c) {
  if (in.empty()) return false;
  const uint8_t mode = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  std::vector<uint64_t> codes;
  uint64_t n = 0;
  auto read_string = [&]() {
    uint64_t len = 0;
    std::string_view bytes;
    if (!GetVarint(in, len) || !GetBytes(in, len, bytes)) return false;
    c.dict.push_back(bytes);
    return true;
  };
  c.dict.clear();
  if (mode == kDictStrings) {
    uint64_t dn = 0;
    if (!GetVarint(in, dn) || dn > in.size()) return false;
    c.dict.reserve(dn, in.size());
    for (uint64_t i = 0; i < dn; ++i)
      if (!read_string()) return false;
    if (!GetVarint(in, n) || n > (uint64_t{1} << 32) || in.empty()) return false;
    const int width = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (width > 32 || !UnpackBits(in, n, width, codes)) return false;
    for (uint64_t code : codes)
      if (code >= dn) return false;
  } else if (mode == kPlainStrings) {
    if (!GetVarint(in, n) || n > in.size()) return false;
    c.dict.reserve(n, in.size());
    codes.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (!read_string()) return false;
      codes[i] = i;
    }
  } else {
    return false;
  }
  size_t k = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c.nonnull[i]) continue;
    if (k >= codes.size()) return false;
    c.codes[i] = static_cast<uint32_t>(codes[k++]);
  }
  if (k != codes.size()) return false;
  if (c.dict.empty()) c.dict.emplace_back();  // absent rows point at code 0
  return true;
}

}  // namespace

const char* ColumnKindName(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kBool: return "bool";
    case ColumnKind::kInt: return "int";
    case ColumnKind::kDouble: return "double";
    case ColumnKind::kString: return "string";
  }
  return "unknown";
}

void ColumnData::Resize(size_t n) {
  present.resize(n);
  nonnull.resize(n);
  if (kind == ColumnKind::kString) {
    codes.resize(n);
    if (dict.empty()) dict.emplace_back();
  } else if (kind == ColumnKind::kDouble) {
    doubles.resize(n);
    was_int.resize(n);
  } else {
    ints.resize(n);
  }
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const uint8_t b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

std::string PackBits(const std::vector<uint64_t>& values, int width) {
  std::string out((values.size() * static_cast<size_t>(width) + 7) / 8, '\0');
  if (width == 0) return out;
  size_t bit = 0;
  for (uint64_t v : values) {
    for (int done = 0; done < width;) {
      const size_t byte = bit / 8;
      const int off = static_cast<int>(bit % 8);
      const int take = std::min(8 - off, width - done);
      const uint8_t part = static_cast<uint8_t>((v >> done) & ((1u << take) - 1));
      out[byte] = static_cast<char>(static_cast<uint8_t>(out[byte]) | (part << off));
      done += take;
      bit += static_cast<size_t>(take);
    }
  }
  return out;
}

bool UnpackBits(std::string_view& in, size_t count, int width, std::vector<uint64_t>& out) {
  if (width < 0 || width > 64) return false;
  const size_t bytes = (count * static_cast<size_t>(width) + 7) / 8;
  if (in.size() < bytes) return false;
  out.assign(count, 0);
  if (width > 0) {
    const auto* p = reinterpret_cast<const uint8_t*>(in.data());
    size_t bit = 0, i = 0;
    if (width <= 56) {
      // Fast path: one unaligned 8-byte load per value while 8 bytes remain in the input.
      const uint64_t mask = (uint64_t{1} << width) - 1;
      for (; i < count && bit / 8 + 8 <= bytes; ++i, bit += static_cast<size_t>(width)) {
        uint64_t word;
        std::memcpy(&word, p + bit / 8, 8);  // little-endian hosts only, as the format says
        out[i] = (word >> (bit % 8)) & mask;
      }
    }
    for (; i < count; ++i) out[i] = PackedAt(in.substr(0, bytes), i, width);  // the last values, bit by bit
  }
  in.remove_prefix(bytes);
  return true;
}

namespace {

// One zstd context per thread for the process's life: ZSTD_compress/ZSTD_decompress create and
// free a context (~100 KiB or more) per call, which cost more than decoding a 1024-row group.
struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

ZstdContexts& Zstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

}  // namespace

std::string Frame(const std::string& raw) {
  std::string out;
  if (raw.size() >= 64) {
    std::string z(ZSTD_compressBound(raw.size()), '\0');
    const size_t n = ZSTD_compressCCtx(Zstd().c, z.data(), z.size(), raw.data(), raw.size(), 3);
    if (!ZSTD_isError(n) && n < raw.size() - raw.size() / 8) {
      out.push_back(static_cast<char>(kFrameZstd));
      PutVarint(out, raw.size());
      out.append(z.data(), n);
      return out;
    }
  }
  out.push_back(static_cast<char>(kFrameNone));
  PutVarint(out, raw.size());
  out += raw;
  return out;
}

namespace {

// The raw bytes of a frame: a view of `blob` itself when stored uncompressed, else decompressed
// into `scratch` (whose capacity is reused across calls).
Result<std::string_view> UnframeView(std::string_view blob, std::string& scratch) {
  if (blob.empty()) return Corrupt("empty frame");
  const uint8_t codec = static_cast<uint8_t>(blob[0]);
  blob.remove_prefix(1);
  uint64_t len = 0;
  if (!GetVarint(blob, len) || len > (uint64_t{1} << 32)) return Corrupt("bad frame length");
  if (codec == kFrameNone) {
    if (blob.size() != len) return Corrupt("frame length mismatch");
    return blob;
  }
  if (codec != kFrameZstd) return Corrupt("unknown frame codec");
  if (scratch.size() < len) scratch.resize(len);
  const size_t n = ZSTD_decompressDCtx(Zstd().d, scratch.data(), len, blob.data(), blob.size());
  if (ZSTD_isError(n) || n != len) return Corrupt("zstd frame does not decode");
  return std::string_view(scratch.data(), len);
}

}  // namespace

Result<std::string> Unframe(std::string_view blob) {
  std::string scratch;
  DOTDO_ASSIGN_OR_RETURN(std::string_view raw, UnframeView(blob, scratch));
  return std::string(raw);
}

std::string EncodeColumn(const ColumnData& c) {
  std::string raw;
  raw.push_back(static_cast<char>(kFormatVersion));
  raw.push_back(static_cast<char>(c.kind));
  PutVarint(raw, c.size());
  raw += PackBitmap(c.present);
  raw += PackBitmap(c.nonnull);
  switch (c.kind) {
    case ColumnKind::kBool: {
      std::vector<uint8_t> bits;
      for (size_t i = 0; i < c.size(); ++i)
        if (c.nonnull[i]) bits.push_back(c.ints[i] != 0);
      raw += PackBitmap(bits);
      break;
    }
    case ColumnKind::kInt: {
      std::vector<int64_t> values;
      values.reserve(c.size());
      for (size_t i = 0; i < c.size(); ++i)
        if (c.nonnull[i]) values.push_back(c.ints[i]);
      EncodeInts(values, raw);
      break;
    }
    case ColumnKind::kDouble: {
      raw += PackBitmap(c.was_int);
      for (size_t i = 0; i < c.size(); ++i)
        if (c.nonnull[i]) PutU64(raw, std::bit_cast<uint64_t>(c.doubles[i]));
      break;
    }
    case ColumnKind::kString:
      EncodeStrings(c, raw);
      break;
  }
  return Frame(raw);
}

namespace {

// The directory of a grouped blob: `frames[b]` holds rows [b * block_rows, (b + 1) * block_rows).
struct BlockDirectory {
  size_t block_rows = 0;
  std::vector<std::string_view> frames;
};

Result<BlockDirectory> ReadBlocks(std::string_view in) {
  BlockDirectory dir;
  uint64_t block_rows = 0, blocks = 0;
  in.remove_prefix(1);
  if (!GetVarint(in, block_rows) || block_rows == 0 || block_rows > (uint64_t{1} << 24) || !GetVarint(in, blocks) ||
      blocks > in.size())
    return Corrupt("bad block directory");
  dir.block_rows = static_cast<size_t>(block_rows);
  std::vector<uint64_t> lengths(blocks);
  for (uint64_t& len : lengths)
    if (!GetVarint(in, len) || len == 0 || len > in.size()) return Corrupt("bad block directory");
  for (uint64_t len : lengths) {
    if (len > in.size()) return Corrupt("truncated block");
    dir.frames.push_back(in.substr(0, len));
    in.remove_prefix(len);
  }
  if (!in.empty()) return Corrupt("trailing bytes after the blocks");
  for (std::string_view f : dir.frames)
    if (IsGroupedColumn(f)) return Corrupt("a block holds blocks");  // one level only
  return dir;
}

// Every value is copied out of the raw bytes, so one decompression buffer per thread serves every
// frame.
std::string& FrameScratch() {
  thread_local std::string scratch;
  if (scratch.capacity() > (size_t{4} << 20)) std::string().swap(scratch);  // keep no large frame's buffer
  return scratch;
}

bool BitAt(std::string_view bitmap, size_t i) { return (static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1; }

// Set bits among the first `end` bits.
size_t BitsBefore(std::string_view bitmap, size_t end) {
  size_t n = 0;
  const size_t full = end / 8;
  size_t b = 0;
  for (; b + 8 <= full; b += 8) {
    uint64_t word;
    std::memcpy(&word, bitmap.data() + b, 8);
    n += static_cast<size_t>(std::popcount(word));
  }
  for (; b < full; ++b) n += static_cast<size_t>(std::popcount(static_cast<uint8_t>(bitmap[b])));
  if (end % 8 != 0) n += static_cast<size_t>(std::popcount(static_cast<uint8_t>(static_cast<uint8_t>(bitmap[full]) & ((1u << (end % 8)) - 1))));
  return n;
}


// The non-null value `k` of `values` into row 0 of `c` (kind, bitmaps set); `in` is the frame's
// payload after the bitmaps, `row` the row's index in the frame of `rows` rows.
bool DecodeValueAt(std::string_view in, size_t rows, size_t row, size_t values, size_t k, ColumnData& c) {
  switch (c.kind) {
    case ColumnKind::kBool:
      if (in.size() < (values + 7) / 8) return false;
      c.ints[0] = BitAt(in, k);
      return true;
    case ColumnKind::kInt: {
      uint64_t n = 0, first = 0;
      if (!GetVarint(in, n) || n != values || !GetU64(in, first) || in.empty()) return false;
      const int width = static_cast<uint8_t>(in[0]);
      in.remove_prefix(1);
      if (width > 64 || in.size() < ((n - 1) * static_cast<size_t>(width) + 7) / 8) return false;
      uint64_t cur = first;
      for (size_t i = 0; i < k; ++i) cur += static_cast<uint64_t>(UnZigZag(PackedAt(in, i, width)));
      c.ints[0] = static_cast<int64_t>(cur);
      return true;
    }
    case ColumnKind::kDouble: {
      const size_t bitmap = (rows + 7) / 8;
      if (in.size() != bitmap + values * 8) return false;
      c.was_int[0] = BitAt(in, row);
      c.doubles[0] = std::bit_cast<double>([&] {
        uint64_t bits = 0;
        std::memcpy(&bits, in.data() + bitmap + k * 8, 8);
        return bits;
      }());
      return true;
    }
    case ColumnKind::kString: {
      if (in.empty()) return false;
      const uint8_t mode = static_cast<uint8_t>(in[0]);
      in.remove_prefix(1);
      auto next = [&](std::string_view& out) {
        uint64_t len = 0;
        return GetVarint(in, len) && GetBytes(in, len, out);
      };
      std::string_view value;
      if (mode == kDictStrings) {
        uint64_t dn = 0, n = 0;
        if (!GetVarint(in, dn) || dn > in.size()) return false;
        const std::string_view dict = in;  // stepped over once to reach the codes, again to the value
        for (uint64_t d = 0; d < dn; ++d)
          if (!next(value)) return false;
        if (!GetVarint(in, n) || n != values || in.empty()) return false;
        const int width = static_cast<uint8_t>(in[0]);
        in.remove_prefix(1);
        if (width > 32 || in.size() < (n * static_cast<size_t>(width) + 7) / 8) return false;
        const uint64_t code = PackedAt(in, k, width);
        if (code >= dn) return false;
        in = dict;
        for (uint64_t d = 0; d <= code; ++d)
          if (!next(value)) return false;
      } else if (mode == kPlainStrings) {
        uint64_t n = 0;
        if (!GetVarint(in, n) || n != values) return false;
        for (size_t i = 0; i <= k; ++i)
          if (!next(value)) return false;
      } else {
        return false;
      }
      c.dict = {value};
      c.codes[0] = 0;
      return true;
    }
  }
  return false;
}

}  // namespace

Result<ColumnData> DecodeColumnRow(std::string_view blob, size_t row) {
  if (IsGroupedColumn(blob)) {  // a blocked frame: the row's block alone
    DOTDO_ASSIGN_OR_RETURN(BlockDirectory dir, ReadBlocks(blob));
    const size_t b = row / dir.block_rows;
    if (b >= dir.frames.size()) return Corrupt("row " + std::to_string(row) + " past the blocks");
    return DecodeColumnRow(dir.frames[b], row % dir.block_rows);
  }
  DOTDO_ASSIGN_OR_RETURN(std::string_view in, UnframeView(blob, FrameScratch()));
  if (in.size() < 2 || static_cast<uint8_t>(in[0]) != kFormatVersion) return Corrupt("unknown column version");
  const uint8_t kind = static_cast<uint8_t>(in[1]);
  if (kind < 1 || kind > 4) return Corrupt("unknown column kind");
  in.remove_prefix(2);
  uint64_t n = 0;
  if (!GetVarint(in, n) || n > (uint64_t{1} << 24)) return Corrupt("bad row count");
  if (row >= n) return Corrupt("row " + std::to_string(row) + " of a column of " + std::to_string(n) + " rows");
  const size_t bytes = (n + 7) / 8;
  if (in.size() < 2 * bytes) return Corrupt("truncated bitmaps");
  const std::string_view present = in.substr(0, bytes), nonnull = in.substr(bytes, bytes);
  in.remove_prefix(2 * bytes);
  ColumnData c{.kind = static_cast<ColumnKind>(kind)};
  c.Resize(1);
  c.present[0] = BitAt(present, row);
  c.nonnull[0] = BitAt(nonnull, row);
  if (c.nonnull[0] && !c.present[0]) return Corrupt("a value in an absent row");
  if (c.kind == ColumnKind::kString) c.dict = {std::string_view()};
  if (!c.nonnull[0]) return c;
  if (!DecodeValueAt(in, n, row, BitsBefore(nonnull, n), BitsBefore(nonnull, row), c)) return Corrupt("bad value");
  return c;
}

Result<ColumnData> DecodeColumn(std::string_view blob) {
  DOTDO_ASSIGN_OR_RETURN(std::string_view in, UnframeView(blob, FrameScratch()));
  if (in.size() < 2 || static_cast<uint8_t>(in[0]) != kFormatVersion) return Corrupt("unknown column version");
  ColumnData c;
  const uint8_t kind = static_cast<uint8_t>(in[1]);
  if (kind < 1 || kind > 4) return Corrupt("unknown column kind");
  c.kind = static_cast<ColumnKind>(kind);
  in.remove_prefix(2);
  uint64_t n = 0;
  if (!GetVarint(in, n) || n > (uint64_t{1} << 24)) return Corrupt("bad row count");
  if (n / 4 > in.size()) return Corrupt("truncated bitmaps");  // before sizing the column by n
  c.Resize(n);
  if (!UnpackBitmap(in, n, c.present) || !UnpackBitmap(in, n, c.nonnull)) return Corrupt("truncated bitmaps");
  size_t values = 0;
  for (size_t i = 0; i < n; ++i) {
    if (c.nonnull[i] && !c.present[i]) return Corrupt("a value in an absent row");
    values += c.nonnull[i];
  }
  switch (c.kind) {
    case ColumnKind::kBool: {
      std::vector<uint8_t> bits;
      if (!UnpackBitmap(in, values, bits)) return Corrupt("truncated booleans");
      for (size_t i = 0, k = 0; i < n; ++i)
        if (c.nonnull[i]) c.ints[i] = bits[k++];
      break;
    }
    case ColumnKind::kInt: {
      if (values == n) {  // no nulls: the values are the column
        if (!DecodeInts(in, c.ints) || c.ints.size() != n) return Corrupt("bad integers");
        break;
      }
      std::vector<int64_t> vals;
      if (!DecodeInts(in, vals) || vals.size() != values) return Corrupt("bad integers");
      for (size_t i = 0, k = 0; i < n; ++i)
        if (c.nonnull[i]) c.ints[i] = vals[k++];
      break;
    }
    case ColumnKind::kDouble: {
      if (!UnpackBitmap(in, n, c.was_int)) return Corrupt("truncated integer bitmap");
      for (size_t i = 0; i < n; ++i) {
        if (!c.nonnull[i]) continue;
        uint64_t bits = 0;
        if (!GetU64(in, bits)) return Corrupt("truncated doubles");
        c.doubles[i] = std::bit_cast<double>(bits);
      }
      break;
    }
    case ColumnKind::kString:
      if (!DecodeStrings(in, c)) return Corrupt("bad strings");
      break;
  }
  if (!in.empty()) return Corrupt("trailing bytes");
  return c;
}

namespace {

// Row i of `from` into row j of `to` (same kind); a string row gets dictionary code `code` of `to`.
void CopyRow(const ColumnData& from, size_t i, ColumnData& to, size_t j, uint32_t code) {
  to.present[j] = from.present[i];
  to.nonnull[j] = from.nonnull[i];
  if (from.kind == ColumnKind::kDouble) {
    to.doubles[j] = from.doubles[i];
    to.was_int[j] = from.was_int[i];
  } else if (from.kind == ColumnKind::kString) {
    to.codes[j] = code;
  } else {
    to.ints[j] = from.ints[i];
  }
}

}  // namespace

ColumnData SliceColumn(const ColumnData& c, size_t begin, size_t end) {
  ColumnData out{.kind = c.kind};
  out.Resize(end - begin);
  for (size_t i = begin; i < end; ++i) CopyRow(c, i, out, i - begin, static_cast<uint32_t>(i - begin));
  if (c.kind == ColumnKind::kString) {
    out.dict.clear();  // Resize put the empty value there
    out.dict.reserve(end - begin, 0);
    for (size_t i = begin; i < end; ++i) out.dict.emplace_back(c.Str(i));
    if (out.dict.empty()) out.dict.emplace_back();
  }
  return out;
}

std::string EncodeGroupedColumn(const ColumnData& c, size_t group_rows) {
  std::vector<std::string> frames;
  for (size_t b = 0; b < c.size(); b += group_rows) frames.push_back(EncodeColumn(SliceColumn(c, b, std::min(c.size(), b + group_rows))));
  std::string out(1, static_cast<char>(kGrouped));
  PutVarint(out, group_rows);
  PutVarint(out, frames.size());
  for (const std::string& f : frames) PutVarint(out, f.size());
  for (const std::string& f : frames) out += f;
  return out;
}

bool IsGroupedColumn(std::string_view blob) { return !blob.empty() && static_cast<uint8_t>(blob[0]) == kGrouped; }

std::string EncodeGroupFrame(const ColumnData& group, size_t block_rows) {
  if (block_rows == 0 || group.size() <= block_rows) return EncodeColumn(group);
  return EncodeGroupedColumn(group, block_rows);
}

Result<ColumnData> DecodeGroupFrame(std::string_view frame, size_t rows) {
  if (!IsGroupedColumn(frame)) return DecodeColumn(frame);
  DOTDO_ASSIGN_OR_RETURN(BlockDirectory dir, ReadBlocks(frame));
  if (dir.frames.size() != (rows + dir.block_rows - 1) / dir.block_rows) return Corrupt("blocks do not match the rows");
  return DecodeGroupFrames(dir.frames, rows, dir.block_rows);
}

Result<ColumnData> DecodeGroupFrames(const std::vector<std::string_view>& frames, size_t rows, size_t group_rows) {
  if (group_rows == 0 || frames.size() != (rows + group_rows - 1) / group_rows) return Corrupt("row groups do not match the rows");
  ColumnData out;
  bool first = true;
  for (size_t g = 0; g < frames.size(); ++g) {
    if (frames[g].empty()) continue;
    const size_t begin = g * group_rows, n = std::min(rows, begin + group_rows) - begin;
    DOTDO_ASSIGN_OR_RETURN(ColumnData part, DecodeGroupFrame(frames[g], n));
    if (part.size() != n) return Corrupt("row group has the wrong row count");
    if (n == rows) return part;  // the only group: already the whole column
    if (first) {
      out.kind = part.kind;
      out.Resize(rows);
      if (out.kind == ColumnKind::kString) out.dict = {std::string_view()};
      first = false;
    } else if (part.kind != out.kind) {
      return Corrupt("row groups of different kinds");
    }
    const auto base = static_cast<uint32_t>(out.dict.size());
    const bool strings = out.kind == ColumnKind::kString;
    for (size_t j = 0; j < n; ++j) CopyRow(part, j, out, begin + j, strings && part.nonnull[j] ? base + part.codes[j] : 0);
    if (out.kind == ColumnKind::kString) out.dict.Append(part.dict);
  }
  if (first) out.Resize(rows);  // no group wanted: every row absent
  if (first && out.kind == ColumnKind::kString) out.dict = {std::string_view()};
  return out;
}

Result<ColumnData> DecodeGroupedColumn(std::string_view in, size_t rows, size_t group_rows, const std::vector<uint8_t>* wanted) {
  uint64_t stored_rows = 0, groups = 0;
  if (!IsGroupedColumn(in)) return Corrupt("not a grouped column");
  in.remove_prefix(1);
  const size_t expected = group_rows == 0 ? 0 : (rows + group_rows - 1) / group_rows;
  if (!GetVarint(in, stored_rows) || stored_rows != group_rows || !GetVarint(in, groups) || groups != expected)
    return Corrupt("row groups do not match the chunk");
  if (wanted != nullptr && wanted->size() != groups) return Corrupt("row group mask size");
  std::vector<uint64_t> lengths(groups);
  for (uint64_t& len : lengths)
    if (!GetVarint(in, len) || len > in.size()) return Corrupt("bad row group directory");
  std::vector<std::string_view> frames(groups);
  for (size_t g = 0; g < groups; ++g) {
    if (lengths[g] > in.size() || lengths[g] == 0) return Corrupt("truncated row group");
    if (wanted == nullptr || (*wanted)[g]) frames[g] = in.substr(0, lengths[g]);
    in.remove_prefix(lengths[g]);
  }
  if (!in.empty()) return Corrupt("trailing bytes after the row groups");
  if (groups == 0) {
    ColumnData out;
    return out;
  }
  return DecodeGroupFrames(frames, rows, group_rows);
}

}  // namespace dotdo::internal
