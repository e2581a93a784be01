// `dotdo events read|tail|export|sinks|prune` run as a real process against a scratch data
// directory: output formats, paging, global ids, exactly-once export across runs, argument
// validation (exit code 2, nothing changed) and `tail --follow` stopping cleanly on SIGINT.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "dotdo/cdc.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::CliRun;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::RunProgram;
using ::dotdo::testing::ScratchDir;

class EventsCliTest : public ::testing::Test {
 protected:
  CliRun Run(std::vector<std::string> args) {
    std::vector<std::string> full = {"--data", dir_.path().string(), "--ns", "acme"};
    full.insert(full.end(), args.begin(), args.end());
    return RunProgram(DOTDO_CLI_PATH, full);
  }

  // Emits `n` domain events Customer.created (data.$id = c<i>) in one transaction.
  void Emit(int n, int first = 0) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir_.path(), "acme"));
    std::vector<DomainEvent> batch;
    for (int i = first; i < first + n; ++i) {
      DomainEvent d;
      d.type = "Customer.created";
      d.actor = "user:alice";
      d.data = Json{{"$id", "c" + std::to_string(i)}, {"name", "N" + std::to_string(i)}};
      batch.push_back(d);
    }
    DOTDO_ASSERT_OK(CdcEmitter(*db).EmitBatch(batch));
  }

  static std::vector<Json> JsonLines(const std::string& text) {
    std::vector<Json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
    return out;
  }

  ScratchDir dir_;
};

