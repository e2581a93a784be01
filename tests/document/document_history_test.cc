// DocumentStore history and time travel: History lists every version including deletes, GetAsOf
// answers "as it was at time t", retention prunes superseded versions, hard delete removes the
// history; and a replay of 100k random operations checked against an in-memory timeline.
#include "dotdo/document.h"

#include <map>
#include <random>

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

constexpr int64_t kT0 = 1'700'000'000'000;

class DocumentHistoryTest : public ::testing::Test {
 protected:
  ManualClock clock_{kT0};
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
  DocumentStore store_{*db_};
};

TEST_F(DocumentHistoryTest, HistoryListsEveryVersionOldestFirstIncludingTheDelete) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "h"}, {"$type", "T"}, {"v", 1}}));
  clock_.Advance(10);
  DOTDO_ASSERT_OK(store_.Update("h", {{"$set", {{"v", 2}}}}));
  clock_.Advance(10);
  DOTDO_ASSERT_OK(store_.Delete("h"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hist, store_.History("h"));
  ASSERT_EQ(hist.size(), 3u);
  EXPECT_EQ(hist[0]["v"], 1);
  EXPECT_EQ(hist[0]["$version"], 1);
  EXPECT_EQ(hist[1]["v"], 2);
  EXPECT_EQ(hist[1]["$version"], 2);
  EXPECT_EQ(hist[2], Json({{"$id", "h"}, {"$type", "T"}, {"$version", 3}, {"$deleted", true},
                           {"$updatedAt", FormatIso8601(kT0 + 20)}}));
  EXPECT_THAT(store_.History("never"), StatusIs(StatusCode::kNotFound));
}

TEST_F(DocumentHistoryTest, GetAsOfReturnsTheVersionValidAtThatTime) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "g"}, {"$type", "T"}, {"v", 1}}));  // t0
  clock_.Advance(100);
  DOTDO_ASSERT_OK(store_.Update("g", {{"$set", {{"v", 2}}}}));  // t0+100
  clock_.Advance(100);
  DOTDO_ASSERT_OK(store_.Delete("g"));  // t0+200
  clock_.Advance(100);
  DOTDO_ASSERT_OK(store_.Create({{"$id", "g"}, {"$type", "T"}, {"v", 3}}));  // t0+300

  EXPECT_THAT(store_.GetAsOf("g", kT0 - 1), StatusIs(StatusCode::kNotFound, "did not exist"));
  auto v_at = [&](int64_t t) -> Json {
    auto r = store_.GetAsOf("g", t);
    EXPECT_THAT(r, IsOk()) << t;
    return r.ok() ? (*r)["v"] : Json();
  };
  EXPECT_EQ(v_at(kT0), 1);
  EXPECT_EQ(v_at(kT0 + 99), 1);
  EXPECT_EQ(v_at(kT0 + 100), 2);
  EXPECT_EQ(v_at(kT0 + 199), 2);
  EXPECT_THAT(store_.GetAsOf("g", kT0 + 200), StatusIs(StatusCode::kNotFound, "was deleted"));
  EXPECT_THAT(store_.GetAsOf("g", kT0 + 299), StatusIs(StatusCode::kNotFound, "was deleted"));
  EXPECT_EQ(v_at(kT0 + 300), 3);
  EXPECT_EQ(v_at(kT0 + 1'000'000), 3);
}

TEST_F(DocumentHistoryTest, WritesInOneMillisecondKeepOnlyTheLastVisible) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "m"}, {"$type", "T"}, {"v", 1}}));
  DOTDO_ASSERT_OK(store_.Update("m", {{"$set", {{"v", 2}}}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json now, store_.GetAsOf("m", kT0));
  EXPECT_EQ(now["v"], 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hist, store_.History("m"));
  EXPECT_EQ(hist.size(), 2u);
}

TEST_F(DocumentHistoryTest, PruneHistoryRemovesOnlyVersionsSupersededBeforeTheCutoff) {
  DocumentStoreOptions o;
  o.history_retention_millis = 1000;
  DocumentStore store(*db_, o);
  DOTDO_ASSERT_OK(store.Create({{"$id", "r"}, {"$type", "T"}, {"v", 1}}));  // t0
  clock_.Advance(500);
  DOTDO_ASSERT_OK(store.Update("r", {{"$set", {{"v", 2}}}}));  // t0+500: v1 superseded
  clock_.Advance(2000);
  DOTDO_ASSERT_OK(store.Update("r", {{"$set", {{"v", 3}}}}));  // t0+2500: v2 superseded
  clock_.Advance(100);                                          // now t0+2600, cutoff t0+1600
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t removed, store.PruneHistory());
  EXPECT_EQ(removed, 1);
  EXPECT_THAT(store.GetAsOf("r", kT0 + 100), StatusIs(StatusCode::kNotFound, "pruned"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json v2, store.GetAsOf("r", kT0 + 600));
  EXPECT_EQ(v2["v"], 2);
  // An explicit cutoff beyond everything keeps the live version.
  DOTDO_ASSERT_OK_AND_ASSIGN(removed, store.PruneHistory(kT0 + 10'000'000));
  EXPECT_EQ(removed, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hist, store.History("r"));
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0]["v"], 3);
  // Retention -1 (the default) keeps everything.
  DOTDO_ASSERT_OK_AND_ASSIGN(removed, store_.PruneHistory());
  EXPECT_EQ(removed, 0);
}

