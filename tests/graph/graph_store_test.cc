// GraphStore edges: relate/unrelate/exists/get, CDC events, validation of every input, paged and
// filtered adjacency, degrees, batches equal to per-id calls, unrelateAll, a model-based random
// test and crash recovery of a file namespace.
#include "dotdo/graph.h"

#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "dotdo/cdc.h"
#include "dotdo/ulid.h"
#include "graph/graph_test_util.h"

namespace dotdo {
namespace {

std::vector<UnifiedEvent> Events(Database& db) {
  ChangeFeed feed(db);
  auto r = feed.Read(0, 10000);
  EXPECT_THAT(r, IsOk());
  return r.ok() ? *r : std::vector<UnifiedEvent>{};
}

std::vector<std::string> Tos(const std::vector<Edge>& edges) {
  std::vector<std::string> out;
  for (const auto& e : edges) out.push_back(e.type + ":" + e.to);
  return out;
}

std::vector<std::string> Froms(const std::vector<Edge>& edges) {
  std::vector<std::string> out;
  for (const auto& e : edges) out.push_back(e.type + ":" + e.from);
  return out;
}

TEST(GraphStoreTest, RelateCreatesEdgeAndEmitsInsert) {
  ManualClock clock(1'700'000'000'000);
  auto db = testing::OpenMemoryDb(&clock);
  GraphStore g(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(Edge e, g.Relate("User/alice", "User/bob", "follows", {{"since", 2024}}));
  EXPECT_EQ(e.from, "User/alice");
  EXPECT_EQ(e.to, "User/bob");
  EXPECT_EQ(e.type, "follows");
  EXPECT_EQ(e.data, (Json{{"since", 2024}}));
  EXPECT_EQ(e.created_at, 1'700'000'000'000);
  EXPECT_EQ(e.updated_at, e.created_at);
  EXPECT_TRUE(UlidGenerator::IsValid(e.id));
  EXPECT_THAT(g.Exists("User/alice", "User/bob", "follows"), IsOkAndHolds(true));
  DOTDO_ASSERT_OK_AND_ASSIGN(Edge got, g.GetEdge("User/alice", "User/bob", "follows"));
  EXPECT_EQ(got, e);
  DOTDO_ASSERT_OK_AND_ASSIGN(Edge by_id, g.GetEdgeById(e.id));
  EXPECT_EQ(by_id, e);

  auto events = Events(*db);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "cdc.insert");
  EXPECT_EQ(events[0].op, "c");
  EXPECT_EQ(events[0].store, "graph");
  EXPECT_EQ(events[0].table, "relationships");
  EXPECT_EQ(events[0].key, e.id);
  EXPECT_FALSE(events[0].before.has_value());
  EXPECT_EQ(events[0].after, (Json{{"from", "User/alice"}, {"to", "User/bob"}, {"type", "follows"}, {"data", {{"since", 2024}}}}));
}

TEST(GraphStoreTest, RelateTwiceUpdatesDataAndKeepsIdentity) {
  ManualClock clock;
  auto db = testing::OpenMemoryDb(&clock);
  GraphStore g(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(Edge first, g.Relate("User/a", "Team/t", "memberOf", {{"role", "dev"}}));
  clock.Advance(5000);
  DOTDO_ASSERT_OK_AND_ASSIGN(Edge second, g.Relate("User/a", "Team/t", "memberOf", {{"role", "lead"}}));
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.created_at, first.created_at);
  EXPECT_EQ(second.updated_at, first.created_at + 5000);
  EXPECT_EQ(second.data, (Json{{"role", "lead"}}));
  EXPECT_THAT(g.OutDegree("User/a"), IsOkAndHolds(1));
  auto events = Events(*db);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, "cdc.update");
  EXPECT_EQ(events[1].key, first.id);
  EXPECT_EQ((*events[1].before)["data"], (Json{{"role", "dev"}}));
  EXPECT_EQ((*events[1].after)["data"], (Json{{"role", "lead"}}));
}

TEST(GraphStoreTest, UnrelateRemovesEdgeAndEmitsDelete) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(Edge e, g.Relate("User/a", "User/b", "follows"));
  EXPECT_THAT(g.Unrelate("User/a", "User/b", "follows"), IsOkAndHolds(true));
  EXPECT_THAT(g.Exists("User/a", "User/b", "follows"), IsOkAndHolds(false));
  EXPECT_THAT(g.GetEdge("User/a", "User/b", "follows"), StatusIs(StatusCode::kNotFound, "User/a"));
  EXPECT_THAT(g.GetEdgeById(e.id), StatusIs(StatusCode::kNotFound));
  auto events = Events(*db);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, "cdc.delete");
  EXPECT_EQ(events[1].key, e.id);
  EXPECT_EQ(events[1].before, (Json{{"from", "User/a"}, {"to", "User/b"}, {"type", "follows"}, {"data", Json::object()}}));
  EXPECT_FALSE(events[1].after.has_value());
}

