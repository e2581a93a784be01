// Sha256: streaming SHA-256 over OpenSSL's EVP interface, CSPRNG hex ids. Used for object ETags,
// content addressing, multipart ETags and presigned-URL signatures.
//
// Thread-safety: a Sha256 is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "dotdo/status.h"

struct evp_md_ctx_st;

namespace dotdo::internal {

class Sha256 {
 public:
  static constexpr size_t kDigestSize = 32;
  using Digest = std::array<uint8_t, kDigestSize>;

  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Ends the computation; REQUIRES: called once.
  Digest Finish();
  std::string FinishHex();

  static std::string Hex(std::string_view bytes) {
    Sha256 h;
    h.Update(bytes);
    return h.FinishHex();
  }

 private:
  evp_md_ctx_st* ctx_;
};

// True for exactly 64 lowercase hex digits.
bool IsSha256Hex(std::string_view s);
// n random bytes from OpenSSL's CSPRNG, hex-encoded (2n characters).
std::string RandomHex(size_t n);

}  // namespace dotdo::internal
