// The server under concurrency: the SSE tail resumed with Last-Event-ID loses and repeats nothing
// while writers commit; Stop() with requests in flight lets each finish (every acknowledged write
// is there after a reopen, none is cut off); the per-namespace limit answers 429; and a bounded
// `wrk` run (loopback, 3 s) of gets and creates on several namespaces with zero errors, every
// acknowledged create readable afterwards with exactly one event, and bounded memory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>

#include "dotdo/cdc.h"
#include "server/server_test_util.h"

namespace dotdo::testing {
namespace {

int64_t RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return 0;
}

// Reads SSE messages, hanging up after `max_events`; returns the lsns received.
std::vector<int64_t> TailOnce(const TestServer& s, const std::string& ns, std::optional<int64_t> last_id,
                              size_t max_events) {
  auto c = s.Client();
  httplib::Headers h;
  if (last_id) h.emplace("Last-Event-ID", std::to_string(*last_id));
  std::vector<int64_t> lsns;
  std::string buf;
  c->Get(("/v1/ns/" + ns + "/events/stream?after=0").c_str(), h, [&](const char* data, size_t len) {
    buf.append(data, len);
    size_t end;
    while ((end = buf.find("\n\n")) != std::string::npos) {
      const std::string msg = buf.substr(0, end);
      buf.erase(0, end + 2);
      if (msg.rfind("id: ", 0) == 0) lsns.push_back(std::stoll(msg.substr(4, msg.find('\n') - 4)));
    }
    return lsns.size() < max_events;
  });
  return lsns;
}

TEST(ServerLoadTest, SseResumeWithLastEventIdLosesAndDuplicatesNothing) {
  TestServer s;
  DOTDO_ASSERT_OK(s.Start());
  ASSERT_EQ(s.Call("POST", "/v1/ns/sse/docs", R"({"$type":"T"})").status, 201);
  constexpr int kWrites = 300;
  std::thread writer([&] {
    auto c = s.Client();
    for (int i = 1; i < kWrites; ++i) {
      EXPECT_EQ(TestServer::Send(*c, "POST", "/v1/ns/sse/docs", R"({"$type":"T","i":)" + std::to_string(i) + "}").status, 201);
    }
  });
  std::vector<int64_t> all;
  std::optional<int64_t> last;
  while (all.size() < static_cast<size_t>(kWrites)) {
    // Reconnect every 37 events, mid-stream (and take exactly what is left at the end).
    auto got = TailOnce(s, "sse", last, std::min<size_t>(37, kWrites - all.size()));
    all.insert(all.end(), got.begin(), got.end());
    if (!got.empty()) last = got.back();
  }
  writer.join();
  ASSERT_EQ(all.size(), static_cast<size_t>(kWrites));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], static_cast<int64_t>(i + 1));
}

TEST(ServerLoadTest, StopFinishesRequestsInFlightAndEndsStreams) {
  ScratchDir data;
  std::atomic<int> acknowledged{0};
  std::set<std::string> ids;
  std::mutex ids_mu;
  {
    ServerOptions o;
    o.threads = 8;
    TestServer s(o, data.path());
    DOTDO_ASSERT_OK(s.Start());
    ASSERT_EQ(s.Call("POST", "/v1/ns/stop/docs", R"({"$type":"T"})").status, 201);
    // A slow statement in flight when Stop() comes: it must complete with its answer.
    HttpReply slow;
    std::thread slow_thread([&] {
      slow = s.Call("POST", "/v1/ns/stop/sql",
                    R"({"sql":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c"})");
    });
    std::atomic<bool> stream_ended{false};
    std::thread stream([&] {
      TailOnce(s, "stop", 0, 1u << 30);
      stream_ended = true;
    });
    std::vector<std::thread> writers;
    std::atomic<bool> go{true};
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&] {
        auto c = s.Client();
        while (go) {
          HttpReply r = TestServer::Send(*c, "POST", "/v1/ns/stop/docs", R"({"$type":"T"})");
          if (r.status == 0) break;  // the server stopped accepting
          ASSERT_EQ(r.status, 201) << r.body;
          ASSERT_TRUE(r.json.contains("$id")) << "a cut-off answer: " << r.body;
          ++acknowledged;
          std::lock_guard lock(ids_mu);
          ids.insert(r.json["$id"].get<std::string>());
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s.Stop();  // returns once in-flight requests are answered
    go = false;
    for (auto& t : writers) t.join();
    slow_thread.join();
    stream.join();
    EXPECT_TRUE(stream_ended);
    EXPECT_EQ(slow.status, 200) << slow.body;
    EXPECT_EQ(slow.json["rows"][0]["n"], 3000000);
    EXPECT_TRUE(s.host().OpenNamespaces().empty());
  }
  // Reopened: every acknowledged create is there, each with its one event.
  auto host = NamespaceHost::Open({.data_dir = data.path()}).value();
  auto ns = host->Get("stop", false).value();
  auto docs = ns->Documents().value();
  // A create whose answer was lost with a closing connection may be stored unacknowledged (one
  // per writer at most); every acknowledged one must be there.
  const int64_t stored = docs.Count("T").value();
  EXPECT_GE(stored, acknowledged.load() + 1);
  EXPECT_LE(stored, acknowledged.load() + 1 + 4);
  for (const auto& id : ids) EXPECT_TRUE(docs.Get(id).ok()) << id;
  EXPECT_EQ(ChangeFeed(ns->db()).LastLsn().value(), stored);
}

