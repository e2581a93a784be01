// DDSketch: a mergeable quantile sketch with a relative-error guarantee (Masson, Rim and Lee,
// "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with Relative-Error Guarantees", VLDB 2019).
// Values x > 0 fall in bin i = ceil(log_gamma(x)), gamma = (1 + alpha) / (1 - alpha); negative values
// in a mirrored set of bins; zero is counted apart. The estimate for the value of rank r is
// 2 gamma^i / (gamma + 1) of the bin holding rank r, within alpha relative error of the true value
// of that rank (Theorem 2 of the paper). Bins are never collapsed (the number of bins is bounded by
// the logarithmic range of the values, at most ~2 * 36,000 for all finite doubles at alpha = 0.01),
// so the guarantee holds for every quantile. Merging adds bin counts, so a sketch of merged buckets
// equals the sketch of their union.
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "dotdo/status.h"

namespace dotdo::internal {

class DDSketch {
 public:
  static constexpr double kRelativeAccuracy = 0.01;  // alpha

  void Add(double value, int64_t count = 1);
  void Merge(const DDSketch& other);
  // The value of rank ceil(q * count) (1-based; nearest rank), within kRelativeAccuracy relative
  // error. REQUIRES: count() > 0, q in [0, 1].
  double Quantile(double q) const;
  int64_t count() const { return count_; }

  std::string Serialize() const;
  static Result<DDSketch> Deserialize(std::string_view bytes);

 private:
  int64_t count_ = 0, zeros_ = 0;
  std::map<int32_t, int64_t> positive_, negative_;  // bin index -> count (negative: of |x|)
};

}  // namespace dotdo::internal
