// The delivery side of CDC: the local -> global transform, JsonlFileSink (durability, torn-line
// recovery, locking), CdcPipeline (checkpoints, exactly-once reconciliation after simulated
// crashes at each step, background mode) and outbox retention (including a randomized model test).
#include <fstream>
#include <random>
#include <thread>

#include "cdc/outbox.h"
#include "dotdo/cdc.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::internal::Outbox;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Every line of a JSONL file, parsed; fails the test on a line that is not JSON or not complete.
std::vector<Json> ReadLines(const std::filesystem::path& p) {
  std::vector<Json> out;
  const std::string text = ReadFile(p);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      ADD_FAILURE() << "torn last line in " << p;
      break;
    }
    out.push_back(Json::parse(text.substr(start, nl - start)));
    start = nl + 1;
  }
  return out;
}

std::vector<int64_t> Lsns(const std::vector<Json>& lines) {
  std::vector<int64_t> out;
  for (const auto& j : lines) out.push_back(j["lsn"].get<int64_t>());
  return out;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

// Commits `n` single-event transactions (document inserts of table Customer, keys c<i>).
void Commit(Database& db, int n) {
  auto o = Outbox::Of(db);
  ASSERT_THAT(o, IsOk());
  for (int i = 0; i < n; ++i) {
    DOTDO_ASSERT_OK(db.Transaction([&] {
      std::string key = "c" + std::to_string(i);
      return (*o)->AppendChange(ChangeOp::kInsert, "document", "Customer", key, std::nullopt,
                                Json{{"$id", key}, {"$type", "Customer"}, {"name", "n" + std::to_string(i)}});
    }));
  }
}

std::unique_ptr<JsonlFileSink> OpenSink(const std::filesystem::path& p) {
  auto s = JsonlFileSink::Open(p);
  EXPECT_THAT(s, IsOk());
  return s.ok() ? std::move(s).value() : nullptr;
}

// A sink that forwards to a JsonlFileSink and then fails in a configured way, standing in for a
// crash at a given point of the delivery step.
class FailingSink final : public CdcSink {
 public:
  enum class Mode { kNone, kFailBeforeWrite, kFailAfterDurableWrite, kTornWrite };
  explicit FailingSink(JsonlFileSink& inner) : inner_(inner) {}
  std::string Name() const override { return inner_.Name(); }
  Result<std::optional<int64_t>> Recover() override { return inner_.Recover(); }
  Status Write(const std::vector<UnifiedEvent>& events) override {
    switch (mode) {
      case Mode::kNone: return inner_.Write(events);
      case Mode::kFailBeforeWrite: return UnavailableError("injected: sink down");
      case Mode::kFailAfterDurableWrite:
        DOTDO_RETURN_IF_ERROR(inner_.Write(events));
        return UnavailableError("injected: crash after write");
      case Mode::kTornWrite: {
        // The first event complete, then half of the second line.
        DOTDO_RETURN_IF_ERROR(inner_.Write({events.front()}));
        std::ofstream out(inner_.path(), std::ios::binary | std::ios::app);
        std::string line = EventToJson(events.size() > 1 ? events[1] : events[0]).dump();
        out << line.substr(0, line.size() / 2);
        return UnavailableError("injected: torn write");
      }
    }
    return InternalError("unreachable");
  }
  Mode mode = Mode::kNone;

 private:
  JsonlFileSink& inner_;
};

TEST(GlobalIdTest, JoinsNamespaceTypeAndIdPercentEncodingEachSegment) {
  EXPECT_EQ(GlobalId("acme", "Customer", "01HQ3Z8M9X"), "acme/Customer/01HQ3Z8M9X");
  EXPECT_EQ(GlobalId("acme.eu_1-x", "Order~v2", "a/b c%"), "acme.eu_1-x/Order~v2/a%2Fb%20c%25");
  EXPECT_EQ(GlobalId("n", "T", "\xC3\xA9"), "n/T/%C3%A9");
  EXPECT_EQ(GlobalId("n", "T", ""), "n/T/");
}

TEST(ToGlobalEventTest, RewritesKeyAndDollarIdsOfStoreEvents) {
  UnifiedEvent e;
  e.id = "ev";
  e.type = "cdc.update";
  e.ns = "acme";
  e.op = "u";
  e.store = "document";
  e.table = "Customer";
  e.key = "01H";
  e.before = Json{{"$id", "01H"}, {"name", "a"}, {"ref", {{"$id", "nested-unchanged"}}}};
  e.after = Json{{"$id", "01H"}, {"$type", "VipCustomer"}, {"name", "b"}};
  e.data = Json{{"$id", "x"}};
  e.txid = 3;
  e.lsn = 4;
  UnifiedEvent g = ToGlobalEvent(e);
  EXPECT_EQ(g.key, "acme/Customer/01H");
  EXPECT_EQ((*g.before)["$id"], "acme/Customer/01H");
  EXPECT_EQ((*g.before)["ref"]["$id"], "nested-unchanged");
  EXPECT_EQ((*g.before)["name"], "a");
  EXPECT_EQ((*g.after)["$id"], "acme/VipCustomer/01H");
  EXPECT_EQ((*g.data)["$id"], "acme/Customer/x");
  // Everything else is untouched.
  g.key = e.key;
  g.before = e.before;
  g.after = e.after;
  g.data = e.data;
  EXPECT_EQ(g, e);
}

TEST(ToGlobalEventTest, DomainEventsUseTheNounOfTheirTypeOrDataType) {
  UnifiedEvent e;
  e.id = "ev";
  e.type = "Customer.created";
  e.ns = "acme";
  e.actor = "user:1";
  e.data = Json{{"$id", "c1"}, {"name", "A"}};
  EXPECT_EQ((*ToGlobalEvent(e).data)["$id"], "acme/Customer/c1");
  e.data = Json{{"$id", "o9"}, {"$type", "Order"}};
  EXPECT_EQ((*ToGlobalEvent(e).data)["$id"], "acme/Order/o9");
  e.data = Json{{"$id", 5}};  // not a string: unchanged
  EXPECT_EQ(ToGlobalEvent(e), e);
  e.data = Json{{"customer", "c1"}};  // no $id: unchanged
  EXPECT_EQ(ToGlobalEvent(e), e);
}

TEST(ToGlobalEventTest, EventsWithoutTableOrIdPassThrough) {
  UnifiedEvent e;
  e.id = "ev";
  e.type = "cdc.insert";
  e.ns = "acme";
  e.key = "k";  // a key without a table cannot be typed
  e.after = Json{{"$id", "k"}};
  EXPECT_EQ(ToGlobalEvent(e), e);
}

TEST(JsonlFileSinkTest, OpenValidatesThePath) {
  ScratchDir dir;
  EXPECT_THAT(JsonlFileSink::Open(""), StatusIs(StatusCode::kInvalidArgument, "empty"));
  EXPECT_THAT(JsonlFileSink::Open(dir.path()), StatusIs(StatusCode::kInvalidArgument, "directory"));
  EXPECT_THAT(JsonlFileSink::Open(dir.path() / "missing" / "x.jsonl"), StatusIs(StatusCode::kNotFound, "create it"));
  JsonlFileSinkOptions o;
  o.name = "bad\nname";
  EXPECT_THAT(JsonlFileSink::Open(dir.path() / "x.jsonl", o), StatusIs(StatusCode::kInvalidArgument, "control"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sink, JsonlFileSink::Open(dir.path() / "x.jsonl"));
  EXPECT_EQ(sink->Name(), "jsonl:" + std::filesystem::weakly_canonical(dir.path() / "x.jsonl").string());
  sink.reset();
  // The same file through another spelling of its path keeps the same checkpoint name.
  std::filesystem::create_directory(dir.path() / "sub");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto again, JsonlFileSink::Open(dir.path() / "sub" / ".." / "x.jsonl"));
  EXPECT_EQ(again->Name(), "jsonl:" + std::filesystem::weakly_canonical(dir.path() / "x.jsonl").string());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "x.jsonl"));
}

