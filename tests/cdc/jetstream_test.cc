// JetStreamSink against a real nats-server -js (Debian's nats-server, installed by scripts/setup.sh;
// a missing binary fails these tests): subject escaping and option validation, delivery through the
// pipeline with the Nats-Msg-Id / Dotdo-Lsn headers, an outage (server down: the checkpoint and
// retention stay put, everything arrives after the restart), and the exactly-once crash test: a
// writer process emits events while the pipeline process is SIGKILLed at random moments and the
// server is restarted twice; the stream then holds every committed event exactly once, in lsn order.
#include <nats/nats.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "dotdo/cdc.h"
#include "dotdo/host.h"
#include "testing/child_process.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::ChildProcess;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

// nats-server -js on a free loopback port with its store in a scratch directory.
class NatsServer {
 public:
  NatsServer() : port_(::dotdo::testing::FreeLoopbackPort()) {}
  bool Start() {
    const std::string program = ::dotdo::testing::FindProgram("nats-server");
    if (program.empty()) {
      ADD_FAILURE() << "nats-server not found: run scripts/setup.sh";
      return false;
    }
    if (!process_.Start(program, {"-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd", (dir_.path() / "js").string()},
                        dir_.path() / "server.log"))
      return false;
    if (!::dotdo::testing::WaitForPort(port_, std::chrono::seconds(20))) {
      ADD_FAILURE() << "nats-server did not listen on " << port_;
      return false;
    }
    for (int i = 0; i < 200; ++i) {  // JetStream answers a moment after the port opens
      if (JetStreamReady()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "JetStream did not become ready on " << port_;
    return false;
  }
  bool JetStreamReady() {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    jsAccountInfo* ai = nullptr;
    const bool ok = natsConnection_ConnectTo(&nc, url().c_str()) == NATS_OK &&
                    natsConnection_JetStream(&js, nc, nullptr) == NATS_OK &&
                    js_GetAccountInfo(&ai, js, nullptr, nullptr) == NATS_OK;
    if (ai != nullptr) jsAccountInfo_Destroy(ai);
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) natsConnection_Destroy(nc);
    return ok;
  }
  void Stop() { process_.Stop(); }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  ScratchDir dir_;
  int port_;
  ChildProcess process_;
};

JetStreamSinkOptions SinkOptions(const std::string& url) {
  JetStreamSinkOptions o;
  o.url = url;
  o.stream = "DOTDO";
  o.ack_timeout_ms = 2000;
  o.max_attempts = 3;
  o.max_in_flight = 64;
  return o;
}

struct StoredEvent {
  std::string subject;
  std::string id;
  int64_t lsn = 0;
};

// Every message of the stream, in stream order (a missing stream is a test failure unless `quiet`).
std::vector<StoredEvent> ReadStream(const std::string& url, const std::string& stream, bool quiet = false) {
  std::vector<StoredEvent> out;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jsStreamInfo* si = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK || natsConnection_JetStream(&js, nc, nullptr) != NATS_OK ||
      js_GetStreamInfo(&si, js, stream.c_str(), nullptr, nullptr) != NATS_OK) {
    if (!quiet) ADD_FAILURE() << "cannot read stream " << stream;
  } else {
    for (uint64_t seq = si->State.FirstSeq; seq <= si->State.LastSeq && seq > 0; ++seq) {
      natsMsg* msg = nullptr;
      if (js_GetMsg(&msg, js, stream.c_str(), seq, nullptr, nullptr) != NATS_OK) continue;  // deleted
      StoredEvent e;
      e.subject = natsMsg_GetSubject(msg);
      const char* v = nullptr;
      if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &v) == NATS_OK) e.id = v;
      if (natsMsgHeader_Get(msg, "Dotdo-Lsn", &v) == NATS_OK) e.lsn = std::strtoll(v, nullptr, 10);
      out.push_back(e);
      natsMsg_Destroy(msg);
    }
    jsStreamInfo_Destroy(si);
  }
  if (js != nullptr) jsCtx_Destroy(js);
  if (nc != nullptr) natsConnection_Destroy(nc);
  return out;
}

// RunOnce until it succeeds: a restarted server accepts connections a moment before JetStream answers.
Result<int64_t> RunWhenReady(CdcPipeline& pipeline) {
  Result<int64_t> r = pipeline.RunOnce();
  for (int i = 0; i < 100 && !r.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = pipeline.RunOnce();
  }
  return r;
}

