// The JSON adapter (core/json.h): parse errors with their byte offset, numbers beyond a double,
// nesting limits enforced while parsing (100k levels neither crash nor build a value), dumping with
// and without UTF-8 checks, and the mapping of exceptions to status codes by
// StatusFromCurrentException and CatchAll.
#include "core/json.h"

#include <functional>
#include <new>
#include <stdexcept>
#include <string>

#include "testing/test_util.h"

namespace dotdo::internal {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

std::string Nested(int levels, char open = '[', char close = ']') {
  return std::string(static_cast<size_t>(levels), open) + std::string(static_cast<size_t>(levels), close);
}

TEST(ParseJsonTest, ParsesValidText) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json j, ParseJson(R"({"a":[1,2.5,"x",null,true]})", "document"));
  EXPECT_EQ(j["a"][1], 2.5);
  EXPECT_EQ(j["a"][2], "x");
}

TEST(ParseJsonTest, MalformedTextNamesWhatAndTheByteOffset) {
  auto r = ParseJson(R"({"a": 1,, "b": 2})", "type registry");
  EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument, "type registry is not valid JSON at byte 9"));
  EXPECT_THAT(ParseJson("", "edge data"), StatusIs(StatusCode::kInvalidArgument, "edge data is not valid JSON at byte 1"));
  EXPECT_THAT(ParseJson("[1] x", "it"), StatusIs(StatusCode::kInvalidArgument, "at byte 5"));
}

