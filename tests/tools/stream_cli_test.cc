// `dotdo stream ...` end to end: the binary against a scratch data directory — topics create /
// list / describe / add-partitions / delete, produce from stdin lines (plain and key<TAB>value like
// kcat -K, keyed records on Kafka's partitions), consume as JSON lines (from beginning, end, an
// offset, a group's commits), groups and lag; bad input is a one-line error with the documented
// exit code and writes nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "dotdo/stream.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class StreamCliTest : public ::testing::Test {
 protected:
  Json RunOk(std::vector<std::string> args, const std::string& input = "") { return cli_.RunOk(std::move(args), input); }
  std::vector<Json> Lines(std::vector<std::string> args) {
    auto run = cli_.Run(std::move(args));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::vector<Json> out;
    std::istringstream in(run.out);
    std::string line;
    while (std::getline(in, line)) out.push_back(Json::parse(line));
    return out;
  }
  void ExpectError(std::vector<std::string> args, int exit_code, const std::string& code, const std::string& text,
                   const std::string& input = "") {
    auto run = cli_.Run(args, input);
    EXPECT_EQ(run.exit_code, exit_code) << ::testing::PrintToString(args) << " " << run.err;
    EXPECT_THAT(run.err, StartsWith("error: " + code)) << ::testing::PrintToString(args);
    EXPECT_THAT(run.err, HasSubstr(text)) << ::testing::PrintToString(args);
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_EQ(run.out, "");
  }
  testing::ScratchDir dir_;
  testing::CliNamespace cli_{DOTDO_CLI_PATH, dir_.path(), "s"};
};

TEST_F(StreamCliTest, TopicsProduceConsumeGroupsAndLag) {
  Json created = RunOk({"stream", "topics", "create", "orders", "--partitions", "3", "--retention-ms", "60000"});
  EXPECT_EQ(created["partitions"], 3);
  EXPECT_EQ(created["config"]["retention.ms"], 60000);
  RunOk({"stream", "topics", "create", "log"});
  Json list = RunOk({"stream", "topics"});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "log");

  Json produced = RunOk({"stream", "produce", "orders", "-K"}, "alice\t{\"total\":1}\nbob\t{\"total\":2}\nalice\tthird\n");
  EXPECT_EQ(produced["count"], 3);
  const int32_t alice = KafkaPartitionForKey("alice", 3);
  std::vector<Json> records = Lines({"stream", "consume", "orders", "--partition", std::to_string(alice)});
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[0]["key"], "alice");
  EXPECT_EQ(records[0]["value"], "{\"total\":1}");
  EXPECT_EQ(records.back()["value"], "third");
  EXPECT_EQ(Lines({"stream", "consume", "orders"}).size(), 3u);

  RunOk({"stream", "produce", "log"}, "one\ntwo\nthree\r\n");
  records = Lines({"stream", "consume", "log", "--from", "1"});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["value"], "three");
  EXPECT_TRUE(Lines({"stream", "consume", "log", "--from", "end"}).empty());
  EXPECT_EQ(Lines({"stream", "consume", "log", "--max", "2", "--group", "g", "--commit"}).size(), 2u);
  records = Lines({"stream", "consume", "log", "--group", "g"});
  ASSERT_EQ(records.size(), 1u) << "a group resumes from its committed offsets";
  EXPECT_EQ(records[0]["offset"], 2);

  Json lag = RunOk({"stream", "lag", "g"});
  EXPECT_EQ(lag["total"], 1);
  EXPECT_EQ(lag["partitions"][0]["committed"], 2);
  EXPECT_EQ(RunOk({"stream", "groups"}), Json::array({"g"}));
  Json group = RunOk({"stream", "groups", "g"});
  EXPECT_EQ(group["offsets"][0]["committed"], 2);

  Json grown = RunOk({"stream", "topics", "add-partitions", "log", "4"});
  EXPECT_EQ(grown["partitions"], 4);
  EXPECT_EQ(RunOk({"stream", "topics", "describe", "log"})["partitionInfo"][0]["endOffset"], 3);
  RunOk({"stream", "topics", "delete", "log"});
  EXPECT_EQ(RunOk({"stream", "topics"}).size(), 1u);
}

TEST_F(StreamCliTest, BadInputIsAOneLineErrorAndWritesNothing) {
  ExpectError({"stream", "topics"}, 3, "NOT_FOUND", "namespace");
  RunOk({"stream", "topics", "create", "t"});
  ExpectError({"stream", "topics", "create", "t"}, 4, "ALREADY_EXISTS", "already exists");
  ExpectError({"stream", "topics", "create", "bad name"}, 2, "INVALID_ARGUMENT", "topic name");
  ExpectError({"stream", "topics", "create", "u", "--partitions", "0"}, 2, "INVALID_ARGUMENT", "partitions");
  ExpectError({"stream", "topics", "create", "u", "--cleanup-policy", "x"}, 2, "INVALID_ARGUMENT", "cleanup.policy");
  ExpectError({"stream", "topics", "create", "u", "--full-policy", "x"}, 2, "INVALID_ARGUMENT", "full-policy");
  ExpectError({"stream", "topics", "describe", "nope"}, 3, "NOT_FOUND", "unknown topic");
  ExpectError({"stream", "produce", "t", "-K"}, 2, "INVALID_ARGUMENT", "no key delimiter", "no-tab-here\n");
  ExpectError({"stream", "produce", "t"}, 2, "INVALID_ARGUMENT", "no lines", "");
  ExpectError({"stream", "produce", "t", "--partition", "5"}, 3, "NOT_FOUND", "valid partitions", "x\n");
  ExpectError({"stream", "produce", "nope"}, 3, "NOT_FOUND", "unknown topic", "x\n");
  ExpectError({"stream", "consume", "t", "--from", "7"}, 2, "OUT_OF_RANGE", "valid offsets are [0, 0]");
  ExpectError({"stream", "consume", "t", "--from", "soon"}, 2, "INVALID_ARGUMENT", "--from");
  ExpectError({"stream", "consume", "t", "--commit"}, 2, "INVALID_ARGUMENT", "--group");
  ExpectError({"stream", "consume", "t", "--max", "0"}, 2, "INVALID_ARGUMENT", "--max");
  ExpectError({"stream", "groups", "nobody"}, 3, "NOT_FOUND", "unknown group");
  ExpectError({"stream", "lag", "bad group"}, 2, "INVALID_ARGUMENT", "group id");
  EXPECT_EQ(RunOk({"stream", "topics", "describe", "t"})["partitionInfo"][0]["endOffset"], 0);
}

}  // namespace
}  // namespace dotdo
