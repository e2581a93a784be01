// BlobStore core calls: put/get/head/delete/list, content addressing with ref counts, overwrite,
// CDC events (metadata only), bad input that changes nothing, non-content-addressed mode, access
// tracking, and a randomized comparison against an in-memory model.
#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "blob_test_util.h"
#include "core/sha256.h"

namespace dotdo {
namespace {

using ::dotdo::testing::BlobFixture;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

using BlobStoreTest = BlobFixture;

TEST_F(BlobStoreTest, PutReturnsSeedFieldsAndGetReturnsTheBytes) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, blobs_->Put(Req("img/cat 1.png", "image/png", {{"w", 640}}), "PNGDATA"));
  const std::string sha = internal::Sha256::Hex("PNGDATA");
  EXPECT_EQ(info.key, "img/cat 1.png");
  EXPECT_EQ(info.size, 7u);
  EXPECT_EQ(info.hash, sha);
  EXPECT_EQ(info.content_type, "image/png");
  EXPECT_EQ(info.url, "https://files.test/acme/img/cat%201.png");
  EXPECT_EQ(info.object_key, "blobs/" + sha.substr(0, 2) + "/" + sha);
  EXPECT_EQ(info.storage_class, "STANDARD");
  EXPECT_EQ(info.id.size(), 26u);
  Json j = BlobInfoToJson(info);
  for (const char* field : {"$id", "key", "size", "hash", "contentType", "url", "metadata"}) EXPECT_TRUE(j.contains(field)) << field;

