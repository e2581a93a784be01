// `dotdo graph ...` end to end: the binary against a scratch data directory — relate/get/exists/
// unrelate round trips, paged adjacency, degrees, traversals, paths (shortest, weighted, any),
// cycles, acyclic relation types, unrelate-all; bad input is a one-line error with the documented
// exit code (2 invalid argument, 3 not found, 4 precondition) and changes nothing; help everywhere.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class GraphCliTest : public ::testing::Test {
 protected:
  testing::CliRun Run(std::vector<std::string> args, const std::string& input = "") {
    return cli_.Run(std::move(args), input);
  }
  Json RunOk(std::vector<std::string> args, const std::string& input = "") { return cli_.RunOk(std::move(args), input); }
  // A failing call: exactly one line on stderr starting with "error: <code>", nothing on stdout.
  void ExpectError(std::vector<std::string> args, int exit_code, const std::string& code, const std::string& text = "") {
    auto run = Run(args);
    EXPECT_EQ(run.exit_code, exit_code) << ::testing::PrintToString(args) << " " << run.err;
    EXPECT_THAT(run.err, StartsWith("error: " + code)) << ::testing::PrintToString(args);
    EXPECT_THAT(run.err, HasSubstr(text)) << ::testing::PrintToString(args);
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_EQ(run.out, "");
  }
  std::vector<std::string> PathNodes(const Json& result) {
    return result["path"].is_null() ? std::vector<std::string>{} : result["path"]["nodes"].get<std::vector<std::string>>();
  }
  testing::ScratchDir dir_;
  testing::CliNamespace cli_{DOTDO_CLI_PATH, dir_.path(), "g"};
};

TEST_F(GraphCliTest, RelateGetExistsUnrelateRoundTrip) {
  Json e = RunOk({"graph", "relate", "User/alice", "User/bob", "follows", R"({"since":2024})"});
  EXPECT_EQ(e["from"], "User/alice");
  EXPECT_EQ(e["to"], "User/bob");
  EXPECT_EQ(e["type"], "follows");
  EXPECT_EQ(e["data"], (Json{{"since", 2024}}));
  const std::string id = e["id"];

  Json again = RunOk({"graph", "relate", "User/alice", "User/bob", "follows", "-"}, R"({"since":2025})");
  EXPECT_EQ(again["id"], id);  // relating again updates the data of the same edge
  EXPECT_EQ(RunOk({"graph", "get", "User/alice", "User/bob", "follows"})["data"]["since"], 2025);
  EXPECT_EQ(RunOk({"graph", "get", "--id", id})["to"], "User/bob");
  const auto file = dir_.path() / "edge.json";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(R"({"since":2026,"via":"file"})", f);
  std::fclose(f);
  EXPECT_EQ(RunOk({"graph", "relate", "User/alice", "User/bob", "follows", "@" + file.string()})["data"]["via"], "file");
  EXPECT_EQ(RunOk({"graph", "exists", "User/alice", "User/bob", "follows"})["exists"], true);
  EXPECT_EQ(RunOk({"graph", "exists", "User/bob", "User/alice", "follows"})["exists"], false);

  EXPECT_EQ(RunOk({"graph", "unrelate", "User/alice", "User/bob", "follows"})["removed"], true);
  EXPECT_EQ(RunOk({"graph", "unrelate", "User/alice", "User/bob", "follows"})["removed"], false);
  ExpectError({"graph", "get", "User/alice", "User/bob", "follows"}, 3, "NOT_FOUND", "User/alice -[follows]-> User/bob");
  // Insert, two updates, delete: one event each, with the edge id as key.
  Json events = RunOk({"events", "read"});
  ASSERT_EQ(events.size(), 4u);
  for (const auto& ev : events) {
    EXPECT_EQ(ev["store"], "graph");
    EXPECT_EQ(ev["key"], id);
  }
}

