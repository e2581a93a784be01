// BlobStore presigned URLs (valid, expired, tampered, wrong method/key/namespace/secret, over-size,
// wrong type, bad expiry), lifecycle rules (persisted; transitions into and out of the cold area;
// deletes; unknown storage class), and the metadata query language (every operator, validation,
// no SQL injection through field names).
#include <algorithm>

#include "blob_test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::BlobFixture;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::kSecret;
using ::dotdo::testing::StatusIs;

using BlobSigningTest = BlobFixture;
using BlobLifecycleTest = BlobFixture;
using BlobQueryTest = BlobFixture;

constexpr int64_t kDay = 24 * 3'600'000LL;

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

TEST_F(BlobSigningTest, SignedGetUrlVerifiesUntilItExpires) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto url, blobs_->GetSignedUrl("reports/q1 2024.pdf", {.expires_in_ms = 60'000, .disposition = "attachment"}));
  EXPECT_EQ(url.rfind("https://files.test/acme/reports/q1%202024.pdf?", 0), 0u) << url;
  const int64_t now = clock_.NowMillis();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ok, blobs_->VerifySignedRequest({.method = "GET", .url = url, .now_ms = now + 1000}));
  EXPECT_EQ(ok.key, "reports/q1 2024.pdf");
  EXPECT_EQ(ok.method, "GET");
  EXPECT_EQ(ok.disposition, "attachment");
  EXPECT_EQ(ok.expires_at_ms, now + 60'000);
  DOTDO_EXPECT_OK(blobs_->VerifySignedRequest({.method = "HEAD", .url = url, .now_ms = now}));
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "GET", .url = url, .now_ms = now + 60'001}),
              StatusIs(StatusCode::kPermissionDenied, "expired"));
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "PUT", .url = url, .now_ms = now, .content_length = 1}),
              StatusIs(StatusCode::kPermissionDenied, "signed for GET"));
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "DELETE", .url = url, .now_ms = now}),
              StatusIs(StatusCode::kPermissionDenied));
}

