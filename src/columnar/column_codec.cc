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
    for (; i < count; ++i) {
      uint64_t v = 0;
      for (int done = 0; done < width;) {
        const int off = static_cast<int>(bit % 8);
        const int take = std::min(8 - off, width - done);
        v |= static_cast<uint64_t>((p[bit / 8] >> off) & ((1u << take) - 1)) << done;
        done += take;
        bit += static_cast<size_t>(take);
      }
      out[i] = v;
    }
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

Result<ColumnData> DecodeColumn(std::string_view blob) {
  // Every value is copied out of the raw bytes, so one decompression buffer per thread serves
  // every frame.
  thread_local std::string scratch;
  if (scratch.capacity() > (size_t{4} << 20)) std::string().swap(scratch);  // keep no large frame's buffer
  DOTDO_ASSIGN_OR_RETURN(std::string_view in, UnframeView(blob, scratch));
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

Result<ColumnData> DecodeGroupFrames(const std::vector<std::string_view>& frames, size_t rows, size_t group_rows) {
  if (group_rows == 0 || frames.size() != (rows + group_rows - 1) / group_rows) return Corrupt("row groups do not match the rows");
  ColumnData out;
  bool first = true;
  for (size_t g = 0; g < frames.size(); ++g) {
    if (frames[g].empty()) continue;
    DOTDO_ASSIGN_OR_RETURN(ColumnData part, DecodeColumn(frames[g]));
    const size_t begin = g * group_rows, n = std::min(rows, begin + group_rows) - begin;
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