TEST(JsonlFileSinkTest, SecondOpenOfTheSameFileIsRefusedWhileTheFirstIsOpen) {
  ScratchDir dir;
  auto first = OpenSink(dir.path() / "x.jsonl");
  EXPECT_THAT(JsonlFileSink::Open(dir.path() / "x.jsonl"), StatusIs(StatusCode::kUnavailable, "in use"));
  first.reset();
  DOTDO_EXPECT_OK(JsonlFileSink::Open(dir.path() / "x.jsonl"));
}

TEST(JsonlFileSinkTest, WritesOneLinePerEventAndRecoverReportsTheLastLsn) {
  ScratchDir dir;
  auto sink = OpenSink(dir.path() / "x.jsonl");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto empty, sink->Recover());
  EXPECT_EQ(empty, 0);
  std::vector<UnifiedEvent> events(3);
  for (int i = 0; i < 3; ++i) {
    events[static_cast<size_t>(i)].id = "e" + std::to_string(i);
    events[static_cast<size_t>(i)].type = "Customer.created";
    events[static_cast<size_t>(i)].ns = "acme";
    events[static_cast<size_t>(i)].lsn = 10 + i;
    events[static_cast<size_t>(i)].data = Json{{"line", "with\nnewline"}};
  }
  DOTDO_ASSERT_OK(sink->Write(events));
  DOTDO_ASSERT_OK(sink->Write({}));
  auto lines = ReadLines(dir.path() / "x.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    DOTDO_ASSERT_OK_AND_ASSIGN(UnifiedEvent back, EventFromJson(lines[static_cast<size_t>(i)]));
    EXPECT_EQ(back, events[static_cast<size_t>(i)]);
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto last, sink->Recover());
  EXPECT_EQ(last, 12);
  UnifiedEvent no_lsn = events[0];
  no_lsn.lsn.reset();
  EXPECT_THAT(sink->Write({no_lsn}), StatusIs(StatusCode::kInvalidArgument, "lsn"));
}

