// The transactional outbox, the change feed and the domain-event emitter: event JSON round trip,
// lsn/txid rules under commits, rollbacks and nested savepoints (including a randomized model test),
// Read paging, and subscriber delivery after commit only.
#include "cdc/outbox.h"

#include <random>

#include "dotdo/cdc.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::internal::Outbox;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;
using ::testing::ElementsAre;

Outbox* OutboxOf(Database& db) {
  auto o = Outbox::Of(db);
  EXPECT_THAT(o, IsOk());
  return o.ok() ? *o : nullptr;
}

std::vector<UnifiedEvent> ReadAll(Database& db) {
  ChangeFeed feed(db);
  auto r = feed.Read(0, 10000);
  EXPECT_THAT(r, IsOk());
  return r.ok() ? *r : std::vector<UnifiedEvent>{};
}

std::vector<std::string> Keys(const std::vector<UnifiedEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.key.value_or(e.type));
  return out;
}

Status Insert(Outbox* o, const std::string& key) {
  return o->AppendChange(ChangeOp::kInsert, "document", "Customer", key, std::nullopt, Json{{"$id", key}});
}

UnifiedEvent FullEvent() {
  UnifiedEvent e;
  e.id = "01HQ3Z8M9X0000000000000000";
  e.type = "cdc.update";
  e.timestamp = 1'705'314'600'123;
  e.ns = "acme";
  e.correlation_id = "req-42";
  e.op = "u";
  e.store = "document";
  e.table = "Customer";
  e.key = "01HQ3Z8M9X0000000000000001";
  e.before = Json{{"name", "Old"}, {"tags", Json::array({"a"})}};
  e.after = Json{{"name", "New"}, {"nested", {{"x", 1.5}}}};
  e.txid = 17;
  e.lsn = 18;
  e.actor = "user:alice";
  e.data = Json{{"reason", "rename"}};
  e.visibility = "internal";
  e.meta = Json{{"source", "test"}};
  return e;
}

TEST(UnifiedEventTest, JsonRoundTripKeepsEveryField) {
  UnifiedEvent e = FullEvent();
  Json j = EventToJson(e);
  EXPECT_EQ(j["timestamp"], "2024-01-15T10:30:00.123Z");
  EXPECT_EQ(j["correlationId"], "req-42");
  EXPECT_EQ(j["_meta"]["source"], "test");
  for (const char* name : {"id", "type", "timestamp", "ns", "correlationId", "op", "store", "table", "key", "before",
                           "after", "txid", "lsn", "actor", "data", "visibility", "_meta"}) {
    EXPECT_TRUE(j.contains(name)) << name;
  }
  EXPECT_EQ(j.size(), 17u);
  DOTDO_ASSERT_OK_AND_ASSIGN(UnifiedEvent back, EventFromJson(Json::parse(j.dump())));
  EXPECT_EQ(back, e);
}

TEST(UnifiedEventTest, JsonOmitsAbsentOptionalFields) {
  UnifiedEvent e;
  e.id = "x";
  e.type = "Customer.created";
  e.timestamp = 0;
  e.ns = "acme";
  Json j = EventToJson(e);
  EXPECT_EQ(j.size(), 4u);
  DOTDO_ASSERT_OK_AND_ASSIGN(UnifiedEvent back, EventFromJson(j));
  EXPECT_EQ(back, e);
}

TEST(UnifiedEventTest, FromJsonRejectsMalformedEvents) {
  Json good = EventToJson(FullEvent());
  EXPECT_THAT(EventFromJson(Json::array()), StatusIs(StatusCode::kInvalidArgument, "JSON object"));
  for (const char* required : {"id", "type", "timestamp", "ns"}) {
    Json j = good;
    j.erase(required);
    EXPECT_THAT(EventFromJson(j), StatusIs(StatusCode::kInvalidArgument, required)) << required;
  }
  struct Case {
    const char* field;
    Json value;
  };
  for (const Case& c : std::vector<Case>{{"op", "x"},
                                         {"op", 1},
                                         {"lsn", "12"},
                                         {"lsn", 1.5},
                                         {"before", Json::array()},
                                         {"data", "text"},
                                         {"timestamp", "yesterday"},
                                         {"key", 5}}) {
    Json j = good;
    j[c.field] = c.value;
    EXPECT_THAT(EventFromJson(j), StatusIs(StatusCode::kInvalidArgument)) << c.field << "=" << c.value.dump();
  }
}

