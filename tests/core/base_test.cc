// Status, ULIDs, time parsing and JSON paths.
#include <set>

#include "core/json_path.h"
#include "dotdo/clock.h"
#include "dotdo/status.h"
#include "dotdo/ulid.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::StatusIs;
using internal::JsonPath;

Result<int> Half(int x) {
  if (x % 2) return InvalidArgumentError("odd");
  return x / 2;
}
Result<int> Quarter(int x) {
  DOTDO_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, ResultPropagatesErrorsThroughMacros) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(StatusCode::kInvalidArgument, "odd"));
  EXPECT_EQ(NotFoundError("x").ToString(), "NOT_FOUND: x");
  EXPECT_EQ(NotFoundError("x").WithContext("get").message(), "get: x");
}

TEST(UlidTest, StrictlyIncreasingWithinOneMillisecond) {
  ManualClock clock(1'700'000'000'000);
  UlidGenerator gen(&clock);
  std::string prev = gen.Next();
  for (int i = 0; i < 10000; ++i) {
    std::string next = gen.Next();
    ASSERT_LT(prev, next);
    ASSERT_TRUE(UlidGenerator::IsValid(next));
    prev = next;
  }
  EXPECT_EQ(UlidGenerator::TimestampOf(prev), 1'700'000'000'000);
  clock.Advance(-5000);  // a clock going back never breaks ordering
  EXPECT_LT(prev, gen.Next());
  EXPECT_FALSE(UlidGenerator::IsValid("not-a-ulid"));
}

TEST(ClockTest, FormatsAndParsesIso8601) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(1705314600123), "2024-01-15T10:30:00.123Z");
  EXPECT_EQ(*ParseIso8601("2024-01-15T10:30:00.123Z"), 1705314600123);
  EXPECT_EQ(*ParseIso8601("2024-01-15T11:30:00+01:00"), 1705314600000);
  EXPECT_EQ(*ParseIso8601("2024-01-15"), 1705276800000);
  for (auto bad : {"", "2024-1-15", "2024-01-15T25:00:00Z", "yesterday", "2024-01-15T10:30:00Zjunk"})
    EXPECT_THAT(ParseIso8601(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
}

TEST(ClockTest, RefusesDaysThatDoNotExistAndTimesOutsideTheRange) {
  EXPECT_THAT(ParseIso8601("2023-02-29"), StatusIs(StatusCode::kInvalidArgument, "2023-02 has 28 days"));
  EXPECT_THAT(ParseIso8601("2024-04-31T00:00:00Z"), StatusIs(StatusCode::kInvalidArgument, "has 30 days"));
  EXPECT_THAT(ParseIso8601("1900-02-29"), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_EXPECT_OK(ParseIso8601("2024-02-29"));
  DOTDO_EXPECT_OK(ParseIso8601("2000-02-29"));
  EXPECT_THAT(ParseIso8601("0000-01-01T00:00:00+00:01"), StatusIs(StatusCode::kInvalidArgument, "outside"));
  EXPECT_EQ(*ParseIso8601("0000-01-01T00:00:00Z"), kMinTimestampMillis);
  EXPECT_EQ(*ParseIso8601("9999-12-31T23:59:59.999Z"), kMaxTimestampMillis);
  EXPECT_EQ(FormatIso8601(kMinTimestampMillis), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(kMaxTimestampMillis), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIso8601(-1), "1969-12-31T23:59:59.999Z");
  DOTDO_EXPECT_OK(ValidateTimestampMillis(0));
  EXPECT_THAT(ValidateTimestampMillis(kMaxTimestampMillis + 1), StatusIs(StatusCode::kInvalidArgument, "outside"));
  EXPECT_THAT(ValidateTimestampMillis(INT64_MIN, "as-of"), StatusIs(StatusCode::kInvalidArgument, "as-of"));
  // Far outside, formatting stays a true (expanded) date instead of garbage.
  EXPECT_EQ(FormatIso8601(INT64_MAX), "+292278994-08-17T07:12:55.807Z");
  EXPECT_EQ(FormatIso8601(INT64_MIN), "-292275055-05-16T16:47:04.192Z");
}

TEST(ClockTest, ParsesDurations) {
  EXPECT_EQ(*ParseDurationMillis("500ms"), 500);
  EXPECT_EQ(*ParseDurationMillis("30s"), 30000);
  EXPECT_EQ(*ParseDurationMillis("7d"), 7 * 86400000LL);
  EXPECT_EQ(*ParseDurationMillis("250"), 250);
  for (auto bad : {"", "-5s", "5y", "s", "99999999999999999999d"})
    EXPECT_THAT(ParseDurationMillis(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
}

TEST(JsonPathTest, ParsesAndRendersCanonically) {
  auto p = JsonPath::Parse("address.lines.0.$ref");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ToDotted(), "address.lines.0.$ref");
  EXPECT_EQ(p->ToSqlite(), "$.\"address\".\"lines\"[0].\"$ref\"");
  EXPECT_EQ(p->ToPointer().to_string(), "/address/lines/0/$ref");
}

TEST(JsonPathTest, RejectsAnythingOutsideTheGrammar) {
  for (const std::string& bad : std::vector<std::string>{"", ".a", "a.", "a..b", "a'b", "a\"b", "a b", "a;DROP", "1a", "a.1x", "a[0]",
                          std::string(300, 'a'), "a)--"}) {
    EXPECT_THAT(JsonPath::Parse(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(JsonPathTest, FindSetErase) {
  Json doc = Json::parse(R"({"a":{"b":[1,2]}})");
  auto p = *JsonPath::Parse("a.b.1");
  ASSERT_NE(p.Find(doc), nullptr);
  EXPECT_EQ(*p.Find(doc), 2);
  DOTDO_ASSERT_OK((*JsonPath::Parse("a.c.d")).Set(doc, "x"));
  EXPECT_EQ(doc["a"]["c"]["d"], "x");
  EXPECT_THAT((*JsonPath::Parse("a.b.5")).Set(doc, 1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT((*JsonPath::Parse("a.b.x")).Set(doc, 1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_TRUE(p.Erase(doc));
  EXPECT_EQ(doc["a"]["b"], Json::parse("[1]"));
  EXPECT_FALSE((*JsonPath::Parse("zz.y")).Erase(doc));
}

}  // namespace
}  // namespace dotdo