TEST(JsonlFileSinkTest, RecoverTruncatesATornLastLine) {
  ScratchDir dir;
  const auto path = dir.path() / "x.jsonl";
  const std::string complete = R"({"id":"a","lsn":1,"ns":"n","timestamp":"2024-01-01T00:00:00.000Z","type":"A.b"})"
                               "\n";
  WriteFile(path, complete + R"({"id":"b","lsn":2,"ns")");
  auto sink = OpenSink(path);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto last, sink->Recover());
  EXPECT_EQ(last, 1);
  EXPECT_EQ(ReadFile(path), complete);
  // A file holding only a torn line (a crash in its first write) becomes empty; it has a sidecar.
  DOTDO_ASSERT_OK(sink->Claim("n"));
  sink.reset();
  WriteFile(path, R"({"id":"b","ls)");
  sink = OpenSink(path);
  DOTDO_ASSERT_OK_AND_ASSIGN(last, sink->Recover());
  EXPECT_EQ(last, 0);
  EXPECT_EQ(ReadFile(path), "");
}

TEST(JsonlFileSinkTest, RecoverFindsTheLastLineBeyondOneReadChunk) {
  ScratchDir dir;
  const auto path = dir.path() / "x.jsonl";
  Json big = {{"id", "a"}, {"lsn", 7}, {"data", {{"blob", std::string(200'000, 'x')}}}};
  WriteFile(path, R"({"lsn":6})" "\n" + big.dump() + "\n" + std::string(150'000, 'y'));
  auto sink = OpenSink(path);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto last, sink->Recover());
  EXPECT_EQ(last, 7);
}

TEST(JsonlFileSinkTest, RecoverReportsACorruptCompleteLastLine) {
  ScratchDir dir;
  const auto path = dir.path() / "x.jsonl";
  DOTDO_ASSERT_OK(OpenSink(path)->Claim("n"));  // an export file (it has a sidecar), then damaged
  WriteFile(path, "not json\n");
  auto sink = OpenSink(path);
  EXPECT_THAT(sink->Recover(), StatusIs(StatusCode::kDataLoss, "not JSON"));
  sink.reset();
  WriteFile(path, R"({"lsn":"3"})" "\n");
  sink = OpenSink(path);
  EXPECT_THAT(sink->Recover(), StatusIs(StatusCode::kDataLoss, "lsn"));
}

// A sink must never change a file it does not recognise as an export file: not a database, not
// a binary, not someone's notes.
TEST(JsonlFileSinkTest, RefusesUnchangedAFileThatIsNotAnExportFile) {
  ScratchDir dir;
  auto db = Database::Open(dir.path(), "s");
  DOTDO_ASSERT_OK(db);
  Commit(**db, 3);
  const auto db_file = dir.path() / "s.sqlite";
  const std::string before = ReadFile(db_file);
  EXPECT_THAT(JsonlFileSink::Open(db_file), StatusIs(StatusCode::kFailedPrecondition, "not a dotdo export file"));
  EXPECT_EQ(ReadFile(db_file), before);
  const auto notes = dir.path() / "notes.txt";
  for (const std::string& content : {std::string("line one\nline two\ntail without newline"),
                                     std::string("\x7f" "ELF\x02\x01binary"), std::string(R"({"lsn":1})" "\nnot json\n")}) {
    WriteFile(notes, content);
    EXPECT_THAT(JsonlFileSink::Open(notes), StatusIs(StatusCode::kFailedPrecondition)) << content;
    EXPECT_EQ(ReadFile(notes), content);
  }
  // A sidecar that is not ours is refused too.
  WriteFile(dir.path() / "x.jsonl.dotdo-sink", "{}");
  EXPECT_THAT(JsonlFileSink::Open(dir.path() / "x.jsonl"), StatusIs(StatusCode::kFailedPrecondition, "sidecar"));
}

TEST(JsonlFileSinkTest, AFileBelongsToTheNamespaceThatFirstExportedIntoIt) {
  ScratchDir dir;
  auto a = testing::OpenMemoryDb(nullptr, "a");
  auto b = testing::OpenMemoryDb(nullptr, "b");
  Commit(*a, 3);
  Commit(*b, 10);
  const auto path = dir.path() / "out.jsonl";
  {
    auto sink = OpenSink(path);
    CdcPipeline pipeline(*a, *sink);
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, pipeline.RunOnce());
    EXPECT_EQ(n, 3);
  }
  EXPECT_EQ(ReadFile(dir.path() / "out.jsonl.dotdo-sink"),
            R"({"format":"dotdo.cdc.jsonl","namespace":"a","version":1})" "\n");
  auto sink = OpenSink(path);
  EXPECT_EQ(sink->owner(), "a");
  CdcPipeline pipeline(*b, *sink);
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kFailedPrecondition, "namespace 'a'"));
  EXPECT_EQ(ReadLines(path).size(), 3u);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t checkpoint, CdcCheckpoints(*b).Register(sink->Name()));
  EXPECT_EQ(checkpoint, 0) << "b must not adopt a's position";
  // An export file from before sidecars (events, no sidecar) is adopted by its next exporter.
  sink.reset();
  std::filesystem::remove(dir.path() / "out.jsonl.dotdo-sink");
  sink = OpenSink(path);
  CdcPipeline again(*a, *sink);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t more, again.RunOnce());
  EXPECT_EQ(more, 0);
  EXPECT_EQ(sink->owner(), "a");
}

TEST(CdcPipelineTest, DeliversEveryEventOnceInOrderWithGlobalIdsAndCheckpoints) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb(nullptr, "acme");
  Commit(*db, 7);
  auto sink = OpenSink(dir.path() / "out.jsonl");
  CdcPipelineOptions o;
  o.batch_size = 3;
  CdcPipeline pipeline(*db, *sink, o);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, pipeline.RunOnce());
  EXPECT_EQ(n, 7);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t again, pipeline.RunOnce());
  EXPECT_EQ(again, 0);
  Commit(*db, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(n, pipeline.RunOnce());
  EXPECT_EQ(n, 2);
  auto lines = ReadLines(dir.path() / "out.jsonl");
  EXPECT_EQ(Lsns(lines), Range(1, 9));
  EXPECT_EQ(lines[0]["key"], "acme/Customer/c0");
  EXPECT_EQ(lines[0]["after"]["$id"], "acme/Customer/c0");
  EXPECT_EQ(lines[0]["after"]["name"], "n0");
  EXPECT_EQ(lines[0]["ns"], "acme");
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t cp, pipeline.Checkpoint());
  EXPECT_EQ(cp, 9);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sinks, CdcCheckpoints(*db).List());
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].sink, sink->Name());
  EXPECT_EQ(sinks[0].lsn, 9);
}