TEST_F(GraphCliTest, AdjacencyPagesDegreesAndUnrelateAll) {
  for (const char* to : {"Post/1", "Post/2", "Post/3", "User/carol"}) RunOk({"graph", "relate", "User/alice", to, "likes"});
  RunOk({"graph", "relate", "User/alice", "User/bob", "follows"});
  RunOk({"graph", "relate", "User/dan", "User/alice", "follows"});

  Json first = RunOk({"graph", "out", "User/alice", "--types", "likes", "--limit", "3"});
  ASSERT_EQ(first["items"].size(), 3u);
  EXPECT_EQ(first["items"][0]["to"], "Post/1");
  ASSERT_TRUE(first["next_cursor"].is_string());
  Json second = RunOk({"graph", "out", "User/alice", "--types", "likes", "--limit", "3", "--cursor", first["next_cursor"]});
  ASSERT_EQ(second["items"].size(), 1u);
  EXPECT_EQ(second["items"][0]["to"], "User/carol");
  EXPECT_TRUE(second["next_cursor"].is_null());
  EXPECT_EQ(RunOk({"graph", "out", "User/alice", "--node-type", "User"})["items"].size(), 2u);
  Json in = RunOk({"graph", "in", "User/alice"});
  ASSERT_EQ(in["items"].size(), 1u);
  EXPECT_EQ(in["items"][0]["from"], "User/dan");
  EXPECT_EQ(RunOk({"graph", "both", "User/alice", "--types", "follows"})["items"].size(), 2u);

  EXPECT_EQ(RunOk({"graph", "degree", "User/alice"}), (Json{{"node", "User/alice"}, {"out", 5}, {"in", 1}}));
  EXPECT_EQ(RunOk({"graph", "degree", "User/alice", "--direction", "out", "--types", "follows"}),
            (Json{{"node", "User/alice"}, {"out", 1}}));
  EXPECT_EQ(RunOk({"graph", "degree", "Ghost/1", "--direction", "in"}), (Json{{"node", "Ghost/1"}, {"in", 0}}));

  EXPECT_EQ(RunOk({"graph", "unrelate-all", "User/alice"})["removed"], 6);
  EXPECT_EQ(RunOk({"graph", "both", "User/alice"})["items"].size(), 0u);
}

TEST_F(GraphCliTest, TraverseFollowsDirectionAlgorithmTypesDepthAndLimit) {
  // a -> b -> d, a -> c -> d, d -> e; x -[other]-> a
  for (auto [f, t] : std::vector<std::pair<std::string, std::string>>{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}, {"d", "e"}})
    RunOk({"graph", "relate", "N/" + f, "N/" + t, "link"});
  RunOk({"graph", "relate", "N/x", "N/a", "other"});

  Json bfs = RunOk({"graph", "traverse", "N/a", "--max-depth", "10"});
  std::vector<std::string> order;
  for (const auto& n : bfs["nodes"]) order.push_back(n["id"].get<std::string>() + "@" + std::to_string(n["depth"].get<int>()));
  EXPECT_THAT(order, ElementsAre("N/b@1", "N/c@1", "N/d@2", "N/e@3"));
  EXPECT_EQ(bfs["nodes"][3]["path"], (Json{"N/a", "N/b", "N/d", "N/e"}));

  Json dfs = RunOk({"graph", "traverse", "N/a", "--algorithm", "dfs", "--max-depth", "10"});
  order.clear();
  for (const auto& n : dfs["nodes"]) order.push_back(n["id"]);
  EXPECT_THAT(order, ElementsAre("N/b", "N/d", "N/e", "N/c"));

  EXPECT_EQ(RunOk({"graph", "traverse", "N/a", "--max-depth", "1"})["nodes"].size(), 2u);
  EXPECT_EQ(RunOk({"graph", "traverse", "N/a", "--max-depth", "10", "--limit", "3"})["nodes"].size(), 3u);
  EXPECT_EQ(RunOk({"graph", "traverse", "N/a", "--max-depth", "0"})["nodes"].size(), 0u);
  Json in = RunOk({"graph", "traverse", "N/d", "--direction", "in", "--types", "link,other"});
  EXPECT_EQ(in["nodes"].size(), 4u);  // b, c, a, x
  EXPECT_EQ(RunOk({"graph", "traverse", "N/d", "--direction", "in", "--types", "link"})["nodes"].size(), 3u);
  EXPECT_EQ(RunOk({"graph", "traverse", "N/e", "--direction", "both", "--max-depth", "1"})["nodes"].size(), 1u);
}

