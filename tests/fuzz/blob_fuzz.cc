// Fuzz target of presigned-URL verification: no URL the fuzzer makes verifies unless it is, in
// substance, the one URL the store signed (same key, method and expiry).
#include <unistd.h>

#include "dotdo/blob.h"
#include "fuzz_target.h"

namespace dotdo {
namespace {

struct Fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("dotdo-fuzz-" + std::to_string(::getpid()));
  ManualClock clock{1'800'000'000'000};
  std::unique_ptr<Database> db;
  std::unique_ptr<LocalObjectStore> objects;
  std::unique_ptr<BlobStore> blobs;
  Fixture() {
    db = Database::OpenInMemory("fuzz", {.clock = &clock}).value();
    objects = LocalObjectStore::Open(dir).value();
    blobs = BlobStore::Open(*db, *objects,
                            {.signing_secret = "fuzz-secret-0123456789abcdef0123456789", .url_base = "https://f.test/b"})
                .value();
  }
};

Fixture& F() {
  static auto* f = new Fixture();
  return *f;
}

}  // namespace

// Input: the URL, verified as GET at the fixture's time (before the seed URL's expiry).
DOTDO_FUZZ_TARGET(presigned_url) {
  // The target is only meaningful if the store's own URL verifies.
  static const bool own_url_verifies = [] {
    auto url = F().blobs->GetSignedUrl("photos/a.png");
    FUZZ_CHECK(url.ok());
    auto ok = F().blobs->VerifySignedRequest({.method = "GET", .url = *url, .now_ms = F().clock.NowMillis()});
    FUZZ_CHECK(ok.ok());
    return true;
  }();
  (void)own_url_verifies;
  BlobSignedRequest req;
  req.method = "GET";
  req.url = std::string(input);
  req.now_ms = F().clock.NowMillis();
  auto verified = F().blobs->VerifySignedRequest(req);
  if (!verified.ok()) {
    const StatusCode c = verified.status().code();
    FUZZ_CHECK(c == StatusCode::kInvalidArgument || c == StatusCode::kPermissionDenied ||
               c == StatusCode::kFailedPrecondition || c == StatusCode::kNotFound);
    return;
  }
  // The only URLs that verify are the store's own (tests/fuzz/corpus/presigned_url/signed.url was
  // made with this secret for key "photos/a.png").
  FUZZ_CHECK(verified->key == "photos/a.png");
  FUZZ_CHECK(verified->method == "GET");
}

}  // namespace dotdo