TEST(ServerLoadTest, ConcurrentRequestsPerNamespaceAreLimited) {
  ServerOptions o;
  o.max_concurrent_per_namespace = 1;
  TestServer s(o);
  DOTDO_ASSERT_OK(s.Start());
  ASSERT_EQ(s.Call("POST", "/v1/ns/lim/docs", R"({"$type":"T"})").status, 201);
  std::atomic<bool> done{false};
  std::thread slow([&] {
    // Retried while the probing loop below holds the one slot.
    while (s.Call("POST", "/v1/ns/lim/sql",
                  R"({"sql":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 5000000) SELECT count(*) FROM c"})")
               .status == 429) {
    }
    done = true;
  });
  int limited = 0;
  while (!done && limited == 0) {
    HttpReply r = s.Call("GET", "/v1/ns/lim/types/T/count");
    if (r.status == 429) {
      ++limited;
      EXPECT_EQ(r.ErrorCode(), "RESOURCE_EXHAUSTED");
      EXPECT_EQ(r.Header("Retry-After"), "1");
    }
  }
  slow.join();
  EXPECT_EQ(limited, 1);
  EXPECT_EQ(s.Call("GET", "/v1/ns/other/types/T/count").status, 404);  // another namespace is not limited
}

TEST(ServerLoadTest, BoundedWrkRunLosesNoWrite) {
  const std::string wrk = "/usr/bin/wrk";
  if (!std::filesystem::exists(wrk)) GTEST_SKIP() << "wrk is not installed (scripts/setup.sh)";
  ServerOptions o;
  o.threads = 16;
  o.access_log = [](const std::string&) {};
  TestServer s(o);
  DOTDO_ASSERT_OK(s.Start());
  const std::vector<std::string> namespaces = {"w0", "w1", "w2", "w3"};
  for (const auto& ns : namespaces) ASSERT_EQ(s.Call("POST", "/v1/ns/" + ns + "/docs", R"({"$type":"T","$id":"seed"})").status, 201);
  ScratchDir dir;
  const auto script = dir.path() / "load.lua";
  std::ofstream(script) << R"(
local counter = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) created = 0; other = 0 end
function request()
  counter = counter + 1
  local ns = "w" .. (counter % 4)
  if counter % 2 == 0 then
    return wrk.format("POST", "/v1/ns/" .. ns .. "/docs", {["Content-Type"] = "application/json"}, '{"$type":"T"}')
  end
  return wrk.format("GET", "/v1/ns/" .. ns .. "/docs/seed")
end
function response(status, headers, body)
  if status == 201 then created = created + 1 elseif status ~= 200 then other = other + 1 end
end
function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("created"); o = o + t:get("other") end
  io.write(string.format("CREATED %d OTHER %d ERRORS %d\n", c, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
)";
  const int64_t rss_before = RssKiB();
  CliRun run = RunProgram(wrk, {"-t2", "-c16", "-d3s", "--timeout", "10s", "-s", script.string(),
                                  "http://127.0.0.1:" + std::to_string(s.port())});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.out, m, std::regex("CREATED (\\d+) OTHER (\\d+) ERRORS (\\d+)"))) << run.out;
  const int64_t created = std::stoll(m[1]);
  EXPECT_GT(created, 100);
  EXPECT_EQ(std::stoll(m[2]), 0) << run.out;
  EXPECT_EQ(std::stoll(m[3]), 0) << run.out;
  int64_t stored = 0, events = 0;
  for (const auto& ns : namespaces) {
    Json count = s.Call("GET", "/v1/ns/" + ns + "/types/T/count").json;
    stored += count["count"].get<int64_t>() - 1;
    events += s.Call("GET", "/v1/ns/" + ns).json["last_lsn"].get<int64_t>() - 1;
  }
  // Every acknowledged create is readable; wrk drops the answers still in flight when its time is
  // up, so at most one create per connection may be stored without having been counted.
  EXPECT_GE(stored, created);
  EXPECT_LE(stored, created + 16);
  EXPECT_EQ(events, stored);  // exactly one event per stored create
  EXPECT_LT(RssKiB() - rss_before, 256 * 1024) << "memory grew by more than 256 MiB";
}

}  // namespace
}  // namespace dotdo::testing
