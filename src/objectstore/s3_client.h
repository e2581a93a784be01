// S3Client: one signed HTTP request to an S3-compatible service over libcurl, with retries and
// backoff on transport errors, 5xx, 429 and SlowDown, and the mapping of S3 error responses to
// Status codes. Signing is libcurl's AWS SigV4 (CURLOPT_AWS_SIGV4); this file never signs by hand.
//
// Thread-safety: Send may be called from several threads at once (curl handles come from a pool).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dotdo/object_store.h"
#include "dotdo/status.h"

namespace dotdo::internal {

struct S3Request {
  std::string method = "GET";
  std::string key;  // empty: the bucket itself
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::string> headers;  // "Name: value"
  // The body: bytes in memory, or (when file is set) file_size bytes of an open file read from offset 0.
  std::string_view body;
  std::FILE* file = nullptr;
  uint64_t file_size = 0;
  // Hex SHA-256 of the body (x-amz-content-sha256); empty: computed from `body`.
  std::string body_sha256;
  // When set, a 2xx response body goes here in chunks instead of S3Response::body. `before_body`
  // runs once with the response headers before the first chunk; an error aborts the request.
  const ObjectWriter* writer = nullptr;
  std::function<Status(const std::map<std::string, std::string>& headers)> before_body;
};

struct S3Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

class S3Client {
 public:
  explicit S3Client(S3ObjectStoreOptions options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Performs the request (retrying as above). A response of any status is returned as a value;
  // only transport failures after the last attempt (kUnavailable, or kDeadlineExceeded for a
  // timeout) and errors of the writer / before_body are errors.
  Result<S3Response> Send(const S3Request& request);
  // Send, then Status for a non-2xx response (ErrorFor).
  Result<S3Response> SendOk(const S3Request& request, std::string_view what);
  const S3ObjectStoreOptions& options() const { return options_; }

 private:
  std::string Url(const S3Request& request) const;
  void* TakeHandle();
  void ReturnHandle(void* handle);

  S3ObjectStoreOptions options_;
  std::mutex mu_;
  std::vector<void*> idle_;
};

// The Status of a non-2xx response: 403 kPermissionDenied, 404 kNotFound, 412 (and 409
// ConditionalRequestConflict) kFailedPrecondition "precondition failed (412)", 416 kOutOfRange,
// 400 kInvalidArgument, 429 kResourceExhausted, 5xx kUnavailable. `what` names the operation.
Status ErrorFor(const S3Response& response, std::string_view what);
// A 200 response whose body is an <Error> document (S3 sends those for CopyObject and
// CompleteMultipartUpload): true with the error code filled in.
bool IsErrorDocument(const S3Response& response, std::string* code);

// A parsed XML element (libexpat): name, concatenated text, children in document order.
struct XmlNode {
  std::string name;
  std::string text;
  std::vector<XmlNode> children;
  // The first child named `name`, or null.
  const XmlNode* Child(std::string_view name) const;
  std::string ChildText(std::string_view name) const;
};
Result<XmlNode> ParseXml(std::string_view xml);
std::string XmlEscape(std::string_view s);

}  // namespace dotdo::internal