TEST_F(GraphCliTest, PathShortestWeightedAnyAndMissingNodes) {
  RunOk({"graph", "relate", "C/a", "C/b", "road", R"({"km":10})"});
  RunOk({"graph", "relate", "C/a", "C/c", "road", R"({"km":2})"});
  RunOk({"graph", "relate", "C/c", "C/d", "road", R"({"km":2.5})"});
  RunOk({"graph", "relate", "C/d", "C/b", "road", R"({"km":1})"});

  Json shortest = RunOk({"graph", "path", "C/a", "C/b"});
  EXPECT_THAT(PathNodes(shortest), ElementsAre("C/a", "C/b"));
  EXPECT_EQ(shortest["path"]["length"], 1);
  Json weighted = RunOk({"graph", "path", "C/a", "C/b", "--weighted", "km"});
  EXPECT_THAT(PathNodes(weighted), ElementsAre("C/a", "C/c", "C/d", "C/b"));
  EXPECT_DOUBLE_EQ(weighted["path"]["cost"].get<double>(), 5.5);
  EXPECT_EQ(weighted["path"]["edges"].size(), 3u);
  Json any = RunOk({"graph", "path", "C/a", "C/b", "--any"});
  EXPECT_EQ(PathNodes(any).front(), "C/a");
  EXPECT_EQ(PathNodes(any).back(), "C/b");
  Json reverse = RunOk({"graph", "path", "C/b", "C/a", "--direction", "in"});
  EXPECT_THAT(PathNodes(reverse), ElementsAre("C/b", "C/a"));

  EXPECT_TRUE(RunOk({"graph", "path", "C/b", "C/a"})["path"].is_null());
  EXPECT_TRUE(RunOk({"graph", "path", "C/a", "C/d", "--max-depth", "1"})["path"].is_null());
  EXPECT_TRUE(RunOk({"graph", "path", "Ghost/1", "Ghost/2"})["path"].is_null());  // missing nodes: empty, not an error
  EXPECT_TRUE(RunOk({"graph", "path", "Ghost/1", "Ghost/2", "--weighted", "km"})["path"].is_null());

  RunOk({"graph", "relate", "C/c", "C/e", "road"});
  ExpectError({"graph", "path", "C/a", "C/e", "--weighted", "km"}, 4, "FAILED_PRECONDITION", "default_weight");
  Json defaulted = RunOk({"graph", "path", "C/a", "C/e", "--weighted", "km", "--default-weight", "0.5"});
  EXPECT_DOUBLE_EQ(defaulted["path"]["cost"].get<double>(), 2.5);
}

TEST_F(GraphCliTest, CyclesAndAcyclicRelationTypes) {
  RunOk({"graph", "relate", "N/s", "N/s", "self"});
  RunOk({"graph", "relate", "N/p", "N/q", "pair"});
  RunOk({"graph", "relate", "N/q", "N/p", "pair"});
  EXPECT_EQ(RunOk({"graph", "cycle", "N/s"})["cycle"], (Json{"N/s", "N/s"}));
  EXPECT_EQ(RunOk({"graph", "cycle", "N/p", "--type", "pair"})["cycle"], (Json{"N/p", "N/q", "N/p"}));
  EXPECT_TRUE(RunOk({"graph", "cycle", "N/p", "--type", "self"})["cycle"].is_null());

  EXPECT_EQ(RunOk({"graph", "relation-type", "dependsOn"}), (Json{{"type", "dependsOn"}, {"acyclic", false}}));
  EXPECT_EQ(RunOk({"graph", "relation-type", "dependsOn", "--acyclic", "true"})["acyclic"], true);
  RunOk({"graph", "relate", "Pkg/a", "Pkg/b", "dependsOn"});
  ExpectError({"graph", "relate", "Pkg/b", "Pkg/a", "dependsOn"}, 4, "FAILED_PRECONDITION", "Pkg/b -> Pkg/a -> Pkg/b");
  ExpectError({"graph", "relate", "Pkg/c", "Pkg/c", "dependsOn"}, 4, "FAILED_PRECONDITION", "self-loop");
  ExpectError({"graph", "relation-type", "pair", "--acyclic", "on"}, 4, "FAILED_PRECONDITION", "N/p -> N/q -> N/p");
  EXPECT_EQ(RunOk({"graph", "relation-type", "pair"})["acyclic"], false);
  EXPECT_EQ(RunOk({"graph", "exists", "Pkg/b", "Pkg/a", "dependsOn"})["exists"], false);
}