  DOTDO_ASSERT_OK_AND_ASSIGN(auto blob, blobs_->Get("img/cat 1.png"));
  EXPECT_EQ(blob.data, "PNGDATA");
  EXPECT_EQ(blob.info.metadata["w"], 640);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto head, blobs_->Head("img/cat 1.png"));
  EXPECT_EQ(head.id, info.id);
  std::string streamed;
  DOTDO_ASSERT_OK(blobs_->GetStream("img/cat 1.png", [&](std::string_view c) {
    streamed += c;
    return OkStatus();
  }));
  EXPECT_EQ(streamed, "PNGDATA");
  EXPECT_THAT(blobs_->Get("nope"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(blobs_->Head("nope"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(blobs_->Delete("nope"), StatusIs(StatusCode::kNotFound));
}

TEST_F(BlobStoreTest, InvalidUtf8InKeysContentTypesOrMetadataIsInvalidArgument) {
  EXPECT_THAT(blobs_->Put(Req("img/\xff.png"), "x"), StatusIs(StatusCode::kInvalidArgument, "invalid blob key"));
  EXPECT_THAT(blobs_->Put(Req("img/\xc3"), "x"), StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
  EXPECT_THAT(blobs_->Put(Req("a", "text/\xff"), "x"), StatusIs(StatusCode::kInvalidArgument, "content type is not valid UTF-8"));
  EXPECT_THAT(blobs_->Put(Req("a", "text/plain", {{"w", "\xfe"}}), "x"),
              StatusIs(StatusCode::kInvalidArgument, "blob metadata is not valid UTF-8"));
  EXPECT_TRUE(StoredObjects().empty());
  DOTDO_EXPECT_OK(blobs_->Put(Req("img/\xc3\xa9t\xc3\xa9.png", "text/plain; charset=\xc3\xa9"), "x"));
}

int64_t WallClockNow() { return SystemClock::Default()->NowMillis(); }

Json Nested(int levels) {
  Json v = 1;
  for (int i = 0; i < levels; ++i) v = Json{{"a", std::move(v)}};
  return v;
}

TEST_F(BlobStoreTest, MetadataHasTheDepthAndSizeLimitsOfEveryStoredJson) {
  DOTDO_EXPECT_OK(blobs_->Put(Req("ok", "", Nested(63)), "x"));
  EXPECT_THAT(blobs_->Put(Req("deep", "", Nested(65)), "x"), StatusIs(StatusCode::kInvalidArgument, "nests deeper"));
  Json deep = Nested(10000);
  EXPECT_THAT(blobs_->Put(Req("deeper", "", deep), "x"), StatusIs(StatusCode::kInvalidArgument, "nests deeper"));
  EXPECT_THAT(blobs_->Put(Req("big", "", {{"s", std::string(70000, 'x')}}), "x"),
              StatusIs(StatusCode::kInvalidArgument, "limit is 65536"));
  EXPECT_THAT(blobs_->Head("deep"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(blobs_->Head("big"), StatusIs(StatusCode::kNotFound));
}

TEST_F(BlobStoreTest, ReopenRemovesTempObjectsOfStreamedPutsThatDied) {
  // What a streamed put killed between "stream stored" and "moved to its address" leaves behind.
  DOTDO_ASSERT_OK(objects_->Put("tmp/01J0000000000000000000DEAD", "partial put"));
  clock_.Set(WallClockNow() + 30'000);
  Reopen(BlobOptions{});
  EXPECT_EQ(StoredObjects().size(), 1u) << "younger than a minute: may belong to a put in flight";
  clock_.Set(WallClockNow() + 120'000);
  Reopen(BlobOptions{});
  EXPECT_TRUE(StoredObjects().empty());
}

TEST_F(BlobStoreTest, NoBlobBytesAreStoredInSqlite) {
  const std::string big(200000, 'Z');
  DOTDO_ASSERT_OK(blobs_->Put(Req("big"), big));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db_->QueryReadOnly(
                                            "SELECT MAX(length(key) + length(metadata) + length(object_key) + length(sha256) + "
                                            "length(content_type)) AS n FROM blob_blobs"));
  EXPECT_LT(rows[0]["n"].get<int64_t>(), 500);
  for (const auto& e : Events()) EXPECT_EQ(EventToJson(e).dump().find("ZZZZ"), std::string::npos);
}

TEST_F(BlobStoreTest, SameBytesUnderTwoKeysAreStoredOnceAndRefCounted) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, blobs_->Put(Req("a"), "shared bytes"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto b, blobs_->Put(Req("b"), "shared bytes"));
  EXPECT_EQ(a.object_key, b.object_key);
  EXPECT_EQ(RefCount(a.object_key), 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto stats, blobs_->Stats());
  EXPECT_EQ(stats.blobs, 2);
  EXPECT_EQ(stats.objects, 1);
  EXPECT_EQ(stats.logical_bytes, 24);
  EXPECT_EQ(stats.stored_bytes, 12);
  EXPECT_EQ(StoredObjects().size(), 1u);

  DOTDO_ASSERT_OK(blobs_->Delete("a"));
  EXPECT_EQ(RefCount(a.object_key), 1);
  DOTDO_EXPECT_OK(objects_->Head(a.object_key));
  EXPECT_EQ(blobs_->Get("b")->data, "shared bytes");
  DOTDO_ASSERT_OK(blobs_->Delete("b"));
  EXPECT_THAT(objects_->Head(a.object_key), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(StoredObjects().empty());
  EXPECT_EQ(blobs_->Stats()->objects, 0);
}

TEST_F(BlobStoreTest, OverwriteKeepsIdentityAndReleasesTheOldObject) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto v1, blobs_->Put(Req("k", "text/plain"), "version one"));
  clock_.Advance(5000);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto same, blobs_->Put(Req("k", "text/markdown"), "version one"));
  EXPECT_EQ(RefCount(v1.object_key), 1);  // same bytes again: no extra reference
  EXPECT_EQ(same.content_type, "text/markdown");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto v2, blobs_->Put(Req("k"), "version two"));
  EXPECT_EQ(v2.id, v1.id);
  EXPECT_EQ(v2.created_at, v1.created_at);
  EXPECT_EQ(v2.updated_at, v1.updated_at + 5000);
  EXPECT_THAT(objects_->Head(v1.object_key), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(blobs_->Get("k")->data, "version two");
  ExpectMetadataMatchesObjects();
}

TEST_F(BlobStoreTest, EveryWriteEmitsMetadataOnlyCdcEvents) {
  DOTDO_ASSERT_OK(blobs_->Put(Req("doc.txt", "text/plain"), "first"));
  DOTDO_ASSERT_OK(blobs_->Put(Req("doc.txt", "text/plain"), "second"));
  DOTDO_ASSERT_OK(blobs_->Delete("doc.txt"));
  auto events = Events();
  ASSERT_EQ(events.size(), 3u);
  const char* types[] = {"cdc.insert", "cdc.update", "cdc.delete"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].type, types[i]);
    EXPECT_EQ(events[i].store, "blob");
    EXPECT_EQ(events[i].table, "blobs");
    EXPECT_EQ(events[i].key, "doc.txt");
  }
  EXPECT_FALSE(events[0].before.has_value());
  EXPECT_EQ((*events[0].after)["hash"], internal::Sha256::Hex("first"));
  EXPECT_EQ((*events[1].before)["hash"], internal::Sha256::Hex("first"));
  EXPECT_EQ((*events[1].after)["hash"], internal::Sha256::Hex("second"));
  EXPECT_FALSE(events[2].after.has_value());
  for (const auto& e : events) {
    const std::string dump = EventToJson(e).dump();
    EXPECT_EQ(dump.find("\"first\""), std::string::npos);
    EXPECT_EQ(dump.find("\"second\""), std::string::npos);
  }
}

TEST_F(BlobStoreTest, BadInputIsRejectedAndChangesNothing) {
  for (const std::string key : {"", "../etc/passwd", "/abs", "a//b", "a/./b", "x\\y"})
    EXPECT_THAT(blobs_->Put(Req(key), "x"), StatusIs(StatusCode::kInvalidArgument, "invalid blob key")) << key;
  EXPECT_THAT(blobs_->Put(Req("k", "text/plain\n"), "x"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->Put(Req("k", "", Json::array({1})), "x"), StatusIs(StatusCode::kInvalidArgument, "JSON object"));
  auto declared = Req("k");
  declared.content_length = 3;
  EXPECT_THAT(blobs_->Put(declared, "four"), StatusIs(StatusCode::kInvalidArgument, "declared"));
  EXPECT_THAT(blobs_->PutStream(Req("k"), nullptr), StatusIs(StatusCode::kInvalidArgument, "no data"));
  EXPECT_THAT(blobs_->Get("../x"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->Delete("a//b"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->List({.limit = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->List({.limit = 1001}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_TRUE(StoredObjects().empty());
  EXPECT_TRUE(Events().empty());
  EXPECT_EQ(blobs_->Stats()->blobs, 0);
  // Bad options are refused at open.
  EXPECT_THAT(BlobStore::Open(*db_, *objects_, {.signing_secret = "short"}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(BlobStore::Open(*db_, *objects_, {.url_base = "https://x/"}), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(BlobStoreTest, MaxBlobSizeIsEnforced) {
  Reopen(BlobOptions{.max_blob_size = 10});
  EXPECT_THAT(blobs_->Put(Req("k"), std::string(11, 'x')), StatusIs(StatusCode::kResourceExhausted));
  size_t sent = 0;
  auto reader = [&](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min<size_t>(cap, 100 - sent);
    std::memset(buf, 'y', n);
    sent += n;
    return n;
  };
  EXPECT_THAT(blobs_->PutStream(Req("k"), reader), StatusIs(StatusCode::kResourceExhausted));
  EXPECT_TRUE(StoredObjects().empty());
  DOTDO_EXPECT_OK(blobs_->Put(Req("k"), std::string(10, 'x')));
}

TEST_F(BlobStoreTest, ListPaginatesByKeyWithPrefix) {
  for (const std::string k : {"a/1", "a/2", "a/3", "a0", "b/1", "a/4"}) DOTDO_ASSERT_OK(blobs_->Put(Req(k), k));
  std::vector<std::string> seen;
  BlobListOptions o{.prefix = "a/", .limit = 3};
  int pages = 0;
  do {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto page, blobs_->List(o));
    for (auto& b : page.items) seen.push_back(b.key);
    o.cursor = page.next_cursor;
    ++pages;
  } while (!o.cursor.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "a/2", "a/3", "a/4"}));
  EXPECT_EQ(pages, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all, blobs_->List());
  EXPECT_EQ(all.items.size(), 6u);
  EXPECT_TRUE(all.next_cursor.empty());
}

TEST_F(BlobStoreTest, PutStreamChecksDeclaredLengthAndLeavesNothingOnMismatch) {
  const std::string payload(3 << 20, 'q');
  auto make_reader = [&](size_t total) {
    auto sent = std::make_shared<size_t>(0);
    return [&payload, sent, total](char* buf, size_t cap) -> Result<size_t> {
      size_t n = std::min(cap, total - *sent);
      std::memcpy(buf, payload.data(), n);
      *sent += n;
      return n;
    };
  };
  auto req = Req("stream");
  req.content_length = payload.size() + 1;
  EXPECT_THAT(blobs_->PutStream(req, make_reader(payload.size())), StatusIs(StatusCode::kInvalidArgument, "were declared"));
  req.content_length = payload.size() - 1;
  EXPECT_THAT(blobs_->PutStream(req, make_reader(payload.size())), StatusIs(StatusCode::kInvalidArgument, "longer than"));
  EXPECT_TRUE(StoredObjects().empty());
  EXPECT_EQ(objects_->List({.prefix = "tmp/"})->objects.size(), 0u);
  EXPECT_THAT(blobs_->Head("stream"), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(Events().empty());

  req.content_length = payload.size();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, blobs_->PutStream(req, make_reader(payload.size())));
  EXPECT_EQ(info.hash, internal::Sha256::Hex(payload));
  // The streamed object and an in-memory put of the same bytes share one object; no temp is left.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto again, blobs_->Put(Req("copy"), payload));
  EXPECT_EQ(again.object_key, info.object_key);
  EXPECT_EQ(StoredObjects(), std::vector<std::string>{info.object_key});
  EXPECT_EQ(blobs_->Get("stream")->data, payload);
}

TEST_F(BlobStoreTest, WithoutContentAddressingEachPutHasItsOwnObject) {
  Reopen(BlobOptions{.content_addressed = false});
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, blobs_->Put(Req("a"), "same"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto b, blobs_->Put(Req("b"), "same"));
  EXPECT_NE(a.object_key, b.object_key);
  EXPECT_EQ(a.object_key.rfind("objects/", 0), 0u);
  EXPECT_EQ(a.hash, b.hash);
  DOTDO_ASSERT_OK(blobs_->Put(Req("a"), "changed"));
  EXPECT_THAT(objects_->Head(a.object_key), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(StoredObjects().size(), 2u);
  EXPECT_EQ(blobs_->Get("a")->data, "changed");
  DOTDO_ASSERT_OK(blobs_->Delete("b"));
  EXPECT_EQ(StoredObjects().size(), 1u);
  ExpectMetadataMatchesObjects();
}

TEST_F(BlobStoreTest, ReadsRecordLastAccessAtMostOncePerGranularity) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, blobs_->Put(Req("k"), "v"));
  clock_.Advance(1000);
  DOTDO_ASSERT_OK(blobs_->Get("k"));
  EXPECT_EQ(blobs_->Head("k")->last_accessed_at, info.last_accessed_at);
  clock_.Advance(3'600'000);
  DOTDO_ASSERT_OK(blobs_->Get("k"));
  EXPECT_EQ(blobs_->Head("k")->last_accessed_at, info.last_accessed_at + 3'601'000);
  EXPECT_EQ(Events().size(), 1u);  // a read is not a change event
}

TEST_F(BlobStoreTest, RandomOperationsMatchInMemoryModel) {
  Reopen(BlobOptions{}, /*sync=*/false);
  std::map<std::string, std::string> model;
  std::mt19937 rng(11);
  const std::vector<std::string> keys = {"a", "b", "c/1", "c/2", "d"};
  const std::vector<std::string> contents = {"alpha", "beta", "gamma"};
  for (int step = 0; step < 200; ++step) {
    const std::string& key = keys[rng() % keys.size()];
    if (rng() % 3 == 0) {
      Status s = blobs_->Delete(key);
      if (model.count(key)) ASSERT_THAT(s, IsOk());
      else ASSERT_THAT(s, StatusIs(StatusCode::kNotFound));
      model.erase(key);
    } else {
      const std::string& value = contents[rng() % contents.size()];
      ASSERT_THAT(blobs_->Put(Req(key), value), IsOk());
      model[key] = value;
    }
    DOTDO_ASSERT_OK_AND_ASSIGN(auto listed, blobs_->List({.limit = 1000}));
    ASSERT_EQ(listed.items.size(), model.size());
    std::set<std::string> distinct;
    for (const auto& b : listed.items) {
      ASSERT_TRUE(model.count(b.key));
      ASSERT_EQ(b.hash, internal::Sha256::Hex(model[b.key]));
      distinct.insert(model[b.key]);
    }
    ASSERT_EQ(StoredObjects().size(), distinct.size()) << "step " << step;
    ASSERT_EQ(blobs_->Stats()->objects, static_cast<int64_t>(distinct.size()));
  }
  for (auto& [k, v] : model) EXPECT_EQ(blobs_->Get(k)->data, v);
  ExpectMetadataMatchesObjects();
}


// Every call that takes a key refuses one that could escape the object store or is malformed.
TEST_F(BlobStoreTest, EscapingAndMalformedKeysAreRejectedByEveryCall) {
  const std::vector<std::string> bad = {"",     "..",   "../x", "a/../../b", "/etc/passwd", "a//b", "a/",
                                        "./a",  "x\\y", std::string("a\0b", 3), "a\nb", std::string(1025, 'k')};
  auto reader = [](char*, size_t) -> Result<size_t> { return size_t{0}; };
  auto writer = [](std::string_view) { return OkStatus(); };
  for (const std::string& key : bad) {
    SCOPED_TRACE(::testing::PrintToString(key));
    EXPECT_THAT(blobs_->Put(Req(key), "x"), StatusIs(StatusCode::kInvalidArgument, "invalid blob key"));
    EXPECT_THAT(blobs_->PutStream(Req(key), reader), StatusIs(StatusCode::kInvalidArgument, "invalid blob key"));
    EXPECT_THAT(blobs_->Get(key), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(blobs_->GetStream(key, writer), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(blobs_->Head(key), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(blobs_->Delete(key), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(blobs_->GetSignedUrl(key), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(blobs_->GetUploadUrl({.key = key, .max_size = 10}), StatusIs(StatusCode::kInvalidArgument));
  }
  EXPECT_TRUE(StoredObjects().empty());
  EXPECT_TRUE(Events().empty());
  // Nothing was created next to the object store either.
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) EXPECT_EQ(e.path().filename(), "objects");
}

// A stream that fails, lies about its chunk size or throws stores nothing and leaves an existing
// blob of the same key untouched.
TEST_F(BlobStoreTest, FailingStreamsStoreNothingAndKeepThePreviousBlob) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto before, blobs_->Put(Req("k", "text/plain"), "previous"));
  const size_t events_before = Events().size();
  int calls = 0;
  auto failing = [&](char* buf, size_t cap) -> Result<size_t> {
    if (++calls > 2) return UnavailableError("client disconnected");
    std::memset(buf, 'z', std::min<size_t>(cap, 4096));
    return std::min<size_t>(cap, 4096);
  };
  EXPECT_THAT(blobs_->PutStream(Req("k"), failing), StatusIs(StatusCode::kUnavailable, "client disconnected"));
  auto lying = [](char*, size_t cap) -> Result<size_t> { return cap + 1; };
  EXPECT_THAT(blobs_->PutStream(Req("k"), lying), StatusIs(StatusCode::kInvalidArgument));
  auto throwing = [](char*, size_t) -> Result<size_t> { throw std::runtime_error("reader exploded"); };
  EXPECT_THAT(blobs_->PutStream(Req("k"), throwing), StatusIs(StatusCode::kInternal, "reader exploded"));
  // Declared length with missing data: an empty stream for a declared 5 bytes.
  auto empty = [](char*, size_t) -> Result<size_t> { return size_t{0}; };
  auto declared = Req("k");
  declared.content_length = 5;
  EXPECT_THAT(blobs_->PutStream(declared, empty), StatusIs(StatusCode::kInvalidArgument, "were declared"));
  EXPECT_THAT(blobs_->Put(declared, ""), StatusIs(StatusCode::kInvalidArgument, "declared"));
  EXPECT_THAT(blobs_->Put(Req("k", "", {{"big", std::string(70000, 'm')}}), "x"),
              StatusIs(StatusCode::kInvalidArgument, "the limit is 65536"));
  EXPECT_THAT(blobs_->GetStream("k", nullptr), StatusIs(StatusCode::kInvalidArgument));

  DOTDO_ASSERT_OK_AND_ASSIGN(auto after, blobs_->Get("k"));
  EXPECT_EQ(after.data, "previous");
  EXPECT_EQ(after.info.updated_at, before.updated_at);
  EXPECT_EQ(after.info.content_type, "text/plain");
  EXPECT_EQ(StoredObjects(), std::vector<std::string>{before.object_key});
  EXPECT_EQ(Events().size(), events_before);
  // An empty blob is fine when that is what was declared.
  declared.content_length = 0;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto zero, blobs_->PutStream(declared, empty));
  EXPECT_EQ(zero.size, 0u);
  EXPECT_EQ(blobs_->Get("k")->data, "");
}

TEST_F(BlobStoreTest, ListPagesOneByOneInByteOrderWithUnicodePrefixes) {
  const std::vector<std::string> keys = {"a", "a-b", "a/b", "a0", "z", "\xc3\xa9t\xc3\xa9/1", "\xc3\xa9t\xc3\xa9/2",
                                         "\xc3\xa9tait"};
  for (const auto& k : keys) DOTDO_ASSERT_OK(blobs_->Put(Req(k), k));
  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end());  // byte order, as SQLite compares TEXT
  std::vector<std::string> seen;
  BlobListOptions o{.limit = 1};
  do {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto page, blobs_->List(o));
    ASSERT_LE(page.items.size(), 1u);
    for (auto& b : page.items) seen.push_back(b.key);
    o.cursor = page.next_cursor;
    ASSERT_LE(seen.size(), keys.size());
  } while (!o.cursor.empty());
  EXPECT_EQ(seen, expected);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto accents, blobs_->List({.prefix = "\xc3\xa9t\xc3\xa9/"}));
  ASSERT_EQ(accents.items.size(), 2u);
  EXPECT_EQ(accents.items[1].key, "\xc3\xa9t\xc3\xa9/2");
  EXPECT_EQ(blobs_->List({.prefix = "a"})->items.size(), 4u);
  EXPECT_TRUE(blobs_->List({.cursor = "\xff"})->items.empty());  // past every UTF-8 key
  EXPECT_EQ(blobs_->List({.cursor = "zz"})->items.size(), 3u);  // the three keys starting with U+00E9
  EXPECT_TRUE(blobs_->List({.prefix = "nothing"})->items.empty());
  EXPECT_THAT(blobs_->List({.prefix = std::string(1025, 'p')}), StatusIs(StatusCode::kInvalidArgument));
}


TEST_F(BlobStoreTest, WithoutContentAddressingStreamsAndTransitionsMoveTheBlobsOwnObject) {
  Reopen(BlobOptions{.content_addressed = false});
  const std::string payload(1500000, 'n');
  size_t sent = 0;
  auto req = Req("s");
  req.content_length = payload.size();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto s, blobs_->PutStream(req, [&](char* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::min(cap, payload.size() - sent);
    std::memcpy(buf, payload.data() + sent, n);
    sent += n;
    return n;
  }));
  EXPECT_EQ(s.object_key.rfind("objects/", 0), 0u);
  EXPECT_EQ(s.hash, internal::Sha256::Hex(payload));
  DOTDO_ASSERT_OK(blobs_->PutLifecycleRule({.id = "c", .prefix = "s", .action = BlobLifecycleAction::kTransition,
                                            .storage_class = "INFREQUENT_ACCESS"}));
  EXPECT_EQ(blobs_->ApplyLifecycle(clock_.NowMillis())->transitioned, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto cold, blobs_->Head("s"));
  EXPECT_EQ(cold.object_key, "cold/" + s.object_key);
  EXPECT_EQ(StoredObjects(), std::vector<std::string>{cold.object_key});
  EXPECT_EQ(blobs_->Get("s")->data, payload);
  ExpectMetadataMatchesObjects();
}

}  // namespace
}  // namespace dotdo

namespace dotdo {
namespace {

// Reads never create tables: opening the store and reading a namespace that has no blobs changes
// nothing, and works on a namespace opened read-only.
TEST(BlobReadOnlyTest, ReadsOfANamespaceWithoutBlobsCreateNothing) {
  testing::ScratchDir dir;
  { DOTDO_ASSERT_OK(Database::Open(dir.path(), "ns")); }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto objects, LocalObjectStore::Open(dir.path() / "objects"));
  for (bool read_only : {true, false}) {
    SCOPED_TRACE(read_only ? "read-only namespace" : "writable namespace");
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns", {.read_only = read_only}));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto blobs, BlobStore::Open(*db, *objects));
    EXPECT_THAT(blobs->Head("a"), testing::StatusIs(StatusCode::kNotFound));
    EXPECT_THAT(blobs->Get("a"), testing::StatusIs(StatusCode::kNotFound));
    EXPECT_THAT(blobs->Delete("a"), testing::StatusIs(StatusCode::kNotFound));
    DOTDO_ASSERT_OK_AND_ASSIGN(BlobPage page, blobs->List({}));
    EXPECT_TRUE(page.items.empty());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto found, blobs->Query({.where = {{"size", {{"$gt", 1}}}}}));
    EXPECT_TRUE(found.empty());
    EXPECT_THAT(blobs->Query({.where = {{"size", {{"$bogus", 1}}}}}), testing::StatusIs(StatusCode::kInvalidArgument));
    DOTDO_ASSERT_OK_AND_ASSIGN(BlobStats stats, blobs->Stats());
    EXPECT_EQ(stats.blobs, 0);
    DOTDO_ASSERT_OK_AND_ASSIGN(auto rules, blobs->ListLifecycleRules());
    EXPECT_TRUE(rules.empty());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto tables, db->QueryReadOnly("SELECT name FROM sqlite_schema WHERE name LIKE 'blob%'"));
    EXPECT_TRUE(tables.empty()) << tables.dump();
  }
  // The first write makes the tables.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto blobs, BlobStore::Open(*db, *objects));
  BlobPutRequest req;
  req.key = "a";
  DOTDO_ASSERT_OK(blobs->Put(req, "bytes"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Blob got, blobs->Get("a"));
  EXPECT_EQ(got.data, "bytes");
}

}  // namespace
}  // namespace dotdo
