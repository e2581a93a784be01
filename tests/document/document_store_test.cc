// DocumentStore basics: create/get/replace/update/upsert/delete, system fields, optimistic
// concurrency, CDC events in the same transaction, and bad input that must change nothing.
#include "dotdo/document.h"

#include "core/database_internals.h"
#include "dotdo/cdc.h"
#include "dotdo/ulid.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

class DocumentStoreTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
  DocumentStore store_ = DocumentStore::Open(*db_).value();

  std::vector<UnifiedEvent> Events() {
    auto ev = ChangeFeed(*db_).Read(0, 10000);
    EXPECT_THAT(ev, IsOk());
    return ev.ok() ? *ev : std::vector<UnifiedEvent>{};
  }
  // Counts rows of a table through the read-only SQL path.
  int64_t Rows(const std::string& table) {
    auto exists = db_->QueryReadOnly("SELECT 1 FROM sqlite_schema WHERE name = ?1", {Json(table)});
    if (exists.ok() && exists->empty()) return 0;  // no write made the store's tables yet
    auto r = db_->QueryReadOnly("SELECT count(*) AS n FROM " + table);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? (*r)[0]["n"].get<int64_t>() : -1;
  }
};

TEST_F(DocumentStoreTest, CreateFillsSystemFieldsAndGetReturnsTheDocument) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, store_.Create({{"$type", "Customer"}, {"name", "Ada"}}));
  const std::string id = doc["$id"];
  EXPECT_TRUE(UlidGenerator::IsValid(id));
  EXPECT_EQ(doc["$type"], "Customer");
  EXPECT_EQ(doc["$version"], 1);
  EXPECT_EQ(doc["$createdAt"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(doc["$updatedAt"], doc["$createdAt"]);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json got, store_.Get(id));
  EXPECT_EQ(got, doc);
}