TEST_F(GraphCliTest, BadInputIsOneLineErrorAndWritesNothing) {
  RunOk({"graph", "relate", "User/a", "User/b", "follows"});
  const size_t events_before = RunOk({"events", "read"}).size();

  ExpectError({"graph", "relate", "alice", "User/b", "follows"}, 2, "INVALID_ARGUMENT", "Type/key");
  ExpectError({"graph", "relate", "User/a", "User/b", "bad type"}, 2, "INVALID_ARGUMENT", "relation type");
  ExpectError({"graph", "relate", "User/a", "User/b", "follows", "[1,2]"}, 2, "INVALID_ARGUMENT", "JSON object");
  ExpectError({"graph", "relate", "User/a", "User/b", "follows", "{\"a\":"}, 2, "INVALID_ARGUMENT", "byte");
  ExpectError({"graph", "relate", "User/a", "User/b", "follows", "@/nonexistent/data.json"}, 3, "NOT_FOUND");
  ExpectError({"graph", "relate", "User/a", "User/b"}, 2, "INVALID_ARGUMENT");
  ExpectError({"graph", "get"}, 2, "INVALID_ARGUMENT", "--id");
  ExpectError({"graph", "get", "User/a", "User/b", "follows", "--id", "01M8968ZCT5W97WWEYSYZ56N56"}, 2, "INVALID_ARGUMENT");
  ExpectError({"graph", "get", "--id", "nope"}, 2, "INVALID_ARGUMENT", "ULID");
  ExpectError({"graph", "out", "User/a", "--limit", "0"}, 2, "INVALID_ARGUMENT", "limit");
  ExpectError({"graph", "out", "User/a", "--limit", "abc"}, 2, "INVALID_ARGUMENT");
  ExpectError({"graph", "out", "User/a", "--cursor", "zz"}, 2, "INVALID_ARGUMENT", "cursor");
  ExpectError({"graph", "out", "User/a", "--types", "a,bad type"}, 2, "INVALID_ARGUMENT", "relation type");
  ExpectError({"graph", "out", "User/a", "--node-type", "9x"}, 2, "INVALID_ARGUMENT", "node_type");
  ExpectError({"graph", "in", "User/a", "--node-type", ""}, 2, "INVALID_ARGUMENT", "node_type");
  ExpectError({"graph", "degree", "User/a", "--direction", "up"}, 2, "INVALID_ARGUMENT", "out, in, both");
  ExpectError({"graph", "traverse", "User/a", "--direction", "sideways"}, 2, "INVALID_ARGUMENT", "out, in, both");
  ExpectError({"graph", "traverse", "User/a", "--algorithm", "astar"}, 2, "INVALID_ARGUMENT", "bfs, dfs");
  ExpectError({"graph", "traverse", "User/a", "--max-depth", "-1"}, 2, "INVALID_ARGUMENT", "max_depth");
  ExpectError({"graph", "traverse", "User/a", "--max-depth", "1001"}, 2, "INVALID_ARGUMENT", "1000");
  ExpectError({"graph", "traverse", "User/a", "--max-depth", "99999999999"}, 2, "INVALID_ARGUMENT");
  ExpectError({"graph", "traverse", "User/a", "--limit", "0"}, 2, "INVALID_ARGUMENT", "limit");
  ExpectError({"graph", "path", "User/a", "User/b", "--weighted", "w", "--any"}, 2, "INVALID_ARGUMENT", "exclusive");
  ExpectError({"graph", "path", "User/a", "User/b", "--default-weight", "1"}, 2, "INVALID_ARGUMENT", "--weighted");
  ExpectError({"graph", "path", "User/a", "User/b", "--weighted", "w", "--max-depth", "3"}, 2, "INVALID_ARGUMENT");
  ExpectError({"graph", "path", "User/a", "User/b", "--weighted", "a..b"}, 2, "INVALID_ARGUMENT", "weight_field");
  ExpectError({"graph", "path", "User/a", "User/b", "--weighted", ""}, 2, "INVALID_ARGUMENT", "weight_field");
  ExpectError({"graph", "path", "User/a", "User/b", "--max-depth", "-3"}, 2, "INVALID_ARGUMENT");
  ExpectError({"graph", "cycle", "User/a", "--type", "no spaces"}, 2, "INVALID_ARGUMENT");
  ExpectError({"graph", "unrelate-all", "User"}, 2, "INVALID_ARGUMENT", "Type/key");
  ExpectError({"graph", "relation-type", "follows", "--acyclic", "maybe"}, 2, "INVALID_ARGUMENT", "true|false");
  ExpectError({"graph", "frobnicate"}, 2, "INVALID_ARGUMENT");
  // Reads never create a namespace.
  auto missing = testing::RunProgram(DOTDO_CLI_PATH, {"--data", dir_.path().string(), "--ns", "absent", "graph", "out", "User/a"});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;

  EXPECT_EQ(RunOk({"events", "read"}).size(), events_before);
  EXPECT_EQ(RunOk({"graph", "both", "User/a"})["items"].size(), 1u);
}

TEST_F(GraphCliTest, HelpOnEveryLevel) {
  std::vector<std::vector<std::string>> calls = {{"--help"}, {"graph", "--help"}};
  for (const char* cmd : {"relate", "unrelate", "get", "exists", "out", "in", "both", "degree", "traverse", "path",
                          "cycle", "unrelate-all", "relation-type"})
    calls.push_back({"graph", cmd, "--help"});
  for (const auto& args : calls) {
    auto run = testing::RunProgram(DOTDO_CLI_PATH, args);
    EXPECT_EQ(run.exit_code, 0) << ::testing::PrintToString(args);
    EXPECT_THAT(run.out, HasSubstr("Usage")) << ::testing::PrintToString(args);
  }
  EXPECT_THAT(testing::RunProgram(DOTDO_CLI_PATH, {"graph", "--help"}).out, HasSubstr("unrelate-all"));
  EXPECT_THAT(testing::RunProgram(DOTDO_CLI_PATH, {"graph", "path", "--help"}).out, HasSubstr("--weighted"));
}

}  // namespace
}  // namespace dotdo
