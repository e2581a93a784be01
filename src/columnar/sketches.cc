// Bloom filter and HyperLogLog of sketches.h.
#include "columnar/sketches.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include <xxhash.h>

namespace dotdo::internal {

uint64_t HashBytes(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

BloomFilter::BloomFilter(size_t expected_keys) : bits_(std::max<size_t>(8, (expected_keys * 10 + 7) / 8), '\0') {}

BloomFilter BloomFilter::Parse(std::string_view bytes) {
  BloomFilter f;
  f.bits_.assign(bytes);
  return f;
}

void BloomFilter::Add(uint64_t hash) {
  const uint64_t m = bits_.size() * 8;
  const uint64_t h1 = hash, h2 = (hash >> 32) | (hash << 32) | 1;
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h1 + static_cast<uint64_t>(i) * h2) % m;
    bits_[bit / 8] = static_cast<char>(static_cast<uint8_t>(bits_[bit / 8]) | (1u << (bit % 8)));
  }
}

bool BloomFilter::MayContain(std::string_view bits, uint64_t hash) {
  if (bits.empty()) return true;
  const uint64_t m = bits.size() * 8;
  const uint64_t h1 = hash, h2 = (hash >> 32) | (hash << 32) | 1;
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h1 + static_cast<uint64_t>(i) * h2) % m;
    if (!((static_cast<uint8_t>(bits[bit / 8]) >> (bit % 8)) & 1)) return false;
  }
  return true;
}

HyperLogLog HyperLogLog::Parse(std::string_view bytes) {
  HyperLogLog h;
  if (bytes.size() == kRegisters) std::copy(bytes.begin(), bytes.end(), h.registers_.begin());
  return h;
}

void HyperLogLog::Add(uint64_t hash) {
  const size_t index = hash >> (64 - kPrecision);
  const uint64_t rest = (hash << kPrecision) | (uint64_t{1} << (kPrecision - 1));  // guard bit: rho <= 64 - p + 1
  const uint8_t rho = static_cast<uint8_t>(std::countl_zero(rest) + 1);
  registers_[index] = std::max(registers_[index], rho);
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  for (size_t i = 0; i < kRegisters; ++i) registers_[i] = std::max(registers_[i], other.registers_[i]);
}

double HyperLogLog::Estimate() const {
  const double m = static_cast<double>(kRegisters);
  const double alpha = 0.7213 / (1.0 + 1.079 / m);
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  const double raw = alpha * m * m / sum;
  if (raw <= 2.5 * m && zeros > 0) return m * std::log(m / static_cast<double>(zeros));  // linear counting
  return raw;
}

}  // namespace dotdo::internal
