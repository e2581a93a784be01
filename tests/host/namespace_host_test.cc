// NamespaceHost: on-demand opening, the layout, LRU and idle closing of unheld namespaces, stores
// per namespace, and signing keys made once with mode 0600.
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "dotdo/host.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using testing::IsOk;
using testing::StatusIs;
using ::testing::ElementsAre;

class NamespaceHostTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir_;
  ManualClock clock_{1'700'000'000'000};

  std::unique_ptr<NamespaceHost> MakeHost(NamespaceHostOptions o = {}) {
    o.data_dir = dir_.path() / "data";
    o.database.clock = &clock_;
    auto host = NamespaceHost::Open(std::move(o));
    EXPECT_THAT(host, IsOk());
    return host.ok() ? std::move(host).value() : nullptr;
  }
};

TEST_F(NamespaceHostTest, OpensNamespacesOnDemandWithTheDocumentedLayout) {
  auto host = MakeHost();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto acme, host->Get("acme"));
  EXPECT_EQ(acme->name(), "acme");
  EXPECT_EQ(acme->layout().database_file, dir_.path() / "data" / "acme.sqlite");
  EXPECT_EQ(acme->layout().object_root, dir_.path() / "data" / "objects" / "acme");
  EXPECT_EQ(acme->layout().signing_key_file, dir_.path() / "data" / "keys" / "acme.blob-signing");
  EXPECT_TRUE(std::filesystem::exists(acme->layout().database_file));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto again, host->Get("acme"));
  EXPECT_EQ(again.get(), acme.get());  // one open Database per namespace
  EXPECT_EQ(host->stats().opened, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto names, host->List());
  EXPECT_THAT(names, ElementsAre("acme"));
}

TEST_F(NamespaceHostTest, ObjectStoreComesFromTheConfiguredFactory) {
  NamespaceHostOptions o;
  std::vector<std::string> asked;
  const auto elsewhere = dir_.path() / "remote";
  o.object_store_factory = [&](const NamespaceLayout& layout) -> Result<std::unique_ptr<ObjectStore>> {
    asked.push_back(layout.ns);
    if (layout.ns == "broken") return UnavailableError("object service down");
    DOTDO_ASSIGN_OR_RETURN(auto store, LocalObjectStore::Open(elsewhere / layout.ns));
    return std::unique_ptr<ObjectStore>(std::move(store));
  };
  auto host = MakeHost(std::move(o));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto acme, host->Get("acme"));
  DOTDO_ASSERT_OK_AND_ASSIGN(ObjectStore * objects, acme->Objects());
  DOTDO_ASSERT_OK(objects->Put("k", "v"));
  EXPECT_TRUE(std::filesystem::exists(elsewhere / "acme" / "data" / "k"));
  EXPECT_FALSE(std::filesystem::exists(acme->layout().object_root / "data" / "k"));
  DOTDO_ASSERT_OK(acme->Objects().status());  // opened once per namespace
  DOTDO_ASSERT_OK_AND_ASSIGN(auto broken, host->Get("broken"));
  EXPECT_THAT(broken->Objects(), StatusIs(StatusCode::kUnavailable, "object service down"));
  EXPECT_THAT(asked, ElementsAre("acme", "broken"));
}