TEST(GraphStoreTest, UnrelateOfMissingEdgeWritesNothing) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  EXPECT_THAT(g.Unrelate("User/a", "User/b", "follows"), IsOkAndHolds(false));
  EXPECT_THAT(Events(*db), IsEmpty());
}

TEST(GraphStoreTest, MalformedNodeIdsAreRejectedAndNothingIsWritten) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  for (const std::string& bad : {std::string("alice"), std::string("/alice"), std::string("User/"),
                                 std::string("1User/a"), std::string("Us er/a"), std::string("User/a b"),
                                 std::string("User/a\nb"), std::string("Us-er/a"), std::string(70, 'A') + "/a",
                                 "User/" + std::string(449, 'k'), std::string("")}) {
    EXPECT_THAT(g.Relate(bad, "User/b", "follows"), StatusIs(StatusCode::kInvalidArgument, "from")) << bad;
    EXPECT_THAT(g.Relate("User/b", bad, "follows"), StatusIs(StatusCode::kInvalidArgument, "to")) << bad;
    EXPECT_THAT(g.Outgoing(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(g.Traverse({.start = bad}), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  // Keys may contain '/' and UTF-8.
  DOTDO_EXPECT_OK(g.Relate("File/dir/sub/x.txt", "User/zoë", "ownedBy"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto type, NodeTypeOf("File/dir/sub/x.txt"));
  EXPECT_EQ(type, "File");
  EXPECT_EQ(Events(*db).size(), 1u);
}

TEST(GraphStoreTest, BadRelationTypesAndDataAreRejected) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  for (const std::string& bad : std::vector<std::string>{"", "1x", "has space", "a/b", std::string(65, 'a'), "x'y"}) {
    EXPECT_THAT(g.Relate("User/a", "User/b", bad), StatusIs(StatusCode::kInvalidArgument, "relation type")) << bad;
  }
  EXPECT_THAT(g.Relate("User/a", "User/b", "t", Json::array({1})), StatusIs(StatusCode::kInvalidArgument, "JSON object"));
  EXPECT_THAT(g.Relate("User/a", "User/b", "t", 5), StatusIs(StatusCode::kInvalidArgument, "got number"));
  EXPECT_THAT(g.Relate("User/a", "User/b", "t", "text"), StatusIs(StatusCode::kInvalidArgument, "got string"));
  EXPECT_THAT(g.Relate("User/a", "User/b", "t", Json{{"k", std::string("\xff\xfe")}}),
              StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
  EXPECT_THAT(g.Relate("User/a", "User/b", "t", Json{{"big", std::string(1 << 20, 'x')}}),
              StatusIs(StatusCode::kInvalidArgument, "limit"));
  EXPECT_THAT(Events(*db), IsEmpty());
  DOTDO_ASSERT_OK_AND_ASSIGN(Edge e, g.Relate("User/a", "User/b", "org:member-of.v2", nullptr));
  EXPECT_EQ(e.data, Json::object());
}

TEST(GraphStoreTest, TypePartsOfNodeIdsAreStored) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  DOTDO_ASSERT_OK(g.Relate("User/a", "Post/1", "wrote"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db->QueryReadOnly("SELECT from_type, to_type FROM graph_relationships"));
  EXPECT_EQ(rows, (Json::parse(R"([{"from_type":"User","to_type":"Post"}])")));
}

class AdjacencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenMemoryDb();
    g_ = std::make_unique<GraphStore>(*db_);
    for (const char* to : {"User/c", "User/b", "Post/2", "Post/1"}) ASSERT_THAT(g_->Relate("User/a", to, "likes"), IsOk());
    ASSERT_THAT(g_->Relate("User/a", "User/b", "follows"), IsOk());
    ASSERT_THAT(g_->Relate("User/b", "User/a", "follows"), IsOk());
    ASSERT_THAT(g_->Relate("User/c", "User/a", "blocks"), IsOk());
    ASSERT_THAT(g_->Relate("User/a", "User/a", "notes"), IsOk());
  }
  std::unique_ptr<Database> db_;
  std::unique_ptr<GraphStore> g_;
};

TEST_F(AdjacencyTest, OutgoingIsOrderedByTypeThenTarget) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto page, g_->Outgoing("User/a"));
  EXPECT_THAT(Tos(page.items), ElementsAre("follows:User/b", "likes:Post/1", "likes:Post/2", "likes:User/b",
                                           "likes:User/c", "notes:User/a"));
  EXPECT_TRUE(page.next_cursor.empty());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto in, g_->Incoming("User/a"));
  EXPECT_THAT(Froms(in.items), ElementsAre("blocks:User/c", "follows:User/b", "notes:User/a"));
}

