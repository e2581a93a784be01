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

// The configuration file: every field checked with a typed error naming it, secrets refused in a
// file others can read, shown redacted; an s3 object store becomes a per-namespace factory.
TEST_F(NamespaceHostTest, ConfigurationFileIsValidatedFieldByField) {
  struct Bad {
    const char* json;
    const char* message;
  };
  const Bad bad[] = {
      {R"([])", "must be a JSON object"},
      {R"({"objectstore": {}})", "unknown field 'config.objectstore'"},
      {R"({"objectStore": {"type": "ftp"}})", "\"local\" or \"s3\""},
      {R"({"objectStore": {"type": "local", "bucket": "b"}})", "unknown field 'objectStore.bucket'"},
      {R"({"objectStore": {"type": "s3"}})", "'objectStore.bucket' is required"},
      {R"({"objectStore": {"type": "s3", "bucket": "b", "keyPrefix": "shared/"}})", "must contain {ns}"},
      {R"({"objectStore": {"type": "s3", "bucket": "b", "keyPrefix": "{ns}"}})", "must end with '/'"},
      {R"({"objectStore": {"type": "s3", "bucket": "b", "keyPrefix": "../{ns}/"}})", "invalid object key"},
      {R"({"objectStore": {"type": "s3", "bucket": "b", "pathStyle": "yes"}})", "'objectStore.pathStyle' must be true or false"},
      {R"({"objectStore": {"type": "s3", "bucket": "b", "maxAttempts": 0}})", "between 1 and 20"},
      {R"({"objectStore": {"type": "s3", "bucket": "b", "requestTimeout": "soon"}})", "'objectStore.requestTimeout'"},
      {R"({"objectStore": {"type": "s3", "bucket": "b", "conditionalWrites": "maybe"}})", "\"native\" or \"emulated\""},
      {R"({"sinks": {}})", "'sinks' must be an array"},
      {R"({"sinks": [{"type": "kafka"}]})", "must be \"jetstream\""},
      {R"({"sinks": [{"type": "jetstream", "stream": "S"}]})", "'sinks[0].url' is required"},
      {R"({"sinks": [{"type": "jetstream", "url": "nats://h", "stream": "a.b"}]})", "[A-Za-z0-9_-]{1,64}"},
      {R"({"sinks": [{"type": "jetstream", "url": "nats://h", "stream": "S", "batchSize": 0}]})", "between 1 and 10000"},
      {R"({"sinks": [{"type": "jetstream", "url": "nats://h", "stream": "S", "duplicateWindow": "10ms"}]})",
       "'sinks[0].duplicateWindow' must be between"},
      {R"({"sinks": [{"type": "jetstream", "url": "nats://h", "stream": "S"},
                     {"type": "jetstream", "url": "nats://h2", "stream": "S"}]})", "two sinks are named 'jetstream:S'"},
      {R"({"delivery": {"pollInterval": 5}})", "'delivery.pollInterval' must be a duration"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.json);
    NamespaceHostOptions o;
    o.blob_url_base = "kept";
    EXPECT_THAT(ParseHostConfig(Json::parse(b.json), o), StatusIs(StatusCode::kInvalidArgument, b.message));
    EXPECT_EQ(o.blob_url_base, "kept");  // a refused file changes nothing
    EXPECT_TRUE(o.sinks.empty());
  }

  NamespaceHostOptions o;
  DOTDO_ASSERT_OK(ParseHostConfig(Json::parse(R"({
      "objectStore": {"type": "s3", "endpoint": "http://127.0.0.1:1", "bucket": "b", "accessKeyId": "k",
                      "secretAccessKey": "s", "maxAttempts": 1, "connectTimeout": "200ms"},
      "sinks": [{"type": "jetstream", "url": "nats://127.0.0.1:1", "stream": "EVENTS", "batchSize": 50,
                 "ackTimeout": "2s", "duplicateWindow": "5m"}],
      "delivery": {"pollInterval": "250ms"}})"), o));
  ASSERT_EQ(o.sinks.size(), 1u);
  EXPECT_EQ(o.sinks[0].Name(), "jetstream:EVENTS");
  EXPECT_EQ(o.sinks[0].jetstream.ack_timeout_ms, 2000);
  EXPECT_EQ(o.sinks[0].jetstream.duplicate_window_ms, 300000);
  EXPECT_EQ(o.sinks[0].pipeline.batch_size, 50);
  EXPECT_EQ(o.delivery_poll_ms, 250);
  ASSERT_TRUE(o.object_store_factory);
  // Nothing listens there: the namespace's store reports it, typed, when first used.
  auto host = MakeHost(o);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto acme, host->Get("acme"));
  auto objects = acme->Objects();
  EXPECT_FALSE(objects.ok() && (*objects)->List().ok());

  // A file holding a secret must not be readable by others; shown, the secret is hidden.
  const auto file = dir_.path() / "dotdo.json";
  std::ofstream(file) << R"({"objectStore": {"type": "s3", "bucket": "b", "secretAccessKey": "hunter2"}})";
  ::chmod(file.c_str(), 0644);
  NamespaceHostOptions loaded;
  EXPECT_THAT(LoadHostConfig(file, loaded), StatusIs(StatusCode::kFailedPrecondition, "chmod 600"));
  ::chmod(file.c_str(), 0600);
  DOTDO_ASSERT_OK(LoadHostConfig(file, loaded));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json shown, DescribeHostConfig(file));
  EXPECT_EQ(shown["objectStore"]["secretAccessKey"], "***");
  EXPECT_EQ(shown.dump().find("hunter2"), std::string::npos);
  EXPECT_THAT(LoadHostConfig(dir_.path() / "missing.json", loaded), StatusIs(StatusCode::kNotFound));
  std::ofstream(dir_.path() / "broken.json") << "{\"sinks\": [";
  EXPECT_THAT(LoadHostConfig(dir_.path() / "broken.json", loaded), StatusIs(StatusCode::kInvalidArgument));

  // Host options are checked too: sink names, the poll interval.
  NamespaceHostOptions twice;
  twice.data_dir = dir_.path() / "d2";
  twice.sinks.resize(2);
  twice.sinks[0].jetstream.stream = twice.sinks[1].jetstream.stream = "S";
  EXPECT_THAT(NamespaceHost::Open(twice), StatusIs(StatusCode::kInvalidArgument, "two sinks"));
  twice.sinks.pop_back();
  twice.delivery_poll_ms = 0;
  EXPECT_THAT(NamespaceHost::Open(twice), StatusIs(StatusCode::kInvalidArgument, "delivery_poll_ms"));
  // Without sinks a namespace delivers nothing, and a read-only host refuses to.
  auto plain_host = MakeHost();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto plain, plain_host->Get("plain"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, plain->Deliver());
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace dotdo
