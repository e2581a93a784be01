// StreamStore unit and bad-input tests: topic administration, the partitioner against Kafka's
// key -> hash / partition vectors (tests/stream/data/murmur2_vectors.tsv), producing (dense offsets,
// sticky keyless batches, headers, idempotent batches), fetching, retention, compaction,
// back-pressure and the CDC events of each write — plus a model-based test of the partition logs.
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/encoding.h"
#include "dotdo/cdc.h"
#include "dotdo/stream.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

class StreamStoreTest : public ::testing::Test {
 protected:
  StreamStoreTest() : db_(testing::OpenMemoryDb(&clock_)), stream_(*db_) {}

  std::vector<UnifiedEvent> StreamEvents(std::string_view type = {}) {
    std::vector<UnifiedEvent> out;
    auto events = ChangeFeed(*db_).Read(0, 10000);
    EXPECT_THAT(events, IsOk());
    for (auto& e : *events)
      if (e.store == "stream" && (type.empty() || e.type == type)) out.push_back(e);
    return out;
  }
  int64_t EventCount() { return static_cast<int64_t>(ChangeFeed(*db_).Read(0, 10000)->size()); }

  ManualClock clock_;
  std::unique_ptr<Database> db_;
  StreamStore stream_;
};

StreamMessage Msg(std::optional<std::string> key, std::string value) { return {.key = key, .value = value}; }

TEST_F(StreamStoreTest, CreateListDescribeAddPartitionsDelete) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, stream_.CreateTopic("orders", {.partitions = 3, .retention_ms = 60000}));
  EXPECT_EQ(info.name, "orders");
  ASSERT_EQ(info.partitions.size(), 3u);
  EXPECT_EQ(info.partitions[2], (StreamPartitionInfo{2, 0, 0, 0, 0}));
  DOTDO_ASSERT_OK(stream_.CreateTopic("audit.log-v1"));
  EXPECT_THAT(stream_.CreateTopic("orders"), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(*stream_.ListTopics(), (std::vector<std::string>{"audit.log-v1", "orders"}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto d, stream_.DescribeTopic("orders"));
  EXPECT_EQ(d.config.retention_ms, 60000);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto grown, stream_.AddPartitions("orders", 5));
  EXPECT_EQ(grown.partitions.size(), 5u);
  EXPECT_THAT(stream_.AddPartitions("orders", 2), StatusIs(StatusCode::kInvalidArgument, "never removed"));
  StreamTopicConfig c = grown.config;
  c.retention_bytes = 4096;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto altered, stream_.AlterTopic("orders", c));
  EXPECT_EQ(altered.config.retention_bytes, 4096);
  c.cleanup_policy = StreamCleanupPolicy::kCompact;
  EXPECT_THAT(stream_.AlterTopic("orders", c), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK(stream_.Send("orders", Msg("k", "v")));
  DOTDO_ASSERT_OK(stream_.DeleteTopic("orders"));
  EXPECT_THAT(stream_.DescribeTopic("orders"), StatusIs(StatusCode::kNotFound, "unknown topic 'orders'"));
  EXPECT_THAT(stream_.DeleteTopic("orders"), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json rows, db_->QueryReadOnly("SELECT COUNT(*) AS n FROM stream_records"));
  EXPECT_EQ(rows[0]["n"], 0);
  // Topic events: insert, update (partitions), update (config), delete; one per write.
  std::vector<std::string> types;
  for (const auto& e : StreamEvents())
    if (e.table == "topics" && e.key == "orders") types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<std::string>{"cdc.insert", "cdc.update", "cdc.update", "cdc.delete"}));
}