TEST_F(AdjacencyTest, PagesWithCursorsCoverEverythingOnce) {
  for (int64_t limit : {1, 2, 4, 100}) {
    std::vector<std::string> all;
    std::string cursor;
    int pages = 0;
    do {
      DOTDO_ASSERT_OK_AND_ASSIGN(auto page, g_->Both("User/a", {.limit = limit, .cursor = cursor}));
      for (const auto& e : page.items) all.push_back(e.from + ">" + e.type + ">" + e.to);
      cursor = page.next_cursor;
      ASSERT_LT(++pages, 20);
    } while (!cursor.empty());
    // Outgoing first, then incoming; the self-loop once.
    EXPECT_THAT(all, ElementsAre("User/a>follows>User/b", "User/a>likes>Post/1", "User/a>likes>Post/2",
                                 "User/a>likes>User/b", "User/a>likes>User/c", "User/a>notes>User/a",
                                 "User/c>blocks>User/a", "User/b>follows>User/a"))
        << "limit " << limit;
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto p1, g_->Outgoing("User/a", {.limit = 4}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto p2, g_->Outgoing("User/a", {.limit = 4, .cursor = p1.next_cursor}));
  EXPECT_THAT(Tos(p2.items), ElementsAre("likes:User/c", "notes:User/a"));
  EXPECT_TRUE(p2.next_cursor.empty());
}

TEST_F(AdjacencyTest, FiltersByRelationTypeAndNodeType) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto likes, g_->Outgoing("User/a", {.types = {"likes"}, .node_type = "Post"}));
  EXPECT_THAT(Tos(likes.items), ElementsAre("likes:Post/1", "likes:Post/2"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto two, g_->Outgoing("User/a", {.types = {"notes", "follows"}}));
  EXPECT_THAT(Tos(two.items), ElementsAre("follows:User/b", "notes:User/a"));
  EXPECT_THAT(g_->OutDegree("User/a"), IsOkAndHolds(6));
  EXPECT_THAT(g_->OutDegree("User/a", {"likes"}), IsOkAndHolds(4));
  EXPECT_THAT(g_->InDegree("User/a"), IsOkAndHolds(3));
  EXPECT_THAT(g_->InDegree("User/zzz"), IsOkAndHolds(0));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, g_->Outgoing("User/nobody"));
  EXPECT_THAT(none.items, IsEmpty());
}