TEST_F(NamespaceHostTest, RefusesBadNamesMissingNamespacesAndBadOptions) {
  auto host = MakeHost();
  EXPECT_THAT(host->Get("../etc"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(host->Get(".hidden"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(host->Get("ghost", /*create=*/false), StatusIs(StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "data" / "ghost.sqlite"));
  EXPECT_THAT(host->Layout("a/b"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NamespaceHost::Open({}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NamespaceHost::Open({.data_dir = dir_.path(), .max_open_namespaces = 0}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NamespaceHost::Open({.data_dir = dir_.path(), .blob_signing_secret = "short"}),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(NamespaceHostTest, KeepsAtMostMaxOpenClosingTheLeastRecentlyUsedUnheldOne) {
  auto host = MakeHost({.max_open_namespaces = 2});
  {
    DOTDO_ASSERT_OK(host->Get("a").status());
    DOTDO_ASSERT_OK(host->Get("b").status());
    DOTDO_ASSERT_OK(host->Get("a").status());  // a is now the most recently used
    DOTDO_ASSERT_OK(host->Get("c").status());  // closes b
  }
  EXPECT_THAT(host->OpenNamespaces(), ElementsAre("c", "a"));
  // A held namespace is never closed, even past the bound.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto held_c, host->Get("c"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto held_a, host->Get("a"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto d, host->Get("d"));
  EXPECT_EQ(host->OpenNamespaces().size(), 3u);
  DocumentStore docs(held_c->db());  // still usable
  DOTDO_EXPECT_OK(docs.Create({{"$type", "T"}}).status());
  EXPECT_EQ(host->stats().closed, 1);
}

TEST_F(NamespaceHostTest, ClosesIdleNamespacesNobodyHolds) {
  auto host = MakeHost({.idle_timeout_ms = 60'000});
  DOTDO_ASSERT_OK(host->Get("idle").status());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto busy, host->Get("busy"));
  clock_.Advance(30'000);
  EXPECT_EQ(host->CloseIdle(), 0u);
  clock_.Advance(30'000);
  EXPECT_EQ(host->CloseIdle(), 1u);  // "busy" is idle too but held
  EXPECT_THAT(host->OpenNamespaces(), ElementsAre("busy"));
  busy.reset();
  EXPECT_TRUE(host->Close("busy"));
  EXPECT_FALSE(host->Close("busy"));
  EXPECT_TRUE(host->OpenNamespaces().empty());
}

TEST_F(NamespaceHostTest, DataSurvivesClosingAndReopening) {
  auto host = MakeHost({.max_open_namespaces = 1});
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("keep"));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto docs, ns->Documents());
    DOTDO_ASSERT_OK(docs.Create({{"$type", "T"}, {"$id", "x"}, {"v", 1}}).status());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto graph, ns->Graph());
    DOTDO_ASSERT_OK(graph.Relate("T/x", "T/y", "knows").status());
    DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, ns->Blobs());
    DOTDO_ASSERT_OK(blobs->Put({.key = "k"}, "bytes").status());
  }
  DOTDO_ASSERT_OK(host->Get("other").status());  // closes "keep"
  EXPECT_THAT(host->OpenNamespaces(), ElementsAre("other"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("keep", /*create=*/false));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto docs, ns->Documents());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto doc, docs.Get("x"));
  EXPECT_EQ(doc["v"], 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, ns->Blobs());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto blob, blobs->Get("k"));
  EXPECT_EQ(blob.data, "bytes");
}

TEST_F(NamespaceHostTest, SigningKeyFileIsMadeOnceWithMode0600AndReused) {
  std::string first_url;
  {
    auto host = MakeHost();
    DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("acme"));
    DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, ns->Blobs());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto url, blobs->GetSignedUrl("k"));
    first_url = url;
    struct stat st {};
    ASSERT_EQ(::stat(ns->layout().signing_key_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(ns->layout().signing_key_file.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
  }
  // A second host (another process, later) signs with the same key: its verifier accepts the URL.
  auto host = MakeHost();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("acme"));
  DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, ns->Blobs());
  EXPECT_THAT(blobs->VerifySignedRequest({.method = "GET", .url = first_url, .now_ms = clock_.NowMillis()}), IsOk());
}

TEST_F(NamespaceHostTest, ConfiguredSecretWinsAndKeyFilesCanBeTurnedOff) {
  {
    auto host = MakeHost({.blob_signing_secret = std::string(40, 's')});
    DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("a"));
    DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, ns->Blobs());
    DOTDO_EXPECT_OK(blobs->GetSignedUrl("k").status());
    EXPECT_FALSE(std::filesystem::exists(ns->layout().signing_key_file));
  }
  auto host = MakeHost({.create_signing_keys = false});
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("b"));
  DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, ns->Blobs());
  EXPECT_THAT(blobs->GetSignedUrl("k"), StatusIs(StatusCode::kFailedPrecondition, "signing_secret"));
  EXPECT_FALSE(std::filesystem::exists(ns->layout().signing_key_file));
}

TEST_F(NamespaceHostTest, RefusesAKeyFileOthersCanRead) {
  auto host = MakeHost();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto layout, host->Layout("acme"));
  std::filesystem::create_directories(layout.signing_key_file.parent_path());
  { std::ofstream(layout.signing_key_file) << std::string(64, 'a') << "\n"; }
  std::filesystem::permissions(layout.signing_key_file, std::filesystem::perms(0644));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("acme"));
  EXPECT_THAT(ns->Blobs(), StatusIs(StatusCode::kFailedPrecondition, "chmod 600"));
  std::filesystem::permissions(layout.signing_key_file, std::filesystem::perms(0600));
  DOTDO_EXPECT_OK(ns->Blobs().status());
}

TEST_F(NamespaceHostTest, UrlBaseNamesTheNamespace) {
  auto host = MakeHost({.blob_url_base = "https://files.example.com/{ns}/blobs"});
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("acme"));
  DOTDO_ASSERT_OK_AND_ASSIGN(BlobStore * blobs, ns->Blobs());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, blobs->Put({.key = "a.txt"}, "x"));
  EXPECT_EQ(info.url, "https://files.example.com/acme/blobs/a.txt");
}

TEST_F(NamespaceHostTest, ThreadsGettingTheSameNamespaceShareOneDatabase) {
  auto host = MakeHost({.max_open_namespaces = 4});
  std::vector<std::thread> threads;
  std::vector<Database*> seen(8, nullptr);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto ns = host->Get("shared");
      if (!ns.ok()) return;
      seen[i] = &(*ns)->db();
      DocumentStore docs((*ns)->db());
      docs.Create({{"$type", "T"}}).status().IgnoreError();
    });
  }
  for (auto& t : threads) t.join();
  for (auto* db : seen) EXPECT_EQ(db, seen[0]);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ns, host->Get("shared"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto docs, ns->Documents());
  EXPECT_EQ(*docs.Count("T"), 8);
}

}  // namespace
}  // namespace dotdo
