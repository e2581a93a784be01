// S3Client: libcurl requests signed with CURLOPT_AWS_SIGV4, retries with jittered exponential
// backoff, S3 error mapping, and the small XML reader (libexpat) for S3's response documents.
#include "objectstore/s3_client.h"

#include <curl/curl.h>
#include <expat.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <random>
#include <thread>

#include "core/encoding.h"
#include "core/sha256.h"

namespace dotdo::internal {
namespace {

std::once_flag g_curl_init;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

// State of one attempt, shared with the curl callbacks.
struct Transfer {
  const S3Request* request = nullptr;
  S3Response response;
  CURL* curl = nullptr;
  uint64_t read_offset = 0;  // of request->body
  bool delivered = false;    // a byte went to the writer: the request can no longer be retried
  bool body_checked = false;
  Status callback_error;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after 100-continue or a redirect)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->response.headers[Lower(line.substr(0, colon))] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->request->writer == nullptr || status < 200 || status >= 300) {
    t->response.body.append(data, len);
    return len;
  }
  if (!t->body_checked) {
    t->body_checked = true;
    if (t->request->before_body) {
      t->callback_error = t->request->before_body(t->response.headers);
      if (!t->callback_error.ok()) return 0;
    }
  }
  t->delivered = true;
  try {
    t->callback_error = (*t->request->writer)(std::string_view(data, len));
  } catch (const std::exception& e) {
    t->callback_error = InternalError(std::string("object writer threw: ") + e.what());
  }
  return t->callback_error.ok() ? len : 0;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t cap = size * n;
  if (t->request->file != nullptr) return std::fread(buf, 1, cap, t->request->file);
  const std::string_view body = t->request->body;
  const size_t len = std::min<size_t>(cap, body.size() - t->read_offset);
  std::memcpy(buf, body.data() + t->read_offset, len);
  t->read_offset += len;
  return len;
}

bool Retryable(const S3Response& r) {
  if (r.status == 429 || r.status >= 500) return true;
  return r.status == 503 || r.body.find("<Code>SlowDown</Code>") != std::string::npos;
}

}  // namespace

S3Client::S3Client(S3ObjectStoreOptions options) : options_(std::move(options)) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

S3Client::~S3Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* S3Client::TakeHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));  // keeps the connection cache
      return h;
    }
  }
  return curl_easy_init();
}

void S3Client::ReturnHandle(void* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < 16) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

std::string S3Client::Url(const S3Request& request) const {
  std::string url = options_.endpoint;
  if (!options_.path_style) {
    const size_t scheme_end = url.find("://");
    url.insert(scheme_end == std::string::npos ? 0 : scheme_end + 3, options_.bucket + ".");
    url += "/";
  } else {
    url += "/" + options_.bucket + (request.key.empty() ? "" : "/");
  }
  url += PercentEncode(request.key, /*keep_slash=*/true);
  // SigV4's canonical query string is sorted by name; send it sorted too.
  auto query = request.query;
  std::sort(query.begin(), query.end());
  char sep = '?';
  for (const auto& [name, value] : query) {
    url += sep + PercentEncode(name, false) + "=" + PercentEncode(value, false);
    sep = '&';
  }
  return url;
}

