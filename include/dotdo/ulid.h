// ULIDs (https://github.com/ulid/spec): 26-character, lexicographically sortable ids made of a 48-bit
// millisecond timestamp and 80 random bits. Ids from one generator are strictly increasing, also
// within one millisecond (the random part is incremented), so they double as insertion order.
//
// Thread-safety: UlidGenerator is safe to call from several threads.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "dotdo/clock.h"
#include "dotdo/export.h"

namespace dotdo {

class DOTDO_EXPORT UlidGenerator {
 public:
  // REQUIRES: clock outlives the generator.
  explicit UlidGenerator(Clock* clock);
  std::string Next();

  static bool IsValid(std::string_view ulid);
  // Milliseconds encoded in a valid ULID.
  static int64_t TimestampOf(std::string_view ulid);

 private:
  Clock* clock_;
  std::mutex mu_;
  int64_t last_ms_ = -1;                  // GUARDED_BY(mu_)
  std::array<uint8_t, 10> last_random_{};  // GUARDED_BY(mu_)
};

}  // namespace dotdo