TEST(OutboxTest, AppendOutsideTransactionIsRefused) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  EXPECT_THAT(Insert(o, "k"), StatusIs(StatusCode::kInternal, "outside a transaction"));
  EXPECT_TRUE(ReadAll(*db).empty());
}

TEST(OutboxTest, EventsCarryNamespaceTimeIdsAndOneTxidPerTransaction) {
  ManualClock clock(1'705'314'600'000);
  auto db = testing::OpenMemoryDb(&clock, "acme");
  Outbox* o = OutboxOf(*db);
  DOTDO_ASSERT_OK(db->Transaction([&] {
    DOTDO_RETURN_IF_ERROR(Insert(o, "a"));
    DOTDO_RETURN_IF_ERROR(Insert(o, "b"));
    return Insert(o, "c");
  }));
  clock.Advance(5);
  DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, "d"); }));
  auto events = ReadAll(*db);
  ASSERT_EQ(events.size(), 4u);
  std::set<std::string> ids;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].lsn, static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].ns, "acme");
    EXPECT_EQ(events[i].type, "cdc.insert");
    EXPECT_EQ(events[i].op, "c");
    EXPECT_EQ(events[i].store, "document");
    EXPECT_EQ(events[i].table, "Customer");
    EXPECT_EQ(events[i].id.size(), 26u);
    ids.insert(events[i].id);
  }
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(events[0].txid, 1);
  EXPECT_EQ(events[1].txid, 1);
  EXPECT_EQ(events[2].txid, 1);
  EXPECT_EQ(events[3].txid, 4);
  EXPECT_EQ(events[0].timestamp, 1'705'314'600'000);
  EXPECT_EQ(events[3].timestamp, 1'705'314'600'005);
  EXPECT_EQ(events[0].after, (Json{{"$id", "a"}}));
  EXPECT_FALSE(events[0].before.has_value());
}

TEST(OutboxTest, AppendChangeMapsOpsToTypes) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(o->AppendChange(ChangeOp::kInsert, "document", "T", "1", std::nullopt, Json{{"v", 1}}));
    DOTDO_RETURN_IF_ERROR(o->AppendChange(ChangeOp::kUpdate, "document", "T", "1", Json{{"v", 1}}, Json{{"v", 2}}));
    DOTDO_RETURN_IF_ERROR(o->AppendChange(ChangeOp::kDelete, "document", "T", "1", Json{{"v", 2}}, std::nullopt));
    return o->AppendChange(ChangeOp::kRead, "document", "T", "1", std::nullopt, std::nullopt);
  }));
  auto events = ReadAll(*db);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, "cdc.insert");
  EXPECT_EQ(events[1].type, "cdc.update");
  EXPECT_EQ(events[1].before, (Json{{"v", 1}}));
  EXPECT_EQ(events[2].type, "cdc.delete");
  EXPECT_EQ(events[2].op, "d");
  EXPECT_EQ(events[3].type, "cdc.read");
}

TEST(OutboxTest, RolledBackTransactionsLeaveNoEventAndNoLsnGap) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, "a"); }));
  EXPECT_THAT(db->Transaction([&]() -> Status {
                DOTDO_RETURN_IF_ERROR(Insert(o, "lost1"));
                DOTDO_RETURN_IF_ERROR(Insert(o, "lost2"));
                return AbortedError("give up");
              }),
              StatusIs(StatusCode::kAborted));
  EXPECT_THAT(db->Transaction([&]() -> Status {
                DOTDO_RETURN_IF_ERROR(Insert(o, "lost3"));
                throw std::runtime_error("boom");
              }),
              StatusIs(StatusCode::kInternal, "boom"));
  DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, "b"); }));
  auto events = ReadAll(*db);
  EXPECT_THAT(Keys(events), ElementsAre("a", "b"));
  EXPECT_EQ(events[1].lsn, 2);
  EXPECT_EQ(events[1].txid, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t last, ChangeFeed(*db).LastLsn());
  EXPECT_EQ(last, 2);
}

TEST(OutboxTest, NestedSavepointRollbackDropsOnlyItsEvents) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(Insert(o, "outer1"));
    EXPECT_THAT(db->Transaction([&]() -> Status {
                  DOTDO_RETURN_IF_ERROR(Insert(o, "inner-lost"));
                  DOTDO_RETURN_IF_ERROR(db->Transaction([&] { return Insert(o, "inner-inner-lost"); }));
                  return AbortedError("undo inner");
                }),
                StatusIs(StatusCode::kAborted));
    DOTDO_RETURN_IF_ERROR(db->Transaction([&] { return Insert(o, "inner-kept"); }));
    return Insert(o, "outer2");
  }));
  auto events = ReadAll(*db);
  EXPECT_THAT(Keys(events), ElementsAre("outer1", "inner-kept", "outer2"));
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].lsn, static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].txid, 1);
  }
}

