// Named sync points: a registered callback's Status is what the point evaluates to, unset points
// are OK, Clear/ClearAll and ScopedSyncPoint remove callbacks, hits are counted, and a callback may
// clear its own point. In builds without sync points the macro is a constant OK status.
#include <gtest/gtest.h>

#include "core/sync_point.h"
#include "testing/test_util.h"

namespace dotdo::internal {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

Status PassPoint() {
  DOTDO_RETURN_IF_ERROR(DOTDO_SYNC_POINT("test.point"));
  return OkStatus();
}

class SyncPointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SyncPoints::Enabled()) GTEST_SKIP() << "built with DOTDO_SYNC_POINTS=OFF";
  }
  void TearDown() override { SyncPoints::ClearAll(); }
};

TEST_F(SyncPointTest, UnsetPointIsOk) { EXPECT_THAT(PassPoint(), IsOk()); }

TEST_F(SyncPointTest, CallbackStatusIsPropagatedAndHitsAreCounted) {
  SyncPoints::Set("test.point", [] { return UnavailableError("simulated crash"); });
  EXPECT_THAT(PassPoint(), StatusIs(StatusCode::kUnavailable, "simulated crash"));
  EXPECT_THAT(PassPoint(), StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(SyncPoints::Hits("test.point"), 2);
  EXPECT_EQ(SyncPoints::Hits("test.other"), 0);
  SyncPoints::Clear("test.point");
  EXPECT_THAT(PassPoint(), IsOk());
  EXPECT_EQ(SyncPoints::Hits("test.point"), 0);
}

TEST_F(SyncPointTest, OtherNamesAreUnaffected) {
  SyncPoints::Set("test.other", [] { return DataLossError("x"); });
  EXPECT_THAT(PassPoint(), IsOk());
  SyncPoints::ClearAll();
  EXPECT_THAT(DOTDO_SYNC_POINT("test.other"), IsOk());
}

TEST_F(SyncPointTest, ScopedPointIsClearedAtScopeEnd) {
  {
    ScopedSyncPoint p("test.point", [] { return AbortedError("scoped"); });
    EXPECT_THAT(PassPoint(), StatusIs(StatusCode::kAborted, "scoped"));
  }
  EXPECT_THAT(PassPoint(), IsOk());
}

TEST_F(SyncPointTest, CallbackMayClearItsOwnPoint) {
  // Fail once, then let the retry through: the callback runs without the registry lock.
  SyncPoints::Set("test.point", [] {
    SyncPoints::Clear("test.point");
    return UnavailableError("first only");
  });
  EXPECT_THAT(PassPoint(), StatusIs(StatusCode::kUnavailable, "first only"));
  EXPECT_THAT(PassPoint(), IsOk());
}

TEST(SyncPointDisabledTest, MacroIsOkWhenCompiledOut) {
  if (SyncPoints::Enabled()) GTEST_SKIP() << "built with DOTDO_SYNC_POINTS=ON";
  SyncPoints::Set("test.point", [] { return InternalError("must not run"); });
  EXPECT_THAT(PassPoint(), IsOk());
  SyncPoints::ClearAll();
}

}  // namespace
}  // namespace dotdo::internal
