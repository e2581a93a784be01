// `dotdo doc ...` end to end: the binary against a scratch data directory, JSON on stdout, one-line
// errors with the documented exit codes (2 invalid argument, 3 not found, 4 conflict).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class DocCliTest : public ::testing::Test {
 protected:
  testing::CliRun Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--data", dir_.path().string(), "--ns", "acme", "--compact"});
    return testing::RunProgram(DOTDO_CLI_PATH, args, input);
  }
  Json RunOk(std::vector<std::string> args, const std::string& input = "") {
    auto run = Run(args, input);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "");
    return run.exit_code == 0 ? Json::parse(run.out) : Json();
  }
  testing::ScratchDir dir_;
};

TEST_F(DocCliTest, CreateGetUpdateDeleteRoundTrip) {
  Json created = RunOk({"doc", "create", R"({"$type":"Customer","name":"Ada","tier":"gold"})"});
  const std::string id = created["$id"];
  EXPECT_EQ(created["$version"], 1);
  EXPECT_EQ(RunOk({"doc", "get", id})["name"], "Ada");

  Json updated = RunOk({"doc", "update", id, R"({"$set":{"tier":"platinum"},"$inc":{"visits":1}})"});
  EXPECT_EQ(updated["tier"], "platinum");
  EXPECT_EQ(updated["visits"], 1);
  EXPECT_EQ(updated["$version"], 2);
  EXPECT_EQ(RunOk({"doc", "update", id, "--merge", R"({"tier":null,"city":"Paris"})"})["city"], "Paris");
  Json patched = RunOk({"doc", "update", id, "--patch", R"([{"op":"add","path":"/tags","value":["a"]}])"});
  EXPECT_EQ(patched["tags"], Json::array({"a"}));
  EXPECT_FALSE(patched.contains("tier"));

  EXPECT_EQ(RunOk({"doc", "delete", id})["deleted"], id);
  auto gone = Run({"doc", "get", id});
  EXPECT_EQ(gone.exit_code, 3);
  EXPECT_THAT(gone.err, StartsWith("error: NOT_FOUND"));
  // Soft delete: history keeps every version, the delete included.
  Json history = RunOk({"doc", "history", id});
  ASSERT_TRUE(history.is_array());
  EXPECT_GE(history.size(), 4u);
}

TEST_F(DocCliTest, CreateReadsStdinAndFiles) {
  Json from_stdin = RunOk({"doc", "create", "-"}, R"({"$type":"Note","$id":"n1","text":"hi"})");
  EXPECT_EQ(from_stdin["$id"], "n1");
  const auto file = dir_.path() / "doc.json";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(R"({"$type":"Note","$id":"n2","text":"from file"})", f);
  std::fclose(f);
  EXPECT_EQ(RunOk({"doc", "create", "@" + file.string()})["text"], "from file");
  auto missing = Run({"doc", "create", "@" + (dir_.path() / "absent.json").string()});
  EXPECT_EQ(missing.exit_code, 3);
}

TEST_F(DocCliTest, QueryListCountWithPagination) {
  for (int i = 0; i < 5; ++i) {
    RunOk({"doc", "create", Json{{"$type", "Item"}, {"n", i}, {"even", i % 2 == 0}}.dump()});
  }
  RunOk({"doc", "index", "--type", "Item", "n"});
  Json page = RunOk({"doc", "query", "--type", "Item", "--where", R"({"n":{"$gte":1}})", "--sort", "n:desc",
                     "--limit", "2", "--fields", "n"});
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["n"], 4);
  EXPECT_EQ(page["items"][1]["n"], 3);
  EXPECT_FALSE(page["items"][0].contains("even"));
  ASSERT_TRUE(page["next_cursor"].is_string());
  Json next = RunOk({"doc", "query", "--type", "Item", "--where", R"({"n":{"$gte":1}})", "--sort", "n:desc",
                     "--limit", "2", "--fields", "n", "--cursor", page["next_cursor"]});
  ASSERT_EQ(next["items"].size(), 2u);
  EXPECT_EQ(next["items"][0]["n"], 2);
  EXPECT_EQ(RunOk({"doc", "count", "--type", "Item", "--where", R"({"even":true})"})["count"], 3);
  Json list = RunOk({"doc", "list", "--type", "Item", "--limit", "10"});
  EXPECT_EQ(list["items"].size(), 5u);
  EXPECT_TRUE(list["next_cursor"].is_null());
}

TEST_F(DocCliTest, GetAsOfAcceptsIsoAndMillis) {
  Json created = RunOk({"doc", "create", R"({"$type":"Customer","$id":"c1","tier":"gold"})"});
  RunOk({"doc", "update", "c1", R"({"$set":{"tier":"silver"}})"});
  // At the creation instant the document existed with its first body; before it, it did not.
  Json first = RunOk({"doc", "get-as-of", "c1", created["$createdAt"]});
  EXPECT_EQ(first["$version"], 1);
  auto before = Run({"doc", "get-as-of", "c1", "0"});
  EXPECT_EQ(before.exit_code, 3);
  auto bad = Run({"doc", "get-as-of", "c1", "yesterday"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("ISO 8601"));
}

TEST_F(DocCliTest, BadInputIsOneLineErrorWithExitCode) {
  auto bad_json = Run({"doc", "create", R"({"$type":"Customer",)"});
  EXPECT_EQ(bad_json.exit_code, 2);
  EXPECT_THAT(bad_json.err, HasSubstr("byte"));
  EXPECT_EQ(std::count(bad_json.err.begin(), bad_json.err.end(), '\n'), 1);
  EXPECT_EQ(bad_json.out, "");

  EXPECT_EQ(Run({"doc", "create", "[1,2]"}).exit_code, 2);
  EXPECT_EQ(Run({"doc", "query", "--type", "Item", "--where", R"({"n":{"$near":"x"}})"}).exit_code, 2);
  EXPECT_EQ(Run({"doc", "query", "--type", "Item", "--sort", "n:sideways"}).exit_code, 2);
  EXPECT_EQ(Run({"doc", "list", "--type", "Item", "--limit", "0"}).exit_code, 2);
  EXPECT_EQ(Run({"doc", "frobnicate"}).exit_code, 2);

  Json created = RunOk({"doc", "create", R"({"$type":"Customer","$id":"c1"})"});
  auto dup = Run({"doc", "create", R"({"$type":"Customer","$id":"c1"})"});
  EXPECT_EQ(dup.exit_code, 4);
  auto stale = Run({"doc", "update", "c1", R"({"$set":{"a":1}})", "--expect-version", "7"});
  EXPECT_EQ(stale.exit_code, 4);
  EXPECT_THAT(stale.err, StartsWith("error: ABORTED"));
  // Nothing changed by the failed calls.
  EXPECT_EQ(RunOk({"doc", "get", "c1"})["$version"], 1);
}

TEST_F(DocCliTest, HelpOnEveryLevel) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"}, {"doc", "--help"},
                                        {"doc", "query", "--help"}, {"doc", "get-as-of", "--help"}}) {
    auto run = testing::RunProgram(DOTDO_CLI_PATH, args);
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_THAT(run.out, HasSubstr("Usage"));
  }
}

}  // namespace
}  // namespace dotdo
