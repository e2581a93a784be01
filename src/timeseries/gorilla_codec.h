// The block codec of the TimeSeriesStore: a run of (ts, value) samples in ascending ts order as
// one byte string — delta-of-delta timestamps and XOR-encoded doubles as in Gorilla (Pelkonen et
// al., "Gorilla: A Fast, Scalable, In-Memory Time Series Database", VLDB 2015, section 4.1),
// optionally wrapped in zstd when that is smaller. The byte layout is docs/formats/timeseries.md.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/status.h"
#include "dotdo/timeseries.h"

namespace dotdo::internal {

// The first byte of an encoded block.
enum class BlockEncoding : uint8_t { kGorilla = 0, kGorillaZstd = 1 };

// Builds a Gorilla block sample by sample, so that an open block can grow without re-encoding
// what it holds (the bit stream and the encoder state are kept).
class GorillaAppender {
 public:
  // REQUIRES: s.ts greater than the last appended ts.
  void Append(const TimeSample& s);
  int64_t count() const { return count_; }
  // The encoded block (as EncodeBlock) of everything appended so far. REQUIRES: count() > 0.
  std::string Finish(bool try_zstd) const;

 private:
  std::string bits_;
  int used_ = 0;  // bits used in the last byte of bits_ (0: full or none)
  int64_t count_ = 0;
  int64_t prev_ts_ = 0, prev_delta_ = 0;
  uint64_t prev_value_ = 0;
  int leading_ = -1, trailing_ = 0;
};

// Encodes `samples` (REQUIRES: non-empty, strictly ascending ts). With try_zstd the Gorilla bytes
// are also compressed with zstd (level 3) and that form is kept when it is smaller.
std::string EncodeBlock(std::span<const TimeSample> samples, bool try_zstd);

// Decodes a block written by EncodeBlock, appending to `out`. A block that is truncated, has an
// unknown encoding, or does not hold `expected_count` samples is kDataLoss.
Status DecodeBlock(std::string_view data, int64_t expected_count, std::vector<TimeSample>& out);

}  // namespace dotdo::internal