TEST_F(DocumentStoreTest, CreateKeepsAGivenIdAndRejectsADuplicate) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "cust-1"}, {"$type", "Customer"}}));
  EXPECT_THAT(store_.Create({{"$id", "cust-1"}, {"$type", "Order"}}), StatusIs(StatusCode::kAlreadyExists, "cust-1"));
  EXPECT_EQ(Rows("doc_documents"), 1);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(DocumentStoreTest, CreateRejectsBadInputAndChangesNothing) {
  EXPECT_THAT(store_.Create(Json::array({1, 2})), StatusIs(StatusCode::kInvalidArgument, "object"));
  EXPECT_THAT(store_.Create({{"name", "x"}}), StatusIs(StatusCode::kInvalidArgument, "$type"));
  EXPECT_THAT(store_.Create({{"$type", "Bad Type"}}), StatusIs(StatusCode::kInvalidArgument, "$type"));
  EXPECT_THAT(store_.Create({{"$type", "T"}, {"$id", "a/b"}}), StatusIs(StatusCode::kInvalidArgument, "$id"));
  EXPECT_THAT(store_.Create({{"$type", "T"}, {"$id", 5}}), StatusIs(StatusCode::kInvalidArgument, "$id"));
  EXPECT_THAT(store_.Create({{"$type", "T"}, {"$secret", 1}}), StatusIs(StatusCode::kInvalidArgument, "reserved"));
  EXPECT_THAT(store_.Create({{"$type", "T"}, {"s", std::string("\xff\xfe", 2)}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(Events().size(), 0u);
}

TEST_F(DocumentStoreTest, DeeplyNestedDocumentsAreRejected) {
  Json deep = 1;
  for (int i = 0; i < 100; ++i) deep = Json{{"a", deep}};
  deep["$type"] = "T";
  EXPECT_THAT(store_.Create(deep), StatusIs(StatusCode::kInvalidArgument, "deeper than 64"));
  EXPECT_EQ(Rows("doc_documents"), 0);
}

TEST_F(DocumentStoreTest, DocumentsOverTheSizeLimitAreRejected) {
  DocumentStoreOptions o;
  o.max_document_bytes = 200;
  DocumentStore small(*db_, o);
  EXPECT_THAT(small.Create({{"$type", "T"}, {"blob", std::string(300, 'x')}}),
              StatusIs(StatusCode::kResourceExhausted, "max_document_bytes"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, small.Create({{"$type", "T"}, {"blob", "x"}}));
  EXPECT_THAT(small.Update(doc["$id"].get<std::string>(), {{"$set", {{"blob", std::string(300, 'x')}}}}),
              StatusIs(StatusCode::kResourceExhausted));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json got, small.Get(doc["$id"].get<std::string>()));
  EXPECT_EQ(got["$version"], 1);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(DocumentStoreTest, ParseDocumentReportsTheBytePosition) {
  EXPECT_THAT(ParseDocument(R"({"a": 1,, "b": 2})"), StatusIs(StatusCode::kInvalidArgument, "at byte 9"));
  EXPECT_THAT(ParseDocument("[1,2]"), StatusIs(StatusCode::kInvalidArgument, "must be a JSON object"));
  EXPECT_THAT(ParseDocument(std::string(100, '[') + std::string(100, ']')), StatusIs(StatusCode::kInvalidArgument));
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "{\"a\":";
  deep += "1" + std::string(70, '}');
  EXPECT_THAT(ParseDocument(deep), StatusIs(StatusCode::kInvalidArgument, "deeper than 64"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json ok, ParseDocument(R"({"$type":"T","x":[1,{"y":null}]})"));
  EXPECT_EQ(ok["x"][1]["y"], nullptr);
}

TEST_F(DocumentStoreTest, ParseDocumentRefusesHugeNumbersAndDeepTextWithoutCrashing) {
  EXPECT_THAT(ParseDocument(R"({"$type":"T","n":1e400})"), StatusIs(StatusCode::kInvalidArgument, "not valid JSON"));
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
  deep += "1" + std::string(100000, '}');
  EXPECT_THAT(ParseDocument(deep), StatusIs(StatusCode::kInvalidArgument, "deeper than 64"));
  EXPECT_THAT(ParseDocument(std::string(100000, '[')), StatusIs(StatusCode::kInvalidArgument, "deeper than 64"));
}

TEST_F(DocumentStoreTest, GetOfAMissingDocumentIsNotFound) {
  EXPECT_THAT(store_.Get("nope"), StatusIs(StatusCode::kNotFound, "nope"));
  EXPECT_THAT(store_.Get("bad id"), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(DocumentStoreTest, ReplaceKeepsSystemFieldsAndBumpsTheVersion) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, store_.Create({{"$type", "Customer"}, {"name", "Ada"}, {"age", 36}}));
  const std::string id = doc["$id"];
  clock_.Advance(1000);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json r, store_.Replace(id, {{"name", "Grace"}, {"$version", 99}}));
  EXPECT_EQ(r["name"], "Grace");
  EXPECT_FALSE(r.contains("age"));
  EXPECT_EQ(r["$version"], 2);
  EXPECT_EQ(r["$createdAt"], doc["$createdAt"]);
  EXPECT_EQ(r["$updatedAt"], "2023-11-14T22:13:21.000Z");
  EXPECT_THAT(store_.Replace(id, {{"$type", "Order"}}), StatusIs(StatusCode::kInvalidArgument, "cannot change"));
  EXPECT_THAT(store_.Replace(id, {{"$id", "other"}}), StatusIs(StatusCode::kInvalidArgument, "differs"));
  EXPECT_THAT(store_.Replace("missing", {{"a", 1}}), StatusIs(StatusCode::kNotFound));
}

TEST_F(DocumentStoreTest, UpdateSetsUnsetsAndIncrementsDottedPaths) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, store_.Create({{"$type", "Customer"}, {"n", 1}, {"c", 1},
                                                      {"address", {{"city", "Paris"}}}, {"tags", {"a", "b"}}}));
  const std::string id = doc["$id"];
  DOTDO_ASSERT_OK_AND_ASSIGN(Json r, store_.Update(id, {{"$set", {{"address.zip", "75001"}, {"tags.1", "z"}, {"x.y.z", true}}},
                                                       {"$unset", {{"c", true}}},
                                                       {"$inc", {{"n", 2}, {"m", 1.5}}}}));
  EXPECT_EQ(r["address"], Json({{"city", "Paris"}, {"zip", "75001"}}));
  EXPECT_EQ(r["tags"], Json({"a", "z"}));
  EXPECT_EQ(r["x"]["y"]["z"], true);
  EXPECT_FALSE(r.contains("c"));
  EXPECT_EQ(r["n"], 3);
  EXPECT_TRUE(r["n"].is_number_integer());
  EXPECT_EQ(r["m"], 1.5);
  EXPECT_EQ(r["$version"], 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json got, store_.Get(id));
  EXPECT_EQ(got, r);
}

TEST_F(DocumentStoreTest, UpdateRejectsBadOperatorsAndPathsAndChangesNothing) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, store_.Create({{"$type", "T"}, {"s", "text"}, {"n", 1}}));
  const std::string id = doc["$id"];
  EXPECT_THAT(store_.Update(id, {{"$push", {{"a", 1}}}}), StatusIs(StatusCode::kInvalidArgument, "unknown update operator"));
  EXPECT_THAT(store_.Update(id, Json::object()), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_.Update(id, {{"$set", {{"a..b", 1}}}}), StatusIs(StatusCode::kInvalidArgument, "invalid path"));
  EXPECT_THAT(store_.Update(id, {{"$set", {{"a'); DROP TABLE doc_documents; --", 1}}}}),
              StatusIs(StatusCode::kInvalidArgument, "invalid path"));
  EXPECT_THAT(store_.Update(id, {{"$set", {{"$version", 7}}}}), StatusIs(StatusCode::kInvalidArgument, "system"));
  EXPECT_THAT(store_.Update(id, {{"$inc", {{"s", 1}}}}), StatusIs(StatusCode::kInvalidArgument, "needs a number"));
  EXPECT_THAT(store_.Update(id, {{"$inc", {{"n", "1"}}}}), StatusIs(StatusCode::kInvalidArgument, "takes a number"));
  EXPECT_THAT(store_.Update(id, {{"$set", {{"a", 1}}}, {"$unset", {{"a.b", true}}}}),
              StatusIs(StatusCode::kInvalidArgument, "overlap"));
  EXPECT_THAT(store_.Update(id, {{"$set", {{"s.x", 1}}}}), StatusIs(StatusCode::kInvalidArgument, "non-object"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json got, store_.Get(id));
  EXPECT_EQ(got, doc);
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(Rows("doc_history"), 0);
}

TEST_F(DocumentStoreTest, StaleExpectedVersionIsAConflict) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, store_.Create({{"$type", "T"}, {"n", 1}}));
  const std::string id = doc["$id"];
  DOTDO_ASSERT_OK(store_.Update(id, {{"$inc", {{"n", 1}}}}, {.expected_version = 1}));
  EXPECT_THAT(store_.Update(id, {{"$inc", {{"n", 1}}}}, {.expected_version = 1}),
              StatusIs(StatusCode::kAborted, "expected version 1 but it is at version 2"));
  EXPECT_THAT(store_.Replace(id, {{"n", 0}}, {.expected_version = 5}), StatusIs(StatusCode::kAborted));
  EXPECT_THAT(store_.MergePatch(id, {{"n", 0}}, {.expected_version = 1}), StatusIs(StatusCode::kAborted));
  EXPECT_THAT(store_.Delete(id, {.hard = false, .expected_version = 1}), StatusIs(StatusCode::kAborted));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json got, store_.Get(id));
  EXPECT_EQ(got["n"], 2);
  DOTDO_ASSERT_OK(store_.Delete(id, {.hard = false, .expected_version = 2}));
}