Status EmitOrders(Database& db, int n) {
  CdcEmitter emitter(db);
  for (int i = 0; i < n; ++i) {
    DomainEvent e;
    e.type = "Order.placed";
    e.data = Json{{"i", i}};
    DOTDO_RETURN_IF_ERROR(emitter.Emit(e).status());
  }
  return OkStatus();
}

TEST(JetStreamSinkTest, SubjectTokensAreEscapedAndOptionsValidated) {
  EXPECT_EQ(JetStreamSubjectToken("orders"), "orders");
  EXPECT_EQ(JetStreamSubjectToken("a.b*c>d e%"), "a%2Eb%2Ac%3Ed%20e%25");
  EXPECT_EQ(JetStreamSubjectToken(""), "-");
  UnifiedEvent e;
  e.ns = "acme.eu";
  e.store = "document";
  e.table = "Order";
  EXPECT_EQ(JetStreamSubject(e), "dotdo.acme%2Eeu.document.Order");
  e.store.reset();
  e.table.reset();
  EXPECT_EQ(JetStreamSubject(e), "dotdo.acme%2Eeu.-.-");

  auto o = SinkOptions("nats://127.0.0.1:1");
  o.url = "";
  EXPECT_THAT(JetStreamSink::Open(o), StatusIs(StatusCode::kInvalidArgument, "url"));
  o = SinkOptions("nats://127.0.0.1:1");
  o.stream = "bad.name";
  EXPECT_THAT(JetStreamSink::Open(o), StatusIs(StatusCode::kInvalidArgument, "stream name"));
  o = SinkOptions("nats://127.0.0.1:1");
  o.max_in_flight = 0;
  EXPECT_THAT(JetStreamSink::Open(o), StatusIs(StatusCode::kInvalidArgument, "max_in_flight"));
  o = SinkOptions("nats://127.0.0.1:1 x");
  EXPECT_THAT(JetStreamSink::Open(o), StatusIs(StatusCode::kInvalidArgument));
  // Nothing listens on a fresh port: unavailable, retryable.
  EXPECT_THAT(JetStreamSink::Open(SinkOptions("nats://127.0.0.1:" + std::to_string(::dotdo::testing::FreeLoopbackPort()))),
              StatusIs(StatusCode::kUnavailable));
}

TEST(JetStreamSinkTest, PipelineDeliversWithHeadersAndSurvivesAnOutage) {
  NatsServer server;
  ASSERT_TRUE(server.Start());
  ScratchDir dir;
  auto db = ::dotdo::testing::OpenMemoryDb(nullptr, "shop.eu");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sink, JetStreamSink::Open(SinkOptions(server.url())));
  EXPECT_EQ(sink->Name(), "jetstream:DOTDO");
  DOTDO_ASSERT_OK(EmitOrders(*db, 25));
  CdcPipeline pipeline(*db, *sink, {.batch_size = 10});
  EXPECT_THAT(sink->Write({}), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, pipeline.RunOnce());
  EXPECT_EQ(n, 25);
  EXPECT_THAT(sink->Claim("other"), StatusIs(StatusCode::kFailedPrecondition));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto held, sink->Recover());
  EXPECT_EQ(held, std::optional<int64_t>(25));

  // Server down: the batch fails, the checkpoint stays, retention keeps the events.
  server.Stop();
  DOTDO_ASSERT_OK(EmitOrders(*db, 5));
  EXPECT_FALSE(pipeline.RunOnce().ok());
  EXPECT_EQ(*pipeline.Checkpoint(), 25);
  CdcCheckpoints checkpoints(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t deleted, checkpoints.ApplyRetention());
  EXPECT_EQ(deleted, 25);  // exactly what the sink acknowledged
  ASSERT_TRUE(server.Start());
  DOTDO_ASSERT_OK_AND_ASSIGN(n, RunWhenReady(pipeline));
  EXPECT_EQ(n, 5);
  EXPECT_EQ(*pipeline.Checkpoint(), 30);

  const auto stored = ReadStream(server.url(), "DOTDO");
  ASSERT_EQ(stored.size(), 30u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db).Read(25, 10));
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].lsn, static_cast<int64_t>(i + 1));
    EXPECT_EQ(stored[i].subject, "dotdo.shop%2Eeu.-.-");
  }
  EXPECT_EQ(stored.back().id, events.back().id);
}