TEST_F(BlobSigningTest, TamperedUrlsAreRejected) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto url, blobs_->GetSignedUrl("a/secret.txt"));
  const int64_t now = clock_.NowMillis();
  auto verify = [&](const std::string& u) { return blobs_->VerifySignedRequest({.method = "GET", .url = u, .now_ms = now}); };
  DOTDO_ASSERT_OK(verify(url));
  // Another key with the same signature.
  EXPECT_THAT(verify(Replace(url, "a/secret.txt", "a/other.txt")), StatusIs(StatusCode::kPermissionDenied, "signature"));
  // A later expiry.
  const size_t e = url.find("X-Dotdo-Expires=") + 16;
  std::string later = url;
  later[e] = later[e] == '9' ? '8' : static_cast<char>(later[e] + 1);
  EXPECT_THAT(verify(later), StatusIs(StatusCode::kPermissionDenied, "signature"));
  // A flipped signature digit; a truncated signature.
  std::string flipped = url;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_THAT(verify(flipped), StatusIs(StatusCode::kPermissionDenied, "signature"));
  EXPECT_THAT(verify(url.substr(0, url.size() - 2)), StatusIs(StatusCode::kPermissionDenied));
  // A method switched to PUT in the URL itself.
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "PUT", .url = Replace(url, "Method=GET", "Method=PUT"), .now_ms = now,
                                           .content_length = 1}),
              StatusIs(StatusCode::kPermissionDenied, "signature"));
  // Added constraints or parameters.
  EXPECT_THAT(verify(url + "&X-Dotdo-Disposition=inline"), StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(verify(url + "&X-Dotdo-Signature=00"), StatusIs(StatusCode::kInvalidArgument, "twice"));
  EXPECT_THAT(verify(url + "&admin=1"), StatusIs(StatusCode::kInvalidArgument, "unexpected parameter"));
  EXPECT_THAT(verify("https://files.test/acme/a/secret.txt"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(verify(Replace(url, "https://files.test/acme", "https://evil.test/acme")),
              StatusIs(StatusCode::kPermissionDenied, "not issued"));
  EXPECT_THAT(verify(Replace(url, "a/secret.txt", "a/../../etc/passwd")), StatusIs(StatusCode::kInvalidArgument));
  // Another secret, or another namespace with the same secret, does not accept it.
  Reopen(BlobOptions{.signing_secret = std::string(kSecret) + "-rotated", .url_base = "https://files.test/acme"});
  EXPECT_THAT(verify(url), StatusIs(StatusCode::kPermissionDenied, "signature"));
  auto other_db = testing::OpenMemoryDb(&clock_, "globex");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto other, BlobStore::Open(*other_db, *objects_, {.signing_secret = kSecret, .url_base = "https://files.test/acme"}));
  EXPECT_THAT(other->VerifySignedRequest({.method = "GET", .url = url, .now_ms = now}),
              StatusIs(StatusCode::kPermissionDenied, "signature"));
}

TEST_F(BlobSigningTest, UploadUrlEnforcesSizeTypeAndMethod) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto url, blobs_->GetUploadUrl({.key = "uploads/avatar.png", .content_type = "image/png",
                                                             .max_size = 1000, .expires_in_ms = 600'000}));
  const int64_t now = clock_.NowMillis();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ok, blobs_->VerifySignedRequest({.method = "PUT", .url = url, .now_ms = now,
                                                                   .content_length = 1000, .content_type = "image/png"}));
  EXPECT_EQ(ok.key, "uploads/avatar.png");
  EXPECT_EQ(ok.max_size, 1000u);
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "PUT", .url = url, .now_ms = now, .content_length = 1001,
                                           .content_type = "image/png"}),
              StatusIs(StatusCode::kPermissionDenied, "exceeds the signed maximum"));
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "PUT", .url = url, .now_ms = now, .content_length = 10,
                                           .content_type = "text/html"}),
              StatusIs(StatusCode::kPermissionDenied, "content type"));
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "PUT", .url = url, .now_ms = now, .content_type = "image/png"}),
              StatusIs(StatusCode::kPermissionDenied, "content length"));
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "GET", .url = url, .now_ms = now}),
              StatusIs(StatusCode::kPermissionDenied, "signed for PUT"));
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "PUT", .url = Replace(url, "Max-Size=1000", "Max-Size=9999"),
                                           .now_ms = now, .content_length = 5000, .content_type = "image/png"}),
              StatusIs(StatusCode::kPermissionDenied, "signature"));
}