TEST_F(AdjacencyTest, RejectsBadQueries) {
  EXPECT_THAT(g_->Outgoing("User/a", {.limit = 0}), StatusIs(StatusCode::kInvalidArgument, "limit"));
  EXPECT_THAT(g_->Outgoing("User/a", {.limit = kMaxEdgePageSize + 1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(g_->Outgoing("User/a", {.types = {"bad type"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(g_->Outgoing("User/a", {.node_type = "Po st"}), StatusIs(StatusCode::kInvalidArgument, "node_type"));
  for (const std::string& bad : std::vector<std::string>{"zz", "6f", "abc", "6f6c696b6573"}) {
    EXPECT_THAT(g_->Outgoing("User/a", {.cursor = bad}), StatusIs(StatusCode::kInvalidArgument, "cursor")) << bad;
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto in, g_->Incoming("User/a", {.limit = 1}));
  EXPECT_THAT(g_->Outgoing("User/a", {.cursor = in.next_cursor}), StatusIs(StatusCode::kInvalidArgument, "incoming"));
  EXPECT_THAT(g_->OutgoingBatch({"User/a"}, {.cursor = in.next_cursor}), StatusIs(StatusCode::kInvalidArgument));
  std::vector<std::string> many;
  for (size_t i = 0; i <= kMaxBatchIds; ++i) many.push_back("N/" + std::to_string(i));
  EXPECT_THAT(g_->OutgoingBatch(many), StatusIs(StatusCode::kInvalidArgument, "at most"));
  EXPECT_THAT(g_->OutgoingBatch({"User/a", "bad"}), StatusIs(StatusCode::kInvalidArgument, "batch id"));
}

TEST_F(AdjacencyTest, BatchesEqualThePerIdCalls) {
  const std::vector<std::string> ids = {"User/a", "User/b", "User/c", "User/none", "Post/1", "User/a"};
  for (const EdgeQuery& q : {EdgeQuery{}, EdgeQuery{.limit = 2}, EdgeQuery{.types = {"likes", "blocks"}},
                             EdgeQuery{.node_type = "User"}}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto out, g_->OutgoingBatch(ids, q));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto in, g_->IncomingBatch(ids, q));
    EXPECT_EQ(out.size(), 5u);
    EXPECT_EQ(in.size(), 5u);
    for (const auto& id : ids) {
      DOTDO_ASSERT_OK_AND_ASSIGN(auto po, g_->Outgoing(id, q));
      DOTDO_ASSERT_OK_AND_ASSIGN(auto pi, g_->Incoming(id, q));
      EXPECT_EQ(out.at(id), po.items) << id;
      EXPECT_EQ(in.at(id), pi.items) << id;
    }
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto empty, g_->OutgoingBatch({}));
  EXPECT_THAT(empty, IsEmpty());
}

TEST_F(AdjacencyTest, UnrelateAllRemovesEveryEdgeOfTheNode) {
  const size_t before = Events(*db_).size();
  EXPECT_THAT(g_->UnrelateAll("User/a"), IsOkAndHolds(8));  // the self-loop counts once
  EXPECT_THAT(g_->OutDegree("User/a"), IsOkAndHolds(0));
  EXPECT_THAT(g_->InDegree("User/a"), IsOkAndHolds(0));
  auto events = Events(*db_);
  ASSERT_EQ(events.size(), before + 8);
  std::set<std::string> keys;
  for (size_t i = before; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type, "cdc.delete");
    EXPECT_EQ(events[i].txid, events[before].lsn);  // one transaction
    keys.insert(*events[i].key);
  }
  EXPECT_EQ(keys.size(), 8u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db_->QueryReadOnly("SELECT COUNT(*) AS n FROM graph_relationships"));
  EXPECT_EQ(rows[0]["n"], 0);
  EXPECT_THAT(g_->UnrelateAll("User/a"), IsOkAndHolds(0));
}

TEST(GraphStoreTest, RelateManyIsAllOrNothing) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  EXPECT_THAT(g.RelateMany({{"N/1", "N/2", "t"}, {"N/2", "N/3", "t", Json::array()}}),
              StatusIs(StatusCode::kInvalidArgument, "edge #1"));
  DOTDO_ASSERT_OK(g.SetRelationOptions("dag", {.acyclic = true}));
  const size_t events_before = Events(*db).size();
  EXPECT_THAT(g.RelateMany({{"N/1", "N/2", "dag"}, {"N/2", "N/3", "dag"}, {"N/3", "N/1", "dag"}}),
              StatusIs(StatusCode::kFailedPrecondition, "N/3 -> N/1 -> N/2 -> N/3"));
  EXPECT_EQ(Events(*db).size(), events_before);
  EXPECT_THAT(g.OutDegree("N/1"), IsOkAndHolds(0));
  EXPECT_THAT(g.RelateMany({{"N/1", "N/2", "dag"}, {"N/2", "N/3", "dag"}, {"N/1", "N/2", "dag", {{"w", 1}}}}),
              IsOkAndHolds(3));
  EXPECT_THAT(g.OutDegree("N/1"), IsOkAndHolds(1));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto e, g.GetEdge("N/1", "N/2", "dag"));
  EXPECT_EQ(e.data, (Json{{"w", 1}}));
}

// Random relate/unrelate/unrelateAll against an in-memory model, compared after every step
// (adjacency lists, degrees, Both pages walked with cursors, batches).
TEST(GraphStoreTest, RandomOperationsMatchAModel) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  std::mt19937 rng(7);
  using Key = std::tuple<std::string, std::string, std::string>;  // from, type, to
  std::map<Key, Json> model;
  auto node = [&] { return "N/" + std::to_string(rng() % 12); };
  const std::vector<std::string> types = {"a", "b", "c"};
  int64_t expected_events = 0;
  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(rng() % 10);
    std::string f = node(), t = node(), ty = types[rng() % types.size()];
    if (op < 6) {
      Json data{{"v", static_cast<int>(rng() % 100)}};
      DOTDO_ASSERT_OK(g.Relate(f, t, ty, data));
      model[{f, ty, t}] = data;
      ++expected_events;
    } else if (op < 9) {
      const bool had = model.erase({f, ty, t}) > 0;
      EXPECT_THAT(g.Unrelate(f, t, ty), IsOkAndHolds(had));
      expected_events += had ? 1 : 0;
    } else {
      int64_t n = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (std::get<0>(it->first) == f || std::get<2>(it->first) == f) {
          it = model.erase(it);
          ++n;
        } else {
          ++it;
        }
      }
      EXPECT_THAT(g.UnrelateAll(f), IsOkAndHolds(n));
      expected_events += n;
    }
    // Compare one node's full neighbourhood per step, and everything every 50 steps.
    std::vector<std::string> check = {node()};
    if (step % 50 == 49)
      for (int i = 0; i < 12; ++i) check.push_back("N/" + std::to_string(i));
    for (const auto& n : check) {
      std::vector<std::string> want_out, want_in;
      for (const auto& [k, data] : model) {
        if (std::get<0>(k) == n) want_out.push_back(std::get<1>(k) + ":" + std::get<2>(k) + "=" + data.dump());
      }
      std::vector<std::tuple<std::string, std::string, std::string>> ins;
      for (const auto& [k, data] : model)
        if (std::get<2>(k) == n) ins.emplace_back(std::get<1>(k), std::get<0>(k), data.dump());
      std::sort(ins.begin(), ins.end());
      for (auto& [ty2, from, d] : ins) want_in.push_back(ty2 + ":" + from + "=" + d);
      DOTDO_ASSERT_OK_AND_ASSIGN(auto out, g.Outgoing(n, {.limit = 1000}));
      DOTDO_ASSERT_OK_AND_ASSIGN(auto in, g.Incoming(n, {.limit = 1000}));
      std::vector<std::string> got_out, got_in;
      for (const auto& e : out.items) got_out.push_back(e.type + ":" + e.to + "=" + e.data.dump());
      for (const auto& e : in.items) got_in.push_back(e.type + ":" + e.from + "=" + e.data.dump());
      ASSERT_EQ(got_out, want_out) << "step " << step << " node " << n;
      ASSERT_EQ(got_in, want_in) << "step " << step << " node " << n;
      EXPECT_THAT(g.OutDegree(n), IsOkAndHolds(static_cast<int64_t>(want_out.size())));
      EXPECT_THAT(g.InDegree(n), IsOkAndHolds(static_cast<int64_t>(want_in.size())));
      // Both, in pages of 2: the outgoing list, then the incoming one without self-loops.
      std::vector<std::string> want_both, got_both;
      for (const auto& e : out.items) want_both.push_back(e.id);
      for (const auto& e : in.items)
        if (e.from != e.to) want_both.push_back(e.id);
      std::string cursor;
      do {
        DOTDO_ASSERT_OK_AND_ASSIGN(auto page, g.Both(n, {.limit = 2, .cursor = cursor}));
        for (const auto& e : page.items) got_both.push_back(e.id);
        cursor = page.next_cursor;
      } while (!cursor.empty() && got_both.size() <= want_both.size());
      ASSERT_EQ(got_both, want_both) << "step " << step << " node " << n;
    }
    // The batches equal the per-id calls for the same ids, whole and cut to a short page.
    for (int64_t limit : {2, 1000}) {
      DOTDO_ASSERT_OK_AND_ASSIGN(auto out_batch, g.OutgoingBatch(check, {.limit = limit}));
      DOTDO_ASSERT_OK_AND_ASSIGN(auto in_batch, g.IncomingBatch(check, {.limit = limit}));
      for (const auto& n : check) {
        DOTDO_ASSERT_OK_AND_ASSIGN(auto out, g.Outgoing(n, {.limit = limit}));
        DOTDO_ASSERT_OK_AND_ASSIGN(auto in, g.Incoming(n, {.limit = limit}));
        ASSERT_EQ(out_batch.at(n), out.items) << "step " << step << " node " << n << " limit " << limit;
        ASSERT_EQ(in_batch.at(n), in.items) << "step " << step << " node " << n << " limit " << limit;
      }
    }
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto last, ChangeFeed(*db).LastLsn());
  EXPECT_EQ(last, expected_events);
}

