// Presigned URLs: HMAC-SHA256 (OpenSSL) over a canonical string of method, namespace, key, expiry
// and constraints; verification compares signatures in constant time (CRYPTO_memcmp). The URL and
// canonical-string formats are in docs/formats/blob.md.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>
#include <string>

#include "blob/blob_store_impl.h"
#include "core/sha256.h"

namespace dotdo {

namespace {

constexpr int64_t kMinExpiryMs = 1000;
constexpr int64_t kMaxExpiryMs = 7LL * 24 * 3600 * 1000;  // S3's limit for presigned URLs
constexpr std::string_view kParamMethod = "X-Dotdo-Method", kParamExpires = "X-Dotdo-Expires",
                           kParamDisposition = "X-Dotdo-Disposition", kParamContentType = "X-Dotdo-Content-Type",
                           kParamMaxSize = "X-Dotdo-Max-Size", kParamSignature = "X-Dotdo-Signature";

struct Signed {
  std::string method, key, disposition, content_type;
  int64_t expires_ms = 0;
  uint64_t max_size = 0;
};

std::string Canonical(std::string_view ns, const Signed& s) {
  return "DOTDO-HMAC-SHA256\n" + s.method + "\n" + std::string(ns) + "\n" + s.key + "\n" + std::to_string(s.expires_ms) +
         "\n" + s.disposition + "\n" + s.content_type + "\n" + std::to_string(s.max_size);
}

std::string Hmac(const std::string& secret, const std::string& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &len);
  return internal::HexEncode(mac, len);
}

Status CheckExpiry(int64_t expires_in_ms) {
  if (expires_in_ms < kMinExpiryMs || expires_in_ms > kMaxExpiryMs)
    return InvalidArgumentError("expiry of " + std::to_string(expires_in_ms) + " ms is outside 1 s .. 7 days");
  return OkStatus();
}

Status NeedSecret(const BlobOptions& o) {
  if (o.signing_secret.empty())
    return FailedPreconditionError("presigned URLs need BlobOptions::signing_secret (at least 32 bytes) to be configured");
  return OkStatus();
}

}  // namespace

static std::string BuildUrl(BlobStore::Impl& impl, const Signed& s) {
  std::string url = impl.UrlFor(s.key) + "?" + std::string(kParamMethod) + "=" + s.method + "&" +
                    std::string(kParamExpires) + "=" + std::to_string(s.expires_ms);
  if (!s.disposition.empty())
    url += "&" + std::string(kParamDisposition) + "=" + internal::PercentEncode(s.disposition, false);
  if (!s.content_type.empty())
    url += "&" + std::string(kParamContentType) + "=" + internal::PercentEncode(s.content_type, false);
  if (s.max_size > 0) url += "&" + std::string(kParamMaxSize) + "=" + std::to_string(s.max_size);
  return url + "&" + std::string(kParamSignature) + "=" + Hmac(impl.options_.signing_secret, Canonical(impl.db_.ns(), s));
}

Result<std::string> BlobStore::GetSignedUrl(std::string_view key, const BlobSignedUrlOptions& options) {
  DOTDO_RETURN_IF_ERROR(NeedSecret(impl_->options_));
  DOTDO_RETURN_IF_ERROR(internal::ValidateBlobKey(key));
  DOTDO_RETURN_IF_ERROR(CheckExpiry(options.expires_in_ms));
  if (options.disposition.size() > 256) return InvalidArgumentError("disposition is longer than 256 bytes");
  for (char c : options.disposition) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return InvalidArgumentError("disposition contains a control character");
  }
  Signed s{"GET", std::string(key), options.disposition, "", impl_->db_.NowMillis() + options.expires_in_ms, 0};
  return BuildUrl(*impl_, s);
}

Result<std::string> BlobStore::GetUploadUrl(const BlobUploadUrlOptions& options) {
  DOTDO_RETURN_IF_ERROR(NeedSecret(impl_->options_));
  DOTDO_RETURN_IF_ERROR(internal::ValidateBlobKey(options.key));
  DOTDO_RETURN_IF_ERROR(CheckExpiry(options.expires_in_ms));
  DOTDO_RETURN_IF_ERROR(internal::ValidateContentType(options.content_type));
  if (options.max_size == 0 || options.max_size > impl_->options_.max_blob_size)
    return InvalidArgumentError("max_size must be 1.." + std::to_string(impl_->options_.max_blob_size) + " bytes");
  Signed s{"PUT", options.key, "", options.content_type, impl_->db_.NowMillis() + options.expires_in_ms, options.max_size};
  return BuildUrl(*impl_, s);
}

