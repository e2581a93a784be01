// Crash recovery of the whole CDC path: a child process creates documents in a loop (1-3 per
// transaction, some transactions deliberately rolled back) and now and then runs the pipeline into
// a JSONL file; the parent SIGKILLs it at random moments, many times over, then reopens and checks:
// every committed document has exactly one event, nothing rolled back or uncommitted is visible,
// and after one more pipeline run the file holds every committed event exactly once, in lsn order.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "dotdo/cdc.h"
#include "dotdo/document.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

constexpr const char* kNs = "crash";
constexpr const char* kType = "Item";

void WriteLine(int fd, const std::string& line) {
  // Lines are far below PIPE_BUF, so each write is atomic: the parent never sees half a line.
  std::string l = line + "\n";
  if (::write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) ::_exit(3);
}

// The child: runs until killed. Reports "C <id>" for every document of a committed transaction,
// after the commit returned.
[[noreturn]] void ChildLoop(const std::filesystem::path& dir, const std::filesystem::path& sink_path, int round,
                            int report_fd) {
  auto db = Database::Open(dir, kNs);
  if (!db.ok()) ::_exit(4);
  DocumentStore docs(**db);
  auto sink = JsonlFileSink::Open(sink_path);
  if (!sink.ok()) ::_exit(5);
  CdcPipelineOptions po;
  po.batch_size = 7;  // several sink writes and checkpoints per run
  CdcPipeline pipeline(**db, **sink, po);
  std::mt19937 rng(static_cast<unsigned>(round * 7919 + 1));
  for (int i = 0;; ++i) {
    const bool rollback = rng() % 6 == 0;
    const int n = 1 + static_cast<int>(rng() % 3);
    std::vector<std::string> ids;
    Status st = (*db)->Transaction([&]() -> Status {
      for (int k = 0; k < n; ++k) {
        std::string id = (rollback ? "rb-" : "ok-") + std::to_string(round) + "-" + std::to_string(i) + "-" +
                         std::to_string(k);
        auto created = docs.Create(Json{{"$id", id}, {"$type", kType}, {"round", round}, {"i", i}});
        if (!created.ok()) return created.status();
        ids.push_back(id);
      }
      return rollback ? AbortedError("deliberate rollback") : OkStatus();
    });
    if (st.ok()) {
      for (const auto& id : ids) WriteLine(report_fd, "C " + id);
    } else if (st.code() != StatusCode::kAborted) {
      ::_exit(6);
    }
    if (rng() % 4 == 0 && !pipeline.RunOnce().ok()) ::_exit(7);
  }
}

