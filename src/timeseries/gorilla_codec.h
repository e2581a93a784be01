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

// Encodes `samples` (REQUIRES: non-empty, strictly ascending ts). With try_zstd the Gorilla bytes
// are also compressed with zstd (level 3) and that form is kept when it is smaller.
std::string EncodeBlock(std::span<const TimeSample> samples, bool try_zstd);

// Decodes a block written by EncodeBlock, appending to `out`. A block that is truncated, has an
// unknown encoding, or does not hold `expected_count` samples is kDataLoss.
Status DecodeBlock(std::string_view data, int64_t expected_count, std::vector<TimeSample>& out);

}  // namespace dotdo::internal