TEST_F(StreamStoreTest, BadTopicNamesAndConfigsWriteNothing) {
  const int64_t before = EventCount();
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "has space", "semi;colon", std::string(250, 'a'), "ü"})
    EXPECT_THAT(stream_.CreateTopic(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  EXPECT_THAT(stream_.CreateTopic("t", {.partitions = 0}), StatusIs(StatusCode::kInvalidArgument, "partitions"));
  EXPECT_THAT(stream_.CreateTopic("t", {.partitions = -3}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.CreateTopic("t", {.partitions = kMaxStreamPartitions + 1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.CreateTopic("t", {.retention_ms = 0}), StatusIs(StatusCode::kInvalidArgument, "retention.ms"));
  EXPECT_THAT(stream_.CreateTopic("t", {.retention_bytes = -2}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.CreateTopic("t", {.max_record_bytes = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.CreateTopic("t", {.delete_retention_ms = -1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.CreateTopic("t", {.max_unconsumed = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.CreateTopic("t", {.full_block_ms = -1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseStreamCleanupPolicy("compacted"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseStreamAssignor("sticky"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.AddPartitions("missing", 3), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK(stream_.CreateTopic("t"));
  EXPECT_THAT(stream_.AddPartitions("t", kMaxStreamPartitions + 1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(EventCount(), before + 1);
}

std::string Unhex(const std::string& hex) { return hex == "-" ? "" : *internal::HexDecode(hex); }

TEST(StreamPartitionerTest, MatchesKafkaVectors) {
  std::ifstream in(std::string(DOTDO_TEST_DATA_DIR) + "/murmur2_vectors.tsv");
  ASSERT_TRUE(in) << "missing murmur2_vectors.tsv";
  std::string line;
  int cases = 0;
  std::set<int> tails_over_4;
  bool saw_empty = false, saw_high_bytes = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string kind, hex;
    f >> kind >> hex;
    const std::string key = Unhex(hex);
    saw_empty |= key.empty();
    for (unsigned char c : key) saw_high_bytes |= c >= 0x80;
    if (kind == "murmur2") {
      int64_t expected = 0;
      f >> expected;
      EXPECT_EQ(KafkaMurmur2(key), expected) << line;
      if (key.size() > 4) tails_over_4.insert(static_cast<int>(key.size() % 4));
    } else {
      ASSERT_EQ(kind, "partition") << line;
      int32_t partitions = 0, expected = 0;
      f >> partitions >> expected;
      EXPECT_EQ(KafkaPartitionForKey(key, partitions), expected) << line;
    }
    ++cases;
  }
  EXPECT_GE(cases, 30);
  EXPECT_TRUE(saw_empty);
  EXPECT_TRUE(saw_high_bytes);
  EXPECT_EQ(tails_over_4, (std::set<int>{0, 1, 2, 3}));
  // toPositive, not abs: a negative hash keeps its low 31 bits.
  EXPECT_EQ(KafkaPartitionForKey("21", 1 << 30), (-973932308 & 0x7fffffff) % (1 << 30));
}

TEST_F(StreamStoreTest, SendUsesThePartitionerAndDenseOffsets) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("t", {.partitions = 7}));
  std::map<int32_t, int64_t> next;
  for (int i = 0; i < 50; ++i) {
    const std::string key = "key-" + std::to_string(i % 13);
    DOTDO_ASSERT_OK_AND_ASSIGN(auto md, stream_.Send("t", Msg(key, "v" + std::to_string(i))));
    EXPECT_EQ(md.partition, KafkaPartitionForKey(key, 7));
    EXPECT_EQ(md.offset, next[md.partition]++);
    EXPECT_EQ(md.timestamp, clock_.NowMillis());
  }
  // The empty key is hashed (a partition of its own), unlike a null key.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto empty, stream_.Send("t", Msg(std::string(), "e")));
  EXPECT_EQ(empty.partition, KafkaPartitionForKey("", 7));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto explicit_p, stream_.Send("t", {.value = "x", .partition = 6, .timestamp = 5}));
  EXPECT_EQ(explicit_p.partition, 6);
  EXPECT_EQ(explicit_p.timestamp, 5);
}

TEST_F(StreamStoreTest, KeylessRecordsAreStickyPerBatchAndRoundRobinAcrossBatches) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("t", {.partitions = 3}));
  std::vector<int32_t> batch_partitions;
  for (int b = 0; b < 6; ++b) {
    std::vector<StreamMessage> batch(4, StreamMessage{.value = "v"});
    DOTDO_ASSERT_OK_AND_ASSIGN(auto md, stream_.SendBatch("t", batch));
    for (const auto& m : md) EXPECT_EQ(m.partition, md[0].partition);
    for (size_t i = 1; i < md.size(); ++i) EXPECT_EQ(md[i].offset, md[i - 1].offset + 1);
    batch_partitions.push_back(md[0].partition);
  }
  EXPECT_EQ(batch_partitions, (std::vector<int32_t>{0, 1, 2, 0, 1, 2}));
}

TEST_F(StreamStoreTest, SendBatchIsOneTransactionWithOneProduceEventPerPartition) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("t", {.partitions = 2}));
  std::vector<StreamMessage> batch;
  for (int i = 0; i < 10; ++i) batch.push_back({.value = std::to_string(i), .partition = i % 2});
  DOTDO_ASSERT_OK(stream_.SendBatch("t", batch));
  auto events = StreamEvents("stream.produce");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].txid, events[1].txid);
  EXPECT_EQ(*events[0].key, "t/0");
  EXPECT_EQ((*events[0].data)["count"], 5);
  EXPECT_EQ((*events[0].data)["baseOffset"], 0);
  EXPECT_EQ((*events[0].data)["lastOffset"], 4);
  EXPECT_FALSE(events[0].data->contains("value")) << "events carry metadata, not payloads";
  // A bad record anywhere refuses the whole batch.
  batch.push_back({.value = "bad", .partition = 2});
  const int64_t before = EventCount();
  EXPECT_THAT(stream_.SendBatch("t", batch), StatusIs(StatusCode::kNotFound, "valid partitions are 0..1"));
  EXPECT_EQ(EventCount(), before);
  EXPECT_EQ(stream_.DescribeTopic("t")->partitions[0].end_offset, 5);
}

TEST_F(StreamStoreTest, HeadersRoundTripAndBadRecordsAreRefused) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("t", {.max_record_bytes = 100}));
  const std::string binary("\x00\xff\x80", 3);
  StreamMessage m{.key = binary, .value = std::nullopt,
                  .headers = {{"trace-id", "abc"}, {"empty", std::nullopt}, {"bin", binary}}};
  DOTDO_ASSERT_OK(stream_.Send("t", m));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto recs, stream_.Fetch("t", 0, 0));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].key, binary);
  EXPECT_EQ(recs[0].value, std::nullopt);
  EXPECT_EQ(recs[0].headers, m.headers);
  EXPECT_EQ(StreamRecordToJson(recs[0])["key"]["base64url"], internal::Base64UrlEncode(binary));

  const int64_t before = EventCount();
  EXPECT_THAT(stream_.Send("t", Msg("k", std::string(100, 'x'))), StatusIs(StatusCode::kInvalidArgument, "max.record.bytes"));
  EXPECT_THAT(stream_.Send("t", {.value = "v", .headers = {{"", "v"}}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.Send("t", {.value = "v", .headers = {{std::string("\xc3", 1), "v"}}}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.Send("t", {.value = "v", .headers = std::vector<StreamHeader>(kMaxStreamHeaders + 1, {"h", "v"})}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.Send("t", {.value = "v", .timestamp = -1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.Send("t", {.value = "v", .partition = -1}), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(stream_.Send("nope", Msg("k", "v")), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(stream_.SendBatch("t", {}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(EventCount(), before);
}

TEST_F(StreamStoreTest, FetchAndOffsetForTimestampCheckTheirRanges) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("t"));
  for (int i = 0; i < 5; ++i) DOTDO_ASSERT_OK(stream_.Send("t", {.value = std::to_string(i), .timestamp = 100 * i}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto recs, stream_.Fetch("t", 0, 2, 2));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].offset, 2);
  EXPECT_EQ(recs[1].value, "3");
  EXPECT_TRUE(stream_.Fetch("t", 0, 5)->empty());
  EXPECT_THAT(stream_.Fetch("t", 0, 6), StatusIs(StatusCode::kOutOfRange, "valid offsets are [0, 5]"));
  EXPECT_THAT(stream_.Fetch("t", 0, -1), StatusIs(StatusCode::kOutOfRange));
  EXPECT_THAT(stream_.Fetch("t", 1, 0), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(stream_.Fetch("t", 0, 0, 0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(*stream_.OffsetForTimestamp("t", 0, 150), 2);
  EXPECT_EQ(*stream_.OffsetForTimestamp("t", 0, 1000), 5);
  EXPECT_THAT(stream_.OffsetForTimestamp("t", 0, -5), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(StreamStoreTest, IdempotentBatchesAreWrittenOnceAndOutOfOrderIsRefused) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("t", {.partitions = 2}));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t pid, stream_.InitProducerId());
  std::vector<StreamMessage> batch = {{.value = "a", .partition = 1}, {.value = "b", .partition = 1}};
  StreamSendOptions opts{.idempotence = StreamIdempotence{pid, 0}};
  DOTDO_ASSERT_OK_AND_ASSIGN(auto first, stream_.SendBatch("t", batch, opts));
  clock_.Advance(10);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto retried, stream_.SendBatch("t", batch, opts));
  EXPECT_EQ(retried, first);
  EXPECT_EQ(stream_.DescribeTopic("t")->partitions[1].end_offset, 2);
  EXPECT_EQ(StreamEvents("stream.produce").size(), 1u);
  opts.idempotence->base_sequence = 5;
  EXPECT_THAT(stream_.SendBatch("t", batch, opts), StatusIs(StatusCode::kFailedPrecondition, "expected 2, got 5"));
  opts.idempotence->base_sequence = 2;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto next, stream_.SendBatch("t", batch, opts));
  EXPECT_EQ(next[0].offset, 2);
  // Sequences are per partition: partition 0 starts at 0.
  batch = {{.value = "c", .partition = 0}};
  EXPECT_THAT(stream_.SendBatch("t", batch, opts), StatusIs(StatusCode::kFailedPrecondition));
  opts.idempotence->base_sequence = 0;
  DOTDO_EXPECT_OK(stream_.SendBatch("t", batch, opts));
  // Bad producer input.
  EXPECT_THAT(stream_.SendBatch("t", batch, {.idempotence = StreamIdempotence{pid + 100, 0}}),
              StatusIs(StatusCode::kNotFound, "unknown producer"));
  EXPECT_THAT(stream_.SendBatch("t", batch, {.idempotence = StreamIdempotence{0, 0}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.SendBatch("t", batch, {.idempotence = StreamIdempotence{pid, -1}}), StatusIs(StatusCode::kInvalidArgument));
  std::vector<StreamMessage> spread = {{.value = "x", .partition = 0}, {.value = "y", .partition = 1}};
  EXPECT_THAT(stream_.SendBatch("t", spread, {.idempotence = StreamIdempotence{pid, 1}}),
              StatusIs(StatusCode::kInvalidArgument, "one partition"));
}

TEST_F(StreamStoreTest, RetentionByAgeAndBytesKeepsOffsets) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("age", {.retention_ms = 1000}));
  DOTDO_ASSERT_OK(stream_.CreateTopic("size", {.retention_ms = -1, .retention_bytes = 30}));
  for (int i = 0; i < 10; ++i) {
    DOTDO_ASSERT_OK(stream_.Send("age", Msg("k", "0123456789")));
    DOTDO_ASSERT_OK(stream_.Send("size", Msg("k", "012345678")));  // 10 bytes each
    clock_.Advance(200);
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rm, stream_.EnforceRetention());
  // age: records at t0 + 200 i; now = t0 + 2000; kept are those with ts >= t0 + 1000 (i >= 5).
  auto age = stream_.DescribeTopic("age")->partitions[0];
  EXPECT_EQ(age.log_start_offset, 5);
  EXPECT_EQ(age.end_offset, 10);
  EXPECT_EQ(age.records, 5);
  auto size = stream_.DescribeTopic("size")->partitions[0];
  EXPECT_EQ(size.log_start_offset, 7);
  EXPECT_EQ(size.bytes, 30);
  EXPECT_EQ(rm.records_deleted, 12);
  EXPECT_THAT(stream_.Fetch("age", 0, 4), StatusIs(StatusCode::kOutOfRange, "[5, 10]"));
  EXPECT_EQ(stream_.Fetch("age", 0, 5)->front().offset, 5);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto md, stream_.Send("age", Msg("k", "v")));
  EXPECT_EQ(md.offset, 10) << "offsets are never renumbered";
  EXPECT_EQ(StreamEvents("stream.retention").size(), 2u);
}

TEST_F(StreamStoreTest, CompactionKeepsTheLatestPerKeyWithOriginalOffsets) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("c", {.cleanup_policy = StreamCleanupPolicy::kCompact,
                                            .delete_retention_ms = 1000}));
  EXPECT_THAT(stream_.Send("c", {.value = "keyless"}), StatusIs(StatusCode::kInvalidArgument, "keyed records only"));
  DOTDO_ASSERT_OK(stream_.Send("c", Msg("a", "a1")));     // 0
  DOTDO_ASSERT_OK(stream_.Send("c", Msg("b", "b1")));     // 1
  DOTDO_ASSERT_OK(stream_.Send("c", Msg("a", "a2")));     // 2
  DOTDO_ASSERT_OK(stream_.Send("c", {.key = "b"}));       // 3: tombstone for b
  DOTDO_ASSERT_OK(stream_.Send("c", Msg("c", "c1")));     // 4
  DOTDO_ASSERT_OK(stream_.EnforceRetention());
  auto offsets = [&] {
    std::vector<std::pair<int64_t, std::string>> out;
    auto recs = stream_.Fetch("c", 0, stream_.DescribeTopic("c")->partitions[0].log_start_offset);
    EXPECT_THAT(recs, IsOk());
    for (const auto& r : *recs) out.emplace_back(r.offset, *r.key);
    return out;
  };
  using P = std::pair<int64_t, std::string>;
  EXPECT_EQ(offsets(), (std::vector<P>{{2, "a"}, {3, "b"}, {4, "c"}}));
  clock_.Advance(1000);
  DOTDO_ASSERT_OK(stream_.EnforceRetention());
  EXPECT_EQ(offsets(), (std::vector<P>{{2, "a"}, {4, "c"}})) << "the tombstone went after delete.retention.ms";
  auto p = stream_.DescribeTopic("c")->partitions[0];
  EXPECT_EQ(p.records, 2);
  EXPECT_EQ(p.end_offset, 5);
}

TEST_F(StreamStoreTest, BackPressureAnswersFullOrBlocksUntilTheTimeout) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("q", {.max_unconsumed = 3}));
  DOTDO_ASSERT_OK(stream_.CreateTopic("b", {.max_unconsumed = 2, .full_policy = StreamFullPolicy::kBlock,
                                            .full_block_ms = 30}));
  for (int i = 0; i < 3; ++i) DOTDO_ASSERT_OK(stream_.Send("q", Msg("k", "v")));
  EXPECT_THAT(stream_.Send("q", Msg("k", "v")), StatusIs(StatusCode::kResourceExhausted, "is full"));
  DOTDO_ASSERT_OK(stream_.CreateTopic("i", {.max_unconsumed = 1}));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t pid, stream_.InitProducerId());
  const StreamSendOptions idem{.idempotence = StreamIdempotence{pid, 0}};
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sent, stream_.Send("i", Msg("k", "v"), idem));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto resent, stream_.Send("i", Msg("k", "v"), idem));
  EXPECT_EQ(resent, sent) << "a resent batch is answered when the topic is full";
  // A commit makes room.
  DOTDO_ASSERT_OK(stream_.CommitOffsets("g", {{{"q", 0}, 2}}));
  DOTDO_ASSERT_OK(stream_.Send("q", Msg("k", "v")));
  for (int i = 0; i < 2; ++i) DOTDO_ASSERT_OK(stream_.Send("b", Msg("k", "v")));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(stream_.Send("b", Msg("k", "v")), StatusIs(StatusCode::kResourceExhausted, "waited 30 ms"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
  // A consumer on another thread that commits releases the blocked producer.
  DOTDO_ASSERT_OK(stream_.AlterTopic("b", {.max_unconsumed = 2, .full_policy = StreamFullPolicy::kBlock,
                                           .full_block_ms = 5000}));
  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_THAT(StreamStore(*db_).CommitOffsets("g", {{{"b", 0}, 2}}), IsOk());
  });
  DOTDO_EXPECT_OK(stream_.Send("b", Msg("k", "v")));
  committer.join();
}

// Model-based: random sends (keyed, keyless, explicit, batches), retention and compaction steps
// against an in-memory model of every partition log; after each step every partition's stored
// records (offset, key, value) and end offset match the model.
TEST_F(StreamStoreTest, RandomOperationsMatchAnInMemoryModel) {
  struct ModelRecord {
    int64_t offset;
    std::string key, value;
  };
  DOTDO_ASSERT_OK(stream_.CreateTopic("m", {.partitions = 4, .retention_ms = -1, .retention_bytes = 200}));
  std::vector<std::vector<ModelRecord>> model(4);
  std::vector<int64_t> end(4, 0);
  std::mt19937 rng(7);
  int64_t sticky = 0;
  for (int step = 0; step < 300; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 8) {
      std::vector<StreamMessage> batch;
      const int n = 1 + static_cast<int>(rng() % 5);
      const bool keyless = op == 7;
      for (int i = 0; i < n; ++i) {
        StreamMessage m{.value = "v" + std::to_string(step) + "-" + std::to_string(i)};
        if (!keyless) m.key = "k" + std::to_string(rng() % 9);
        if (op == 6) m.partition = static_cast<int32_t>(rng() % 4);
        batch.push_back(m);
      }
      DOTDO_ASSERT_OK(stream_.SendBatch("m", batch));
      const int32_t sticky_p = static_cast<int32_t>(keyless ? sticky++ % 4 : 0);
      for (const auto& m : batch) {
        const int32_t p = m.partition ? *m.partition : m.key ? KafkaPartitionForKey(*m.key, 4) : sticky_p;
        model[p].push_back({end[p]++, m.key.value_or(""), *m.value});
      }
    } else {
      DOTDO_ASSERT_OK(stream_.EnforceRetention());
      for (auto& log : model) {
        int64_t bytes = 0;
        for (const auto& r : log) bytes += static_cast<int64_t>(r.key.size() + r.value.size());
        while (bytes > 200) {
          bytes -= static_cast<int64_t>(log.front().key.size() + log.front().value.size());
          log.erase(log.begin());
        }
      }
    }
    DOTDO_ASSERT_OK_AND_ASSIGN(auto info, stream_.DescribeTopic("m"));
    for (int32_t p = 0; p < 4; ++p) {
      ASSERT_EQ(info.partitions[p].end_offset, end[p]) << "step " << step;
      const int64_t start = model[p].empty() ? end[p] : model[p].front().offset;
      ASSERT_EQ(info.partitions[p].log_start_offset, start) << "step " << step << " partition " << p;
      DOTDO_ASSERT_OK_AND_ASSIGN(auto recs, stream_.Fetch("m", p, start, 10000));
      ASSERT_EQ(recs.size(), model[p].size());
      for (size_t i = 0; i < recs.size(); ++i) {
        ASSERT_EQ(recs[i].offset, model[p][i].offset);
        ASSERT_EQ(recs[i].key.value_or(""), model[p][i].key);
        ASSERT_EQ(recs[i].value, model[p][i].value);
      }
    }
  }
}

}  // namespace
}  // namespace dotdo
