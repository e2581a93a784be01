// Helpers shared by the GraphStore tests.
#pragma once

#include "testing/test_util.h"

namespace dotdo::testing {

// Result<T> is OK and its value equals `expected`.
MATCHER_P(IsOkAndHolds, expected, "is OK and holds " + ::testing::PrintToString(expected)) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  *result_listener << "value is " << ::testing::PrintToString(*arg);
  return *arg == expected;
}

}  // namespace dotdo::testing