TEST(CdcPipelineTest, LocalIdsCanBeKeptOnRequest) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb(nullptr, "acme");
  Commit(*db, 1);
  auto sink = OpenSink(dir.path() / "out.jsonl");
  CdcPipelineOptions o;
  o.global_ids = false;
  CdcPipeline pipeline(*db, *sink, o);
  DOTDO_ASSERT_OK(pipeline.RunOnce());
  EXPECT_EQ(ReadLines(dir.path() / "out.jsonl")[0]["key"], "c0");
}

TEST(CdcPipelineTest, RejectsBadOptionsAndRunsInsideTransactions) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  auto sink = OpenSink(dir.path() / "out.jsonl");
  CdcPipelineOptions o;
  o.batch_size = 0;
  EXPECT_THAT(CdcPipeline(*db, *sink, o).RunOnce(), StatusIs(StatusCode::kInvalidArgument, "batch_size"));
  CdcPipeline pipeline(*db, *sink);
  Commit(*db, 1);
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kFailedPrecondition, "inside a transaction"));
    return OkStatus();
  }));
  EXPECT_THAT(pipeline.Start(0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_TRUE(ReadFile(dir.path() / "out.jsonl").empty());
}

TEST(CdcPipelineTest, CrashAfterDurableWriteBeforeCheckpointDoesNotDuplicate) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  Commit(*db, 5);
  auto file = OpenSink(dir.path() / "out.jsonl");
  FailingSink sink(*file);
  {
    CdcPipeline pipeline(*db, sink);
    sink.mode = FailingSink::Mode::kFailAfterDurableWrite;
    EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kUnavailable, "crash after write"));
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t cp, pipeline.Checkpoint());
    EXPECT_EQ(cp, 0);  // the "crash" happened before the checkpoint
  }
  Commit(*db, 2);
  sink.mode = FailingSink::Mode::kNone;
  CdcPipeline restarted(*db, sink);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, restarted.RunOnce());
  EXPECT_EQ(n, 2);
  EXPECT_EQ(Lsns(ReadLines(dir.path() / "out.jsonl")), Range(1, 7));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t cp, restarted.Checkpoint());
  EXPECT_EQ(cp, 7);
}

