// PrefixObjectStore over one S3 bucket: namespaces under their own prefixes, and the host choosing
// the S3 store by configuration alone (blobs and the warm tier of two namespaces in one bucket).
#include <map>

#include "dotdo/host.h"
#include "dotdo/object_store.h"
#include "objectstore/prefixed_object_store.h"
#include "objectstore/s3_server.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

namespace fs = std::filesystem;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::S3Server;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

// Two namespaces sharing one bucket through their prefixes never see each other's objects.
TEST(PrefixObjectStoreTest, PrefixesShareABucketWithoutSeeingEachOther) {
  S3Server& server = S3Server::Get();
  ASSERT_TRUE(server.ok()) << server.error();
  S3ObjectStoreOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(server.port());
  o.bucket = server.NextBucket();
  o.access_key_id = o.secret_access_key = "S3RVER";
  o.conditional_writes = S3ConditionalWrites::kEmulated;
  auto open = [&](const std::string& prefix) {
    auto inner = OpenS3ObjectStore(o);
    EXPECT_THAT(inner, IsOk());
    auto store = internal::PrefixObjectStore(std::move(inner).value(), prefix);
    EXPECT_THAT(store, IsOk());
    return std::move(store).value();
  };
  auto a = open("namespaces/a/");
  auto b = open("namespaces/ab/");
  auto whole = OpenS3ObjectStore(o);
  ASSERT_THAT(whole, IsOk());
  for (auto* s : {a.get(), b.get()}) {
    auto page = s->List();
    ASSERT_THAT(page, IsOk());
    for (const ObjectInfo& obj : page->objects) DOTDO_ASSERT_OK(s->Delete(obj.key));
  }
  DOTDO_ASSERT_OK(a->Put("x/1", "from a"));
  DOTDO_ASSERT_OK(b->Put("x/1", "from b"));
  EXPECT_EQ(*a->Get("x/1"), "from a");
  EXPECT_EQ(*b->Get("x/1"), "from b");
  EXPECT_EQ(*(*whole)->Get("namespaces/a/x/1"), "from a");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto listed, a->List());
  ASSERT_EQ(listed.objects.size(), 1u);
  EXPECT_EQ(listed.objects[0].key, "x/1");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rolled, a->List({.delimiter = "/"}));
  EXPECT_EQ(rolled.common_prefixes, std::vector<std::string>{"x/"});
  DOTDO_ASSERT_OK(a->Delete("x/1"));
  EXPECT_EQ(*b->Get("x/1"), "from b");
  EXPECT_THAT(a->Get("../ab/x/1"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(internal::PrefixObjectStore(std::move(*whole), "no-slash"), StatusIs(StatusCode::kInvalidArgument));
}

// The host over an S3 bucket, chosen by its configuration alone: blobs and the warm tier of two
// namespaces run unchanged over one bucket, each under its own key prefix.
TEST(PrefixObjectStoreTest, HostConfigurationPutsBlobsAndTiersOfEachNamespaceInTheBucket) {
  S3Server& server = S3Server::Get();
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string bucket = server.NextBucket();
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(server.port());
  ScratchDir dir;
  NamespaceHostOptions o;
  o.data_dir = dir.path() / "data";
  DOTDO_ASSERT_OK(ParseHostConfig(Json{{"objectStore",
                                        {{"type", "s3"}, {"endpoint", endpoint}, {"bucket", bucket},
                                         {"keyPrefix", "tenants/{ns}/"}, {"conditionalWrites", "emulated"},
                                         {"accessKeyId", "S3RVER"}, {"secretAccessKey", "S3RVER"}}}},
                                  o));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto host, NamespaceHost::Open(o));
  for (const std::string ns : {"acme", "globex"}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto n, host->Get(ns));
    DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, n->Blobs());
    BlobPutRequest put;
    put.key = "reports/q1.txt";
    DOTDO_ASSERT_OK(blobs->Put(put, "report of " + ns));
    DOTDO_ASSERT_OK_AND_ASSIGN(DocumentStore docs, n->Documents());
    for (int i = 0; i < 20; ++i) DOTDO_ASSERT_OK(docs.Create({{"$type", "Order"}, {"$id", "o" + std::to_string(i)}, {"ns", ns}}));
    TieringOptions t;
    t.policies = {TieringPolicy{.min_age_millis = 0}};
    DOTDO_ASSERT_OK_AND_ASSIGN(Tiering * tiers, n->Tiers(t));
    DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats moved, tiers->Run(n->db().NowMillis() + 1000));
    EXPECT_EQ(moved.documents_moved, 20);
  }
  host.reset();

  // Reopened: every read is served from the bucket, each namespace sees only its own objects.
  DOTDO_ASSERT_OK_AND_ASSIGN(host, NamespaceHost::Open(o));
  for (const std::string ns : {"acme", "globex"}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto n, host->Get(ns, /*create=*/false));
    DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, n->Blobs());
    DOTDO_ASSERT_OK_AND_ASSIGN(Blob blob, blobs->Get("reports/q1.txt"));
    EXPECT_EQ(blob.data, "report of " + ns);
    DOTDO_ASSERT_OK_AND_ASSIGN(DocumentStore docs, n->Documents());
    DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, docs.Get("o7"));
    EXPECT_EQ(doc["ns"], ns);
    EXPECT_EQ(*docs.Count("Order"), 20);
    DOTDO_ASSERT_OK_AND_ASSIGN(ObjectStore * objects, n->Objects());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto listed, objects->List());
    for (const ObjectInfo& obj : listed.objects) EXPECT_EQ(obj.key.find("tenants/"), std::string::npos) << obj.key;
  }
  // The bucket itself holds both namespaces under their prefixes, and nothing went to local disk.
  S3ObjectStoreOptions raw;
  raw.endpoint = endpoint;
  raw.bucket = bucket;
  raw.access_key_id = raw.secret_access_key = "S3RVER";
  DOTDO_ASSERT_OK_AND_ASSIGN(auto whole, OpenS3ObjectStore(raw));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all, whole->List());
  std::map<std::string, int> per_namespace;  // blob + warm file of each
  for (const auto& obj : all.objects) {
    const size_t slash = obj.key.find('/', std::string("tenants/").size());
    ASSERT_EQ(obj.key.rfind("tenants/", 0), 0u) << obj.key;
    ++per_namespace[obj.key.substr(0, slash + 1)];
  }
  EXPECT_EQ(per_namespace, (std::map<std::string, int>{{"tenants/acme/", 2}, {"tenants/globex/", 2}}));
  EXPECT_FALSE(fs::exists(o.data_dir / "objects"));
}

}  // namespace
}  // namespace dotdo