TEST_F(DocumentStoreTest, UpsertCreatesThenReplaces) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json a, store_.Upsert({{"$id", "u1"}, {"$type", "T"}, {"v", 1}}));
  EXPECT_EQ(a["$version"], 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json b, store_.Upsert({{"$id", "u1"}, {"$type", "T"}, {"v", 2}}));
  EXPECT_EQ(b["$version"], 2);
  EXPECT_EQ(b["v"], 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json c, store_.Upsert({{"$type", "T"}, {"v", 3}}));
  EXPECT_EQ(c["$version"], 1);
  EXPECT_NE(c["$id"], "u1");
  EXPECT_THAT(store_.Upsert({{"$id", "u2"}, {"v", 1}}), StatusIs(StatusCode::kInvalidArgument, "$type"));
  auto events = Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "cdc.insert");
  EXPECT_EQ(events[1].type, "cdc.update");
  EXPECT_EQ(events[2].type, "cdc.insert");
}

TEST_F(DocumentStoreTest, SoftDeleteHidesTheDocumentAndAllowsTheIdAgain) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "d1"}, {"$type", "T"}, {"v", 1}}));
  DOTDO_ASSERT_OK(store_.Delete("d1"));
  EXPECT_THAT(store_.Get("d1"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_.Delete("d1"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_.Update("d1", {{"$set", {{"v", 2}}}}), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store_.Count("T"));
  EXPECT_EQ(n, 0);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json again, store_.Create({{"$id", "d1"}, {"$type", "T"}, {"v", 3}}));
  EXPECT_EQ(again["$version"], 3);  // 1 = first life, 2 = the delete, 3 = this create
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hist, store_.History("d1"));
  ASSERT_EQ(hist.size(), 3u);
  EXPECT_EQ(hist[1]["$deleted"], true);
}