TEST(CdcPipelineTest, SamePipelineReconcilesAfterAFailedWrite) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  Commit(*db, 4);
  auto file = OpenSink(dir.path() / "out.jsonl");
  FailingSink sink(*file);
  CdcPipeline pipeline(*db, sink);
  sink.mode = FailingSink::Mode::kTornWrite;
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kUnavailable, "torn"));
  sink.mode = FailingSink::Mode::kFailBeforeWrite;
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kUnavailable, "sink down"));
  sink.mode = FailingSink::Mode::kFailAfterDurableWrite;
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kUnavailable));
  Commit(*db, 1);
  sink.mode = FailingSink::Mode::kNone;
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, pipeline.RunOnce());
  EXPECT_EQ(n, 1);
  EXPECT_EQ(Lsns(ReadLines(dir.path() / "out.jsonl")), Range(1, 5));
}

TEST(CdcPipelineTest, RefusesASinkThatLostConfirmedEvents) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  Commit(*db, 3);
  const auto path = dir.path() / "out.jsonl";
  {
    auto sink = OpenSink(path);
    CdcPipeline pipeline(*db, *sink);
    DOTDO_ASSERT_OK(pipeline.RunOnce());
  }
  WriteFile(path, "");
  auto sink = OpenSink(path);
  CdcPipeline pipeline(*db, *sink);
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kFailedPrecondition, "lost events"));
  EXPECT_EQ(ReadFile(path), "");
  // Unregistering starts the sink over from the oldest retained event.
  DOTDO_ASSERT_OK(CdcCheckpoints(*db).Unregister(sink->Name()));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, pipeline.RunOnce());
  EXPECT_EQ(n, 3);
}

TEST(CdcPipelineTest, RefusesASinkAheadOfTheOutbox) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  Commit(*db, 2);
  const auto path = dir.path() / "out.jsonl";
  WriteFile(path, R"({"lsn":50})" "\n");
  auto sink = OpenSink(path);
  CdcPipeline pipeline(*db, *sink);
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kFailedPrecondition, "another namespace"));
  EXPECT_EQ(ReadLines(path).size(), 1u);
}