// The writer: emits 1..3 events per transaction until killed.
[[noreturn]] void WriterLoop(const std::filesystem::path& dir) {
  auto db = Database::Open(dir, "kill");
  if (!db.ok()) ::_exit(4);
  CdcEmitter emitter(**db);
  std::mt19937 rng(::getpid());
  for (int i = 0;; ++i) {
    std::vector<DomainEvent> batch(1 + rng() % 3);
    for (auto& e : batch) {
      e.type = "Order.placed";
      e.data = Json{{"i", i}};
    }
    if (!emitter.EmitBatch(batch).ok()) ::_exit(5);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// The pipeline: delivers to JetStream until killed, riding out server restarts.
[[noreturn]] void PipelineLoop(const std::filesystem::path& dir, const std::string& url) {
  auto db = Database::Open(dir, "kill");
  if (!db.ok()) ::_exit(6);
  for (;;) {
    auto sink = JetStreamSink::Open(SinkOptions(url));
    if (!sink.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    CdcPipeline pipeline(**db, **sink, {.batch_size = 16});
    while (pipeline.RunOnce().ok()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

pid_t ForkRunning(const std::function<void()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(125);
  }
  return pid;
}

void KillAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST(JetStreamSinkTest, ExactlyOnceAcrossPipelineKillsAndServerRestarts) {
  NatsServer server;
  ASSERT_TRUE(server.Start());
  ScratchDir dir;
  { ASSERT_THAT(Database::Open(dir.path(), "kill"), IsOk()); }
  const pid_t writer = ForkRunning([&] { WriterLoop(dir.path()); });
  ASSERT_GT(writer, 0);
  std::mt19937 rng(11);
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    const pid_t pipeline = ForkRunning([&] { PipelineLoop(dir.path(), server.url()); });
    ASSERT_GT(pipeline, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
    if (round == 2 || round == 5) {  // the server goes away under a running pipeline, twice
      server.Stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 100));
      ASSERT_TRUE(server.Start());
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
    }
    KillAndReap(pipeline);
  }
  KillAndReap(writer);

  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "kill"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sink, JetStreamSink::Open(SinkOptions(server.url())));
  CdcPipeline pipeline(*db, *sink);
  DOTDO_ASSERT_OK(RunWhenReady(pipeline).status());
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t last, ChangeFeed(*db).LastLsn());
  EXPECT_EQ(*pipeline.Checkpoint(), last);
  ASSERT_GT(last, 100);  // the writer got somewhere

  const auto stored = ReadStream(server.url(), "DOTDO");
  ASSERT_EQ(stored.size(), static_cast<size_t>(last));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto first, ChangeFeed(*db).Read(0, 1));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(stored.front().id, first.front().id);
  for (size_t i = 0; i < stored.size(); ++i) ASSERT_EQ(stored[i].lsn, static_cast<int64_t>(i + 1)) << "position " << i;
}