TEST(OutboxTest, RollingBackTheFirstEventsSavepointMovesTxidToTheNextEvent) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, "earlier"); }));
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    EXPECT_THAT(db->Transaction([&]() -> Status {
                  DOTDO_RETURN_IF_ERROR(Insert(o, "lost"));
                  return AbortedError("undo");
                }),
                StatusIs(StatusCode::kAborted));
    DOTDO_RETURN_IF_ERROR(Insert(o, "x"));
    return Insert(o, "y");
  }));
  auto events = ReadAll(*db);
  EXPECT_THAT(Keys(events), ElementsAre("earlier", "x", "y"));
  EXPECT_EQ(events[1].lsn, 2);
  EXPECT_EQ(events[1].txid, 2);
  EXPECT_EQ(events[2].txid, 2);
}

TEST(ChangeFeedTest, ReadPagesInLsnOrderAndValidatesArguments) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  for (int i = 0; i < 25; ++i) DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, std::to_string(i)); }));
  ChangeFeed feed(*db);
  std::vector<int64_t> lsns;
  int64_t after = 0;
  int pages = 0;
  for (;;) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto page, feed.Read(after, 10));
    if (page.empty()) break;
    ++pages;
    EXPECT_LE(page.size(), 10u);
    for (const auto& e : page) lsns.push_back(*e.lsn);
    after = *page.back().lsn;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(lsns.size(), 25u);
  for (size_t i = 0; i < lsns.size(); ++i) EXPECT_EQ(lsns[i], static_cast<int64_t>(i + 1));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tail, feed.Read(24, 100));
  EXPECT_THAT(Keys(tail), ElementsAre("24"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto beyond, feed.Read(1000, 100));
  EXPECT_TRUE(beyond.empty());
  EXPECT_THAT(feed.Read(-1, 10), StatusIs(StatusCode::kInvalidArgument, "after_lsn"));
  EXPECT_THAT(feed.Read(0, 0), StatusIs(StatusCode::kInvalidArgument, "limit"));
  EXPECT_THAT(feed.Read(0, 10001), StatusIs(StatusCode::kInvalidArgument, "limit"));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t last, feed.LastLsn());
  EXPECT_EQ(last, 25);
}

TEST(ChangeFeedTest, LastLsnIsZeroOnAnEmptyOutbox) {
  auto db = testing::OpenMemoryDb();
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t last, ChangeFeed(*db).LastLsn());
  EXPECT_EQ(last, 0);
}

TEST(ChangeFeedTest, SubscribersSeeCommittedTransactionsOnlyAfterCommitInLsnOrder) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  ChangeFeed feed(*db);
  std::vector<std::vector<int64_t>> calls;
  bool called_inside_transaction = false;
  int64_t h = feed.Subscribe([&](const std::vector<UnifiedEvent>& events) {
    if (db->InTransaction()) called_inside_transaction = true;
    // The events are committed: a read on the same connection sees them.
    auto visible = feed.Read(*events.front().lsn - 1, 1);
    EXPECT_THAT(visible, IsOk());
    if (visible.ok()) {
      EXPECT_EQ(visible->size(), 1u);
    }
    std::vector<int64_t> lsns;
    for (const auto& e : events) lsns.push_back(*e.lsn);
    calls.push_back(lsns);
  });
  EXPECT_NE(h, 0);
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(Insert(o, "a"));
    DOTDO_RETURN_IF_ERROR(db->Transaction([&] { return Insert(o, "b"); }));
    EXPECT_TRUE(calls.empty()) << "subscriber called before commit";
    return Insert(o, "c");
  }));
  EXPECT_THAT(db->Transaction([&]() -> Status {
                DOTDO_RETURN_IF_ERROR(Insert(o, "rolled-back"));
                return AbortedError("no");
              }),
              StatusIs(StatusCode::kAborted));
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    (void)db->Transaction([&]() -> Status {
      DOTDO_RETURN_IF_ERROR(Insert(o, "inner-rolled-back"));
      return AbortedError("no");
    });
    return Insert(o, "d");
  }));
  // A transaction without events does not call subscribers.
  DOTDO_ASSERT_OK(db->Transaction([&] { return OkStatus(); }));
  EXPECT_FALSE(called_inside_transaction);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[0], ElementsAre(1, 2, 3));
  EXPECT_THAT(calls[1], ElementsAre(4));
}

