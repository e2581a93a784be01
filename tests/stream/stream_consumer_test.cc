// Consumers and consumer groups: Kafka's assignor cases (tests/stream/data/assignors.jsonl), group
// membership with generations, heartbeats and session timeouts (manual clock), stale-generation
// commits, the consumer client (assign, subscribe, poll, iterator, seek, pause, commit,
// auto-commit, lag), consume-transform-produce in one transaction, and a model-based test of
// membership under random joins, leaves and timeouts.
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "dotdo/cdc.h"
#include "dotdo/stream.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;
using TP = StreamTopicPartition;

TEST(StreamAssignorTest, MatchesKafkaAssignorTests) {
  std::ifstream in(std::string(DOTDO_TEST_DATA_DIR) + "/assignors.jsonl");
  ASSERT_TRUE(in);
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const Json c = Json::parse(line);
    std::map<std::string, int32_t> partitions = c["partitions"];
    std::map<std::string, std::vector<std::string>> subs = c["subscriptions"];
    StreamAssignment expected;
    for (const auto& [member, tps] : c["expected"].items()) {
      auto& v = expected[member];
      for (const auto& tp : tps) v.push_back({tp[0].get<std::string>(), tp[1].get<int32_t>()});
    }
    EXPECT_EQ(AssignPartitions(*ParseStreamAssignor(c["assignor"].get<std::string>()), partitions, subs), expected)
        << c["source"] << " " << c["case"] << " (" << c["assignor"] << ")";
    ++cases;
  }
  EXPECT_EQ(cases, 18);
}

class StreamGroupTest : public ::testing::Test {
 protected:
  StreamGroupTest() : db_(testing::OpenMemoryDb(&clock_)), stream_(*db_) {
    EXPECT_THAT(stream_.CreateTopic("t", {.partitions = 4}), IsOk());
  }
  std::vector<TP> Parts(std::string_view member) {
    auto info = stream_.DescribeGroup("g");
    EXPECT_THAT(info, IsOk());
    for (const auto& m : info->members)
      if (m.member_id == member) return m.assignment;
    return {};
  }
  ManualClock clock_;
  std::unique_ptr<Database> db_;
  StreamStore stream_;
};

TEST_F(StreamGroupTest, JoinLeaveAndTimeoutRebalanceWithNewGenerations) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, stream_.JoinGroup("g", {.client_id = "a", .topics = {"t"}, .session_timeout_ms = 1000}));
  EXPECT_EQ(a.generation, 1);
  EXPECT_EQ(a.assignment.size(), 4u);
  EXPECT_EQ(a.member_id.rfind("a-", 0), 0u);
  clock_.Advance(10);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto b, stream_.JoinGroup("g", {.client_id = "b", .topics = {"t"}, .session_timeout_ms = 1000}));
  EXPECT_EQ(b.generation, 2);
  EXPECT_EQ(b.assignment, (std::vector<TP>{{"t", 2}, {"t", 3}}));  // range: "a-..." < "b-..."
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hb, stream_.Heartbeat("g", a.member_id));
  EXPECT_EQ(hb.generation, 2);
  EXPECT_EQ(hb.assignment, (std::vector<TP>{{"t", 0}, {"t", 1}}));
  // A commit from generation 1 is refused; one from generation 2 succeeds.
  EXPECT_THAT(stream_.CommitOffsets("g", {{{"t", 0}, 0}}, a.member_id, 1),
              StatusIs(StatusCode::kFailedPrecondition, "generation 1 but group 'g' is in generation 2"));
  DOTDO_EXPECT_OK(stream_.CommitOffsets("g", {{{"t", 0}, 0}}, a.member_id, 2));
  EXPECT_THAT(stream_.CommitOffsets("g", {{{"t", 0}, 0}}), StatusIs(StatusCode::kFailedPrecondition, "live members"));
  // b stops heartbeating: after its session timeout it is removed and a gets everything back.
  clock_.Advance(800);
  DOTDO_ASSERT_OK(stream_.Heartbeat("g", a.member_id));
  clock_.Advance(300);
  DOTDO_ASSERT_OK_AND_ASSIGN(hb, stream_.Heartbeat("g", a.member_id));
  EXPECT_EQ(hb.generation, 3);
  EXPECT_EQ(hb.assignment.size(), 4u);
  EXPECT_THAT(stream_.Heartbeat("g", b.member_id), StatusIs(StatusCode::kNotFound, "join again"));
  EXPECT_THAT(stream_.CommitOffsets("g", {{{"t", 1}, 0}}, b.member_id, 2), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK(stream_.LeaveGroup("g", a.member_id));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, stream_.DescribeGroup("g"));
  EXPECT_EQ(info.generation, 4);
  EXPECT_TRUE(info.members.empty());
  EXPECT_EQ(info.offsets.size(), 1u);
  // Without members a manual commit is accepted again.
  DOTDO_EXPECT_OK(stream_.CommitOffsets("g", {{{"t", 1}, 0}}));
  // Adding partitions triggers a rebalance at the next heartbeat.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto c, stream_.JoinGroup("g", {.client_id = "c", .topics = {"t"}}));
  DOTDO_ASSERT_OK(stream_.AddPartitions("t", 6));
  DOTDO_ASSERT_OK_AND_ASSIGN(hb, stream_.Heartbeat("g", c.member_id));
  EXPECT_EQ(hb.generation, c.generation + 1);
  EXPECT_EQ(hb.assignment.size(), 6u);
  // Every rebalance stored its generation with an event.
  DOTDO_ASSERT_OK_AND_ASSIGN(Json rows, db_->QueryReadOnly("SELECT generation FROM stream_groups WHERE group_id = 'g'"));
  EXPECT_EQ(rows[0]["generation"], hb.generation);
}