// A process that dies in the middle of a transaction leaves exactly the committed edges and their
// events behind.
TEST(GraphStoreTest, CrashMidTransactionKeepsOnlyCommittedEdges) {
  testing::ScratchDir dir;
  { DOTDO_ASSERT_OK(Database::Open(dir.path(), "crash")); }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = Database::Open(dir.path(), "crash");
    if (!db.ok()) _exit(10);
    GraphStore g(**db);
    if (!g.Relate("N/1", "N/2", "t").ok() || !g.Relate("N/2", "N/3", "t").ok()) _exit(11);
    (void)(*db)->Transaction([&]() -> Status {
      if (!g.Relate("N/3", "N/4", "t").ok()) _exit(12);
      _exit(0);  // dies holding an open transaction
    });
    _exit(13);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "crash"));
  GraphStore g(*db);
  EXPECT_THAT(g.Exists("N/1", "N/2", "t"), IsOkAndHolds(true));
  EXPECT_THAT(g.Exists("N/2", "N/3", "t"), IsOkAndHolds(true));
  EXPECT_THAT(g.Exists("N/3", "N/4", "t"), IsOkAndHolds(false));
  auto events = Events(*db);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].after->at("to"), "N/3");
  DOTDO_EXPECT_OK(g.Relate("N/3", "N/4", "t"));
}

}  // namespace
}  // namespace dotdo
