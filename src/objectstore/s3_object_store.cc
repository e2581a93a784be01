// S3ObjectStore: the ObjectStore contract over an S3-compatible service (see OpenS3ObjectStore in
// include/dotdo/object_store.h for how ETags, preconditions, listing and multipart map onto S3).
#include <curl/curl.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include "core/encoding.h"
#include "core/sha256.h"
#include "objectstore/local_object_store_impl.h"
#include "objectstore/s3_client.h"

namespace dotdo {
namespace {

using internal::S3Client;
using internal::S3Request;
using internal::S3Response;
using internal::Sha256;

constexpr std::string_view kShaMeta = "dotdo-sha256";
constexpr std::string_view kMetaPrefix = "x-amz-meta-";
constexpr std::string_view kContinuationTag = "s3:";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status PreconditionFailed(std::string_view why) { return FailedPreconditionError("precondition failed (412): " + std::string(why)); }

// "2026-12-01T17:29:57.000Z" -> ms since the epoch (0 when unparsable).
int64_t ParseIsoMs(const std::string& s) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) < 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

std::string ToS3StorageClass(std::string_view c) { return c == kStorageClassInfrequentAccess ? "STANDARD_IA" : "STANDARD"; }
std::string FromS3StorageClass(std::string_view c) {
  return c == "STANDARD_IA" || c == "INFREQUENT_ACCESS" ? std::string(kStorageClassInfrequentAccess)
                                                        : std::string(kStorageClassStandard);
}

Status ValidateOptions(const ObjectPutOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidatePutOptions(o));
  if (o.metadata.count(std::string(kShaMeta)))
    return InvalidArgumentError("user metadata name '" + std::string(kShaMeta) + "' is reserved by the S3 object store");
  for (const auto& [name, value] : o.metadata) {
    for (char c : name)
      if (c >= 'A' && c <= 'Z') return InvalidArgumentError("user metadata name '" + name + "' must be lowercase on S3");
  }
  return OkStatus();
}

// The headers that describe an object on a write: content type, storage class, user metadata
// (values percent-encoded) and its SHA-256.
std::vector<std::string> DescribeHeaders(const ObjectPutOptions& o, std::string_view sha) {
  const ObjectInfo d = internal::InfoFromOptions(o);
  std::vector<std::string> h = {"Content-Type: " + d.content_type,
                                "x-amz-storage-class: " + ToS3StorageClass(d.storage_class),
                                std::string(kMetaPrefix) + std::string(kShaMeta) + ": " + std::string(sha)};
  for (const auto& [name, value] : o.metadata)
    h.push_back(std::string(kMetaPrefix) + name + ": " + internal::PercentEncode(value, false));
  return h;
}

struct Upload {
  std::string key;
  ObjectPutOptions options;
  std::map<int, std::pair<Sha256::Digest, std::string>> parts;  // part -> (SHA-256, service ETag)
  std::map<int, uint64_t> sizes;
};

class S3ObjectStore final : public ObjectStore {
 public:
  explicit S3ObjectStore(S3ObjectStoreOptions o) : client_(std::move(o)) {}

