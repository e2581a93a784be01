// DDSketch (see ddsketch.h): bin mapping, rank search and a varint serialization
// ([zeros][n positive bins][(zigzag delta index, count)...][n negative bins][...]).
#include "timeseries/ddsketch.h"

#include <cmath>

#include "timeseries/varint.h"

namespace dotdo::internal {
namespace {

const double kGamma = (1 + DDSketch::kRelativeAccuracy) / (1 - DDSketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);

int32_t BinOf(double magnitude) { return static_cast<int32_t>(std::ceil(std::log(magnitude) / kLogGamma)); }
double ValueOf(int32_t bin) { return 2 * std::pow(kGamma, bin) / (kGamma + 1); }



void PutBins(std::string& out, const std::map<int32_t, int64_t>& bins) {
  PutVarint(out, bins.size());
  int64_t prev = 0;
  for (const auto& [bin, n] : bins) {
    const int64_t delta = bin - prev;
    PutVarint(out, (static_cast<uint64_t>(delta) << 1) ^ static_cast<uint64_t>(delta >> 63));
    PutVarint(out, static_cast<uint64_t>(n));
    prev = bin;
  }
}

bool GetBins(std::string_view& in, std::map<int32_t, int64_t>& bins, int64_t& total) {
  uint64_t size = 0;
  if (!GetVarint(in, size) || size > 1'000'000) return false;
  int64_t prev = 0;
  for (uint64_t i = 0; i < size; ++i) {
    uint64_t z = 0, n = 0;
    if (!GetVarint(in, z) || !GetVarint(in, n) || n == 0 || n > (uint64_t{1} << 62)) return false;
    prev += static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
    if (prev < INT32_MIN || prev > INT32_MAX) return false;
    bins[static_cast<int32_t>(prev)] += static_cast<int64_t>(n);
    total += static_cast<int64_t>(n);
  }
  return true;
}

}  // namespace

void DDSketch::Add(double value, int64_t count) {
  count_ += count;
  if (value > 0) positive_[BinOf(value)] += count;
  else if (value < 0) negative_[BinOf(-value)] += count;
  else zeros_ += count;
}

void DDSketch::Merge(const DDSketch& other) {
  count_ += other.count_;
  zeros_ += other.zeros_;
  for (const auto& [bin, n] : other.positive_) positive_[bin] += n;
  for (const auto& [bin, n] : other.negative_) negative_[bin] += n;
}

double DDSketch::Quantile(double q) const {
  int64_t rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  int64_t seen = 0;
  // Ascending values: negative bins from the largest magnitude, zeros, positive bins ascending.
  for (auto it = negative_.rbegin(); it != negative_.rend(); ++it) {
    seen += it->second;
    if (seen >= rank) return -ValueOf(it->first);
  }
  seen += zeros_;
  if (seen >= rank) return 0;
  for (const auto& [bin, n] : positive_) {
    seen += n;
    if (seen >= rank) return ValueOf(bin);
  }
  return positive_.empty() ? 0 : ValueOf(positive_.rbegin()->first);
}

std::string DDSketch::Serialize() const {
  std::string out;
  PutVarint(out, static_cast<uint64_t>(zeros_));
  PutBins(out, positive_);
  PutBins(out, negative_);
  return out;
}

Result<DDSketch> DDSketch::Deserialize(std::string_view in) {
  DDSketch s;
  uint64_t zeros = 0;
  int64_t total = 0;
  if (!GetVarint(in, zeros) || zeros > (uint64_t{1} << 62) || !GetBins(in, s.positive_, total) ||
      !GetBins(in, s.negative_, total) || !in.empty())
    return DataLossError("stored quantile sketch is corrupt");
  s.zeros_ = static_cast<int64_t>(zeros);
  s.count_ = total + s.zeros_;
  return s;
}

}  // namespace dotdo::internal