TEST(CdcPipelineTest, BackgroundModeDeliversCommitsAndStops) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  Commit(*db, 3);
  const auto path = dir.path() / "out.jsonl";
  auto sink = OpenSink(path);
  CdcPipeline pipeline(*db, *sink);
  DOTDO_ASSERT_OK(pipeline.Start(/*poll_interval_ms=*/3'600'000));  // woken by commits, not by polling
  EXPECT_THAT(pipeline.Start(10), StatusIs(StatusCode::kFailedPrecondition, "already running"));
  Commit(*db, 4);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto cp = pipeline.Checkpoint();
    ASSERT_THAT(cp, IsOk());
    if (*cp == 7) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  DOTDO_ASSERT_OK(pipeline.Stop());
  DOTDO_ASSERT_OK(pipeline.Stop());
  EXPECT_EQ(Lsns(ReadLines(path)), Range(1, 7));
  // Restartable after Stop.
  DOTDO_ASSERT_OK(pipeline.Start(5));
  DOTDO_ASSERT_OK(pipeline.Stop());
}

TEST(CdcPipelineTest, BackgroundErrorsAreReportedByStop) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  auto file = OpenSink(dir.path() / "out.jsonl");
  FailingSink sink(*file);
  sink.mode = FailingSink::Mode::kFailBeforeWrite;
  CdcPipeline pipeline(*db, sink);
  Commit(*db, 1);
  DOTDO_ASSERT_OK(pipeline.Start(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_THAT(pipeline.Stop(), StatusIs(StatusCode::kUnavailable, "sink down"));
}

TEST(CdcRetentionTest, WithoutSinksDeletesNothingUnlessGivenABound) {
  auto db = testing::OpenMemoryDb();
  Commit(*db, 5);
  CdcCheckpoints cps(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, cps.ApplyRetention());
  EXPECT_EQ(n, 0);
  CdcRetentionOptions r;
  r.up_to_lsn = 3;
  DOTDO_ASSERT_OK_AND_ASSIGN(n, cps.ApplyRetention(r));
  EXPECT_EQ(n, 3);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto left, ChangeFeed(*db).Read(0, 100));
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].lsn, 4);
  // lsns are never reused after retention.
  DOTDO_ASSERT_OK_AND_ASSIGN(n, cps.ApplyRetention({0, 100}));
  EXPECT_EQ(n, 2);
  Commit(*db, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(left, ChangeFeed(*db).Read(0, 100));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].lsn, 6);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t last, ChangeFeed(*db).LastLsn());
  EXPECT_EQ(last, 6);
}

TEST(CdcRetentionTest, KeepsEverythingAnyRegisteredSinkHasNotCheckpointed) {
  auto db = testing::OpenMemoryDb();
  Commit(*db, 10);
  CdcCheckpoints cps(*db);
  DOTDO_ASSERT_OK(cps.Register("a"));
  DOTDO_ASSERT_OK(cps.Register("b"));
  DOTDO_ASSERT_OK(internal::SaveCheckpoint(*db, "a", 8));
  DOTDO_ASSERT_OK(internal::SaveCheckpoint(*db, "b", 4));
  DOTDO_ASSERT_OK(internal::SaveCheckpoint(*db, "b", 2));  // never moves backwards
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, cps.ApplyRetention());
  EXPECT_EQ(n, 4);
  CdcRetentionOptions r;
  r.up_to_lsn = 100;  // an explicit bound never passes a sink
  DOTDO_ASSERT_OK_AND_ASSIGN(n, cps.ApplyRetention(r));
  EXPECT_EQ(n, 0);
  DOTDO_ASSERT_OK(cps.Unregister("b"));
  EXPECT_THAT(cps.Unregister("b"), StatusIs(StatusCode::kNotFound, "not registered"));
  DOTDO_ASSERT_OK_AND_ASSIGN(n, cps.ApplyRetention());
  EXPECT_EQ(n, 4);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto left, ChangeFeed(*db).Read(0, 100));
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].lsn, 9);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sinks, cps.List());
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].sink, "a");
  EXPECT_EQ(sinks[0].lsn, 8);
}

TEST(CdcRetentionTest, MinAgeKeepsRecentEvents) {
  ManualClock clock;
  auto db = testing::OpenMemoryDb(&clock);
  Commit(*db, 3);
  clock.Advance(60'000);
  Commit(*db, 2);
  DOTDO_ASSERT_OK(internal::SaveCheckpoint(*db, "a", 5));
  CdcRetentionOptions r;
  r.min_age_ms = 30'000;
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, CdcCheckpoints(*db).ApplyRetention(r));
  EXPECT_EQ(n, 3);
}