TEST_F(EventsCliTest, ReadPrintsAPageAsAJsonArray) {
  Emit(5);
  CliRun r = Run({"events", "read", "--after", "1", "--limit", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json page = Json::parse(r.out);
  ASSERT_TRUE(page.is_array());
  ASSERT_EQ(page.size(), 3u);
  EXPECT_EQ(page[0]["lsn"], 2);
  EXPECT_EQ(page[2]["lsn"], 4);
  EXPECT_EQ(page[0]["type"], "Customer.created");
  EXPECT_EQ(page[0]["actor"], "user:alice");
  EXPECT_EQ(page[0]["data"]["$id"], "c1");
  DOTDO_ASSERT_OK_AND_ASSIGN(UnifiedEvent e, EventFromJson(page[0]));
  EXPECT_EQ(e.ns, "acme");
  CliRun global = Run({"--compact", "events", "read", "--global", "--limit", "1"});
  ASSERT_EQ(global.exit_code, 0) << global.err;
  EXPECT_EQ(Json::parse(global.out)[0]["data"]["$id"], "acme/Customer/c0");
  CliRun none = Run({"events", "read", "--after", "100"});
  ASSERT_EQ(none.exit_code, 0);
  EXPECT_EQ(Json::parse(none.out), Json::array());
}

TEST_F(EventsCliTest, TailWithoutFollowPrintsEverythingAsJsonLinesAndExits) {
  Emit(1205);  // more than one internal page
  CliRun r = Run({"events", "tail", "--after", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1202u);
  for (size_t i = 0; i < lines.size(); ++i) ASSERT_EQ(lines[i]["lsn"], static_cast<int64_t>(i + 4));
}

TEST_F(EventsCliTest, InvalidArgumentsExitWithCode2AndChangeNothing) {
  Emit(2);
  const std::vector<std::vector<std::string>> bad = {
      {"events", "read", "--after", "-1"},
      {"events", "read", "--after=-5"},
      {"events", "read", "--after", "abc"},
      {"events", "read", "--limit", "0"},
      {"events", "read", "--limit", "10001"},
      {"events", "read", "--limit", "x"},
      {"events", "tail", "--after", "-1"},
      {"events", "tail", "--interval-ms", "0"},
      {"events", "tail", "--interval-ms", "soon"},
      {"events", "export"},
      {"events", "export", "--sink", ""},
      {"events", "export", "--sink", "out.jsonl", "--batch-size", "0"},
      {"events", "prune", "--up-to", "-3"},
      {"events", "prune", "--min-age", "forever"},
      {"events", "bogus"},
      {"events"},
  };
  for (const auto& args : bad) {
    CliRun r = Run(args);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("error: INVALID_ARGUMENT", 0), 0u) << shown << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << shown << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << shown;
  }
  CliRun sinks = Run({"events", "sinks"});
  ASSERT_EQ(sinks.exit_code, 0) << sinks.err;
  EXPECT_EQ(Json::parse(sinks.out), Json::array());
  EXPECT_EQ(Json::parse(Run({"events", "read"}).out).size(), 2u);
}

TEST_F(EventsCliTest, MissingNamespaceIsNotFound) {
  CliRun r = Run({"events", "read"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "acme.sqlite"));
}

TEST_F(EventsCliTest, ExportDeliversEachEventOnceAcrossRunsAndPruneFollowsTheCheckpoint) {
  Emit(4);
  const std::string file = (dir_.path() / "out.jsonl").string();
  CliRun first = Run({"events", "export", "--sink", file, "--batch-size", "3"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  Json j = Json::parse(first.out);
  EXPECT_EQ(j["exported"], 4);
  EXPECT_EQ(j["checkpoint"], 4);
  const std::string sink_name = j["sink"];
  CliRun again = Run({"events", "export", "--sink", file});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Json::parse(again.out)["exported"], 0);
  Emit(2, 4);
  CliRun third = Run({"events", "export", "--sink", file});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(Json::parse(third.out)["exported"], 2);

  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto lines = JsonLines(text);
  ASSERT_EQ(lines.size(), 6u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["lsn"], static_cast<int64_t>(i + 1));
    EXPECT_EQ(lines[i]["data"]["$id"], "acme/Customer/c" + std::to_string(i));
  }
  Json sinks = Json::parse(Run({"events", "sinks"}).out);
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0]["sink"], sink_name);
  EXPECT_EQ(sinks[0]["checkpoint"], 6);
  EXPECT_EQ(sinks[0]["lag"], 0);

  Emit(1, 6);
  EXPECT_EQ(Json::parse(Run({"events", "sinks"}).out)[0]["lag"], 1);
  CliRun prune = Run({"events", "prune"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_EQ(Json::parse(prune.out)["deleted"], 6);
  Json left = Json::parse(Run({"events", "read"}).out);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["lsn"], 7);
}

TEST_F(EventsCliTest, ExportIntoAMissingDirectoryIsNotFound) {
  Emit(1);
  CliRun r = Run({"events", "export", "--sink", (dir_.path() / "no" / "out.jsonl").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  Json sinks = Json::parse(Run({"events", "sinks"}).out);
  EXPECT_TRUE(sinks.empty());
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_F(EventsCliTest, ExportRefusesUnchangedAFileThatIsNotAnExportFile) {
  Emit(3);
  const auto db_file = dir_.path() / "acme.sqlite";
  const std::string before = Slurp(db_file);
  CliRun r = Run({"events", "export", "--sink", db_file.string()});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("not a dotdo export file"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(db_file), before);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir_.path(), "acme"));
  auto check = db->QueryReadOnly("PRAGMA integrity_check");
  ASSERT_THAT(check, IsOk());
  EXPECT_EQ((*check)[0]["integrity_check"], "ok");
}

TEST_F(EventsCliTest, TwoNamespacesCannotShareAnExportFileAndASinkCanBeUnregistered) {
  Emit(3);
  const std::string file = (dir_.path() / "out.jsonl").string();
  ASSERT_EQ(Run({"events", "export", "--sink", file}).exit_code, 0);
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto other, Database::Open(dir_.path(), "other"));
    std::vector<DomainEvent> batch(10, DomainEvent{.type = "Order.placed", .data = Json::object()});
    DOTDO_ASSERT_OK(CdcEmitter(*other).EmitBatch(batch));
  }
  CliRun b = RunProgram(DOTDO_CLI_PATH, {"--data", dir_.path().string(), "--ns", "other", "events", "export", "--sink", file});
  EXPECT_EQ(b.exit_code, 4) << b.err;
  EXPECT_NE(b.err.find("namespace 'acme'"), std::string::npos) << b.err;
  EXPECT_EQ(JsonLines(Slurp(file)).size(), 3u);

  // The file is deleted: exporting again is refused (the sink lost confirmed events) until the
  // sink is unregistered; then it starts from the oldest retained event.
  std::filesystem::remove(file);
  EXPECT_EQ(Run({"events", "export", "--sink", file}).exit_code, 4);
  CliRun bad = Run({"events", "unregister"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  CliRun un = Run({"events", "unregister", "--sink", file});
  ASSERT_EQ(un.exit_code, 0) << un.err;
  EXPECT_EQ(Run({"events", "unregister", "--sink", file}).exit_code, 3);
  CliRun again = Run({"events", "export", "--sink", file});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Json::parse(again.out)["exported"], 3);
}

TEST_F(EventsCliTest, TailFollowPrintsNewEventsUntilSigint) {
  Emit(2);
  int out_pipe[2];
  ASSERT_EQ(::pipe(out_pipe), 0);
  const std::string data = dir_.path().string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    const char* argv[] = {DOTDO_CLI_PATH, "--data", data.c_str(), "--ns", "acme", "events", "tail",
                          "--follow", "--interval-ms", "10", nullptr};
    ::execv(DOTDO_CLI_PATH, const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  std::string out;
  // Reads stdout until `lines` lines arrived (or 10 s passed).
  auto read_lines = [&](size_t lines) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (static_cast<size_t>(std::count(out.begin(), out.end(), '\n')) < lines &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_pipe[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(out_pipe[0], buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  };
  read_lines(2);
  Emit(3, 2);  // written by another process while tail is following
  read_lines(5);
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(out_pipe[0]);
  ASSERT_TRUE(WIFEXITED(status)) << "tail did not exit cleanly on SIGINT";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto lines = JsonLines(out);
  ASSERT_EQ(lines.size(), 5u) << out;
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["lsn"], static_cast<int64_t>(i + 1));
}

}  // namespace
}  // namespace dotdo