TEST_F(DocumentHistoryTest, HardDeleteForgetsThePast) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "x"}, {"$type", "T"}, {"v", 1}}));
  clock_.Advance(10);
  DOTDO_ASSERT_OK(store_.Delete("x", {.hard = true}));
  EXPECT_THAT(store_.GetAsOf("x", kT0 + 5), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json again, store_.Create({{"$id", "x"}, {"$type", "T"}, {"v", 2}}));
  EXPECT_EQ(again["$version"], 1);
}

// The in-memory reference: per id, the states it went through (time, body + version, or absent).
struct Timeline {
  struct State {
    int64_t at;
    std::optional<Json> doc;  // body with $version; nullopt = absent
  };
  std::vector<State> states;
  int64_t last_version = 0;  // survives soft deletes, reset by hard deletes
  std::optional<Json> Current() const { return states.empty() ? std::nullopt : states.back().doc; }
  std::optional<Json> At(int64_t t) const {
    std::optional<Json> out;
    for (const auto& s : states)
      if (s.at <= t) out = s.doc;
    return out;
  }
};

Json Strip(const Json& doc) {
  Json out = Json::object();
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() == "$version" || it.key().empty() || it.key()[0] != '$') out[it.key()] = it.value();
  return out;
}

TEST(DocumentTimeTravelTest, ReplayOf100kRandomOperationsMatchesTheReferenceAt1000Times) {
  ManualClock clock(kT0);
  auto db = testing::OpenMemoryDb(&clock);
  DocumentStore store(*db);
  std::mt19937_64 rng(20240607);
  std::map<std::string, Timeline> ref;
  std::vector<std::string> ids;
  for (int i = 0; i < 400; ++i) ids.push_back("d" + std::to_string(i));
  auto record = [&](const std::string& id, std::optional<Json> doc) {
    auto& tl = ref[id];
    tl.states.push_back({clock.NowMillis(), std::move(doc)});
  };
  constexpr int kOps = 100'000;
  int applied = 0;
  // One operation, each in its own transaction.
  auto step = [&](int op) -> Status {
    {
      clock.Advance(static_cast<int64_t>(rng() % 4));  // 0..3 ms: several writes may share a millisecond
      const std::string& id = ids[rng() % ids.size()];
      Timeline& tl = ref[id];
      std::optional<Json> cur = tl.Current();
      const int kind = static_cast<int>(rng() % 100);
      if (!cur) {
        const int64_t n = static_cast<int64_t>(rng() % 1000);
        auto r = store.Create({{"$id", id}, {"$type", "T"}, {"n", n}, {"op", op}});
        if (!r.ok()) return r.status();
        tl.last_version += 1;
        record(id, Json{{"n", n}, {"op", op}, {"$version", tl.last_version}});
      } else if (kind < 50) {
        const int64_t by = static_cast<int64_t>(rng() % 10);
        auto r = store.Update(id, {{"$inc", {{"n", by}}}, {"$set", {{"op", op}}}});
        if (!r.ok()) return r.status();
        Json next = *cur;
        next["n"] = next["n"].get<int64_t>() + by;
        next["op"] = op;
        next["$version"] = ++tl.last_version;
        record(id, next);
      } else if (kind < 70) {
        auto r = store.Replace(id, {{"n", 0}, {"op", op}, {"r", true}});
        if (!r.ok()) return r.status();
        record(id, Json{{"n", 0}, {"op", op}, {"r", true}, {"$version", ++tl.last_version}});
      } else if (kind < 90) {
        auto r = store.MergePatch(id, {{"r", nullptr}, {"m", op}});
        if (!r.ok()) return r.status();
        Json next = *cur;
        next.erase("r");
        next["m"] = op;
        next["$version"] = ++tl.last_version;
        record(id, next);
      } else if (kind < 99) {
        DOTDO_RETURN_IF_ERROR(store.Delete(id));
        ++tl.last_version;
        record(id, std::nullopt);
      } else {
        DOTDO_RETURN_IF_ERROR(store.Delete(id, {.hard = true}));
        tl.states.clear();  // history is gone: every past time now reads as absent
        tl.last_version = 0;
        record(id, std::nullopt);
      }
      ++applied;
    }
    return OkStatus();
  };
  for (int op = 0; op < kOps; ++op) ASSERT_THAT(step(op), IsOk()) << "operation " << op;
  ASSERT_EQ(applied, kOps);
  const int64_t end = clock.NowMillis();
  int present = 0;
  for (int check = 0; check < 1000; ++check) {
    const std::string& id = ids[rng() % ids.size()];
    const int64_t t = kT0 - 5 + static_cast<int64_t>(rng() % static_cast<uint64_t>(end - kT0 + 10));
    std::optional<Json> want = ref[id].At(t);
    auto got = store.GetAsOf(id, t);
    if (!want) {
      EXPECT_THAT(got, StatusIs(StatusCode::kNotFound)) << id << " at " << t;
    } else {
      ASSERT_THAT(got, IsOk()) << id << " at " << t;
      EXPECT_EQ(Strip(*got), *want) << id << " at " << t;
      EXPECT_EQ((*got)["$id"], id);
      ++present;
    }
  }
  EXPECT_GT(present, 300);  // the sample covers live versions, not only absences
}

}  // namespace
}  // namespace dotdo