TEST(CdcRetentionTest, RejectsBadOptionsAndSinkNames) {
  auto db = testing::OpenMemoryDb();
  CdcCheckpoints cps(*db);
  EXPECT_THAT(cps.ApplyRetention({-1, std::nullopt}), StatusIs(StatusCode::kInvalidArgument, "min_age_ms"));
  EXPECT_THAT(cps.ApplyRetention({0, -5}), StatusIs(StatusCode::kInvalidArgument, "up_to_lsn"));
  EXPECT_THAT(cps.Register(""), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(cps.Register(std::string(513, 'x')), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(cps.Register("a\tb"), StatusIs(StatusCode::kInvalidArgument, "control"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sinks, cps.List());
  EXPECT_TRUE(sinks.empty());
}

TEST(CdcRetentionTest, PipelineReportsEventsDeletedBeforeItsSinkGotThem) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  Commit(*db, 3);
  auto sink = OpenSink(dir.path() / "out.jsonl");
  CdcPipeline pipeline(*db, *sink);
  DOTDO_ASSERT_OK(pipeline.RunOnce());
  Commit(*db, 3);
  DOTDO_ASSERT_OK(CdcCheckpoints(*db).Unregister(sink->Name()));
  DOTDO_ASSERT_OK(CdcCheckpoints(*db).ApplyRetention({0, 5}));
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kDataLoss, "no event 4"));
}

// Random commits, pipeline runs of two sinks (each sometimes "crashing" after its durable write)
// and retention passes, checked after every step: each sink file holds exactly lsn 1..checkpoint
// or more (never a gap, never a duplicate), and retention never removed an event some sink's file
// does not yet hold.
TEST(CdcRetentionModelTest, RandomRunsNeverLoseOrDuplicate) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb(nullptr, "model");
  std::mt19937 rng(7);
  std::array<std::unique_ptr<JsonlFileSink>, 2> files{OpenSink(dir.path() / "a.jsonl"), OpenSink(dir.path() / "b.jsonl")};
  std::array<std::unique_ptr<FailingSink>, 2> sinks{std::make_unique<FailingSink>(*files[0]),
                                                    std::make_unique<FailingSink>(*files[1])};
  std::array<std::unique_ptr<CdcPipeline>, 2> pipes;
  for (size_t s = 0; s < 2; ++s) {
    pipes[s] = std::make_unique<CdcPipeline>(*db, *sinks[s], CdcPipelineOptions{3, true});
    DOTDO_ASSERT_OK(pipes[s]->Checkpoint());  // registered before any retention pass
  }
  int64_t committed = 0;
  for (int step = 0; step < 300; ++step) {
    const unsigned op = rng() % 6;
    if (op <= 1) {
      const int n = 1 + static_cast<int>(rng() % 3);
      Commit(*db, n);
      committed += n;
    } else if (op <= 3) {
      const size_t s = rng() % 2;
      const bool crash = rng() % 4 == 0;
      sinks[s]->mode = crash ? FailingSink::Mode::kFailAfterDurableWrite : FailingSink::Mode::kNone;
      if (crash && rng() % 2 == 0) {
        // A "restart": a new pipeline object with no memory of the old one.
        pipes[s] = std::make_unique<CdcPipeline>(*db, *sinks[s], CdcPipelineOptions{3, true});
      }
      auto r = pipes[s]->RunOnce();
      if (!crash) {
        ASSERT_THAT(r, IsOk());
      }
    } else if (op == 4) {
      ASSERT_THAT(CdcCheckpoints(*db).ApplyRetention(), IsOk());
    } else {
      DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db).Read(0, 10000));
      DOTDO_ASSERT_OK_AND_ASSIGN(auto cps, CdcCheckpoints(*db).List());
      int64_t min_cp = committed;
      for (const auto& cp : cps) min_cp = std::min(min_cp, cp.lsn);
      // Retention never passed the slowest sink: every event above its checkpoint is still there.
      std::vector<int64_t> kept;
      for (const auto& e : events) {
        if (*e.lsn > min_cp) kept.push_back(*e.lsn);
      }
      EXPECT_EQ(kept, Range(min_cp + 1, committed));
    }
    for (size_t s = 0; s < 2; ++s) {
      auto lsns = Lsns(ReadLines(files[s]->path()));
      ASSERT_EQ(lsns, Range(1, static_cast<int64_t>(lsns.size()))) << "sink " << s << " at step " << step;
    }
  }
  for (size_t s = 0; s < 2; ++s) {
    sinks[s]->mode = FailingSink::Mode::kNone;
    DOTDO_ASSERT_OK(pipes[s]->RunOnce());
    EXPECT_EQ(Lsns(ReadLines(files[s]->path())), Range(1, committed));
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t deleted, CdcCheckpoints(*db).ApplyRetention());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto left, ChangeFeed(*db).Read(0, 10000));
  EXPECT_TRUE(left.empty()) << deleted;
}

