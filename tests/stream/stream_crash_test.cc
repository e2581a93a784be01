// Crash test: child processes run a consume-transform-produce loop — poll the input topic, write
// an application event, produce one output record per input, commit the offsets, all in one
// db.Transaction — and are killed with SIGKILL at random points. After the last kill the loop is
// finished in the parent; then every input record has exactly one output record and exactly one
// application event, and the committed offsets are at the end of the input.
#include <random>
#include <set>

#include "dotdo/cdc.h"
#include "dotdo/stream.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

constexpr int kInputs = 20000;

// One round of the loop; false when the input is used up.
Result<bool> TransformOnce(Database& db, StreamStore& stream, StreamConsumer& consumer, int max_records) {
  bool any = false;
  DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto recs, consumer.Poll(max_records, 0));
    any = !recs.empty();
    std::vector<StreamMessage> out;
    for (const auto& r : recs) {
      DOTDO_RETURN_IF_ERROR(CdcEmitter(db).Emit({.type = "Input.processed", .data = {{"input", *r.key}}}).status());
      out.push_back({.key = r.key, .value = "out:" + *r.value});
    }
    if (!out.empty()) DOTDO_RETURN_IF_ERROR(stream.SendBatch("out", out).status());
    return consumer.Commit();
  }));
  return any;
}

[[noreturn]] void TransformForever(const std::filesystem::path& dir, int generation) {
  auto db = Database::Open(dir, "crash");
  if (!db.ok()) _exit(3);
  StreamStore stream(**db);
  StreamConsumer consumer(stream, {.group_id = "eos", .auto_commit = false});
  if (!consumer.Assign({{"in", 0}, {"in", 1}, {"in", 2}}).ok()) _exit(4);
  std::mt19937 rng(static_cast<unsigned>(generation));
  for (;;) {
    auto r = TransformOnce(**db, stream, consumer, 1 + static_cast<int>(rng() % 5));
    if (!r.ok()) _exit(5);
  }
}

TEST(StreamCrashTest, KilledTransformLoopsProduceEachOutputExactlyOnce) {
  testing::ScratchDir dir;
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "crash"));
    StreamStore stream(*db);
    DOTDO_ASSERT_OK(stream.CreateTopic("in", {.partitions = 3}));
    DOTDO_ASSERT_OK(stream.CreateTopic("out", {.partitions = 2}));
    std::vector<StreamMessage> batch;
    for (int i = 0; i < kInputs; ++i) batch.push_back({.key = "in-" + std::to_string(i), .value = std::to_string(i)});
    DOTDO_ASSERT_OK(stream.SendBatch("in", batch));
  }
  std::mt19937 rng(23);
  for (int generation = 0; generation < 6; ++generation)
    ASSERT_TRUE(testing::RunAndKill([&] { TransformForever(dir.path(), generation); },
                                    std::chrono::milliseconds(30 + rng() % 70)));

  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "crash"));
  StreamStore stream(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json before, db->QueryReadOnly("SELECT COUNT(*) AS n FROM stream_records r JOIN "
                                                            "stream_topics t ON t.id = r.topic_id WHERE t.name = 'out'"));
  EXPECT_GT(before[0]["n"].get<int64_t>(), 0) << "the killed loops never got going";
  EXPECT_LT(before[0]["n"].get<int64_t>(), kInputs) << "the loops finished before any kill";
  {
    StreamConsumer consumer(stream, {.group_id = "eos", .auto_commit = false});
    DOTDO_ASSERT_OK(consumer.Assign({{"in", 0}, {"in", 1}, {"in", 2}}));
    for (;;) {
      DOTDO_ASSERT_OK_AND_ASSIGN(bool any, TransformOnce(*db, stream, consumer, 500));
      if (!any) break;
    }
  }
  std::map<std::string, int> outputs;
  for (int32_t p = 0; p < 2; ++p) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto recs, stream.Fetch("out", p, 0, kMaxStreamBatchRecords));
    for (const auto& r : recs) {
      ++outputs[*r.key];
      EXPECT_EQ(*r.value, "out:" + r.key->substr(3));
    }
  }
  ASSERT_EQ(outputs.size(), static_cast<size_t>(kInputs));
  for (const auto& [key, n] : outputs) EXPECT_EQ(n, 1) << key;
  DOTDO_ASSERT_OK_AND_ASSIGN(Json app, db->QueryReadOnly("SELECT json_extract(data, '$.input') AS k, COUNT(*) AS n "
                                                         "FROM cdc_events WHERE type = 'Input.processed' GROUP BY k",
                                                         {}, {.max_rows = 1'000'000}));
  ASSERT_EQ(app.size(), static_cast<size_t>(kInputs));
  for (const Json& row : app) EXPECT_EQ(row["n"], 1) << row.dump();
  int64_t committed = 0;
  for (int32_t p = 0; p < 3; ++p) committed += stream.CommittedOffset("eos", {"in", p})->value_or(0);
  EXPECT_EQ(committed, kInputs);
}

}  // namespace
}  // namespace dotdo
