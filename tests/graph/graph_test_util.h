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

// Result<std::optional<T>> is OK and empty (no path, no cycle).
MATCHER(IsOkAndEmpty, "is OK and holds nullopt") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return !arg->has_value();
}

}  // namespace dotdo::testing

namespace dotdo {
// The matchers every graph test uses, by their short names.
using ::dotdo::testing::IsOk;
using ::dotdo::testing::IsOkAndEmpty;
using ::dotdo::testing::IsOkAndHolds;
using ::dotdo::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
}  // namespace dotdo