// Reads whatever the child reported until `deadline` (or EOF), appending complete lines to `out`.
void Drain(int fd, std::string& buffer, std::chrono::steady_clock::time_point deadline, bool until_eof) {
  char chunk[4096];
  for (;;) {
    int timeout_ms = -1;
    if (!until_eof) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      timeout_ms = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EOF: the child is gone
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

std::vector<Json> ReadJsonLines(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Json> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    EXPECT_NE(nl, std::string::npos) << "torn last line remains in the sink file";
    if (nl == std::string::npos) break;
    out.push_back(Json::parse(text.substr(start, nl - start)));
    start = nl + 1;
  }
  return out;
}

// Where the kills landed, for the log: a torn last line, a file ahead of its checkpoint (killed
// between the sink write and the checkpoint update), or committed events not yet exported.
struct CrashStats {
  int torn = 0;
  int file_ahead_of_checkpoint = 0;
  int events_pending = 0;
};

void ObserveCrashState(const std::filesystem::path& dir, const std::filesystem::path& sink_path, CrashStats& stats) {
  std::ifstream in(sink_path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!text.empty() && text.back() != '\n') ++stats.torn;
  int64_t file_lsn = 0;
  const size_t end = text.rfind('\n');
  if (end != std::string::npos) {
    const size_t start = text.rfind('\n', end == 0 ? 0 : end - 1);
    const size_t from = (start == std::string::npos || start == end) ? 0 : start + 1;
    file_lsn = Json::parse(text.substr(from, end - from))["lsn"].get<int64_t>();
  }
  // The database is opened only between children and closed before the next fork.
  auto db = Database::Open(dir, kNs);
  ASSERT_THAT(db, IsOk());
  auto cps = CdcCheckpoints(**db).List();
  ASSERT_THAT(cps, IsOk());
  const int64_t checkpoint = cps->empty() ? 0 : cps->front().lsn;
  auto last = ChangeFeed(**db).LastLsn();
  ASSERT_THAT(last, IsOk());
  if (file_lsn > checkpoint) ++stats.file_ahead_of_checkpoint;
  if (*last > file_lsn) ++stats.events_pending;
}

TEST(CdcCrashTest, SigkillAtRandomPointsLosesAndDuplicatesNothing) {
  ScratchDir dir;
  const auto sink_path = dir.path() / "events.jsonl";
  std::mt19937 rng(424242);
  std::set<std::string> reported;
  constexpr int kRounds = 20;
  int killed_while_running = 0;
  CrashStats stats;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      ChildLoop(dir.path(), sink_path, round, fds[1]);
    }
    ::close(fds[1]);
    std::string buffer;
    const auto delay = std::chrono::milliseconds(20 + static_cast<int>(rng() % 230));
    Drain(fds[0], buffer, std::chrono::steady_clock::now() + delay, /*until_eof=*/false);
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    Drain(fds[0], buffer, {}, /*until_eof=*/true);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own with code " << WEXITSTATUS(status)
                                     << " in round " << round;
    if (WTERMSIG(status) == SIGKILL) ++killed_while_running;
    ObserveCrashState(dir.path(), sink_path, stats);
    std::istringstream lines(buffer);
    for (std::string line; std::getline(lines, line);) {
      ASSERT_EQ(line.rfind("C ", 0), 0u) << line;
      reported.insert(line.substr(2));
    }
  }
  EXPECT_EQ(killed_while_running, kRounds);
  ASSERT_GT(reported.size(), 20u) << "the child committed too little to test anything";

  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), kNs));
  DocumentStore docs(*db);
  ChangeFeed feed(*db);
  // Every event in the outbox, in lsn order: gap-free 1..N, one per committed document.
  std::vector<UnifiedEvent> events;
  for (int64_t after = 0;;) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto page, feed.Read(after, 10000));
    if (page.empty()) break;
    after = *page.back().lsn;
    events.insert(events.end(), page.begin(), page.end());
  }
  std::map<std::string, int> events_per_key;
  for (size_t i = 0; i < events.size(); ++i) {
    const UnifiedEvent& e = events[i];
    ASSERT_EQ(e.lsn, static_cast<int64_t>(i + 1)) << "lsn gap";
    EXPECT_EQ(e.type, "cdc.insert");
    EXPECT_EQ(e.table, kType);
    ASSERT_TRUE(e.key.has_value());
    EXPECT_EQ(e.key->rfind("ok-", 0), 0u) << "event of a rolled-back transaction: " << *e.key;
    ++events_per_key[*e.key];
  }
  for (const auto& [key, n] : events_per_key) EXPECT_EQ(n, 1) << key;
  for (const auto& key : reported) {
    EXPECT_EQ(events_per_key.count(key), 1u) << "committed document without event: " << key;
    EXPECT_THAT(docs.Get(key), IsOk()) << key;
  }
  // Nothing uncommitted is visible: the live documents are exactly the ones with an event.
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t live, docs.Count(kType));
  EXPECT_EQ(live, static_cast<int64_t>(events_per_key.size()));
  std::string cursor;
  int64_t listed = 0;
  do {
    DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage page, docs.List(kType, 1000, cursor));
    for (const Json& d : page.items) {
      const std::string id = d["$id"].get<std::string>();
      EXPECT_EQ(events_per_key.count(id), 1u) << "document without event: " << id;
      ++listed;
    }
    cursor = page.next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(listed, live);

  // One more pipeline run completes the file: every event exactly once, in lsn order.
  auto lines_before = ReadJsonLines(sink_path);
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto sink, JsonlFileSink::Open(sink_path));
    CdcPipeline pipeline(*db, *sink);
    DOTDO_ASSERT_OK(pipeline.RunOnce());
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t cp, pipeline.Checkpoint());
    EXPECT_EQ(cp, static_cast<int64_t>(events.size()));
  }
  auto lines = ReadJsonLines(sink_path);
  EXPECT_LE(lines_before.size(), lines.size());
  ASSERT_EQ(lines.size(), events.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i]["lsn"], static_cast<int64_t>(i + 1)) << "gap or duplicate in the sink file";
    EXPECT_EQ(lines[i]["id"], events[i].id);
    EXPECT_EQ(lines[i]["key"], GlobalId(kNs, kType, *events[i].key));
  }
  std::cerr << "[ crash ] " << kRounds << " kills: " << stats.torn << " left a torn line, "
            << stats.file_ahead_of_checkpoint << " a file ahead of its checkpoint, " << stats.events_pending
            << " events not yet exported; " << events.size() << " events in total, " << lines_before.size()
            << " in the file before the final run\n";
}

}  // namespace
}  // namespace dotdo