Result<S3Response> S3Client::Send(const S3Request& request) {
  const std::string url = Url(request);
  const std::string payload_sha = !request.body_sha256.empty() ? request.body_sha256 : Sha256::Hex(request.body);
  const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
  std::mt19937_64 rng(std::random_device{}());
  int64_t backoff = options_.initial_backoff_ms;
  for (int attempt = 1;; ++attempt) {
    CURL* curl = static_cast<CURL*>(TakeHandle());
    if (curl == nullptr) return InternalError("curl_easy_init failed");
    Transfer t;
    t.request = &request;
    t.curl = curl;
    if (request.file != nullptr) std::rewind(request.file);
    curl_slist* headers = nullptr;
    for (const std::string& h : request.headers) headers = curl_slist_append(headers, h.c_str());
    headers = curl_slist_append(headers, ("x-amz-content-sha256: " + payload_sha).c_str());
    if (!options_.session_token.empty())
      headers = curl_slist_append(headers, ("x-amz-security-token: " + options_.session_token).c_str());
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.access_key_id.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.secret_access_key.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    const uint64_t body_size = request.file != nullptr ? request.file_size : request.body.size();
    if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (request.method == "PUT" || request.method == "POST") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(curl, CURLOPT_READDATA, &t);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
      if (request.method == "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
    } else if (request.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.response.status);
    ReturnHandle(curl);
    if (!t.callback_error.ok()) return t.callback_error;
    Status failure;
    if (rc != CURLE_OK) {
      const std::string msg = std::string("S3 request ") + request.method + " " + url + " failed: " + curl_easy_strerror(rc);
      failure = rc == CURLE_OPERATION_TIMEDOUT ? Status(StatusCode::kDeadlineExceeded, msg) : UnavailableError(msg);
    } else if (!Retryable(t.response)) {
      return std::move(t.response);
    }
    if (attempt >= options_.max_attempts || t.delivered) {
      if (!failure.ok()) return failure;
      return std::move(t.response);
    }
    const int64_t sleep_ms = backoff / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(backoff / 2 + 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    backoff = std::min(backoff * 2, options_.max_backoff_ms);
  }
}

Result<S3Response> S3Client::SendOk(const S3Request& request, std::string_view what) {
  DOTDO_ASSIGN_OR_RETURN(S3Response r, Send(request));
  if (r.status < 200 || r.status >= 300) return ErrorFor(r, what);
  std::string code;
  if (IsErrorDocument(r, &code)) {
    S3Response as_error = r;
    as_error.status = code == "PreconditionFailed" ? 412 : code == "NoSuchKey" ? 404 : 500;
    return ErrorFor(as_error, what);
  }
  return r;
}

bool IsErrorDocument(const S3Response& response, std::string* code) {
  if (response.body.find("<Error>") == std::string::npos) return false;
  auto doc = ParseXml(response.body);
  if (!doc.ok() || doc->name != "Error") return false;
  *code = doc->ChildText("Code");
  return true;
}

Status ErrorFor(const S3Response& r, std::string_view what) {
  std::string detail = "HTTP " + std::to_string(r.status);
  if (auto doc = ParseXml(r.body); doc.ok() && doc->name == "Error") {
    detail += " " + doc->ChildText("Code");
    if (const std::string m = doc->ChildText("Message"); !m.empty()) detail += ": " + m;
  }
  const std::string msg = std::string(what) + ": " + detail;
  const bool conflict = r.status == 409 && r.body.find("ConditionalRequestConflict") != std::string::npos;
  if (r.status == 412 || conflict) return FailedPreconditionError("precondition failed (412): " + msg);
  switch (r.status) {
    case 400: return InvalidArgumentError(msg);
    case 401:
    case 403: return PermissionDeniedError(msg);
    case 404: return NotFoundError(msg);
    case 409: return FailedPreconditionError(msg);
    case 416: return OutOfRangeError(msg);
    case 429: return ResourceExhaustedError(msg);
    case 501: return UnimplementedError(msg);
    default: break;
  }
  if (r.status >= 500) return UnavailableError(msg);
  return Status(StatusCode::kUnknown, msg);
}

const XmlNode* XmlNode::Child(std::string_view n) const {
  for (const XmlNode& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::string XmlNode::ChildText(std::string_view n) const {
  const XmlNode* c = Child(n);
  return c == nullptr ? std::string() : c->text;
}

namespace {
struct XmlBuilder {
  XmlNode root;
  std::vector<XmlNode*> stack;
};
}  // namespace

Result<XmlNode> ParseXml(std::string_view xml) {
  XmlBuilder b;
  XML_Parser p = XML_ParserCreate("UTF-8");
  if (p == nullptr) return InternalError("cannot create an XML parser");
  XML_SetUserData(p, &b);
  XML_SetElementHandler(
      p,
      [](void* user, const XML_Char* name, const XML_Char**) {
        auto* b = static_cast<XmlBuilder*>(user);
        XmlNode* parent = b->stack.empty() ? nullptr : b->stack.back();
        XmlNode* node;
        if (parent == nullptr) {
          node = &b->root;
        } else {
          parent->children.emplace_back();
          node = &parent->children.back();
        }
        node->name = name;
        b->stack.push_back(node);
      },
      [](void* user, const XML_Char*) { static_cast<XmlBuilder*>(user)->stack.pop_back(); });
  XML_SetCharacterDataHandler(p, [](void* user, const XML_Char* s, int len) {
    auto* b = static_cast<XmlBuilder*>(user);
    if (!b->stack.empty()) b->stack.back()->text.append(s, static_cast<size_t>(len));
  });
  const bool ok = XML_Parse(p, xml.data(), static_cast<int>(xml.size()), /*isFinal=*/1) == XML_STATUS_OK;
  const std::string err = ok ? "" : XML_ErrorString(XML_GetErrorCode(p));
  XML_ParserFree(p);
  if (!ok) return InvalidArgumentError("malformed XML from the S3 service: " + err);
  return std::move(b.root);
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace dotdo::internal
