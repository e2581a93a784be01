// `dotdo ts ...` end to end: the binary against a scratch data directory — put (one point, CSV
// and JSON-lines batches from a file and stdin), get, get-as-of, range as JSON lines, agg for one
// series and with --where/--group-by, retention, prune, rollup, snapshots; bad input is a one-line
// error with the documented exit code and writes nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class TsCliTest : public ::testing::Test {
 protected:
  Json RunOk(std::vector<std::string> args, const std::string& input = "") { return cli_.RunOk(std::move(args), input); }
  void ExpectError(std::vector<std::string> args, int exit_code, const std::string& code, const std::string& input = "") {
    auto run = cli_.Run(args, input);
    EXPECT_EQ(run.exit_code, exit_code) << ::testing::PrintToString(args) << " " << run.err;
    EXPECT_THAT(run.err, StartsWith("error: " + code)) << ::testing::PrintToString(args);
    EXPECT_EQ(run.out, "");
  }
  std::vector<Json> Lines(std::vector<std::string> args) {
    auto run = cli_.Run(std::move(args));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::vector<Json> out;
    std::istringstream in(run.out);
    for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
    return out;
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    const auto path = (dir_.path() / name).string();
    FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return path;
  }
  testing::ScratchDir dir_;
  testing::CliNamespace cli_{DOTDO_CLI_PATH, dir_.path(), "t"};
};

TEST_F(TsCliTest, PutBatchesGetRangeAndAggregates) {
  EXPECT_EQ(RunOk({"ts", "put", "cpu", "1.5", "--ts", "2024-01-15T10:00:00Z", "--tag", "host=a"})["ts"], 1705312800000);
  const auto csv = WriteFile("p.csv", "key,ts,value,host,dc\ncpu,2024-01-15T10:01:00Z,2.5,a,\ncpu,1705312920000,3.5,b,x\n");
  EXPECT_EQ(RunOk({"ts", "put", "--file", csv})["written"], 2);
  const std::string jsonl = R"({"key":"cpu","tags":{"host":"a"},"ts":"2024-01-15T10:02:00Z","value":4})"
                            "\n"
                            R"({"key":"cpu","tags":{"host":"a"},"ts":1705312980000,"value":5})";
  Json r = RunOk({"ts", "put", "--file", "-", "--batch", "1"}, jsonl);
  EXPECT_EQ(r["batches"], 2);
  EXPECT_EQ(RunOk({"ts", "get", "cpu", "--tag", "host=a"})["value"], 5.0);
  EXPECT_EQ(RunOk({"ts", "get-as-of", "cpu", "2024-01-15T10:01:30Z", "--tag", "host=a"})["value"], 2.5);
  auto points = Lines({"ts", "range", "cpu", "--tag", "host=a", "--start", "2024-01-15T10:01:00Z", "--end", "1705312980000"});
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[1]["value"], 4.0);
  Json agg = RunOk({"ts", "agg", "cpu", "--tag", "host=a", "--bucket", "2m", "--metrics", "count,max,p50"});
  ASSERT_EQ(agg["buckets"].size(), 2u);
  EXPECT_EQ(agg["buckets"][0]["count"], 2.0);
  Json groups = RunOk({"ts", "agg", "cpu", "--where", R"({"host":{"$in":["a","b"]}})", "--group-by", "host", "--metrics", "sum"});
  ASSERT_EQ(groups["groups"].size(), 2u);
  EXPECT_EQ(groups["groups"][0]["buckets"][0]["sum"], 13.0);
  EXPECT_EQ(groups["groups"][1]["group"]["host"], "b");
}