Result<BlobVerifiedRequest> BlobStore::VerifySignedRequest(const BlobSignedRequest& request) {
  DOTDO_RETURN_IF_ERROR(NeedSecret(impl_->options_));
  const size_t q = request.url.find('?');
  if (q == std::string::npos) return InvalidArgumentError("not a presigned URL: no query string");
  const std::string path = request.url.substr(0, q);
  const std::string base = impl_->options_.url_base + "/";
  if (path.compare(0, base.size(), base) != 0 || path.size() == base.size())
    return PermissionDeniedError("the URL was not issued by this blob store (expected it to start with '" + base + "')");
  auto key = internal::PercentDecode(std::string_view(path).substr(base.size()));
  if (!key.ok()) return InvalidArgumentError("not a presigned URL: " + key.status().message());
  Status k = ValidateObjectKey(*key);
  if (!k.ok()) return InvalidArgumentError("invalid blob key in URL: " + k.message());

  std::map<std::string, std::string> params;
  std::string_view query = std::string_view(request.url).substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return InvalidArgumentError("malformed query parameter in presigned URL");
    const std::string name(pair.substr(0, eq));
    if (name != kParamMethod && name != kParamExpires && name != kParamDisposition && name != kParamContentType &&
        name != kParamMaxSize && name != kParamSignature)
      return InvalidArgumentError("unexpected parameter '" + name.substr(0, 64) + "' in presigned URL");
    DOTDO_ASSIGN_OR_RETURN(std::string value, internal::PercentDecode(pair.substr(eq + 1)));
    if (!params.emplace(name, std::move(value)).second)
      return InvalidArgumentError("parameter '" + name + "' appears twice in presigned URL");
  }
  for (std::string_view required : {kParamMethod, kParamExpires, kParamSignature}) {
    if (!params.count(std::string(required)))
      return InvalidArgumentError("not a presigned URL: missing " + std::string(required));
  }
  auto parse_uint = [](const std::string& s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 18) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
  };
  Signed s;
  s.method = params[std::string(kParamMethod)];
  s.key = *key;
  auto expires = parse_uint(params[std::string(kParamExpires)]);
  if (!expires) return InvalidArgumentError("malformed expiry in presigned URL");
  s.expires_ms = static_cast<int64_t>(*expires);
  if (params.count(std::string(kParamDisposition))) s.disposition = params[std::string(kParamDisposition)];
  if (params.count(std::string(kParamContentType))) s.content_type = params[std::string(kParamContentType)];
  if (params.count(std::string(kParamMaxSize))) {
    auto max = parse_uint(params[std::string(kParamMaxSize)]);
    if (!max) return InvalidArgumentError("malformed max size in presigned URL");
    s.max_size = *max;
  }
  const std::string expected = Hmac(impl_->options_.signing_secret, Canonical(impl_->db_.ns(), s));
  const std::string& given = params[std::string(kParamSignature)];
  if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0)
    return PermissionDeniedError("signature does not match: the URL was altered or signed with another secret");

  const bool method_ok = request.method == s.method || (s.method == "GET" && request.method == "HEAD");
  if (!method_ok)
    return PermissionDeniedError("the URL is signed for " + s.method + ", not " + request.method.substr(0, 16));
  if (request.now_ms > s.expires_ms)
    return PermissionDeniedError("the URL expired at " + FormatIso8601(s.expires_ms));
  if (s.method == "PUT") {
    if (!request.content_length) return PermissionDeniedError("an upload must state its content length");
    if (*request.content_length > s.max_size)
      return PermissionDeniedError("content length " + std::to_string(*request.content_length) +
                                   " exceeds the signed maximum of " + std::to_string(s.max_size) + " bytes");
    if (!s.content_type.empty() && request.content_type.value_or("") != s.content_type)
      return PermissionDeniedError("the URL is signed for content type '" + s.content_type + "'");
  }
  return BlobVerifiedRequest{s.method, s.key, s.expires_ms, s.disposition, s.content_type, s.max_size};
}

}  // namespace dotdo
