// cdc suite: delivery throughput of the CDC pipeline.
//   jsonl      events/s outbox -> JsonlFileSink (fsync per batch), against writing the same lines
//              (the globally transformed events) to a file with one fsync per batch.
//   jetstream  events/s outbox -> JetStreamSink (acks awaited per batch), against a bare
//              async-publish-and-wait loop of the same payloads on the same server; target ratio
//              >= 0.5. Then the delivery lag p99 (ms from commit to JetStream ack) under a sustained
//              write load, informational.
// Both sides must deliver the same events (byte-identical files; equal message counts), else the
// suite fails. nats-server (Debian's, scripts/setup.sh) runs on a free loopback port in the run's
// directory; without it the suite fails.
#include <arpa/inet.h>
#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench.h"
#include "dotdo/cdc.h"

namespace dotdo::bench {
namespace {

namespace fs = std::filesystem;

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// nats-server -js on loopback, stopped on destruction.
class Nats {
 public:
  Nats(const fs::path& dir, const std::string& program) : port_(FreePort()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      const std::string port = std::to_string(port_), store = (dir / "nats").string();
      ::execl(program.c_str(), program.c_str(), "-js", "-a", "127.0.0.1", "-p", port.c_str(), "-sd", store.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      natsConnection* nc = nullptr;
      if (natsConnection_ConnectTo(&nc, url().c_str()) == NATS_OK) {
        natsConnection_Destroy(nc);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("nats-server did not come up on " + url());
  }
  ~Nats() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

std::string FindNats() {
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string(what) + ": " + s.ToString());
}

void EmitN(Database& db, int64_t n) {
  CdcEmitter emitter(db);
  std::vector<DomainEvent> batch(100);
  for (auto& e : batch) {
    e.type = "Order.placed";
    e.data = Json{{"sku", "A-1001"}, {"qty", 2}, {"note", std::string(120, 'x')}};
  }
  for (int64_t i = 0; i < n; i += 100) Check(emitter.EmitBatch(batch).status(), "emit");
}

// Every committed event, in lsn order (ChangeFeed::Read pages at most 10000).
std::vector<UnifiedEvent> ReadAll(Database& db) {
  std::vector<UnifiedEvent> out;
  for (;;) {
    auto page = ChangeFeed(db).Read(out.empty() ? 0 : *out.back().lsn, 10000);
    Check(page.status(), "read");
    if (page->empty()) return out;
    out.insert(out.end(), page->begin(), page->end());
  }
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int RunJsonl(const Options& options, int64_t n, int64_t batch) {
  const fs::path dir = fs::path(options.data_dir) / "jsonl";
  fs::create_directories(dir);
  auto db = Database::Open(dir, "bench");
  Check(db.status(), "open");
  EmitN(**db, n);
  const std::vector<UnifiedEvent> events = ReadAll(**db);
  std::vector<std::string> lines;
  for (const auto& e : events) lines.push_back(EventToJson(ToGlobalEvent(e)).dump() + "\n");
  double ours = 1e100, base = 1e100;
  for (int round = 0; round < 3; ++round) {
    const fs::path ours_path = dir / ("ours" + std::to_string(round) + ".jsonl");
    const fs::path base_path = dir / ("base" + std::to_string(round) + ".jsonl");
    ours = std::min(ours, TimeIt([&] {
      auto sink = JsonlFileSink::Open(ours_path);
      Check(sink.status(), "sink");
      CdcPipeline pipeline(**db, **sink, {.batch_size = batch});
      Check(pipeline.RunOnce().status(), "pipeline");
      CdcCheckpoints(**db).Unregister((*sink)->Name()).IgnoreError();
    }));
    base = std::min(base, TimeIt([&] {
      const int fd = ::open(base_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      std::string buf;
      for (size_t i = 0; i < lines.size(); ++i) {
        buf += lines[i];
        if ((i + 1) % static_cast<size_t>(batch) == 0 || i + 1 == lines.size()) {
          if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) throw std::runtime_error("write");
          ::fsync(fd);
          buf.clear();
        }
      }
      ::close(fd);
    }));
    if (ReadFile(ours_path) != ReadFile(base_path)) {
      std::fprintf(stderr, "cdc bench: the JSONL sink and the baseline wrote different files\n");
      return 1;
    }
    fs::remove(ours_path);
    fs::remove(base_path);
  }
  Report({"cdc", "jsonl", "events_per_s", "append_fsync_per_batch", n / ours, n / base, true,
          std::to_string(n) + " events, batches of " + std::to_string(batch) +
              ", fsync per batch on both sides; ours includes the outbox read, the global transform and the checkpoint"});
  return 0;
}

// The baseline: the same payloads published asynchronously on a bare connection, then waited for.
// With `ids` (one per message), each carries the Nats-Msg-Id header as the sink's do, so the server
// deduplicates them too: the protocol cost of exactly-once, without our pipeline.
int64_t BarePublish(const std::string& url, const std::vector<std::pair<std::string, std::string>>& msgs, int max_pending,
                    const std::vector<std::string>* ids = nullptr) {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = max_pending;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK || natsConnection_JetStream(&js, nc, &jo) != NATS_OK)
    throw std::runtime_error("baseline connect");
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {"bare.>"};
  cfg.Name = "BARE";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  jsStreamInfo* si = nullptr;
  js_AddStream(&si, js, &cfg, nullptr, nullptr);
  if (si != nullptr) jsStreamInfo_Destroy(si);
  for (size_t i = 0; i < msgs.size(); ++i) {
    const auto& [subject, payload] = msgs[i];
    const std::string bare = "bare." + subject;
    if (ids == nullptr) {
      js_PublishAsync(js, bare.c_str(), payload.data(), static_cast<int>(payload.size()), nullptr);
      continue;
    }
    natsMsg* msg = nullptr;
    natsMsg_Create(&msg, bare.c_str(), nullptr, payload.data(), static_cast<int>(payload.size()));
    natsMsgHeader_Set(msg, "Nats-Msg-Id", (*ids)[i].c_str());
    if (js_PublishMsgAsync(js, &msg, nullptr) != NATS_OK && msg != nullptr) natsMsg_Destroy(msg);
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 30000;
  if (js_PublishAsyncComplete(js, &po) != NATS_OK) throw std::runtime_error("baseline acks");
  int64_t stored = 0;
  if (js_GetStreamInfo(&si, js, "BARE", nullptr, nullptr) == NATS_OK) {
    stored = static_cast<int64_t>(si->State.Msgs);
    jsStreamInfo_Destroy(si);
  }
  js_DeleteStream(js, "BARE", nullptr, nullptr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return stored;
}

int64_t StreamCount(const std::string& url, const char* stream, bool remove) {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jsStreamInfo* si = nullptr;
  int64_t n = -1;
  if (natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK && natsConnection_JetStream(&js, nc, nullptr) == NATS_OK &&
      js_GetStreamInfo(&si, js, stream, nullptr, nullptr) == NATS_OK) {
    n = static_cast<int64_t>(si->State.Msgs);
    jsStreamInfo_Destroy(si);
    if (remove) js_DeleteStream(js, stream, nullptr, nullptr);
  }
  if (js != nullptr) jsCtx_Destroy(js);
  if (nc != nullptr) natsConnection_Destroy(nc);
  return n;
}

int RunJetStream(const Options& options, int64_t n, int64_t batch, double load_seconds) {
  const std::string program = FindNats();
  if (program.empty()) {
    std::fprintf(stderr, "cdc bench: nats-server not found (run scripts/setup.sh)\n");
    return 1;
  }
  const fs::path dir = fs::path(options.data_dir) / "jetstream";
  fs::create_directories(dir);
  Nats nats(dir, program);
  auto db = Database::Open(dir, "bench");
  Check(db.status(), "open");
  EmitN(**db, n);
  const std::vector<UnifiedEvent> events = ReadAll(**db);
  std::vector<std::pair<std::string, std::string>> msgs;
  std::vector<std::string> ids;
  for (const auto& e : events) {
    const UnifiedEvent g = ToGlobalEvent(e);
    msgs.emplace_back(JetStreamSubject(g), EventToJson(g).dump());
    ids.push_back(g.id);
  }
  JetStreamSinkOptions so;
  so.url = nats.url();
  so.stream = "DOTDO";
  double ours = 1e100, base = 1e100, base_ids = 1e100;
  for (int round = 0; round < 3; ++round) {
    int64_t bare_stored = 0, bare_ids_stored = 0;
    ours = std::min(ours, TimeIt([&] {
      auto sink = JetStreamSink::Open(so);
      Check(sink.status(), "sink");
      CdcPipeline pipeline(**db, **sink, {.batch_size = batch});
      Check(pipeline.RunOnce().status(), "pipeline");
      CdcCheckpoints(**db).Unregister((*sink)->Name()).IgnoreError();
    }));
    base = std::min(base, TimeIt([&] { bare_stored = BarePublish(nats.url(), msgs, so.max_in_flight); }));
    base_ids = std::min(base_ids, TimeIt([&] { bare_ids_stored = BarePublish(nats.url(), msgs, so.max_in_flight, &ids); }));
    const int64_t ours_stored = StreamCount(nats.url(), "DOTDO", /*remove=*/true);
    if (ours_stored != n || bare_stored != n || bare_ids_stored != n) {
      std::fprintf(stderr, "cdc bench: stored %lld (sink) vs %lld (bare) of %lld events\n", static_cast<long long>(ours_stored),
                   static_cast<long long>(bare_stored), static_cast<long long>(n));
      return 1;
    }
  }
  Report({"cdc", "jetstream", "events_per_s", "bare_async_publish", n / ours, n / base, true,
          std::to_string(n) + " events, pipeline batches of " + std::to_string(batch) + ", " +
              std::to_string(so.max_in_flight) + " in flight on both sides; target ratio >= 0.5"});
  Report({"cdc", "jetstream_vs_msg_id_publish", "events_per_s", "bare_async_publish_with_msg_id", n / ours, n / base_ids,
          true, "the same, against a bare loop that also sends the Nats-Msg-Id header (server-side deduplication)"});

  // Lag under a sustained write load: a writer commits 10 events every 2 ms while the pipeline runs
  // in the background; every 5 ms, lag = now - commit time of the oldest event not yet acknowledged.
  auto sink = JetStreamSink::Open(so);
  Check(sink.status(), "sink");
  CdcPipeline pipeline(**db, **sink, {.batch_size = batch});
  Check(pipeline.RunOnce().status(), "catch up");
  Check(pipeline.Start(50), "start");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    CdcEmitter emitter(**db);
    std::vector<DomainEvent> ten(10);
    for (auto& e : ten) e.type = "Order.placed";
    while (!stop) {
      Check(emitter.EmitBatch(ten).status(), "emit");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::vector<double> lags;
  const double until = NowSeconds() + load_seconds;
  while (NowSeconds() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto cp = pipeline.Checkpoint();
    if (!cp.ok()) continue;
    auto next = ChangeFeed(**db).Read(*cp, 1);
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    lags.push_back(next.ok() && !next->empty() ? static_cast<double>(now_ms - next->front().timestamp) : 0.0);
  }
  stop = true;
  writer.join();
  Check(pipeline.Stop(), "pipeline");
  Report({"cdc", "jetstream_lag_p99", "ms", "none", Percentile(lags, 99), Percentile(lags, 99), false,
          "informational; writer commits 10 events / 2 ms for " + std::to_string(load_seconds) +
              " s, background pipeline; lag sampled every 5 ms; p50 " + std::to_string(Percentile(lags, 50)) + " ms"});
  return 0;
}

}  // namespace

DOTDO_BENCH_SUITE(cdc) {
  const int64_t n = options.quick ? 2000 : 100000;
  const int64_t batch = 500;
  try {
    if (int rc = RunJsonl(options, n, batch); rc != 0) return rc;
    return RunJetStream(options, n, batch, options.quick ? 1.0 : 10.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cdc bench: %s\n", e.what());
    return 1;
  }
}

}  // namespace dotdo::bench
