// Gorilla block codec (see gorilla_codec.h): a bit writer/reader (most significant bit first), the
// delta-of-delta timestamp buckets and the XOR value encoding with the leading/trailing-zero
// window of the paper, and the optional zstd wrapper.
#include "timeseries/gorilla_codec.h"

#include <zstd.h>

#include <bit>
#include <cstring>

#include "timeseries/varint.h"

namespace dotdo::internal {
namespace {

// Appends bits to `out`; `used` is the number of bits used in out's last byte (0: full or none).
class BitWriter {
 public:
  BitWriter(std::string& out, int& used) : out_(out), used_(used) {}
  void Write(uint64_t bits, int n) {  // the low n bits of `bits`, n in 1..64
    while (n > 0) {
      const int room = 8 - used_;
      if (used_ == 0) out_.push_back(0);
      const int take = n < room ? n : room;
      const uint64_t chunk = (bits >> (n - take)) & ((uint64_t{1} << take) - 1);
      out_.back() = static_cast<char>(static_cast<uint8_t>(out_.back()) | (chunk << (room - take)));
      used_ = (used_ + take) % 8;
      n -= take;
    }
  }
  void Bit(bool b) { Write(b ? 1 : 0, 1); }

 private:
  std::string& out_;
  int& used_;
};

class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}
  // false when the input is exhausted.
  bool Read(int n, uint64_t& value) {
    if (static_cast<size_t>(n) > in_.size() * 8 - pos_) return false;
    uint64_t v = 0;
    while (n > 0) {
      const size_t byte = pos_ / 8;
      const int offset = static_cast<int>(pos_ % 8), room = 8 - offset;
      const int take = n < room ? n : room;
      const uint64_t chunk = (static_cast<uint8_t>(in_[byte]) >> (room - take)) & ((1u << take) - 1);
      v = (take == 64 ? 0 : v << take) | chunk;
      pos_ += static_cast<size_t>(take);
      n -= take;
    }
    value = v;
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};



// Delta-of-delta buckets (paper, 4.1.1): '0' | '10'+7 | '110'+9 | '1110'+12 | '1111'+64 bits.
void WriteDod(BitWriter& w, int64_t dod) {
  if (dod == 0) return w.Bit(false);
  if (dod >= -63 && dod <= 64) return w.Write(0b10, 2), w.Write(static_cast<uint64_t>(dod + 63), 7);
  if (dod >= -255 && dod <= 256) return w.Write(0b110, 3), w.Write(static_cast<uint64_t>(dod + 255), 9);
  if (dod >= -2047 && dod <= 2048) return w.Write(0b1110, 4), w.Write(static_cast<uint64_t>(dod + 2047), 12);
  w.Write(0b1111, 4);
  w.Write(static_cast<uint64_t>(dod), 64);
}

bool ReadDod(BitReader& r, int64_t& dod) {
  uint64_t b = 0;
  int ones = 0;
  while (ones < 4) {
    if (!r.Read(1, b)) return false;
    if (b == 0) break;
    ++ones;
  }
  static constexpr int kBits[] = {0, 7, 9, 12, 64};
  static constexpr int64_t kBias[] = {0, 63, 255, 2047, 0};
  if (ones == 0) return dod = 0, true;
  uint64_t v = 0;
  if (!r.Read(kBits[ones], v)) return false;
  dod = static_cast<int64_t>(v) - kBias[ones];
  return true;
}

struct XorState {
  uint64_t prev = 0;
  int leading = -1, trailing = 0;  // leading < 0: no window yet
};

// Value XOR (paper, 4.1.2): '0' same value; '10' + bits inside the previous window; '11' + 5 bits
// of leading zeros + 6 bits of (meaningful length - 1) + the meaningful bits.
void WriteValue(BitWriter& w, XorState& s, double value) {
  const uint64_t bits = std::bit_cast<uint64_t>(value), x = bits ^ s.prev;
  s.prev = bits;
  if (x == 0) return w.Bit(false);
  int leading = std::countl_zero(x), trailing = std::countr_zero(x);
  if (leading > 31) leading = 31;
  if (s.leading >= 0 && leading >= s.leading && trailing >= s.trailing) {
    w.Write(0b10, 2);
    w.Write(x >> s.trailing, 64 - s.leading - s.trailing);
    return;
  }
  const int meaningful = 64 - leading - trailing;
  w.Write(0b11, 2);
  w.Write(static_cast<uint64_t>(leading), 5);
  w.Write(static_cast<uint64_t>(meaningful - 1), 6);
  w.Write(x >> trailing, meaningful);
  s.leading = leading;
  s.trailing = trailing;
}

bool ReadValue(BitReader& r, XorState& s, double& value) {
  uint64_t b = 0;
  if (!r.Read(1, b)) return false;
  if (b == 1) {
    if (!r.Read(1, b)) return false;
    if (b == 1) {
      uint64_t leading = 0, len = 0;
      if (!r.Read(5, leading) || !r.Read(6, len)) return false;
      s.leading = static_cast<int>(leading);
      s.trailing = 64 - s.leading - static_cast<int>(len + 1);
      if (s.trailing < 0) return false;
    } else if (s.leading < 0) {
      return false;
    }
    uint64_t x = 0;
    if (!r.Read(64 - s.leading - s.trailing, x)) return false;
    s.prev ^= x << s.trailing;
  }
  value = std::bit_cast<double>(s.prev);
  return true;
}

Status Corrupt(std::string_view why) { return DataLossError("time-series block is corrupt: " + std::string(why)); }

Status DecodeGorilla(std::string_view in, int64_t expected, std::vector<TimeSample>& out) {
  uint64_t count = 0;
  if (!GetVarint(in, count) || static_cast<int64_t>(count) != expected || count == 0)
    return Corrupt("sample count does not match its row");
  BitReader r(in);
  uint64_t first = 0;
  if (!r.Read(64, first)) return Corrupt("truncated");
  int64_t ts = static_cast<int64_t>(first), delta = 0;
  XorState xs;
  double v = 0;
  if (!ReadValue(r, xs, v)) return Corrupt("truncated");
  out.reserve(out.size() + count);
  out.push_back({ts, v});
  for (uint64_t i = 1; i < count; ++i) {
    int64_t dod = 0;
    if (!ReadDod(r, dod) || !ReadValue(r, xs, v)) return Corrupt("truncated");
    delta += dod;
    ts += delta;
    out.push_back({ts, v});
  }
  return OkStatus();
}

}  // namespace