TEST_F(DocumentStoreTest, HardDeleteRemovesDocumentAndHistory) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "h1"}, {"$type", "T"}, {"v", 1}}));
  DOTDO_ASSERT_OK(store_.Update("h1", {{"$set", {{"v", 2}}}}));
  DOTDO_ASSERT_OK(store_.Delete("h1", {.hard = true}));
  EXPECT_THAT(store_.Get("h1"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_.History("h1"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(Rows("doc_documents"), 0);
  EXPECT_EQ(Rows("doc_history"), 0);
  // A soft-deleted document can be purged too.
  DOTDO_ASSERT_OK(store_.Create({{"$id", "h2"}, {"$type", "T"}}));
  DOTDO_ASSERT_OK(store_.Delete("h2"));
  DOTDO_ASSERT_OK(store_.Delete("h2", {.hard = true}));
  EXPECT_EQ(Rows("doc_documents"), 0);
  EXPECT_THAT(store_.Delete("h2", {.hard = true}), StatusIs(StatusCode::kNotFound));
}

TEST_F(DocumentStoreTest, EventsFollowTheSeedShape) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, store_.Create({{"$id", "e1"}, {"$type", "Customer"}, {"name", "Ada"},
                                                      {"address", {{"city", "Paris"}, {"zip", "1"}}}, {"keep", 1}}));
  clock_.Advance(5);
  DOTDO_ASSERT_OK(store_.Update("e1", {{"$set", {{"address.city", "Lyon"}, {"vip", true}}}, {"$unset", {{"name", true}}}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json last, store_.Get("e1"));
  DOTDO_ASSERT_OK(store_.Delete("e1"));
  auto events = Events();
  ASSERT_EQ(events.size(), 3u);
  for (const auto& e : events) {
    EXPECT_EQ(e.store, "document");
    EXPECT_EQ(e.table, "Customer");
    EXPECT_EQ(e.key, "e1");
  }
  EXPECT_EQ(events[0].type, "cdc.insert");
  EXPECT_EQ(events[0].op, "c");
  EXPECT_FALSE(events[0].before.has_value());
  EXPECT_EQ(*events[0].after, doc);

  EXPECT_EQ(events[1].type, "cdc.update");
  EXPECT_EQ(*events[1].before, Json({{"address", {{"city", "Paris"}}}, {"name", "Ada"}, {"$version", 1},
                                     {"$updatedAt", "2023-11-14T22:13:20.000Z"}}));
  EXPECT_EQ(*events[1].after, Json({{"address", {{"city", "Lyon"}}}, {"vip", true}, {"$version", 2},
                                    {"$updatedAt", "2023-11-14T22:13:20.005Z"}}));

  EXPECT_EQ(events[2].type, "cdc.delete");
  EXPECT_EQ(*events[2].before, last);
  EXPECT_FALSE(events[2].after.has_value());
}

TEST_F(DocumentStoreTest, AWriteInsideAFailedTransactionLeavesNoTrace) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "keep"}, {"$type", "T"}}));
  Status st = db_->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(store_.Create({{"$id", "gone"}, {"$type", "T"}}).status());
    DOTDO_RETURN_IF_ERROR(store_.Update("keep", {{"$set", {{"x", 1}}}}).status());
    return AbortedError("caller gave up");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
  EXPECT_THAT(store_.Get("gone"), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json keep, store_.Get("keep"));
  EXPECT_EQ(keep["$version"], 1);
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(Rows("doc_history"), 0);
}

