// `dotdo serve` and `dotdo token` through the real binary: tokens made by `token create` (the
// secret printed once, never by `token list`) are what the running server accepts, a revoke takes
// effect on the next request, SIGTERM stops it cleanly (exit 0, the write it acknowledged is on
// disk), and a non-loopback address without tokens is refused before anything is bound.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "server/server_test_util.h"
#include "testing/child_process.h"

namespace dotdo::testing {
namespace {

using ::testing::HasSubstr;

Json RunJson(const std::vector<std::string>& args) {
  const CliRun run = RunProgram(DOTDO_CLI_PATH, args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  auto parsed = internal::ParseJson(run.out, "cli output");
  EXPECT_TRUE(parsed.ok()) << run.out;
  return parsed.ok() ? *parsed : Json();
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ServeCliTest, TokensFromTheCliAreWhatTheServerAcceptsAndSigtermExitsZero) {
  ScratchDir dir;
  const std::string data = (dir.path() / "data").string();
  const auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data, "--compact"});
    return args;
  };
  const Json writer = RunJson(cli({"token", "create", "--scope", "acme", "--role", "write", "--label", "ci"}));
  const Json reader = RunJson(cli({"token", "create", "--scope", "*", "--role", "read"}));
  const std::string write_token = writer.value("token", ""), read_token = reader.value("token", "");
  ASSERT_EQ(write_token.rfind("dd_" + writer.value("id", "?") + "_", 0), 0u) << writer.dump();
  const Json list = RunJson(cli({"token", "list"}));
  ASSERT_EQ(list.size(), 2u);
  for (const Json& t : list) EXPECT_FALSE(t.contains("token")) << t.dump();
  EXPECT_EQ(list.dump().find(write_token.substr(20)), std::string::npos);  // no secret

  const int port = FreeLoopbackPort();
  const auto log = dir.path() / "serve.log";
  ChildProcess serve;
  ASSERT_TRUE(serve.Start(DOTDO_CLI_PATH, cli({"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--threads", "4"}), log));
  ASSERT_TRUE(WaitForPort(port, std::chrono::seconds(20))) << ReadFile(log);
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(20, 0);
  const auto call = [&](const std::string& method, const std::string& path, const std::string& token,
                        const std::string& body = "") {
    return TestServer::Send(c, method, path, body, token.empty() ? httplib::Headers{} : Bearer(token));
  };
  EXPECT_EQ(call("POST", "/v1/ns/acme/docs", "", R"({"$type":"T","$id":"a"})").status, 401);
  EXPECT_EQ(call("POST", "/v1/ns/acme/docs", write_token, R"({"$type":"T","$id":"a"})").status, 201);
  EXPECT_EQ(call("POST", "/v1/ns/other/docs", write_token, R"({"$type":"T","$id":"a"})").status, 403);
  EXPECT_EQ(call("POST", "/v1/ns/acme/docs", read_token, R"({"$type":"T","$id":"b"})").status, 403);
  EXPECT_EQ(call("GET", "/v1/ns/acme/docs/a", read_token).status, 200);
  EXPECT_EQ(call("GET", "/v1/namespaces", write_token).json["namespaces"], Json::array({"acme"}));
  // A revoke by the CLI while the server runs is refused on the next request.
  RunJson(cli({"token", "revoke", reader.value("id", "")}));
  EXPECT_EQ(call("GET", "/v1/ns/acme/docs/a", read_token).status, 401);
  EXPECT_EQ(call("GET", "/v1/ns/acme/docs/a", write_token).status, 200);

  EXPECT_EQ(serve.Stop(std::chrono::seconds(15)), 0) << ReadFile(log);
  const std::string out = ReadFile(log);
  // The first line says where it listens; the access log names the token of each request.
  const Json hello = internal::ParseJson(out.substr(0, out.find('\n')), "first line").value();
  EXPECT_EQ(hello["listening"], "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(hello["tokens_required"], true);
  EXPECT_THAT(out, HasSubstr("\"token\":\"" + writer.value("id", "") + "\""));
  EXPECT_THAT(out, HasSubstr("\"stopped\""));
  // The acknowledged write is there for the next process.
  EXPECT_EQ(RunJson(cli({"--ns", "acme", "doc", "get", "a"}))["$id"], "a");
}

TEST(ServeCliTest, NonLoopbackWithoutTokensIsRefusedAndBadListenIsAUsageError) {
  ScratchDir dir;
  const std::string data = (dir.path() / "data").string();
  CliRun run = RunProgram(DOTDO_CLI_PATH, {"--data", data, "serve", "--listen", "0.0.0.0:" + std::to_string(FreeLoopbackPort())});
  EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr("error: FAILED_PRECONDITION"));
  EXPECT_THAT(run.err, HasSubstr("requires tokens"));
  EXPECT_EQ(run.out, "");  // it never said it listens
  run = RunProgram(DOTDO_CLI_PATH, {"--data", data, "serve", "--listen", "127.0.0.1"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("error: INVALID_ARGUMENT"));
}

}  // namespace
}  // namespace dotdo::testing
