// `dotdo col ...` end to end: the binary against a scratch data directory — insert JSON lines from
// stdin and a file in batches, query with a filter, columns, order and limit, agg with group-by and
// metrics, count (from the index and with a filter), stats; bad input is a one-line error with the
// documented exit code and writes nothing; reads of a type never written answer as empty.
#include <cstdio>

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::testing::StartsWith;

TEST(ColumnarCliTest, InsertQueryAggCountStats) {
  testing::ScratchDir dir;
  testing::CliNamespace cli(DOTDO_CLI_PATH, dir.path(), "c");
  std::string lines;
  for (int i = 0; i < 30; ++i)
    lines += R"({"$id":"o)" + std::to_string(i) + R"(","$type":"Order","$createdAt":"2026-01-0)" + std::to_string(1 + i % 3) +
             R"(T10:00:00Z","data":{"status":")" + (i % 2 ? "paid" : "open") + R"(","amount":)" + std::to_string(i) + "}}\n";
  Json r = cli.RunOk({"col", "insert", "--batch", "20", "--bloom", "status"}, lines);
  EXPECT_EQ(r["inserted"], 30);
  EXPECT_EQ(r["batches"], 2);
  const auto path = (dir.path() / "more.jsonl").string();
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(R"({"$type":"Order","data":{"status":"void","amount":100}})" "\n", f);
  std::fclose(f);
  EXPECT_EQ(cli.RunOk({"col", "insert", "--file", path})["inserted"], 1);

  r = cli.RunOk({"col", "query", "Order", "--where", R"({"amount":{"$gte":27}})", "--columns", "amount", "--order-by", "amount",
                 "--desc", "--limit", "2"});
  ASSERT_EQ(r["rows"].size(), 2u);
  EXPECT_EQ(r["rows"][0]["data"], (Json{{"amount", 100}}));
  EXPECT_EQ(r["rows"][1]["$id"], "o29");
  EXPECT_EQ(r["rows"][1]["$createdAt"], "2026-01-03T10:00:00.000Z");
  r = cli.RunOk({"col", "agg", "Order", "--group-by", "status", "--metrics", "count,sum:amount,max:amount"});
  ASSERT_EQ(r["groups"].size(), 3u);
  EXPECT_EQ(r["groups"][0], (Json{{"status", "open"}, {"count", 15}, {"sum:amount", 210}, {"max:amount", 28}}));
  r = cli.RunOk({"col", "count", "Order"});
  EXPECT_EQ(r["count"], 31);
  EXPECT_EQ(r["scan"]["chunks_read"], 0);
  EXPECT_EQ(cli.RunOk({"col", "count", "Order", "--where", R"({"status":"paid"})"})["count"], 15);
  r = cli.RunOk({"col", "stats"});
  ASSERT_EQ(r["types"].size(), 1u);
  EXPECT_EQ(r["types"][0]["records"], 31);
  EXPECT_EQ(r["types"][0]["columns"].size(), 2u);
}

TEST(ColumnarCliTest, BadInputIsAnErrorAndWritesNothing) {
  testing::ScratchDir dir;
  testing::CliNamespace cli(DOTDO_CLI_PATH, dir.path(), "c");
  auto expect_error = [&](std::vector<std::string> args, int code, const std::string& input = "") {
    auto run = cli.Run(args, input);
    EXPECT_EQ(run.exit_code, code) << run.err;
    EXPECT_THAT(run.err, StartsWith("error: ")) << run.err;
    EXPECT_EQ(run.out, "");
  };
  // The second line is bad: the first is not written either.
  expect_error({"col", "insert"}, 2, "{\"$type\":\"A\",\"data\":{}}\n{\"$type\":\"A\",\"data\":[]}\n");
  expect_error({"col", "insert"}, 2, "{\"data\":{}}\n");
  expect_error({"col", "insert"}, 2, "not json\n");
  expect_error({"col", "insert"}, 2, "{\"$type\":\"A\",\"extra\":1}\n");
  expect_error({"col", "query", "A", "--where", "{\"x\":{\"$bad\":1}}"}, 2);
  expect_error({"col", "agg", "A", "--metrics", "median:x"}, 2);
  expect_error({"col", "query", "bad type"}, 2);
  EXPECT_EQ(cli.RunOk({"col", "count", "A"})["count"], 0);  // nothing was written
  EXPECT_EQ(cli.RunOk({"col", "insert"}, "{\"$type\":\"B\",\"data\":{\"x\":1}}\n")["inserted"], 1);
  EXPECT_EQ(cli.RunOk({"col", "count", "A"})["count"], 0);
  EXPECT_EQ(cli.RunOk({"col", "stats"})["types"].size(), 1u);
}

}  // namespace
}  // namespace dotdo