TEST_F(StreamGroupTest, BadGroupInputIsRefused) {
  EXPECT_THAT(stream_.JoinGroup("bad group", {.topics = {"t"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.JoinGroup("g", {.client_id = "", .topics = {"t"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.JoinGroup("g", {.topics = {}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(stream_.JoinGroup("g", {.topics = {"t"}, .session_timeout_ms = 0}), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK(stream_.JoinGroup("g", {.topics = {"t"}}));
  EXPECT_THAT(stream_.JoinGroup("g", {.topics = {"t"}, .assignor = StreamAssignor::kRoundRobin}),
              StatusIs(StatusCode::kFailedPrecondition, "range assignor"));
  EXPECT_THAT(stream_.LeaveGroup("g", "nobody"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(stream_.CommitOffsets("h", {{{"t", 9}, 0}}), StatusIs(StatusCode::kNotFound, "valid partitions"));
  EXPECT_THAT(stream_.CommitOffsets("h", {{{"t", 0}, 1}}), StatusIs(StatusCode::kOutOfRange, "valid offsets are [0, 0]"));
  EXPECT_THAT(stream_.CommitOffsets("h", {{{"nope", 0}, 0}}), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(stream_.DescribeGroup("h"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(stream_.Lag("bad group"), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(StreamGroupTest, ConsumerAssignPollSeekPauseCommitAndLag) {
  for (int i = 0; i < 10; ++i)
    DOTDO_ASSERT_OK(stream_.Send("t", {.value = std::to_string(i), .partition = i % 2, .timestamp = 1000 + i}));
  StreamConsumer c(stream_, {.group_id = "g", .auto_commit = false});
  EXPECT_THAT(c.Assign({{"t", 7}}), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK(c.Assign({{"t", 0}, {"t", 1}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto recs, c.Poll(3, 0));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(*c.Position({"t", 0}), 3);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto lag, c.Lag());
  EXPECT_EQ((lag[TP{"t", 0}]), 2);
  EXPECT_EQ((lag[TP{"t", 1}]), 5);
  DOTDO_ASSERT_OK(c.Pause({{"t", 0}}));
  EXPECT_EQ(c.Paused(), (std::vector<TP>{{"t", 0}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(recs, c.Poll(100, 0));
  ASSERT_EQ(recs.size(), 5u);
  for (const auto& r : recs) EXPECT_EQ(r.partition, 1);
  DOTDO_ASSERT_OK(c.Resume({{"t", 0}}));
  DOTDO_ASSERT_OK(c.Commit());
  EXPECT_EQ(**stream_.CommittedOffset("g", {"t", 0}), 3);
  DOTDO_ASSERT_OK(c.Seek({"t", 0}, 1));
  EXPECT_EQ(c.Poll(1, 0)->front().offset, 1);
  EXPECT_THAT(c.Seek({"t", 0}, 6), StatusIs(StatusCode::kOutOfRange, "valid offsets are [0, 5]"));
  EXPECT_THAT(c.Seek({"t", 3}, 0), StatusIs(StatusCode::kFailedPrecondition, "not assigned"));
  DOTDO_ASSERT_OK(c.SeekToTimestamp({"t", 1}, 1005));  // offsets 0..4 of p1 have ts 1001,1003,...
  EXPECT_EQ(*c.Position({"t", 1}), 2);
  DOTDO_ASSERT_OK(c.SeekToEnd());
  EXPECT_TRUE(c.Poll(10, 0)->empty());
  DOTDO_ASSERT_OK(c.SeekToBeginning({{"t", 1}}));
  EXPECT_EQ(*c.Position({"t", 1}), 0);
  DOTDO_ASSERT_OK(c.SeekToCommitted());
  EXPECT_EQ(*c.Position({"t", 0}), 3);
  DOTDO_ASSERT_OK(c.Commit({{{"t", 1}, 4}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto group_lag, stream_.Lag("g"));
  ASSERT_EQ(group_lag.size(), 4u);
  EXPECT_EQ(group_lag[1].lag, 1);
  EXPECT_EQ(group_lag[2].committed, std::nullopt);
  EXPECT_THAT(c.Poll(0, 0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(c.Poll(1, -1), StatusIs(StatusCode::kInvalidArgument, "timeout_ms"));
  // The commits left stream.commit events with metadata only.
  int commits = 0;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db_).Read(0, 1000));
  for (const auto& e : events)
    if (e.type == "stream.commit") {
      ++commits;
      EXPECT_EQ(*e.key, "g");
      EXPECT_TRUE(e.data->contains("offsets"));
    }
  EXPECT_EQ(commits, 2);
}

TEST_F(StreamGroupTest, IteratorPollWaitAndAutoCommit) {
  for (int i = 0; i < 1200; ++i) DOTDO_ASSERT_OK(stream_.Send("t", {.key = std::to_string(i), .value = "v"}));
  StreamConsumer c(stream_, {.group_id = "g", .auto_commit_interval_ms = 1000});
  DOTDO_ASSERT_OK(c.Subscribe({"t"}));
  EXPECT_EQ(c.Assignment().size(), 4u);
  std::set<std::string> seen;
  for (const StreamRecord& r : c) seen.insert(*r.key);
  DOTDO_EXPECT_OK(c.status());
  EXPECT_EQ(seen.size(), 1200u);
  EXPECT_EQ(*stream_.CommittedOffset("g", {"t", 0}), std::nullopt) << "the interval has not passed";
  clock_.Advance(1000);
  DOTDO_ASSERT_OK(c.Poll(1, 0));
  int64_t committed = 0;
  for (int32_t p = 0; p < 4; ++p) committed += stream_.CommittedOffset("g", {"t", p})->value_or(0);
  EXPECT_EQ(committed, 1200);
  // Poll waits (wall clock) for a record sent meanwhile.
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_THAT(StreamStore(*db_).Send("t", {.value = "late", .partition = 2}), IsOk());
  });
  DOTDO_ASSERT_OK_AND_ASSIGN(auto late, c.Poll(10, 5000));
  producer.join();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].value, "late");
  DOTDO_ASSERT_OK(c.Close());
  EXPECT_TRUE(stream_.DescribeGroup("g")->members.empty());
}

TEST_F(StreamGroupTest, ConsumersFollowRebalancesAndResumeFromCommits) {
  for (int i = 0; i < 40; ++i) DOTDO_ASSERT_OK(stream_.Send("t", {.value = "v", .partition = i % 4}));
  StreamConsumer a(stream_, {.group_id = "g", .client_id = "a", .auto_commit = false});
  DOTDO_ASSERT_OK(a.Subscribe({"t"}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto first, a.Poll(12, 0));
  DOTDO_ASSERT_OK(a.Commit());
  const int64_t gen = a.generation();
  StreamConsumer b(stream_, {.group_id = "g", .client_id = "b", .auto_commit = false});
  DOTDO_ASSERT_OK(b.Subscribe({"t"}));
  EXPECT_EQ(b.Assignment(), (std::vector<TP>{{"t", 2}, {"t", 3}}));
  // a learns about the rebalance at its next poll; commits of its old generation are refused.
  EXPECT_THAT(stream_.CommitOffsets("g", {{{"t", 0}, 1}}, a.member_id(), gen), StatusIs(StatusCode::kFailedPrecondition));
  DOTDO_ASSERT_OK(a.Poll(1, 0));
  EXPECT_EQ(a.generation(), gen + 1);
  EXPECT_EQ(a.Assignment(), (std::vector<TP>{{"t", 0}, {"t", 1}}));
  // b starts where a committed.
  int64_t total = 0;
  for (const auto& tp : b.Assignment()) total += *b.Position(tp);
  int64_t committed = 0;
  for (const auto& tp : b.Assignment()) committed += stream_.CommittedOffset("g", tp)->value_or(0);
  EXPECT_EQ(total, committed);
  (void)first;
}

TEST_F(StreamGroupTest, ConsumeTransformProduceCommitsInOneTransaction) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("out"));
  for (int i = 0; i < 5; ++i) DOTDO_ASSERT_OK(stream_.Send("t", {.value = std::to_string(i), .partition = 0}));
  StreamConsumer c(stream_, {.group_id = "g", .auto_commit = false});
  DOTDO_ASSERT_OK(c.Assign({{"t", 0}}));
  // A failing transaction: nothing produced, nothing committed, the consumer rewinds.
  Status st = db_->Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto recs, c.Poll(5, 0));
    for (const auto& r : recs) DOTDO_RETURN_IF_ERROR(stream_.Send("out", {.value = *r.value + "!"}).status());
    DOTDO_RETURN_IF_ERROR(c.Commit());
    return AbortedError("application failure");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
  EXPECT_EQ(stream_.DescribeTopic("out")->partitions[0].end_offset, 0);
  EXPECT_EQ(*stream_.CommittedOffset("g", {"t", 0}), std::nullopt);
  DOTDO_ASSERT_OK(c.SeekToCommitted());
  DOTDO_ASSERT_OK(db_->Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto recs, c.Poll(5, 0));
    for (const auto& r : recs) DOTDO_RETURN_IF_ERROR(stream_.Send("out", {.value = *r.value + "!"}).status());
    return c.Commit();
  }));
  EXPECT_EQ(stream_.DescribeTopic("out")->partitions[0].end_offset, 5);
  EXPECT_EQ(**stream_.CommittedOffset("g", {"t", 0}), 5);
}

// Model-based: random joins, leaves, heartbeats and clock jumps against a model of the membership
// (member -> last heartbeat, timeout) and generation; after each step the live members, the
// generation and the assignment (Kafka's range over the model's member ids) agree.
TEST_F(StreamGroupTest, RandomMembershipMatchesAModel) {
  DOTDO_ASSERT_OK(stream_.CreateTopic("u", {.partitions = 3}));
  struct M {
    int64_t last, timeout;
    std::vector<std::string> topics;
  };
  std::map<std::string, M> model;
  int64_t generation = 0;
  std::mt19937 rng(11);
  auto expire = [&] {
    bool any = false;
    for (auto it = model.begin(); it != model.end();) {
      if (clock_.NowMillis() - it->second.last > it->second.timeout) {
        it = model.erase(it);
        any = true;
      } else {
        ++it;
      }
    }
    if (any) ++generation;
  };
  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(rng() % 4);
    if (op == 0 || model.empty()) {
      expire();
      const int64_t timeout = 100 + static_cast<int64_t>(rng() % 400);
      std::vector<std::string> topics = rng() % 2 ? std::vector<std::string>{"t"} : std::vector<std::string>{"t", "u"};
      DOTDO_ASSERT_OK_AND_ASSIGN(auto m, stream_.JoinGroup("g", {.client_id = "c" + std::to_string(rng() % 3),
                                                                  .topics = topics,
                                                                  .session_timeout_ms = timeout}));
      model[m.member_id] = {clock_.NowMillis(), timeout, topics};
      ++generation;
    } else if (op == 1) {
      auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
      const std::string id = it->first;
      const bool alive = clock_.NowMillis() - it->second.last <= it->second.timeout;
      Status st = stream_.LeaveGroup("g", id);
      expire();
      if (alive) {
        ASSERT_THAT(st, IsOk());
        model.erase(id);
        ++generation;
      } else {
        ASSERT_THAT(st, StatusIs(StatusCode::kNotFound));
      }
    } else if (op == 2) {
      auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
      const std::string id = it->first;
      auto hb = stream_.Heartbeat("g", id);
      expire();
      if (model.count(id)) {
        ASSERT_THAT(hb, IsOk());
        model[id].last = clock_.NowMillis();
      } else {
        ASSERT_THAT(hb, StatusIs(StatusCode::kNotFound));
      }
    } else {
      clock_.Advance(static_cast<int64_t>(rng() % 150));
    }
    DOTDO_ASSERT_OK_AND_ASSIGN(auto info, stream_.DescribeGroup("g"));
    expire();
    ASSERT_EQ(info.generation, generation) << "step " << step;
    ASSERT_EQ(info.members.size(), model.size()) << "step " << step;
    std::map<std::string, std::vector<std::string>> subs;
    for (const auto& [id, m] : model) subs[id] = m.topics;
    const StreamAssignment expected = AssignPartitions(StreamAssignor::kRange, {{"t", 4}, {"u", 3}}, subs);
    for (const auto& m : info.members) ASSERT_EQ(m.assignment, expected.at(m.member_id)) << "step " << step;
  }
}

}  // namespace
}  // namespace dotdo