// Events stored in the stream once it holds at least n (or what it holds after ~30 s).
std::vector<StoredEvent> WaitForStream(const std::string& url, const std::string& stream, size_t n) {
  std::vector<StoredEvent> got;
  for (int i = 0; i < 300; ++i) {
    got = ReadStream(url, stream, /*quiet=*/true);  // the sink creates the stream on its first delivery
    if (got.size() >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return got;
}

// lsns 1..n exactly once, in order.
void ExpectExactlyOnce(const std::vector<StoredEvent>& stored, int64_t n, const std::string& subject_prefix) {
  ASSERT_EQ(stored.size(), static_cast<size_t>(n));
  std::set<std::string> ids;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(stored[i].lsn, i + 1);
    EXPECT_EQ(stored[i].subject.rfind(subject_prefix, 0), 0u) << stored[i].subject;
    EXPECT_TRUE(ids.insert(stored[i].id).second) << "duplicate " << stored[i].id;
  }
}

// The host's configured sinks: read from <data>/dotdo.json, delivered in the background while a
// namespace is open (woken by each commit), through a server outage (retried with backoff), exactly
// once; then `dotdo events deliver`, `events sinks` and `config show|check` through the binary.
TEST(JetStreamSinkTest, HostDeliversConfiguredSinksInTheBackgroundAndFromTheCli) {
  NatsServer server;
  ASSERT_TRUE(server.Start());
  ScratchDir dir;
  const auto data = dir.path() / "data";
  std::filesystem::create_directories(data);
  const Json config = {{"sinks", Json::array({{{"type", "jetstream"}, {"url", server.url()}, {"stream", "HOSTED"},
                                               {"ackTimeout", "2s"}, {"maxAttempts", 2}}})},
                       {"delivery", {{"pollInterval", "100ms"}}}};
  std::ofstream(data / "dotdo.json") << config.dump();
  {
    NamespaceHostOptions o;
    o.data_dir = data;
    DOTDO_ASSERT_OK(LoadHostConfig(data / "dotdo.json", o));
    o.deliver_in_background = true;
    DOTDO_ASSERT_OK_AND_ASSIGN(auto host, NamespaceHost::Open(o));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto shop, host->Get("shop"));
    DOTDO_ASSERT_OK(EmitOrders(shop->db(), 40));
    ExpectExactlyOnce(WaitForStream(server.url(), "HOSTED", 40), 40, "dotdo.shop.");
    auto state = [&] {
      auto d = shop->Deliveries();
      EXPECT_THAT(d, IsOk());
      return d.ok() && d->size() == 1 ? (*d)[0] : SinkDelivery{};
    };
    for (int i = 0; i < 100 && state().checkpoint < 40; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    SinkDelivery d = state();
    EXPECT_EQ(d.sink, "jetstream:HOSTED");
    EXPECT_EQ(d.checkpoint, 40);
    EXPECT_EQ(d.lag, 0);
    EXPECT_TRUE(d.connected);
    EXPECT_EQ(d.last_error, "");

    // Outage: the failure is reported, nothing is lost, and delivery resumes after the restart.
    server.Stop();
    DOTDO_ASSERT_OK(EmitOrders(shop->db(), 10));
    for (int i = 0; i < 200 && state().last_error.empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    d = state();
    EXPECT_NE(d.last_error, "");
    EXPECT_EQ(d.lag, 10);
    ASSERT_TRUE(server.Start());
    ExpectExactlyOnce(WaitForStream(server.url(), "HOSTED", 50), 50, "dotdo.shop.");
  }

  // Written while nothing delivers; the CLI delivers it (and only it).
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(data, "shop"));
    DOTDO_ASSERT_OK(EmitOrders(*db, 5));
  }
  const std::string cli = DOTDO_CLI_PATH;
  const std::vector<std::string> global = {"--data", data.string(), "--ns", "shop", "--compact"};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), global.begin(), global.end());
    return ::dotdo::testing::RunProgram(cli, args);
  };
  auto delivered = run({"events", "deliver"});
  ASSERT_EQ(delivered.exit_code, 0) << delivered.err;
  const Json rounds = Json::parse(delivered.out);
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0]["namespace"], "shop");
  EXPECT_EQ(rounds[0]["delivered"], 5);
  EXPECT_EQ(rounds[0]["checkpoint"], 55);
  EXPECT_EQ(rounds[0]["lag"], 0);
  ExpectExactlyOnce(ReadStream(server.url(), "HOSTED"), 55, "dotdo.shop.");
  auto sinks = run({"events", "sinks"});
  ASSERT_EQ(sinks.exit_code, 0) << sinks.err;
  EXPECT_EQ(Json::parse(sinks.out)[0]["configured"], true);
  auto shown = run({"config", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(Json::parse(shown.out)["config"]["sinks"][0]["stream"], "HOSTED");
  auto checked = run({"config", "check"});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_EQ(Json::parse(checked.out)["sinks"][0]["ok"], true);

  server.Stop();
  checked = run({"config", "check"});
  EXPECT_EQ(checked.exit_code, 1);
  EXPECT_NE(checked.err.find("error: UNAVAILABLE: cannot reach jetstream:HOSTED"), std::string::npos) << checked.err;
  delivered = run({"events", "deliver"});
  EXPECT_EQ(delivered.exit_code, 1);
  EXPECT_NE(delivered.err.find("UNAVAILABLE"), std::string::npos) << delivered.err;
  auto missing = run({"--config", (dir.path() / "nope.json").string(), "events", "deliver"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace dotdo