// A sink that makes a batch durable only at Complete, recording the calls and the checkpoint each
// call saw: the pipeline reads the next batch between Submit and Complete, and moves the checkpoint
// only after Complete.
class PipelinedSink final : public CdcSink {
 public:
  PipelinedSink(JsonlFileSink& inner, Database& db) : inner_(inner), db_(db) {}
  std::string Name() const override { return inner_.Name(); }
  Result<std::optional<int64_t>> Recover() override {
    calls.push_back("recover");
    return inner_.Recover();
  }
  Status Write(const std::vector<UnifiedEvent>& events) override { return inner_.Write(events); }
  Status Submit(const std::vector<UnifiedEvent>& events) override {
    calls.push_back("submit " + Span(events) + " at " + std::to_string(SavedCheckpoint()));
    return fail_submit ? UnavailableError("injected: submit") : OkStatus();
  }
  Status Complete(const std::vector<UnifiedEvent>& events) override {
    calls.push_back("complete " + Span(events));
    if (fail_complete_at == *events.front().lsn) return UnavailableError("injected: acks lost");
    return inner_.Write(events);
  }
  std::vector<std::string> calls;
  bool fail_submit = false;
  int64_t fail_complete_at = -1;

 private:
  static std::string Span(const std::vector<UnifiedEvent>& events) {
    return std::to_string(*events.front().lsn) + "-" + std::to_string(*events.back().lsn);
  }
  int64_t SavedCheckpoint() {
    auto list = CdcCheckpoints(db_).List();
    return list.ok() && !list->empty() ? list->front().lsn : -1;
  }
  JsonlFileSink& inner_;
  Database& db_;
};

TEST(CdcPipelineTest, PipelinedSinkGetsTheNextBatchOnlyAfterCompletingTheLast) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  Commit(*db, 7);
  auto file = OpenSink(dir.path() / "out.jsonl");
  PipelinedSink sink(*file, *db);
  CdcPipelineOptions o;
  o.batch_size = 3;
  CdcPipeline pipeline(*db, sink, o);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, pipeline.RunOnce());
  EXPECT_EQ(n, 7);
  EXPECT_EQ(sink.calls, (std::vector<std::string>{"recover", "submit 1-3 at 0", "complete 1-3", "submit 4-6 at 3",
                                                  "complete 4-6", "submit 7-7 at 6", "complete 7-7"}));
  EXPECT_EQ(Lsns(ReadLines(dir.path() / "out.jsonl")), Range(1, 7));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t cp, pipeline.Checkpoint());
  EXPECT_EQ(cp, 7);
}

TEST(CdcPipelineTest, FailedCompleteOrSubmitKeepsTheCheckpointAndRedeliversOnce) {
  ScratchDir dir;
  auto db = testing::OpenMemoryDb();
  Commit(*db, 7);
  auto file = OpenSink(dir.path() / "out.jsonl");
  PipelinedSink sink(*file, *db);
  CdcPipelineOptions o;
  o.batch_size = 3;
  CdcPipeline pipeline(*db, sink, o);
  sink.fail_complete_at = 4;
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kUnavailable, "acks lost"));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t cp, pipeline.Checkpoint());
  EXPECT_EQ(cp, 3);  // batch 1-3 completed; 4-6 did not
  sink.fail_complete_at = -1;
  sink.fail_submit = true;
  EXPECT_THAT(pipeline.RunOnce(), StatusIs(StatusCode::kUnavailable, "injected: submit"));
  sink.fail_submit = false;
  sink.calls.clear();
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, pipeline.RunOnce());
  EXPECT_EQ(n, 4);
  EXPECT_EQ(sink.calls.front(), "recover");  // every failure is followed by a reconcile
  EXPECT_EQ(Lsns(ReadLines(dir.path() / "out.jsonl")), Range(1, 7));
}

}  // namespace
}  // namespace dotdo
