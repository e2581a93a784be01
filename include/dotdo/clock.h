// Clock: the one source of time for a Database. Production uses SystemClock; tests inject a
// ManualClock so time travel, retention and ULID ordering are deterministic.
//
// Thread-safety: both implementations are safe to call from several threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

class DOTDO_EXPORT Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch, UTC.
  virtual int64_t NowMillis() = 0;
};

class DOTDO_EXPORT SystemClock final : public Clock {
 public:
  int64_t NowMillis() override;
  // The process-wide instance; never destroyed.
  static SystemClock* Default();
};

// A clock that only moves when told to.
class DOTDO_EXPORT ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_millis = 1'700'000'000'000) : now_(start_millis) {}
  int64_t NowMillis() override { return now_.load(std::memory_order_relaxed); }
  void Set(int64_t millis) { now_.store(millis, std::memory_order_relaxed); }
  void Advance(int64_t millis) { now_.fetch_add(millis, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

// The timestamps dotdo accepts from users: 0000-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z, in
// ms since the Unix epoch.
inline constexpr int64_t kMinTimestampMillis = -62'167'219'200'000;
inline constexpr int64_t kMaxTimestampMillis = 253'402'300'799'999;
// kInvalidArgument "<what> <n> ms is outside the supported range …" outside that range.
DOTDO_EXPORT Status ValidateTimestampMillis(int64_t millis, std::string_view what = "time");

// "2024-01-15T10:30:00.000Z" (proleptic Gregorian, UTC). Outside the supported range the year gets a
// sign ("+292278994-08-17T07:12:55.807Z"), never a wrong date.
DOTDO_EXPORT std::string FormatIso8601(int64_t millis);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]" and "YYYY-MM-DD" naming a real calendar day
// (2023-02-29 is refused) within the supported range; anything else is kInvalidArgument.
DOTDO_EXPORT Result<int64_t> ParseIso8601(std::string_view text);
// Durations such as "500ms", "30s", "15m", "24h", "7d", "2w"; a bare integer is milliseconds.
DOTDO_EXPORT Result<int64_t> ParseDurationMillis(std::string_view text);

}  // namespace dotdo