TEST(ChangeFeedTest, UnsubscribeStopsDeliveryAndOthersKeepReceiving) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  ChangeFeed feed(*db);
  int a = 0, b = 0;
  int64_t ha = feed.Subscribe([&](const std::vector<UnifiedEvent>& ev) { a += static_cast<int>(ev.size()); });
  int64_t hb = feed.Subscribe([&](const std::vector<UnifiedEvent>& ev) { b += static_cast<int>(ev.size()); });
  EXPECT_NE(ha, hb);
  DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, "1"); }));
  feed.Unsubscribe(ha);
  feed.Unsubscribe(ha);  // twice is harmless
  DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, "2"); }));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
}

TEST(ChangeFeedTest, ThrowingOrSelfUnsubscribingSubscriberDoesNotDisturbOthers) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  ChangeFeed feed(*db);
  int once = 0, steady = 0;
  int64_t self = 0;
  feed.Subscribe([&](const std::vector<UnifiedEvent>&) { throw std::runtime_error("subscriber bug"); });
  self = feed.Subscribe([&](const std::vector<UnifiedEvent>&) {
    ++once;
    feed.Unsubscribe(self);
  });
  feed.Subscribe([&](const std::vector<UnifiedEvent>&) { ++steady; });
  DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, "1"); }));
  DOTDO_ASSERT_OK(db->Transaction([&] { return Insert(o, "2"); }));
  EXPECT_EQ(once, 1);
  EXPECT_EQ(steady, 2);
  EXPECT_EQ(ReadAll(*db).size(), 2u);
}

TEST(CdcEmitterTest, EmitsDomainEventsWithActorAndData) {
  ManualClock clock;
  auto db = testing::OpenMemoryDb(&clock, "acme");
  CdcEmitter emitter(*db);
  DomainEvent d;
  d.type = "Customer.created";
  d.actor = "user:alice";
  d.data = Json{{"name", "Alice"}, {"plan", "pro"}};
  d.correlation_id = "req-1";
  d.visibility = "public";
  d.meta = Json{{"source", "signup"}};
  DOTDO_ASSERT_OK_AND_ASSIGN(UnifiedEvent e, emitter.Emit(d));
  EXPECT_EQ(e.lsn, 1);
  EXPECT_EQ(e.txid, 1);
  auto events = ReadAll(*db);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], e);
  EXPECT_EQ(events[0].type, "Customer.created");
  EXPECT_EQ(events[0].actor, "user:alice");
  EXPECT_EQ(events[0].data, (Json{{"name", "Alice"}, {"plan", "pro"}}));
  EXPECT_EQ(events[0].correlation_id, "req-1");
  EXPECT_EQ(events[0].visibility, "public");
  EXPECT_EQ(events[0].meta, (Json{{"source", "signup"}}));
  EXPECT_EQ(events[0].ns, "acme");
  EXPECT_EQ(events[0].timestamp, clock.NowMillis());
  EXPECT_FALSE(events[0].op.has_value());
  EXPECT_FALSE(events[0].store.has_value());
}

TEST(CdcEmitterTest, DomainEventsJoinTheCallersTransactionWithStoreEvents) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  CdcEmitter emitter(*db);
  DomainEvent d;
  d.type = "Customer.created";
  d.actor = "system";
  d.data = Json{{"id", "c1"}};
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(Insert(o, "c1"));
    return emitter.Emit(d).status();
  }));
  EXPECT_THAT(db->Transaction([&]() -> Status {
                DOTDO_RETURN_IF_ERROR(Insert(o, "c2"));
                DOTDO_RETURN_IF_ERROR(emitter.Emit(d).status());
                return AbortedError("rollback both");
              }),
              StatusIs(StatusCode::kAborted));
  auto events = ReadAll(*db);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "cdc.insert");
  EXPECT_EQ(events[1].type, "Customer.created");
  EXPECT_EQ(events[1].txid, events[0].txid);
}

TEST(CdcEmitterTest, EmitBatchIsAllOrNothing) {
  auto db = testing::OpenMemoryDb();
  CdcEmitter emitter(*db);
  std::vector<DomainEvent> batch(3);
  batch[0].type = "Order.placed";
  batch[1].type = "Order.paid";
  batch[2].type = "Order.shipped";
  DOTDO_ASSERT_OK_AND_ASSIGN(auto out, emitter.EmitBatch(batch));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].txid, out[2].txid);
  EXPECT_EQ(out[2].lsn, 3);
  batch[1].type = "not valid";
  EXPECT_THAT(emitter.EmitBatch(batch), StatusIs(StatusCode::kInvalidArgument, "Noun.verb"));
  EXPECT_EQ(ReadAll(*db).size(), 3u);
}