TEST(ParseJsonTest, NumbersBeyondADoubleAreInvalidArgument) {
  EXPECT_THAT(ParseJson("1e400", "document"), StatusIs(StatusCode::kInvalidArgument, "document is not valid JSON"));
  EXPECT_THAT(ParseJson(R"({"x":[-1e400]})", "document"), StatusIs(StatusCode::kInvalidArgument, "1e400"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json big, ParseJson("1e308", "document"));
  EXPECT_EQ(big.get<double>(), 1e308);
}

TEST(ParseJsonTest, DepthLimitCountsContainers) {
  DOTDO_EXPECT_OK(ParseJson(Nested(64), "document"));
  EXPECT_THAT(ParseJson(Nested(65), "document"), StatusIs(StatusCode::kInvalidArgument, "document nests deeper than 64 levels"));
  DOTDO_EXPECT_OK(ParseJson(Nested(3), "x", {.max_depth = 3}));
  EXPECT_THAT(ParseJson(Nested(4), "x", {.max_depth = 3}), StatusIs(StatusCode::kInvalidArgument, "deeper than 3"));
  EXPECT_THAT(ParseJson("{}", "x", {.max_depth = 0}), StatusIs(StatusCode::kInvalidArgument, "deeper than 0"));
  DOTDO_EXPECT_OK(ParseJson("7", "x", {.max_depth = 0}));
  // Objects and arrays count alike; scalars do not add a level.
  std::string mixed = R"({"a":[{"b":[1]}]})";
  DOTDO_EXPECT_OK(ParseJson(mixed, "x", {.max_depth = 4}));
  EXPECT_THAT(ParseJson(mixed, "x", {.max_depth = 3}), StatusIs(StatusCode::kInvalidArgument, "deeper than 3"));
}

TEST(ParseJsonTest, HundredThousandLevelsAreRefusedWithoutCrashing) {
  EXPECT_THAT(ParseJson(Nested(100000), "document"), StatusIs(StatusCode::kInvalidArgument, "deeper than 64"));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  EXPECT_THAT(ParseJson(objects, "document"), StatusIs(StatusCode::kInvalidArgument, "deeper than 64"));
  // Unterminated deep text is refused by the depth limit before the parser reaches the end.
  EXPECT_THAT(ParseJson(std::string(100000, '['), "document"), StatusIs(StatusCode::kInvalidArgument, "deeper than 64"));
}

TEST(ParseJsonTest, MaxBytesIsCheckedBeforeParsing) {
  EXPECT_THAT(ParseJson("[1,2,3]", "cursor", {.max_bytes = 6}),
              StatusIs(StatusCode::kInvalidArgument, "cursor is 7 bytes; the limit is 6"));
  DOTDO_EXPECT_OK(ParseJson("[1,2,3]", "cursor", {.max_bytes = 7}));
}

TEST(DumpJsonTest, InvalidUtf8IsReplacedNotThrown) {
  Json j = {{"k", std::string("a\xff" "b")}};
  EXPECT_EQ(DumpJson(j), "{\"k\":\"a\xef\xbf\xbd" "b\"}");
  EXPECT_EQ(DumpJson(Json::array({1, 2}), 2), "[\n  1,\n  2\n]");
}

TEST(DumpJsonTest, CheckedDumpRefusesInvalidUtf8) {
  Json bad = {{"content_type", std::string("text/\xc3")}};
  EXPECT_THAT(DumpJsonChecked(bad, "blob metadata"), StatusIs(StatusCode::kInvalidArgument, "blob metadata is not valid UTF-8"));
  DOTDO_ASSERT_OK_AND_ASSIGN(std::string text, DumpJsonChecked(Json{{"k", "\xc3\xa9"}}, "x"));
  EXPECT_EQ(text, "{\"k\":\"\xc3\xa9\"}");
}

TEST(DumpJsonTest, ValidateUtf8RejectsMalformedSequences) {
  DOTDO_EXPECT_OK(ValidateUtf8("plain ascii", "key"));
  DOTDO_EXPECT_OK(ValidateUtf8("\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80", "key"));
  for (std::string bad : {std::string("\xff"), std::string("\xc3"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80")}) {
    EXPECT_THAT(ValidateUtf8(bad, "blob key"), StatusIs(StatusCode::kInvalidArgument, "blob key is not valid UTF-8")) << bad;
  }
}

TEST(CheckJsonDepthTest, IterativeOnValuesBuiltInCode) {
  Json deep = 1;
  for (int i = 0; i < 100000; ++i) deep = Json::array({std::move(deep)});
  EXPECT_THAT(CheckJsonDepth(deep, 64, "edge data"), StatusIs(StatusCode::kInvalidArgument, "edge data nests deeper than 64 levels"));
  DOTDO_EXPECT_OK(CheckJsonDepth(deep, 100000, "edge data"));
  DOTDO_EXPECT_OK(CheckJsonDepth(Json(5), 0, "x"));
  EXPECT_THAT(CheckJsonDepth(Json::object(), 0, "x"), StatusIs(StatusCode::kInvalidArgument));
}

Status Rethrow(const std::function<void()>& thrower, StatusCode json_code = StatusCode::kInvalidArgument) {
  try {
    thrower();
  } catch (...) {
    return StatusFromCurrentException("loading x", json_code);
  }
  return OkStatus();
}

TEST(StatusFromCurrentExceptionTest, MapsEachKindOfException) {
  EXPECT_THAT(Rethrow([] { [[maybe_unused]] Json j = Json::parse("{"); }), StatusIs(StatusCode::kInvalidArgument, "loading x: [json.exception.parse_error"));
  EXPECT_THAT(Rethrow([] { (void)Json("s").get<int>(); }), StatusIs(StatusCode::kInvalidArgument, "type_error"));
  EXPECT_THAT(Rethrow([] { (void)Json::array().at(3); }), StatusIs(StatusCode::kInvalidArgument, "out_of_range"));
  EXPECT_THAT(Rethrow([] { [[maybe_unused]] Json j = Json::parse("1e400"); }), StatusIs(StatusCode::kInvalidArgument, "out_of_range.406"));
  EXPECT_THAT(Rethrow([] { (void)Json("s").get<int>(); }, StatusCode::kDataLoss), StatusIs(StatusCode::kDataLoss, "loading x"));
  EXPECT_THAT(Rethrow([] { throw std::bad_alloc(); }), StatusIs(StatusCode::kResourceExhausted, "loading x: out of memory"));
  EXPECT_THAT(Rethrow([] { throw std::runtime_error("boom"); }), StatusIs(StatusCode::kInternal, "loading x: boom"));
  EXPECT_THAT(Rethrow([] { throw 42; }), StatusIs(StatusCode::kInternal, "not a std::exception"));
}

TEST(StatusFromCurrentExceptionTest, OutsideACatchBlockIsInternal) {
  EXPECT_THAT(StatusFromCurrentException("x"), StatusIs(StatusCode::kInternal, "no exception in flight"));
}

TEST(CatchAllTest, ReturnsWhatAStatusFunctionReturns) {
  EXPECT_THAT(CatchAll("ctx", [] { return OkStatus(); }), IsOk());
  EXPECT_THAT(CatchAll("ctx", [] { return NotFoundError("gone"); }), StatusIs(StatusCode::kNotFound, "gone"));
  EXPECT_THAT(CatchAll("merge patch failed", []() -> Status {
                (void)Json(1).at("k");
                return OkStatus();
              }),
              StatusIs(StatusCode::kInvalidArgument, "merge patch failed: [json.exception.type_error"));
  EXPECT_THAT(CatchAll("ctx", []() -> Status { throw std::bad_alloc(); }), StatusIs(StatusCode::kResourceExhausted));
}

TEST(CatchAllTest, ReturnsWhatAResultFunctionReturns) {
  auto seven = CatchAll("ctx", [] { return Result<int>(7); });
  ASSERT_THAT(seven, IsOk());
  EXPECT_EQ(*seven, 7);
  auto failed = CatchAll("sidecar is unreadable", []() -> Result<std::string> { return Json(1).get<std::string>(); },
                         StatusCode::kDataLoss);
  EXPECT_THAT(failed, StatusIs(StatusCode::kDataLoss, "sidecar is unreadable: [json.exception.type_error.302]"));
  EXPECT_THAT(CatchAll("ctx", []() -> Result<int> { throw std::logic_error("bug"); }), StatusIs(StatusCode::kInternal, "ctx: bug"));
}

}  // namespace
}  // namespace dotdo::internal