  Status CheckBucket() {
    DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.Send({.method = "HEAD"}));
    if (r.status >= 200 && r.status < 300) return OkStatus();
    return internal::ErrorFor(r, "bucket '" + client_.options().bucket + "'");
  }

  Result<ObjectInfo> Put(std::string_view key, std::string_view data, const ObjectPutOptions& options) override {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    DOTDO_RETURN_IF_ERROR(ValidateOptions(options));
    S3Request req{.method = "PUT", .key = std::string(key), .body = data};
    req.body_sha256 = Sha256::Hex(data);
    return Write(req, data.size(), options);
  }

  Result<ObjectInfo> PutStream(std::string_view key, const ObjectReader& reader, const ObjectPutOptions& options) override {
    if (!reader) return InvalidArgumentError("PutStream needs a reader");
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    DOTDO_RETURN_IF_ERROR(ValidateOptions(options));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> spool(std::tmpfile(), &std::fclose);
    if (!spool) return InternalError("cannot create a temporary file to spool the upload");
    Sha256 hash;
    uint64_t size = 0;
    std::vector<char> buf(1 << 20);
    for (;;) {
      Result<size_t> n = InternalError("reader did not run");
      try {
        n = reader(buf.data(), buf.size());
      } catch (const std::exception& e) {
        return InternalError(std::string("object reader threw: ") + e.what());
      }
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      hash.Update(std::string_view(buf.data(), *n));
      if (std::fwrite(buf.data(), 1, *n, spool.get()) != *n) return InternalError("cannot write the upload spool file");
      size += *n;
    }
    if (std::fflush(spool.get()) != 0) return InternalError("cannot flush the upload spool file");
    S3Request req{.method = "PUT", .key = std::string(key), .file = spool.get(), .file_size = size};
    req.body_sha256 = hash.FinishHex();
    return Write(req, size, options);
  }

  Result<std::string> Get(std::string_view key, const ObjectGetOptions& options) override {
    std::string out;
    DOTDO_RETURN_IF_ERROR(GetStream(key, [&](std::string_view c) { out.append(c); return OkStatus(); }, options).status());
    return out;
  }

  Result<ObjectInfo> GetStream(std::string_view key, const ObjectWriter& writer, const ObjectGetOptions& options) override {
    if (!writer) return InvalidArgumentError("GetStream needs a writer");
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    if (options.length == 0u) {
      // An empty range has no byte range to ask S3 for: answer from the object's description.
      DOTDO_ASSIGN_OR_RETURN(ObjectInfo info, Head(key));
      if (!options.if_match.empty() && info.etag != options.if_match) return PreconditionFailed("ETag does not match");
      if (options.offset > 0 && options.offset >= info.size) return OutOfRangeError("offset is past the end of the object");
      return info;
    }
    S3Request req{.method = "GET", .key = std::string(key), .writer = &writer};
    if (options.offset > 0 || options.length) {
      std::string range = "Range: bytes=" + std::to_string(options.offset) + "-";
      if (options.length) range += std::to_string(options.offset + *options.length - 1);
      req.headers.push_back(range);
    }
    bool checked = false;
    req.before_body = [&](const std::map<std::string, std::string>& h) {
      checked = true;
      if (options.if_match.empty()) return OkStatus();
      auto it = h.find(std::string(kMetaPrefix) + std::string(kShaMeta));
      if (it == h.end() || it->second != options.if_match) return PreconditionFailed("ETag does not match");
      return OkStatus();
    };
    DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
    if (r.status == 416) return OutOfRangeError("offset is past the end of the object");
    if (r.status < 200 || r.status >= 300) return internal::ErrorFor(r, "get '" + std::string(key) + "'");
    if (!checked) DOTDO_RETURN_IF_ERROR(req.before_body(r.headers));  // an empty body never reached the writer
    Described info = FromHeaders(key, r.headers);
    if (info.etag.empty()) return Head(key);
    return static_cast<ObjectInfo>(info);
  }

  Result<ObjectInfo> Head(std::string_view key) override {
    DOTDO_ASSIGN_OR_RETURN(Described d, Describe(key));
    return static_cast<ObjectInfo>(d);
  }

  Result<ObjectListResult> List(const ObjectListOptions& options) override {
    if (options.limit < 1 || options.limit > 10000) return InvalidArgumentError("list limit must be 1..10000");
    if (!options.prefix.empty()) DOTDO_RETURN_IF_ERROR(ValidateObjectKey(options.prefix + "x"));
    S3Request req{.method = "GET"};
    req.query = {{"list-type", "2"}, {"max-keys", std::to_string(std::min<int64_t>(options.limit, 1000))}};
    if (!options.prefix.empty()) req.query.emplace_back("prefix", options.prefix);
    if (!options.delimiter.empty()) req.query.emplace_back("delimiter", options.delimiter);
    if (!options.continuation.empty()) {
      if (options.continuation.rfind(kContinuationTag, 0) != 0 || options.continuation.size() == kContinuationTag.size())
        return InvalidArgumentError("invalid list continuation token");
      req.query.emplace_back("continuation-token", options.continuation.substr(kContinuationTag.size()));
    }
    DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.SendOk(req, "list"));
    DOTDO_ASSIGN_OR_RETURN(internal::XmlNode doc, internal::ParseXml(r.body));
    ObjectListResult out;
    for (const internal::XmlNode& c : doc.children) {
      if (c.name == "Contents") {
        ObjectInfo info;
        info.key = c.ChildText("Key");
        info.size = std::strtoull(c.ChildText("Size").c_str(), nullptr, 10);
        info.last_modified_ms = ParseIsoMs(c.ChildText("LastModified"));
        info.storage_class = FromS3StorageClass(c.ChildText("StorageClass"));
        info.content_type = "application/octet-stream";
        out.objects.push_back(std::move(info));
      } else if (c.name == "CommonPrefixes") {
        out.common_prefixes.push_back(c.ChildText("Prefix"));
      }
    }
    if (doc.ChildText("IsTruncated") == "true") {
      const std::string next = doc.ChildText("NextContinuationToken");
      if (next.empty()) return UnavailableError("truncated S3 listing without a continuation token");
      out.next_continuation = std::string(kContinuationTag) + next;
    }
    return out;
  }

  Status Delete(std::string_view key, const ObjectDeleteOptions& options) override {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    S3Request req{.method = "DELETE", .key = std::string(key)};
    auto guard = ConditionLock(!options.if_match.empty());
    if (!options.if_match.empty()) {
      DOTDO_ASSIGN_OR_RETURN(std::string service_etag, MatchEtag(key, options.if_match, /*missing_is_not_found=*/true));
      if (native()) req.headers.push_back("If-Match: " + service_etag);
    }
    DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
    if (r.status == 404 && options.if_match.empty()) return OkStatus();
    if (r.status < 200 || r.status >= 300) return internal::ErrorFor(r, "delete '" + std::string(key) + "'");
    return OkStatus();
  }

  Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key, const ObjectCopyOptions& options) override {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(source_key));
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(dest_key));
    ObjectPutOptions check;
    if (options.content_type) check.content_type = *options.content_type;
    if (options.metadata) check.metadata = *options.metadata;
    if (options.storage_class) check.storage_class = *options.storage_class;
    DOTDO_RETURN_IF_ERROR(ValidateOptions(check));
    auto guard = ConditionLock(options.if_none_match || !options.if_source_match.empty());
    auto src = Describe(source_key);
    if (src.status().code() == StatusCode::kNotFound)
      return NotFoundError("copy source '" + std::string(source_key) + "' not found");
    if (!src.ok()) return src.status();
    if (!options.if_source_match.empty() && src->etag != options.if_source_match)
      return PreconditionFailed("copy source ETag does not match");
    if (options.if_none_match) {
      auto dst = client_.Send({.method = "HEAD", .key = std::string(dest_key)});
      if (!dst.ok()) return dst.status();
      if (dst->status != 404) return dst->status == 200 ? PreconditionFailed("destination exists") : internal::ErrorFor(*dst, "head");
    }
    ObjectPutOptions put;
    put.content_type = options.content_type.value_or(src->content_type);
    put.metadata = options.metadata.value_or(src->metadata);
    put.storage_class = options.storage_class.value_or(src->storage_class);
    S3Request req{.method = "PUT", .key = std::string(dest_key)};
    req.headers = DescribeHeaders(put, src->etag);
    req.headers.push_back("x-amz-copy-source: /" + client_.options().bucket + "/" + internal::PercentEncode(source_key, true));
    req.headers.push_back("x-amz-metadata-directive: REPLACE");
    if (native() && !options.if_source_match.empty())
      req.headers.push_back("x-amz-copy-source-if-match: " + src->service_etag);
    DOTDO_RETURN_IF_ERROR(client_.SendOk(req, "copy to '" + std::string(dest_key) + "'").status());
    ObjectInfo info = internal::InfoFromOptions(put);
    info.key = std::string(dest_key);
    info.size = src->size;
    info.etag = src->etag;
    info.last_modified_ms = NowMs();
    return info;
  }

  Result<std::string> CreateMultipartUpload(std::string_view key, const ObjectPutOptions& options) override {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    DOTDO_RETURN_IF_ERROR(ValidateOptions(options));
    S3Request req{.method = "POST", .key = std::string(key), .query = {{"uploads", ""}}};
    DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.SendOk(req, "create multipart upload"));
    DOTDO_ASSIGN_OR_RETURN(internal::XmlNode doc, internal::ParseXml(r.body));
    std::string id = doc.ChildText("UploadId");
    if (id.empty()) return UnavailableError("the S3 service returned no upload id");
    std::lock_guard<std::mutex> lock(mu_);
    uploads_[id] = Upload{.key = std::string(key), .options = options};
    return id;
  }

  Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                 std::string_view data) override {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    DOTDO_RETURN_IF_ERROR(FindUpload(key, upload_id).status());
    if (part_number < 1 || part_number > 10000) return InvalidArgumentError("part number must be 1..10000");
    S3Request req{.method = "PUT", .key = std::string(key), .body = data};
    req.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", std::string(upload_id)}};
    Sha256 h;
    h.Update(data);
    const Sha256::Digest digest = h.Finish();
    req.body_sha256 = internal::HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
    DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.SendOk(req, "upload part"));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = uploads_.find(std::string(upload_id));
    if (it == uploads_.end()) return NotFoundError("multipart upload was completed or aborted meanwhile");
    it->second.parts[part_number] = {digest, r.headers["etag"]};
    it->second.sizes[part_number] = data.size();
    return req.body_sha256;
  }

  Result<ObjectInfo> CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                             const std::vector<ObjectCompletedPart>& parts) override {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    DOTDO_ASSIGN_OR_RETURN(Upload up, FindUpload(key, upload_id));
    if (parts.empty()) return InvalidArgumentError("a multipart upload needs at least one part");
    std::string xml = "<CompleteMultipartUpload>";
    Sha256 etag_hash;
    uint64_t size = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const ObjectCompletedPart& p = parts[i];
      if (i > 0 && p.part_number <= parts[i - 1].part_number) return InvalidArgumentError("part numbers must be ascending");
      auto it = up.parts.find(p.part_number);
      if (it == up.parts.end()) return InvalidArgumentError("part " + std::to_string(p.part_number) + " was not uploaded");
      const auto& digest = it->second.first;
      const std::string_view bin(reinterpret_cast<const char*>(digest.data()), digest.size());
      if (internal::HexEncode(bin) != p.etag)
        return InvalidArgumentError("ETag of part " + std::to_string(p.part_number) + " does not match the uploaded part");
      etag_hash.Update(bin);
      size += up.sizes[p.part_number];
      xml += "<Part><PartNumber>" + std::to_string(p.part_number) + "</PartNumber><ETag>" +
             internal::XmlEscape(it->second.second) + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    const std::string etag = etag_hash.FinishHex() + "-" + std::to_string(parts.size());
    auto guard = ConditionLock(up.options.if_none_match || !up.options.if_match.empty());
    S3Request req{.method = "POST", .key = std::string(key), .query = {{"uploadId", std::string(upload_id)}}, .body = xml};
    DOTDO_RETURN_IF_ERROR(AddWritePreconditions(key, up.options, &req));
    DOTDO_RETURN_IF_ERROR(client_.SendOk(req, "complete multipart upload").status());
    {
      std::lock_guard<std::mutex> lock(mu_);
      uploads_.erase(std::string(upload_id));
    }
    // The assembled object gets its metadata (and SHA-256 ETag) by an atomic copy onto itself.
    S3Request meta{.method = "PUT", .key = std::string(key)};
    meta.headers = DescribeHeaders(up.options, etag);
    meta.headers.push_back("x-amz-copy-source: /" + client_.options().bucket + "/" + internal::PercentEncode(key, true));
    meta.headers.push_back("x-amz-metadata-directive: REPLACE");
    DOTDO_RETURN_IF_ERROR(client_.SendOk(meta, "set metadata of '" + std::string(key) + "'").status());
    ObjectInfo info = internal::InfoFromOptions(up.options);
    info.key = std::string(key);
    info.size = size;
    info.etag = etag;
    info.last_modified_ms = NowMs();
    return info;
  }

  Status AbortMultipartUpload(std::string_view key, std::string_view upload_id) override {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    DOTDO_RETURN_IF_ERROR(FindUpload(key, upload_id).status());
    S3Request req{.method = "DELETE", .key = std::string(key), .query = {{"uploadId", std::string(upload_id)}}};
    DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
    // 404: already gone. 405/501: the service cannot abort uploads (s3rver); its parts are left to
    // the service's own cleanup and the upload is forgotten here all the same.
    const bool unsupported = r.status == 405 || r.status == 501;
    if ((r.status < 200 || r.status >= 300) && r.status != 404 && !unsupported)
      return internal::ErrorFor(r, "abort multipart upload");
    std::lock_guard<std::mutex> lock(mu_);
    uploads_.erase(std::string(upload_id));
    return OkStatus();
  }

 private:
  struct Described : ObjectInfo {
    std::string service_etag;
  };

  bool native() const { return client_.options().conditional_writes == S3ConditionalWrites::kNative; }

  // Emulated preconditions serialize on cond_mu_; native ones need no lock.
  std::unique_lock<std::mutex> ConditionLock(bool conditional) {
    if (!conditional || native()) return {};
    return std::unique_lock<std::mutex>(cond_mu_);
  }

  Described FromHeaders(std::string_view key, const std::map<std::string, std::string>& h) {
    Described info;
    info.key = std::string(key);
    auto get = [&](const std::string& name) {
      auto it = h.find(name);
      return it == h.end() ? std::string() : it->second;
    };
    info.service_etag = get("etag");
    info.size = std::strtoull(get("content-length").c_str(), nullptr, 10);
    if (const std::string range = get("content-range"); !range.empty()) {
      info.size = std::strtoull(range.substr(range.find('/') + 1).c_str(), nullptr, 10);
    }
    info.content_type = get("content-type");
    if (info.content_type.empty()) info.content_type = "application/octet-stream";
    info.storage_class = FromS3StorageClass(get("x-amz-storage-class"));
    const std::string lm = get("last-modified");
    info.last_modified_ms = lm.empty() ? 0 : static_cast<int64_t>(curl_getdate(lm.c_str(), nullptr)) * 1000;
    for (const auto& [name, value] : h) {
      if (name.rfind(kMetaPrefix, 0) != 0) continue;
      const std::string meta = name.substr(kMetaPrefix.size());
      if (meta == kShaMeta) {
        info.etag = value;
      } else {
        auto decoded = internal::PercentDecode(value);
        info.metadata[meta] = decoded.ok() ? *decoded : value;
      }
    }
    return info;
  }

  // One HEAD: the object's info plus the service's own ETag (for If-Match headers). An object not
  // written through this store has no SHA-256 metadata: its bytes are hashed once.
  Result<Described> Describe(std::string_view key) {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.Send({.method = "HEAD", .key = std::string(key)}));
    if (r.status < 200 || r.status >= 300) return internal::ErrorFor(r, "head '" + std::string(key) + "'");
    Described d = FromHeaders(key, r.headers);
    if (d.etag.empty()) {
      Sha256 hash;
      ObjectWriter w = [&](std::string_view c) {
        hash.Update(c);
        return OkStatus();
      };
      S3Request req{.method = "GET", .key = std::string(key), .writer = &w};
      DOTDO_RETURN_IF_ERROR(client_.SendOk(req, "hash '" + std::string(key) + "'").status());
      d.etag = hash.FinishHex();
    }
    return d;
  }

  // Checks that the object's SHA-256 ETag is `want`; returns the service's ETag for If-Match.
  Result<std::string> MatchEtag(std::string_view key, const std::string& want, bool missing_is_not_found) {
    auto d = Describe(key);
    if (d.status().code() == StatusCode::kNotFound) {
      if (missing_is_not_found) return NotFoundError("object '" + std::string(key) + "' not found");
      return PreconditionFailed("object '" + std::string(key) + "' does not exist");
    }
    if (!d.ok()) return d.status();
    if (d->etag != want) return PreconditionFailed("ETag does not match");
    return d->service_etag;
  }

  Status AddWritePreconditions(std::string_view key, const ObjectPutOptions& options, S3Request* req) {
    if (!options.if_match.empty()) {
      DOTDO_ASSIGN_OR_RETURN(std::string service_etag, MatchEtag(key, options.if_match, false));
      if (native()) req->headers.push_back("If-Match: " + service_etag);
    }
    if (options.if_none_match) {
      if (native()) {
        req->headers.push_back("If-None-Match: *");
      } else {
        DOTDO_ASSIGN_OR_RETURN(S3Response r, client_.Send({.method = "HEAD", .key = std::string(key)}));
        if (r.status >= 200 && r.status < 300) return PreconditionFailed("object '" + std::string(key) + "' exists");
        if (r.status != 404) return internal::ErrorFor(r, "head '" + std::string(key) + "'");
      }
    }
    return OkStatus();
  }

  Result<ObjectInfo> Write(S3Request& req, uint64_t size, const ObjectPutOptions& options) {
    req.headers = DescribeHeaders(options, req.body_sha256);
    auto guard = ConditionLock(options.if_none_match || !options.if_match.empty());
    DOTDO_RETURN_IF_ERROR(AddWritePreconditions(req.key, options, &req));
    DOTDO_RETURN_IF_ERROR(client_.SendOk(req, "put '" + req.key + "'").status());
    ObjectInfo info = internal::InfoFromOptions(options);
    info.key = req.key;
    info.size = size;
    info.etag = req.body_sha256;
    info.last_modified_ms = NowMs();
    return info;
  }

  Result<Upload> FindUpload(std::string_view key, std::string_view upload_id) {
    if (upload_id.empty() || upload_id.size() > 1024 || upload_id.find('/') != std::string_view::npos ||
        upload_id.find("..") != std::string_view::npos)
      return InvalidArgumentError("invalid upload id");
    for (char c : upload_id)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return InvalidArgumentError("invalid upload id");
    std::lock_guard<std::mutex> lock(mu_);
    auto it = uploads_.find(std::string(upload_id));
    if (it == uploads_.end())
      return NotFoundError("no multipart upload with this id in this store (completed, aborted or never created here)");
    if (it->second.key != key) return NotFoundError("the multipart upload belongs to another key");
    return it->second;
  }

  S3Client client_;
  std::mutex mu_;       // uploads_
  std::mutex cond_mu_;  // emulated preconditions
  std::unordered_map<std::string, Upload> uploads_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(S3ObjectStoreOptions o) {
  if (o.region.empty()) o.region = Env("AWS_REGION");
  if (o.region.empty()) o.region = Env("AWS_DEFAULT_REGION");
  if (o.region.empty()) o.region = "us-east-1";
  if (o.endpoint.empty()) o.endpoint = Env("AWS_ENDPOINT_URL");
  if (o.endpoint.empty()) o.endpoint = "https://s3." + o.region + ".amazonaws.com";
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  if (o.access_key_id.empty() && o.secret_access_key.empty()) {
    o.access_key_id = Env("AWS_ACCESS_KEY_ID");
    o.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
    if (o.session_token.empty()) o.session_token = Env("AWS_SESSION_TOKEN");
  }
  if (o.endpoint.rfind("http://", 0) != 0 && o.endpoint.rfind("https://", 0) != 0)
    return InvalidArgumentError("S3 endpoint must start with http:// or https://");
  for (const std::string* s : {&o.endpoint, &o.region, &o.access_key_id, &o.secret_access_key, &o.session_token}) {
    for (char c : *s)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return InvalidArgumentError("S3 option contains a control character");
  }
  for (char c : o.region)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return InvalidArgumentError("invalid S3 region '" + o.region + "'");
  const std::string& b = o.bucket;
  bool bucket_ok = b.size() >= 3 && b.size() <= 63 && std::isalnum(static_cast<unsigned char>(b.front())) &&
                   std::isalnum(static_cast<unsigned char>(b.back()));
  for (char c : b) bucket_ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  if (!bucket_ok) return InvalidArgumentError("invalid S3 bucket name '" + b + "' (3..63 of [a-z0-9.-])");
  if (o.access_key_id.empty() || o.secret_access_key.empty())
    return InvalidArgumentError("S3 credentials missing: set them in the options or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY");
  if (o.max_attempts < 1 || o.max_attempts > 20) return InvalidArgumentError("max_attempts must be 1..20");
  if (o.initial_backoff_ms < 1 || o.max_backoff_ms < o.initial_backoff_ms)
    return InvalidArgumentError("backoff must be 1 <= initial_backoff_ms <= max_backoff_ms");
  if (o.connect_timeout_ms < 1 || o.request_timeout_ms < 1) return InvalidArgumentError("timeouts must be positive");
  auto store = std::make_unique<S3ObjectStore>(std::move(o));
  DOTDO_RETURN_IF_ERROR(store->CheckBucket());
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace dotdo