TEST_F(DocumentStoreTest, CreateManyStoresEveryDocumentWithItsEventInOrder) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "gone"}, {"$type", "T"}}));
  DOTDO_ASSERT_OK(store_.Delete("gone"));
  DOTDO_ASSERT_OK_AND_ASSIGN(
      std::vector<Json> stored,
      store_.CreateMany({{{"$type", "T"}, {"n", 1}}, {{"$id", "given"}, {"$type", "U"}, {"n", 2}},
                         {{"$id", "gone"}, {"$type", "T"}, {"n", 3}}}));
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_TRUE(UlidGenerator::IsValid(stored[0]["$id"].get<std::string>()));
  EXPECT_EQ(stored[1]["$id"], "given");
  EXPECT_EQ(stored[2]["$version"], 3);  // the soft-deleted id lives again, after its create and delete
  for (const Json& doc : stored) {
    DOTDO_ASSERT_OK_AND_ASSIGN(Json got, store_.Get(doc["$id"].get<std::string>()));
    EXPECT_EQ(got, doc);
  }
  auto events = Events();
  ASSERT_EQ(events.size(), 5u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[2 + i].type, "cdc.insert");
    EXPECT_EQ(events[2 + i].key, stored[i]["$id"]);
    EXPECT_EQ(*events[2 + i].after, stored[i]);
    EXPECT_EQ(events[2 + i].txid, events[2].lsn);  // one transaction
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(std::vector<Json> none, store_.CreateMany({}));
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(Events().size(), 5u);
}

TEST_F(DocumentStoreTest, CreateManyIsAllOrNothing) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "taken"}, {"$type", "T"}}));
  EXPECT_THAT(store_.CreateMany({{{"$id", "a"}, {"$type", "T"}}, {{"$type", "Bad Type"}}}),
              StatusIs(StatusCode::kInvalidArgument, "document 1 of the batch: invalid $type"));
  EXPECT_THAT(store_.CreateMany({{{"$id", "a"}, {"$type", "T"}}, {{"$id", "taken"}, {"$type", "T"}}}),
              StatusIs(StatusCode::kAlreadyExists, "document 1 of the batch: document 'taken' already exists"));
  EXPECT_THAT(store_.CreateMany({{{"$id", "a"}, {"$type", "T"}}, {{"$id", "a"}, {"$type", "T"}}}),
              StatusIs(StatusCode::kAlreadyExists, "document 1 of the batch"));
  DocumentStoreOptions o;
  o.max_document_bytes = 200;
  DocumentStore small(*db_, o);
  EXPECT_THAT(small.CreateMany({{{"$id", "a"}, {"$type", "T"}}, {{"$type", "T"}, {"blob", std::string(300, 'x')}}}),
              StatusIs(StatusCode::kResourceExhausted, "document 1 of the batch"));
  EXPECT_THAT(store_.Get("a"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(Rows("doc_documents"), 1);
  EXPECT_EQ(Events().size(), 1u);
  // Inside a caller's transaction that fails later, the whole batch goes too.
  Status st = db_->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(store_.CreateMany({{{"$id", "b"}, {"$type", "T"}}, {{"$id", "c"}, {"$type", "T"}}}).status());
    return AbortedError("caller gave up");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
  EXPECT_EQ(Rows("doc_documents"), 1);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(DocumentStoreTest, SubscribersGetWholeInsertEventsEvenWhenTheySubscribeMidTransaction) {
  ChangeFeed feed(*db_);
  std::vector<UnifiedEvent> early, late;
  const int64_t h1 = feed.Subscribe([&](const std::vector<UnifiedEvent>& ev) { early.insert(early.end(), ev.begin(), ev.end()); });
  DOTDO_ASSERT_OK(store_.Create({{"$id", "a"}, {"$type", "T"}, {"n", 1}}));
  feed.Unsubscribe(h1);
  int64_t h2 = 0;
  DOTDO_ASSERT_OK(db_->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(store_.Create({{"$id", "b"}, {"$type", "T"}, {"n", 2}}).status());
    // A savepoint that rolls back drops its event, also from the deliveries.
    EXPECT_THAT(db_->Transaction([&]() -> Status {
      DOTDO_RETURN_IF_ERROR(store_.Create({{"$id", "gone"}, {"$type", "T"}}).status());
      return AbortedError("undo");
    }), StatusIs(StatusCode::kAborted));
    h2 = feed.Subscribe([&](const std::vector<UnifiedEvent>& ev) { late.insert(late.end(), ev.begin(), ev.end()); });
    return store_.CreateMany({{{"$id", "c"}, {"$type", "T"}, {"n", 3}}}).status();
  }));
  feed.Unsubscribe(h2);
  auto stored = Events();
  ASSERT_EQ(stored.size(), 3u);
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(early[0], stored[0]);
  ASSERT_EQ(late.size(), 2u);
  EXPECT_EQ(late[0], stored[1]);
  EXPECT_EQ(late[1], stored[2]);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json b, store_.Get("b"));
  EXPECT_EQ(*late[0].after, b);
}

