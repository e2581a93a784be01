// dotdo-bench harness. A suite registers with DOTDO_BENCH_SUITE(name) and reports cases with
// Report(): one JSON line each, comparing ours with a baseline measured in the same process on the
// same data (contract in DESIGN.md). `ratio` is ours/baseline for throughput, baseline/ours for latency.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dotdo::bench {

struct Options {
  bool quick = false;       // --quick: small sizes, < 60 s per suite
  std::string data_dir;     // scratch directory for this run (removed afterwards)
  uint64_t seed = 42;
};

struct Case {
  std::string suite, name, metric, baseline;
  double value = 0, baseline_value = 0;
  bool higher_is_better = true;
  std::string note;  // optional detail (dataset, sizes)
};

// Prints the case as one JSON line and remembers it for the summary.
void Report(const Case& c);

using SuiteFn = std::function<int(const Options&)>;
struct SuiteRegistration {
  SuiteRegistration(const char* name, SuiteFn fn);
};
#define DOTDO_BENCH_SUITE(name)                                                          \
  static int DotdoBenchSuite_##name(const ::dotdo::bench::Options& options);             \
  static const ::dotdo::bench::SuiteRegistration kDotdoBenchReg_##name(#name, DotdoBenchSuite_##name); \
  static int DotdoBenchSuite_##name(const ::dotdo::bench::Options& options)

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs fn() and returns elapsed seconds.
template <typename F>
double TimeIt(F&& fn) {
  double t0 = NowSeconds();
  fn();
  return NowSeconds() - t0;
}

// p in [0,100] of the samples (sorted copy).
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

// Alternates ours/baseline `rounds` times and returns the best (min) seconds of each, so that machine
// noise hits both sides alike.
struct Interleaved {
  double ours = 1e100, baseline = 1e100;
};
template <typename Ours, typename Base>
Interleaved RunInterleaved(int rounds, Ours&& ours, Base&& base) {
  Interleaved r;
  for (int i = 0; i < rounds; ++i) {
    r.ours = std::min(r.ours, TimeIt(ours));
    r.baseline = std::min(r.baseline, TimeIt(base));
  }
  return r;
}

}  // namespace dotdo::bench