TEST(CdcEmitterTest, RejectsInvalidTypesDataAndMeta) {
  auto db = testing::OpenMemoryDb();
  CdcEmitter emitter(*db);
  for (const std::string& bad : std::vector<std::string>{"", "Customer", "cdc.insert", ".created", "Customer.", "Customer..created",
                                 "1Customer.created", "Customer.cre ated", "Cust-omer.created",
                                 std::string(129, 'a') + ".b"}) {
    DomainEvent d;
    d.type = bad;
    EXPECT_THAT(emitter.Emit(d), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  DomainEvent d;
  d.type = "Customer.created";
  d.data = Json::array({1});
  EXPECT_THAT(emitter.Emit(d), StatusIs(StatusCode::kInvalidArgument, "data"));
  d.data = Json::object();
  d.meta = Json("x");
  EXPECT_THAT(emitter.Emit(d), StatusIs(StatusCode::kInvalidArgument, "_meta"));
  d.meta.reset();
  d.type = "Customer.v2_created.again";
  DOTDO_EXPECT_OK(emitter.Emit(d));
  EXPECT_EQ(ReadAll(*db).size(), 1u);
}

// Random nested transactions (commit or roll back at every level) against a model of what must be
// committed: the outbox holds exactly the model's events, lsn 1..n gap-free, one txid per
// outermost transaction equal to its first lsn, and subscribers saw exactly the same sequence.
TEST(OutboxModelTest, RandomNestedTransactionsMatchTheModel) {
  auto db = testing::OpenMemoryDb();
  Outbox* o = OutboxOf(*db);
  std::vector<std::string> seen;
  std::vector<int64_t> seen_lsns;
  ChangeFeed(*db).Subscribe([&](const std::vector<UnifiedEvent>& events) {
    for (const auto& e : events) {
      seen.push_back(*e.key);
      seen_lsns.push_back(*e.lsn);
    }
  });
  std::mt19937 rng(20240115);
  std::vector<std::vector<std::string>> committed_txs;  // model: events of each committed transaction
  int counter = 0;
  // Runs a random body at `depth`; returns the keys it appended that survive (if it commits).
  std::function<Status(int, std::vector<std::string>&)> body = [&](int depth, std::vector<std::string>& kept) -> Status {
    std::vector<std::string> mine;
    int steps = static_cast<int>(rng() % 4);
    for (int s = 0; s < steps; ++s) {
      if (depth < 4 && rng() % 3 == 0) {
        std::vector<std::string> inner;
        Status st = db->Transaction([&] { return body(depth + 1, inner); });
        if (st.ok()) mine.insert(mine.end(), inner.begin(), inner.end());
      } else {
        std::string key = "k" + std::to_string(counter++);
        DOTDO_RETURN_IF_ERROR(Insert(o, key));
        mine.push_back(key);
      }
    }
    if (rng() % 4 == 0) return AbortedError("random rollback");
    kept.insert(kept.end(), mine.begin(), mine.end());
    return OkStatus();
  };
  for (int t = 0; t < 300; ++t) {
    std::vector<std::string> kept;
    Status st = db->Transaction([&] { return body(1, kept); });
    if (st.ok() && !kept.empty()) committed_txs.push_back(kept);
  }
  std::vector<std::string> expected;
  for (const auto& tx : committed_txs) expected.insert(expected.end(), tx.begin(), tx.end());
  auto events = ReadAll(*db);
  ASSERT_EQ(Keys(events), expected);
  EXPECT_EQ(seen, expected);
  size_t i = 0;
  for (const auto& tx : committed_txs) {
    const int64_t txid = static_cast<int64_t>(i + 1);
    for (size_t k = 0; k < tx.size(); ++k, ++i) {
      EXPECT_EQ(events[i].lsn, static_cast<int64_t>(i + 1));
      EXPECT_EQ(seen_lsns[i], static_cast<int64_t>(i + 1));
      EXPECT_EQ(events[i].txid, txid);
    }
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t last, ChangeFeed(*db).LastLsn());
  EXPECT_EQ(last, static_cast<int64_t>(expected.size()));
}

}  // namespace
}  // namespace dotdo
