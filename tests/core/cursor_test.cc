// Page cursors (core/cursor.h) and the base64url encoding under them: round trips, the exact wire
// format, and every way a cursor is refused (wrong kind, other version, garbage, truncation, size).
#include "core/cursor.h"

#include <string>

#include "core/encoding.h"
#include "testing/test_util.h"

namespace dotdo::internal {
namespace {

using ::dotdo::testing::StatusIs;

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 300; ++n) {
    DOTDO_ASSERT_OK_AND_ASSIGN(std::string back, Base64UrlDecode(Base64UrlEncode(bytes)));
    EXPECT_EQ(back, bytes) << n;
    bytes.push_back(static_cast<char>(n * 37));
  }
}

TEST(Base64UrlTest, MatchesRfc4648Vectors) {
  // RFC 4648 section 10 without padding; '+' and '/' become '-' and '_'.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Base64UrlTest, RejectsNonCanonicalText) {
  EXPECT_THAT(Base64UrlDecode("Zm8="), StatusIs(StatusCode::kInvalidArgument, "outside"));
  EXPECT_THAT(Base64UrlDecode("Zm+v"), StatusIs(StatusCode::kInvalidArgument, "outside"));
  EXPECT_THAT(Base64UrlDecode("Zm9vY"), StatusIs(StatusCode::kInvalidArgument, "length"));
  EXPECT_THAT(Base64UrlDecode("Zh"), StatusIs(StatusCode::kInvalidArgument, "canonical"));  // "Zg" is 'f'
}

TEST(CursorTest, RoundTripsThePosition) {
  Json position = {{"q", "0123abcd"}, {"k", {"\xc3\xa9t\xc3\xa9", 3.5, nullptr}}, {"s", 42}};
  DOTDO_ASSERT_OK_AND_ASSIGN(std::string cursor, EncodeCursor("document.query", position));
  EXPECT_EQ(cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json back, DecodeCursor(cursor, "document.query"));
  EXPECT_EQ(back, position);
}

TEST(CursorTest, WireFormatIsBase64UrlOfVersionKindPosition) {
  DOTDO_ASSERT_OK_AND_ASSIGN(std::string cursor, EncodeCursor("graph.edges", Json::array({"o", "likes", "User/b"})));
  DOTDO_ASSERT_OK_AND_ASSIGN(std::string text, Base64UrlDecode(cursor));
  EXPECT_EQ(text, R"([1,"graph.edges",["o","likes","User/b"]])");
}

TEST(CursorTest, RefusesACursorOfAnotherKind) {
  DOTDO_ASSERT_OK_AND_ASSIGN(std::string cursor, EncodeCursor("graph.edges", Json::array({"o", "t", "A/b"})));
  EXPECT_THAT(DecodeCursor(cursor, "document.query"),
              StatusIs(StatusCode::kInvalidArgument, "invalid cursor: it was issued by graph.edges pages"));
}

TEST(CursorTest, RefusesOtherVersions) {
  const std::string v2 = Base64UrlEncode(R"([2,"graph.edges",[]])");
  EXPECT_THAT(DecodeCursor(v2, "graph.edges"), StatusIs(StatusCode::kInvalidArgument, "invalid cursor: format version 2"));
}

TEST(CursorTest, RefusesGarbageAndTruncation) {
  DOTDO_ASSERT_OK_AND_ASSIGN(std::string good, EncodeCursor("k", Json{{"s", 1}}));
  for (const std::string& bad :
       {std::string(), std::string("zz"), std::string("6f6c696b6573"), std::string("!!!!"), good.substr(0, good.size() - 2),
        good + "A", Base64UrlEncode("[1,\"k\"]"), Base64UrlEncode("{}"), Base64UrlEncode("[\"1\",\"k\",{}]"),
        Base64UrlEncode("[1,7,{}]"), Base64UrlEncode(std::string(20, '['))}) {
    EXPECT_THAT(DecodeCursor(bad, "k"), StatusIs(StatusCode::kInvalidArgument, "invalid cursor")) << bad;
  }
}

TEST(CursorTest, SizeLimitHoldsBothWays) {
  EXPECT_THAT(DecodeCursor(std::string(kMaxCursorBytes + 4, 'A'), "k"),
              StatusIs(StatusCode::kInvalidArgument, "invalid cursor: longer than 4096 bytes"));
  // A position that would not decode is refused when encoding (invariant 1).
  EXPECT_THAT(EncodeCursor("k", Json::array({std::string(4000, 'x')})), StatusIs(StatusCode::kResourceExhausted, "4096"));
  DOTDO_ASSERT_OK_AND_ASSIGN(std::string near, EncodeCursor("k", Json::array({std::string(3000, 'x')})));
  EXPECT_LE(near.size(), kMaxCursorBytes);
  DOTDO_EXPECT_OK(DecodeCursor(near, "k"));
}

TEST(CursorTest, RefusesPositionsThatCannotBeWritten) {
  EXPECT_THAT(EncodeCursor("k", Json::array({std::string("\xff")})), StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
  Json deep = 1;
  for (int i = 0; i < 10; ++i) deep = Json::array({deep});
  EXPECT_THAT(EncodeCursor("k", deep), StatusIs(StatusCode::kInvalidArgument, "deeper"));
}

}  // namespace
}  // namespace dotdo::internal