TEST_F(BlobSigningTest, BadSigningRequestsAreInvalid) {
  EXPECT_THAT(blobs_->GetSignedUrl("k", {.expires_in_ms = 0}), StatusIs(StatusCode::kInvalidArgument, "expiry"));
  EXPECT_THAT(blobs_->GetSignedUrl("k", {.expires_in_ms = 8 * kDay}), StatusIs(StatusCode::kInvalidArgument, "expiry"));
  EXPECT_THAT(blobs_->GetSignedUrl("k", {.expires_in_ms = -5}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->GetSignedUrl("../k"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->GetSignedUrl("k", {.disposition = "a\r\nb"}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->GetUploadUrl({.key = "k", .max_size = 0}), StatusIs(StatusCode::kInvalidArgument, "max_size"));
  Reopen(BlobOptions{});
  EXPECT_THAT(blobs_->GetSignedUrl("k"), StatusIs(StatusCode::kFailedPrecondition, "signing_secret"));
  EXPECT_THAT(blobs_->VerifySignedRequest({.method = "GET", .url = "/k?x=1"}), StatusIs(StatusCode::kFailedPrecondition));
}

TEST_F(BlobLifecycleTest, TransitionMovesBytesToTheColdAreaAndBack) {
  DOTDO_ASSERT_OK(blobs_->PutLifecycleRule({.id = "logs-cold", .prefix = "logs/", .age_ms = kDay,
                                            .action = BlobLifecycleAction::kTransition, .storage_class = "INFREQUENT_ACCESS"}));
  DOTDO_ASSERT_OK(blobs_->Put(Req("logs/a"), "log line"));
  DOTDO_ASSERT_OK(blobs_->Put(Req("other/x"), "log line"));  // same bytes, not under the rule
  clock_.Advance(kDay / 2);
  DOTDO_ASSERT_OK(blobs_->Put(Req("logs/b"), "young"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, blobs_->ApplyLifecycle(clock_.NowMillis()));
  EXPECT_EQ(none.transitioned, 0);
  clock_.Advance(kDay / 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto report, blobs_->ApplyLifecycle(clock_.NowMillis()));
  EXPECT_EQ(report.transitioned, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, blobs_->Head("logs/a"));
  EXPECT_EQ(a.storage_class, "INFREQUENT_ACCESS");
  EXPECT_EQ(a.object_key.rfind("cold/blobs/", 0), 0u);
  EXPECT_EQ(objects_->Head(a.object_key)->storage_class, "INFREQUENT_ACCESS");
  EXPECT_EQ(blobs_->Get("logs/a")->data, "log line");
  // The shared hot object stays for other/x.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto x, blobs_->Head("other/x"));
  EXPECT_EQ(x.storage_class, "STANDARD");
  EXPECT_EQ(blobs_->Get("other/x")->data, "log line");
  EXPECT_EQ(Events().back().type, "cdc.update");
  EXPECT_EQ((*Events().back().after)["storageClass"], "INFREQUENT_ACCESS");
  // Idempotent.
  EXPECT_EQ(blobs_->ApplyLifecycle(clock_.NowMillis())->transitioned, 0);
  // A rule back to STANDARD moves it back and frees the cold copy.
  DOTDO_ASSERT_OK(blobs_->RemoveLifecycleRule("logs-cold"));
  DOTDO_ASSERT_OK(blobs_->PutLifecycleRule({.id = "warm-again", .prefix = "logs/a", .age_ms = 0,
                                            .action = BlobLifecycleAction::kTransition, .storage_class = "STANDARD"}));
  EXPECT_EQ(blobs_->ApplyLifecycle(clock_.NowMillis())->transitioned, 1);
  EXPECT_EQ(blobs_->Head("logs/a")->object_key, x.object_key);
  EXPECT_THAT(objects_->Head(a.object_key), StatusIs(StatusCode::kNotFound));
  ExpectMetadataMatchesObjects();
}

TEST_F(BlobLifecycleTest, DeleteRulesRemoveExpiredBlobsFirst) {
  DOTDO_ASSERT_OK(blobs_->PutLifecycleRule({.id = "expire-tmp", .prefix = "tmp/", .age_ms = 7 * kDay, .action = BlobLifecycleAction::kDelete}));
  DOTDO_ASSERT_OK(blobs_->PutLifecycleRule({.id = "cold-all", .prefix = "", .age_ms = 7 * kDay,
                                            .action = BlobLifecycleAction::kTransition, .storage_class = "INFREQUENT_ACCESS"}));
  DOTDO_ASSERT_OK(blobs_->Put(Req("tmp/upload-1"), "scratch"));
  DOTDO_ASSERT_OK(blobs_->Put(Req("keep/me"), "keeper"));
  clock_.Advance(8 * kDay);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto report, blobs_->ApplyLifecycle(clock_.NowMillis()));
  EXPECT_EQ(report.deleted, 1);
  EXPECT_EQ(report.transitioned, 1);
  EXPECT_THAT(blobs_->Head("tmp/upload-1"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(blobs_->Head("keep/me")->storage_class, "INFREQUENT_ACCESS");
  EXPECT_EQ(StoredObjects().size(), 1u);
  ExpectMetadataMatchesObjects();
}

TEST_F(BlobLifecycleTest, RulesArePersistedAndValidated) {
  EXPECT_THAT(blobs_->PutLifecycleRule({.id = "r", .action = BlobLifecycleAction::kTransition, .storage_class = "GLACIER"}),
              StatusIs(StatusCode::kInvalidArgument, "unknown storage class"));
  EXPECT_THAT(blobs_->PutLifecycleRule({.id = "r", .action = BlobLifecycleAction::kTransition}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->PutLifecycleRule({.id = "bad id!", .action = BlobLifecycleAction::kDelete}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->PutLifecycleRule({.id = "r", .age_ms = -1, .action = BlobLifecycleAction::kDelete}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(blobs_->PutLifecycleRule({.id = "r", .action = BlobLifecycleAction::kDelete, .storage_class = "STANDARD"}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_TRUE(blobs_->ListLifecycleRules()->empty());
  DOTDO_ASSERT_OK(blobs_->PutLifecycleRule({.id = "r", .prefix = "p/", .age_ms = 5, .action = BlobLifecycleAction::kDelete}));
  DOTDO_ASSERT_OK(blobs_->PutLifecycleRule({.id = "r", .prefix = "q/", .age_ms = 6, .action = BlobLifecycleAction::kDelete}));  // replaces
  Reopen(BlobOptions{});
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rules, blobs_->ListLifecycleRules());
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].prefix, "q/");
  EXPECT_EQ(rules[0].age_ms, 6);
  EXPECT_EQ(rules[0].action, BlobLifecycleAction::kDelete);
  DOTDO_ASSERT_OK(blobs_->RemoveLifecycleRule("r"));
  EXPECT_THAT(blobs_->RemoveLifecycleRule("r"), StatusIs(StatusCode::kNotFound));
}

class BlobQueryData : public BlobFixture {
 protected:
  void SetUp() override {
    BlobFixture::SetUp();
    ASSERT_THAT(blobs_->Put(Req("img/a.png", "image/png", {{"w", 640}, {"tags", {"cat"}}, {"owner", {{"name", "ada"}}}}), "aaaa"), IsOk());
    ASSERT_THAT(blobs_->Put(Req("img/b.jpg", "image/jpeg", {{"w", 1024}, {"public", true}}), "bbbbbbbb"), IsOk());
    ASSERT_THAT(blobs_->Put(Req("doc/c.txt", "text/plain", {{"owner", {{"name", "bob"}}}}), "c"), IsOk());
  }
  std::vector<std::string> Keys(Json where) {
    auto r = blobs_->Query({.where = std::move(where)});
    EXPECT_THAT(r, IsOk());
    std::vector<std::string> out;
    if (r.ok()) {
      for (auto& b : *r) out.push_back(b.key);
    }
    return out;
  }
};

TEST_F(BlobQueryData, EveryOperatorOnMetadataAndTopLevelFields) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Keys({{"metadata.w", 640}}), V{"img/a.png"});
  EXPECT_EQ(Keys({{"metadata.w", {{"$gt", 640}}}}), V{"img/b.jpg"});
  EXPECT_EQ(Keys({{"metadata.w", {{"$gte", 640}, {"$lt", 1024}}}}), V{"img/a.png"});
  EXPECT_EQ(Keys({{"metadata.w", {{"$lte", 1024}}}}), (V{"img/a.png", "img/b.jpg"}));
  EXPECT_EQ(Keys({{"metadata.w", {{"$ne", 640}}}}), (V{"doc/c.txt", "img/b.jpg"}));  // missing counts as not equal
  EXPECT_EQ(Keys({{"metadata.owner.name", {{"$in", {"ada", "bob"}}}}}), (V{"doc/c.txt", "img/a.png"}));
  EXPECT_EQ(Keys({{"metadata.public", true}}), V{"img/b.jpg"});
  EXPECT_EQ(Keys({{"metadata.tags.0", "cat"}}), V{"img/a.png"});
  EXPECT_EQ(Keys({{"metadata.owner", {{"$exists", false}}}}), V{"img/b.jpg"});
  EXPECT_EQ(Keys({{"metadata.owner", {{"$exists", true}}}}), (V{"doc/c.txt", "img/a.png"}));
  EXPECT_EQ(Keys({{"contentType", {{"$like", "image/%"}}}}), (V{"img/a.png", "img/b.jpg"}));
  EXPECT_EQ(Keys({{"size", {{"$gt", 3}}}, {"contentType", "image/jpeg"}}), V{"img/b.jpg"});
  EXPECT_EQ(Keys({{"key", {{"$like", "doc/%"}}}}), V{"doc/c.txt"});
  EXPECT_EQ(Keys({{"storageClass", "STANDARD"}}).size(), 3u);
  EXPECT_EQ(Keys({{"createdAt", {{"$gte", "2023-01-01T00:00:00Z"}}}}).size(), 3u);
  EXPECT_EQ(Keys({{"size", {{"$exists", false}}}}), V{});
  EXPECT_EQ(blobs_->Query({.where = Json::object(), .limit = 2})->size(), 2u);
}

TEST_F(BlobQueryData, InvalidQueriesAreRejectedWithoutTouchingSql) {
  auto bad = [&](Json where, const char* msg) {
    EXPECT_THAT(blobs_->Query({.where = where}), StatusIs(StatusCode::kInvalidArgument, msg)) << where.dump();
  };
  bad({{"metadata.a') OR 1=1 --", 1}}, "invalid metadata path");
  bad({{"metadata.", 1}}, "invalid metadata path");
  bad({{"password", 1}}, "unknown query field");
  bad({{"size", {{"$regex", "x"}}}}, "$regex on 'size' needs a text field");
  bad({{"size", {{"$geoNear", "x"}}}}, "unknown operator");
  bad({{"size", {{"$in", 5}}}}, "$in");
  bad({{"size", {{"$exists", "yes"}}}}, "$exists");
  bad({{"size", {{"$gt", Json::array({1})}}}}, "$gt");
  bad({{"key", {{"$like", 5}}}}, "$like");
  bad({{"size", Json::array({1, 2})}}, "$eq on 'size' takes a number");
  bad({{"createdAt", {{"$gt", "yesterday"}}}}, "ISO-8601");
  bad(Json::array(), "JSON object");
  EXPECT_THAT(blobs_->Query({.limit = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(blobs_->Stats()->blobs, 3);
}

// The where clause is the shared filter language (core/filter_compiler.h): combinators, $nin, the
// typed-column rules and the limits every store has.
TEST_F(BlobQueryData, WhereUsesTheFilterLanguageAndLimitsEveryStoreShares) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Keys({{"$or", {{{"metadata.public", true}}, {{"key", {{"$like", "doc/%"}}}}}}}), (V{"doc/c.txt", "img/b.jpg"}));
  EXPECT_EQ(Keys({{"$not", {{"metadata.w", {{"$gt", 700}}}}}}), (V{"doc/c.txt", "img/a.png"}));
  EXPECT_EQ(Keys({{"metadata.owner.name", {{"$nin", {"ada"}}}}}), (V{"doc/c.txt", "img/b.jpg"}));
  EXPECT_EQ(Keys({{"metadata.w", {{"$gt", "a"}}}}), V{});  // a string range never matches numbers
  EXPECT_EQ(Keys({{"updatedAt", {{"$lt", "2000-01-01"}}}}), V{});
  Json many = Json::array();
  for (int i = 0; i < 101; ++i) many.push_back(i);
  EXPECT_THAT(blobs_->Query({.where = {{"size", {{"$in", many}}}}}),
              StatusIs(StatusCode::kInvalidArgument, "$in on 'size' takes at most 100 values, got 101"));
  EXPECT_THAT(blobs_->Query({.where = {{"size", "big"}}}),
              StatusIs(StatusCode::kInvalidArgument, "$eq on 'size' takes a number (the field holds integers)"));
  EXPECT_THAT(blobs_->Query({.where = {{"size", {{"$like", "1%"}}}}}),
              StatusIs(StatusCode::kInvalidArgument, "$like on 'size' needs a text field"));
  EXPECT_THAT(blobs_->Query({.where = {{"metadata.tags", {{"$in", 5}}}}}),
              StatusIs(StatusCode::kInvalidArgument, "$in on 'metadata.tags' takes an array of values"));
  EXPECT_THAT(blobs_->Query({.where = {{"$nor", Json::array()}}}), StatusIs(StatusCode::kInvalidArgument, "$nor takes a non-empty array"));
  EXPECT_THAT(blobs_->Query({.where = {{"$expr", Json::array()}}}), StatusIs(StatusCode::kInvalidArgument, "unknown operator '$expr'"));
  Json deep = {{"size", 1}};
  for (int i = 0; i < 17; ++i) deep = {{"$not", deep}};
  EXPECT_THAT(blobs_->Query({.where = deep}), StatusIs(StatusCode::kInvalidArgument, "deeper than 16 levels"));
}

}  // namespace
}  // namespace dotdo