TEST_F(TsCliTest, BadInputIsOneTypedErrorAndWritesNothing) {
  ExpectError({"ts", "put", "cpu", "nan"}, 2, "INVALID_ARGUMENT");
  ExpectError({"ts", "put", "cpu", "abc"}, 2, "INVALID_ARGUMENT");
  ExpectError({"ts", "put", "bad key", "1"}, 2, "INVALID_ARGUMENT");
  ExpectError({"ts", "put", "cpu", "1", "--ts", "yesterday"}, 2, "INVALID_ARGUMENT");
  ExpectError({"ts", "put", "cpu", "1", "--tag", "novalue"}, 2, "INVALID_ARGUMENT");
  // A batch with one bad line writes none of its points, even across --batch chunks.
  ExpectError({"ts", "put", "--file", "-", "--format", "csv", "--batch", "1"}, 2, "INVALID_ARGUMENT",
              "key,ts,value\ncpu,1,1\ncpu,2,inf\n");
  ExpectError({"ts", "put", "--file", "-"}, 2, "INVALID_ARGUMENT", "{\"key\":\"cpu\",\"value\":1}\nnot json\n");
  ExpectError({"ts", "put", "--file", "/nonexistent.csv"}, 3, "NOT_FOUND");
  ExpectError({"ts", "get", "cpu"}, 3, "NOT_FOUND");
  RunOk({"ts", "put", "cpu", "1", "--ts", "1000"});
  ExpectError({"ts", "agg", "cpu", "--bucket", "0s"}, 2, "INVALID_ARGUMENT");
  ExpectError({"ts", "agg", "cpu", "--metrics", "median"}, 2, "INVALID_ARGUMENT");
  ExpectError({"ts", "agg", "cpu", "--start", "5000", "--end", "10"}, 2, "INVALID_ARGUMENT");
  ExpectError({"ts", "rollup", "--older-than", "1x", "--bucket", "1h"}, 2, "INVALID_ARGUMENT");
  ExpectError({"ts", "snapshot", "restore", "NOPE"}, 3, "NOT_FOUND");
  EXPECT_EQ(Lines({"ts", "range", "cpu"}).size(), 1u);
}

TEST_F(TsCliTest, RetentionPruneRollupAndSnapshots) {
  std::string lines;
  for (int i = 0; i < 120; ++i) lines += "cpu," + std::to_string(1'000'000 + i * 60'000) + "," + std::to_string(i) + "\n";
  RunOk({"ts", "put", "--file", "-", "--format", "csv"}, "key,ts,value\n" + lines);
  Json snap = RunOk({"ts", "snapshot", "create"});
  EXPECT_EQ(snap["points"], 120);
  Json rolled = RunOk({"ts", "rollup", "--older-than", "1d", "--bucket", "1h", "--aggregates", "count,p99"});
  EXPECT_EQ(rolled["points_rolled_up"], 120);
  EXPECT_EQ(RunOk({"ts", "agg", "cpu", "--bucket", "1h", "--metrics", "count,p99"})["buckets"].size(), 3u);
  EXPECT_EQ(RunOk({"ts", "snapshot", "restore", snap["id"]})["restored"], true);
  EXPECT_EQ(Lines({"ts", "range", "cpu"}).size(), 120u);
  EXPECT_EQ(RunOk({"ts", "retention", "cpu", "7d"})["retention_ms"], 604800000);
  EXPECT_EQ(RunOk({"ts", "prune"})["points_removed"], 120);  // 1970 is long expired
  RunOk({"ts", "snapshot", "restore", snap["id"]});
  EXPECT_EQ(RunOk({"ts", "prune", "--keep", "10"})["points_removed"], 110);
  EXPECT_TRUE(RunOk({"ts", "retention", "cpu", "--clear"})["retention_ms"].is_null());
  EXPECT_EQ(RunOk({"ts", "snapshot", "list"})["snapshots"].size(), 1u);
  EXPECT_EQ(RunOk({"ts", "snapshot", "delete", snap["id"]})["deleted"], true);
  EXPECT_EQ(RunOk({"ts", "snapshot", "list"})["snapshots"].size(), 0u);
}

}  // namespace
}  // namespace dotdo
