// Streaming SHA-256 via OpenSSL EVP; CSPRNG hex ids.
#include "core/sha256.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

namespace dotdo::internal {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure or a missing SHA-256 implementation is not recoverable for a storage engine.
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(std::string_view bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
}

Sha256::Digest Sha256::Finish() {
  Digest d{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, d.data(), &len);
  return d;
}

std::string Sha256::FinishHex() {
  Digest d = Finish();
  return HexEncode(d.data(), d.size());
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string RandomHex(size_t n) {
  std::vector<uint8_t> buf(n);
  if (RAND_bytes(buf.data(), static_cast<int>(n)) != 1) std::abort();
  return HexEncode(buf.data(), n);
}

}  // namespace dotdo::internal
