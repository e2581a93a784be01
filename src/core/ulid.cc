// ULID generation: Crockford base32 of (48-bit ms timestamp, 80 random bits), monotonic per generator.
#include "dotdo/ulid.h"

#include <openssl/rand.h>

#include <random>

namespace dotdo {
namespace {
constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int DecodeChar(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (int i = 0; i < 32; ++i)
    if (kAlphabet[i] == c) return i;
  return -1;
}

void FillRandom(uint8_t* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) == 1) return;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(rng());
}
}  // namespace

UlidGenerator::UlidGenerator(Clock* clock) : clock_(clock) {}

std::string UlidGenerator::Next() {
  std::array<uint8_t, 16> bytes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t ms = clock_->NowMillis();
    if (ms <= last_ms_) {
      // Same (or earlier: clock went back) millisecond: keep the last timestamp, bump the random part.
      ms = last_ms_;
      int i = 9;
      while (i >= 0 && ++last_random_[i] == 0) --i;
      if (i < 0) {  // 80-bit overflow within one millisecond: move to the next one.
        ++ms;
        FillRandom(last_random_.data(), last_random_.size());
      }
    } else {
      FillRandom(last_random_.data(), last_random_.size());
      last_random_[0] &= 0x7f;  // leave headroom for increments within the millisecond
    }
    last_ms_ = ms;
    uint64_t t = static_cast<uint64_t>(ms);
    for (int i = 5; i >= 0; --i) {
      bytes[i] = static_cast<uint8_t>(t & 0xff);
      t >>= 8;
    }
    std::copy(last_random_.begin(), last_random_.end(), bytes.begin() + 6);
  }
  // 128 bits -> 26 chars; the first char carries the top 3 bits.
  std::string out(26, '0');
  // Character i holds bits [i*5 - 2, i*5 + 3) of the 128-bit big-endian value padded to 130 bits.
  for (int i = 0; i < 26; ++i) {
    int value = 0;
    for (int b = 0; b < 5; ++b) {
      const int bit = i * 5 + b - 2;  // index into the 128 bits, MSB first; negative = padding
      int v = 0;
      if (bit >= 0) v = (bytes[static_cast<size_t>(bit / 8)] >> (7 - bit % 8)) & 1;
      value = (value << 1) | v;
    }
    out[static_cast<size_t>(i)] = kAlphabet[value];
  }
  return out;
}

bool UlidGenerator::IsValid(std::string_view ulid) {
  if (ulid.size() != 26) return false;
  if (DecodeChar(ulid[0]) > 7) return false;
  for (char c : ulid)
    if (DecodeChar(c) < 0) return false;
  return true;
}

int64_t UlidGenerator::TimestampOf(std::string_view ulid) {
  int64_t ms = 0;
  for (int i = 0; i < 10; ++i) ms = ms * 32 + DecodeChar(ulid[i]);
  return ms;
}

}  // namespace dotdo
