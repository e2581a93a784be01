// The CLI as a process, where the case files (tests/tools/data/cli/*.json, run by
// cli_cases_test.cc) cannot say it: signals (`events tail --follow` until SIGINT), inputs large
// enough to cross the CLI's internal pages (events, edge export), events written by another
// process through the C++ API, binary files compared byte for byte (a database named as an export
// sink stays intact), file modes, symlinks and FIFOs; and hostile input (below) too large or not
// UTF-8 enough for a JSON case file.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dotdo/cdc.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::CliRun;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::RunProgram;
using ::dotdo::testing::ScratchDir;

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
  return out;
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class EventsCliProcessTest : public ::testing::Test {
 protected:
  CliRun Run(std::vector<std::string> args) {
    std::vector<std::string> full = {"--data", dir_.path().string(), "--ns", "acme"};
    full.insert(full.end(), args.begin(), args.end());
    return RunProgram(DOTDO_CLI_PATH, full);
  }
  // Emits `n` domain events Customer.created (data.$id = c<i>) in one transaction, as another
  // process writing to the namespace would.
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
  ScratchDir dir_;
};

TEST_F(EventsCliProcessTest, ReadAndTailShowDomainEventsAcrossInternalPages) {
  Emit(1205);  // more than one internal page
  CliRun page = Run({"events", "read", "--after", "1", "--limit", "3"});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  Json events = Json::parse(page.out);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["type"], "Customer.created");
  EXPECT_EQ(events[0]["actor"], "user:alice");
  DOTDO_ASSERT_OK_AND_ASSIGN(UnifiedEvent e, EventFromJson(events[0]));
  EXPECT_EQ(e.ns, "acme");
  CliRun r = Run({"events", "tail", "--after", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 1202u);
  for (size_t i = 0; i < lines.size(); ++i) ASSERT_EQ(lines[i]["lsn"], static_cast<int64_t>(i + 4));
}

TEST_F(EventsCliProcessTest, ExportRefusesTheDatabaseFileAndLeavesItIntact) {
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

TEST_F(EventsCliProcessTest, TailFollowPrintsNewEventsUntilSigint) {
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

TEST(TransferCliProcessTest, EdgesRoundTripPastOneExportPage) {
  ScratchDir dir;
  testing::CliNamespace a{DOTDO_CLI_PATH, dir.path(), "a"}, b{DOTDO_CLI_PATH, dir.path(), "b"};
  std::string input;
  for (int i = 0; i < 2500; ++i)  // past one export page (1000 rows)
    input += "{\"from\":\"User/u" + std::to_string(i % 50) + "\",\"to\":\"User/v" + std::to_string(i) +
             "\",\"type\":\"follows\",\"data\":{\"w\":" + std::to_string(i) + "}}\n";
  input += "{\"from\":\"User/x\",\"to\":\"User/y\",\"type\":\"knows\"}\n";
  EXPECT_EQ(a.RunOk({"graph", "import", "-"}, input)["imported"], 2501);
  auto exported = a.Run({"graph", "export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  ASSERT_EQ(JsonLines(exported.out).size(), 2501u);
  EXPECT_EQ(b.RunOk({"graph", "import", "-"}, exported.out)["imported"], 2501);
  EXPECT_EQ(b.Run({"graph", "export"}).out, exported.out);
}

class BlobCliProcessTest : public ::testing::Test {
 protected:
  ScratchDir dir_;
  testing::CliNamespace cli_{DOTDO_CLI_PATH, dir_.path() / "data", "acme"};
};

TEST_F(BlobCliProcessTest, BytesThatAreNotUtf8RoundTripExactly) {
  const std::string bytes("binary\0data\xff\xfe", 13);
  const auto in = dir_.path() / "in.bin";
  std::ofstream(in, std::ios::binary) << bytes;
  ASSERT_EQ(cli_.Run({"blob", "put", "a.bin", in.string()}).exit_code, 0);
  auto get = cli_.Run({"blob", "get", "a.bin"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, bytes);
}

TEST_F(BlobCliProcessTest, SignWithoutASecretMakesAnOwnerOnlyKeyFile) {
  auto run = cli_.Run({"blob", "sign", "k"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const auto key_file = dir_.path() / "data" / "keys" / "acme.blob-signing";
  ASSERT_TRUE(std::filesystem::exists(key_file));
  EXPECT_EQ(std::filesystem::status(key_file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(BlobCliProcessTest, GetToAFileNeverFollowsAPlantedTempSymlinkNorReplacesSpecialFiles) {
  ASSERT_EQ(cli_.Run({"blob", "put", "k", "-"}, "new bytes").exit_code, 0);
  // A symlink planted at the old fixed temp name must not have its target overwritten.
  const auto victim = dir_.path() / "victim.txt";
  const std::string out = (dir_.path() / "out.txt").string();
  std::ofstream(victim, std::ios::binary) << "precious";
  std::filesystem::create_symlink(victim, out + ".dotdo-partial");
  auto get = cli_.Run({"blob", "get", "k", "-o", out});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(Slurp(out), "new bytes");
  EXPECT_EQ(Slurp(victim), "precious");
  // No temp file is left next to the output.
  for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_EQ(e.path().filename().string().find("out.txt.dotdo-partial-"), std::string::npos) << e.path();
  // /dev/null stays a character device.
  ASSERT_EQ(cli_.Run({"blob", "get", "k", "-o", "/dev/null"}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  // A FIFO is written through, not replaced by a regular file.
  const auto fifo = dir_.path() / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string read_back;
  std::thread reader([&] { read_back = Slurp(fifo); });
  auto to_fifo = cli_.Run({"blob", "get", "k", "-o", fifo.string()});
  reader.join();
  EXPECT_EQ(to_fifo.exit_code, 0) << to_fifo.err;
  EXPECT_EQ(read_back, "new bytes");
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
}

// What an attacker or a careless user typed into the CLI, command by command: numbers that overflow
// a double, nesting far past the documented 64 levels, invalid UTF-8 in input and in output. Each
// is a one-line typed error (exit 2) or a clean answer — never an abort (134), a stack overflow
// (139) or a write.
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