void GorillaAppender::Append(const TimeSample& sample) {
  BitWriter w(bits_, used_);
  XorState xs{prev_value_, leading_, trailing_};
  if (count_ == 0) {
    w.Write(static_cast<uint64_t>(sample.ts), 64);
  } else {
    const int64_t delta = sample.ts - prev_ts_;
    WriteDod(w, delta - prev_delta_);
    prev_delta_ = delta;
  }
  WriteValue(w, xs, sample.value);
  prev_ts_ = sample.ts;
  prev_value_ = xs.prev;
  leading_ = xs.leading;
  trailing_ = xs.trailing;
  ++count_;
}

std::string GorillaAppender::Finish(bool try_zstd) const {
  std::string raw;
  raw.reserve(bits_.size() + 11);
  raw.push_back(static_cast<char>(BlockEncoding::kGorilla));
  PutVarint(raw, static_cast<uint64_t>(count_));
  raw += bits_;
  if (try_zstd) {
    std::string z(ZSTD_compressBound(raw.size() - 1) + 1, '\0');
    z[0] = static_cast<char>(BlockEncoding::kGorillaZstd);
    const size_t n = ZSTD_compress(z.data() + 1, z.size() - 1, raw.data() + 1, raw.size() - 1, 3);
    if (!ZSTD_isError(n) && n + 1 < raw.size()) {
      z.resize(n + 1);
      return z;
    }
  }
  return raw;
}

std::string EncodeBlock(std::span<const TimeSample> samples, bool try_zstd) {
  GorillaAppender a;
  for (const TimeSample& s : samples) a.Append(s);
  return a.Finish(try_zstd);
}

Status DecodeBlock(std::string_view data, int64_t expected_count, std::vector<TimeSample>& out) {
  if (data.empty()) return Corrupt("empty");
  const auto encoding = static_cast<uint8_t>(data[0]);
  data.remove_prefix(1);
  if (encoding == static_cast<uint8_t>(BlockEncoding::kGorilla)) return DecodeGorilla(data, expected_count, out);
  if (encoding != static_cast<uint8_t>(BlockEncoding::kGorillaZstd)) return Corrupt("unknown encoding");
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  // A Gorilla block of n samples takes at most ~18 bytes per sample plus its header.
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > static_cast<unsigned long long>(expected_count) * 20 + 32)
    return Corrupt("bad zstd frame");
  std::string raw(size, '\0');
  const size_t n = ZSTD_decompress(raw.data(), raw.size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != size) return Corrupt("zstd frame does not decompress");
  return DecodeGorilla(raw, expected_count, out);
}

}  // namespace dotdo::internal