TEST_F(DocumentStoreTest, DocumentsAreStoredAsJsonb) {
  DOTDO_ASSERT_OK(store_.Create({{"$id", "j1"}, {"$type", "T"}, {"a", {{"b", 1}}}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json r, db_->QueryReadOnly(
                                         "SELECT typeof(data) AS t, json_valid(data, 8) AS jsonb, "
                                         "data ->> '$.a.b' AS ab FROM doc_documents WHERE id = 'j1'"));
  EXPECT_EQ(r[0]["t"], "blob");
  EXPECT_EQ(r[0]["jsonb"], 1);
  EXPECT_EQ(r[0]["ab"], 1);
}

TEST_F(DocumentStoreTest, ListPagesThroughATypeInInsertionOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    DOTDO_ASSERT_OK_AND_ASSIGN(Json d, store_.Create({{"$type", "Item"}, {"i", i}}));
    ids.push_back(d["$id"]);
    DOTDO_ASSERT_OK(store_.Create({{"$type", "Other"}, {"i", i}}));
  }
  DOTDO_ASSERT_OK(store_.Delete(ids[3]));
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage p, store_.List("Item", 10, cursor));
    for (const Json& d : p.items) seen.push_back(d["$id"]);
    cursor = p.next_cursor;
    ++pages;
  } while (!cursor.empty());
  ids.erase(ids.begin() + 3);
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(pages, 3);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store_.Count("Item"));
  EXPECT_EQ(n, 24);
  EXPECT_THAT(store_.List("Item", 0), StatusIs(StatusCode::kInvalidArgument, "limit"));
  EXPECT_THAT(store_.List("Item", 10, "zz"), StatusIs(StatusCode::kInvalidArgument, "cursor"));
  EXPECT_THAT(store_.List("bad type"), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(DocumentStoreTest, StoresShareStatePerDatabase) {
  DocumentStore other(*db_);
  DOTDO_ASSERT_OK(store_.Create({{"$id", "s1"}, {"$type", "T"}}));
  DOTDO_ASSERT_OK(other.Get("s1"));
}

TEST_F(DocumentStoreTest, DocumentsSurviveReopen) {
  testing::ScratchDir dir;
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns"));
    DocumentStore s(*db);
    DOTDO_ASSERT_OK(s.Create({{"$id", "p1"}, {"$type", "T"}, {"v", 1}}));
    DOTDO_ASSERT_OK(s.Update("p1", {{"$inc", {{"v", 1}}}}));
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns"));
  DocumentStore s(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json d, s.Get("p1"));
  EXPECT_EQ(d["v"], 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hist, s.History("p1"));
  EXPECT_EQ(hist.size(), 2u);
}

}  // namespace
}  // namespace dotdo
