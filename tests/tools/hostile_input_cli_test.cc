// What an attacker or a careless user typed into the CLI, command by command: numbers that overflow
// a double, nesting far past the documented 64 levels, invalid UTF-8 in input and in output. Each
// is a one-line typed error (exit 2) or a clean answer — never an abort (134), a stack overflow
// (139) or a write.
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace dotdo {
namespace {

std::string Nested(int levels, const std::string& leaf = "1") {
  std::string s;
  s.reserve(static_cast<size_t>(levels) * 6 + leaf.size());
  for (int i = 0; i < levels; ++i) s += "{\"a\":";
  s += leaf;
  s.append(static_cast<size_t>(levels), '}');
  return s;
}

class HostileInputCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto doc = cli_.RunOk({"doc", "create", R"({"$type":"T","$id":"d1","n":1})"});
    ASSERT_FALSE(doc.is_null());
    ASSERT_EQ(cli_.Run({"blob", "put", "b1", "-"}, "bytes").exit_code, 0);
    ASSERT_EQ(cli_.Run({"graph", "relate", "N/a", "N/b", "link"}).exit_code, 0);
    lsn_ = LastLsn();
  }
  int64_t LastLsn() {
    auto r = cli_.Run({"events", "read", "--after", "0", "--limit", "10000"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto events = Json::parse(r.out, nullptr, false);
    return events.is_array() && !events.empty() ? events.back()["lsn"].get<int64_t>() : 0;
  }
  // A typed refusal: exit 2 and one "error: INVALID_ARGUMENT: ..." line.
  void ExpectRefused(const std::vector<std::string>& args, const std::string& input = "") {
    auto r = cli_.Run(args, input);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << ": " << r.err.substr(0, 300);
    EXPECT_EQ(r.err.rfind("error: INVALID_ARGUMENT: ", 0), 0u) << r.err.substr(0, 300);
    EXPECT_LT(r.err.size(), 2000u) << "the message echoes the input";
  }

  testing::ScratchDir dir_;
  testing::CliNamespace cli_{DOTDO_CLI_PATH, dir_.path() / "data", "acme"};
  int64_t lsn_ = 0;
};

TEST_F(HostileInputCliTest, NumbersThatOverflowADoubleAreInvalidArgumentEverywhere) {
  ExpectRefused({"doc", "query", "--type", "T", "--where", R"({"n":1e400})"});
  ExpectRefused({"doc", "count", "--type", "T", "--where", R"({"n":{"$gt":-1e400}})"});
  ExpectRefused({"doc", "update", "d1", R"({"$set":{"n":1e400}})"});
  ExpectRefused({"doc", "update", "d1", "--merge", R"({"n":1e400})"});
  ExpectRefused({"doc", "create", R"({"$type":"T","n":1e400})"});
  ExpectRefused({"graph", "relate", "N/a", "N/c", "link", R"({"w":1e400})"});
  ExpectRefused({"blob", "put", "b2", "-", "--metadata", R"({"w":1e400})"}, "x");
  ExpectRefused({"blob", "query", R"({"size":{"$gt":1e400}})"});
  EXPECT_EQ(LastLsn(), lsn_);
}

TEST_F(HostileInputCliTest, NestingFarPastTheLimitIsRefusedBeforeAnythingRecursesOnIt) {
  const std::string deep = Nested(100000);
  // (Through stdin: one argument of this size is past the kernel's limit for argv.)
  ExpectRefused({"doc", "query", "--type", "T", "--where", "-"}, R"({"n":)" + deep + "}");
  ExpectRefused({"doc", "update", "d1", "-"}, R"({"$set":{"x":)" + deep + "}}");
  ExpectRefused({"doc", "update", "d1", "--merge", "-"}, R"({"x":)" + deep + "}");
  ExpectRefused({"doc", "update", "d1", "--patch", "-"}, R"([{"op":"add","path":"/x","value":)" + deep + "}]");
  ExpectRefused({"graph", "relate", "N/a", "N/c", "link", "-"}, Nested(80000));
  ExpectRefused({"blob", "put", "b2", "-", "--metadata", Nested(10000)}, "x");
  // 65 levels: just past the limit, refused the same way.
  ExpectRefused({"graph", "relate", "N/a", "N/c", "link", Nested(65)});
  EXPECT_EQ(cli_.Run({"graph", "relate", "N/a", "N/c", "link", Nested(63)}).exit_code, 0);
  EXPECT_EQ(LastLsn(), lsn_ + 1);
}

TEST_F(HostileInputCliTest, InvalidUtf8IsATypedErrorOnInputAndReplacedOnOutput) {
  ExpectRefused({"blob", "put", "k\xff", "-"}, "x");
  ExpectRefused({"blob", "put", "b2", "-", "--content-type", "text/\xfe"}, "x");
  ExpectRefused({"doc", "create", "{\"$type\":\"T\",\"s\":\"\xc3\"}"});
  auto sign = cli_.Run({"blob", "sign", "k\xff"});
  EXPECT_EQ(sign.exit_code, 2) << sign.err;
  EXPECT_EQ(sign.err.find('\xff'), std::string::npos) << "messages show bytes escaped";
  EXPECT_NE(sign.err.find("UTF-8"), std::string::npos) << sign.err;
  // A byte in a message is shown in hex (it used to be "\x195"-style decimal).
  auto bad_key = cli_.Run({"blob", "head", "a\x01\xc3"});
  EXPECT_EQ(bad_key.exit_code, 2) << bad_key.err;
  EXPECT_EQ(bad_key.err.find("\\x195"), std::string::npos) << bad_key.err;
  auto sql = cli_.Run({"sql", "SELECT CAST(x'ff' AS TEXT) AS t"});
  EXPECT_EQ(sql.exit_code, 0) << sql.err;
  auto rows = Json::parse(sql.out, nullptr, false);
  ASSERT_TRUE(rows.is_array()) << sql.out;
  EXPECT_EQ(rows[0]["t"], "\xef\xbf\xbd");  // U+FFFD
  EXPECT_EQ(LastLsn(), lsn_);
}

}  // namespace
}  // namespace dotdo
