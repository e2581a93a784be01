// The chunk accelerator's probabilistic structures: a bloom filter (Bloom 1970; k probes by double
// hashing, Kirsch & Mitzenmacher, "Less hashing, same performance", ESA 2006) and a HyperLogLog
// distinct-count sketch (Flajolet, Fusy, Gandouet, Meunier, "HyperLogLog: the analysis of a
// near-optimal cardinality estimation algorithm", AofA 2007, with the paper's small-range
// linear-counting correction). Both hash with XXH3-64 and serialize to plain bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dotdo::internal {

uint64_t HashBytes(std::string_view bytes);

// ~1 % false positives at 10 bits per key with 7 probes; never a false negative.
class BloomFilter {
 public:
  static constexpr int kProbes = 7;
  explicit BloomFilter(size_t expected_keys);
  // From Serialize(); an empty or malformed input gives a filter that may contain everything.
  static BloomFilter Parse(std::string_view bytes);
  void Add(uint64_t hash);
  bool MayContain(uint64_t hash) const { return MayContain(bits_, hash); }
  // The same probe over serialized bits, without a copy.
  static bool MayContain(std::string_view bits, uint64_t hash);
  std::string Serialize() const { return bits_; }

 private:
  BloomFilter() = default;
  std::string bits_;  // empty = "may contain anything"
};

// 2^kPrecision one-byte registers (1 KiB): standard error 1.04 / sqrt(1024) ~ 3.3 %.
class HyperLogLog {
 public:
  static constexpr int kPrecision = 10;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;
  HyperLogLog() : registers_(kRegisters, 0) {}
  static HyperLogLog Parse(std::string_view bytes);  // malformed input = empty sketch
  void Add(uint64_t hash);
  void Merge(const HyperLogLog& other);
  double Estimate() const;
  std::string Serialize() const { return std::string(registers_.begin(), registers_.end()); }

 private:
  std::vector<uint8_t> registers_;
};

}  // namespace dotdo::internal
