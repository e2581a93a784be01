// Blob routes: streamed upload (PUT, the body spooled to a temporary file then handed to
// BlobStore::PutStream), download with Range (206 / multipart byteranges / 416, by cpp-httplib over
// our range reader) and ETag / If-None-Match (304), HEAD, delete, list, query, and presigned URLs:
// made here (GET for read tokens, PUT for write tokens) and served here at
// /v1/ns/{ns}/signed/<key>?... without a token, the signature checked by
// BlobStore::VerifySignedRequest before any byte of an upload is read.
#include <charconv>
#include <fstream>

#include "dotdo/blob.h"
#include "dotdo/clock.h"
#include "server/server_internal.h"

namespace dotdo::internal {
namespace {

const std::string kBlobs = std::string(kNsPrefix) + "/blobs";
const std::string kSigned = std::string(kNsPrefix) + "/signed/(.+)";
constexpr uint64_t kChunk = 1 << 20;

Result<BlobStore*> Blobs(ApiRequest& r) { return r.ns->Blobs(); }
// The blob store whose URLs point at this server's signed route.
Result<std::unique_ptr<BlobStore>> SigningBlobs(ApiRequest& r) {
  return r.ns->OpenBlobs({.url_base = r.server.SignedBase(r.ns_name)});
}

Result<Json> Upload(ApiRequest& r, const std::string& key, const std::string& content_type, Json metadata) {
  DOTDO_ASSIGN_OR_RETURN(BlobStore * blobs, Blobs(r));
  std::ifstream in(r.upload, std::ios::binary);
  if (!in) return UnavailableError("cannot reopen the spooled upload");
  BlobPutRequest put{.key = key, .content_type = content_type, .metadata = std::move(metadata),
                     .content_length = r.upload_size};
  ObjectReader reader = [&in](char* buf, size_t cap) -> Result<size_t> {
    in.read(buf, static_cast<std::streamsize>(cap));
    if (in.bad()) return UnavailableError("cannot read the spooled upload");
    return static_cast<size_t>(in.gcount());
  };
  DOTDO_ASSIGN_OR_RETURN(BlobInfo info, blobs->PutStream(put, reader));
  return BlobInfoToJson(info);
}

Result<Json> Put(ApiRequest& r) {
  Json metadata = Json::object();
  if (r.http.has_header("X-Dotdo-Metadata")) {
    DOTDO_ASSIGN_OR_RETURN(metadata, ParseRequestJson(r.server.options(), r.http.get_header_value("X-Dotdo-Metadata"),
                                                      "X-Dotdo-Metadata header"));
  }
  std::string type = r.http.get_header_value("Content-Type");
  return Upload(r, r.Capture(2), type, std::move(metadata));
}

// Answers GET/HEAD of a blob: 304 when If-None-Match names its hash, else its bytes (ranged when
// asked), read from the object store in chunks while the response is written.
Result<Json> Download(ApiRequest& r, const std::string& key, const std::string& disposition) {
  DOTDO_ASSIGN_OR_RETURN(BlobStore * blobs, Blobs(r));
  DOTDO_ASSIGN_OR_RETURN(BlobInfo info, blobs->Head(key));
  DOTDO_ASSIGN_OR_RETURN(ObjectStore * objects, r.ns->Objects());
  const std::string etag = "\"" + info.hash + "\"";
  r.res.set_header("ETag", etag);
  r.res.set_header("Accept-Ranges", "bytes");
  r.res.set_header("Last-Modified-Ms", std::to_string(info.updated_at));
  if (!disposition.empty()) r.res.set_header("Content-Disposition", disposition);
  r.responded = true;
  const std::string inm = r.http.get_header_value("If-None-Match");
  if (!inm.empty() && (inm == etag || inm == "*" || inm.find(etag) != std::string::npos)) {
    r.res.status = 304;
    return Json();
  }
  // A range that starts past the end is 416 (cpp-httplib 0.11 would drop the connection); the
  // status of others stays unset: cpp-httplib answers 206 with the range(s) cut from our reader.
  for (const auto& [first, last] : r.http.ranges) {
    const bool satisfiable = first < 0 ? last > 0 : static_cast<uint64_t>(first) < info.size && (last < 0 || last >= first);
    if (!satisfiable) {
      r.res.status = 416;
      r.res.set_header("Content-Range", "bytes */" + std::to_string(info.size));
      r.res.set_content(ErrorBody("OUT_OF_RANGE", "range not satisfiable for a blob of " + std::to_string(info.size) + " bytes"),
                        "application/json");
      return Json();
    }
  }
  if (info.size == 0) {
    r.res.status = 200;
    r.res.set_content("", info.content_type);
    return Json();
  }
  auto lease = r.ns;  // keeps the namespace (and its object store) open while the body is sent
  const std::string object_key = info.object_key;
  r.res.set_content_provider(
      info.size, info.content_type, [lease, objects, object_key](size_t offset, size_t length, httplib::DataSink& sink) {
        ObjectGetOptions o{.offset = offset, .length = std::min<uint64_t>(length, kChunk)};
        auto got = objects->GetStream(
            object_key,
            [&sink](std::string_view chunk) -> Status {
              if (!sink.write(chunk.data(), chunk.size())) return UnavailableError("client went away");
              return OkStatus();
            },
            o);
        return got.ok();
      });
  return Json();
}

Result<Json> Get(ApiRequest& r) { return Download(r, r.Capture(2), ""); }

Result<Json> Delete(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(BlobStore * blobs, Blobs(r));
  DOTDO_RETURN_IF_ERROR(blobs->Delete(r.Capture(2)));
  return Json{{"deleted", r.Capture(2)}};
}

Result<Json> List(ApiRequest& r) {
  BlobListOptions o{.prefix = r.Param("prefix"), .cursor = r.Param("cursor")};
  DOTDO_ASSIGN_OR_RETURN(o.limit, r.IntParam("limit", 100));
  DOTDO_ASSIGN_OR_RETURN(BlobStore * blobs, Blobs(r));
  DOTDO_ASSIGN_OR_RETURN(BlobPage page, blobs->List(o));
  return PageToJson(page, BlobInfoToJson);
}

Result<Json> Query(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  BlobQuery q;
  if (b.contains("where")) q.where = b["where"];
  if (b.contains("limit")) {
    if (!b["limit"].is_number_integer()) return InvalidArgumentError("limit must be an integer");
    q.limit = b["limit"].get<int64_t>();
  }
  DOTDO_ASSIGN_OR_RETURN(BlobStore * blobs, Blobs(r));
  DOTDO_ASSIGN_OR_RETURN(auto infos, blobs->Query(q));
  Json items = Json::array();
  for (const auto& i : infos) items.push_back(BlobInfoToJson(i));
  return Json{{"items", std::move(items)}};
}

// {"key", "expires_in_ms"?, "disposition"?} -> a GET URL; with "upload": true (write role) and
// "max_size", "content_type"? -> a PUT URL.
Result<Json> Sign(ApiRequest& r, bool upload) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  std::string key;
  int64_t expires = 3'600'000;
  try {
    key = b.at("key").get<std::string>();
    expires = b.value("expires_in_ms", expires);
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("sign body needs a string \"key\": ") + e.what());
  }
  DOTDO_ASSIGN_OR_RETURN(auto blobs, SigningBlobs(r));
  std::string url;
  if (upload) {
    uint64_t max_size = 0;
    std::string content_type;
    try {
      max_size = b.at("max_size").get<uint64_t>();
      content_type = b.value("content_type", "");
    } catch (const Json::exception& e) {
      return InvalidArgumentError(std::string("an upload URL needs \"max_size\": ") + e.what());
    }
    DOTDO_ASSIGN_OR_RETURN(url, blobs->GetUploadUrl({.key = key, .content_type = content_type, .max_size = max_size,
                                                     .expires_in_ms = expires}));
  } else {
    DOTDO_ASSIGN_OR_RETURN(url, blobs->GetSignedUrl(key, {.expires_in_ms = expires, .disposition = b.value("disposition", "")}));
  }
  return Json{{"key", key}, {"method", upload ? "PUT" : "GET"}, {"url", url}};
}

// The presigned request's signature, checked before the body is read.
Status VerifySigned(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(auto blobs, SigningBlobs(r));
  BlobSignedRequest s{.method = r.http.method, .url = r.http.target, .now_ms = SystemClock::Default()->NowMillis()};
  if (r.http.method == "HEAD") s.method = "HEAD";
  if (r.http.has_header("Content-Length")) {
    const std::string v = r.http.get_header_value("Content-Length");
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size()) return InvalidArgumentError("bad Content-Length");
    s.content_length = n;
  }
  if (r.http.has_header("Content-Type")) s.content_type = r.http.get_header_value("Content-Type");
  auto verified = blobs->VerifySignedRequest(s);
  if (!verified.ok()) {
    if (verified.status().code() == StatusCode::kInvalidArgument || verified.status().code() == StatusCode::kFailedPrecondition)
      return PermissionDeniedError(verified.status().message());
    return verified.status();
  }
  r.context = {{"key", verified->key}, {"disposition", verified->disposition}, {"content_type", verified->content_type}};
  return OkStatus();
}

}  // namespace

void InstallBlobRoutes(RouteTable& t) {
  t.Add({.method = "GET", .pattern = kBlobs, .handler = List});
  t.Add({.method = "POST", .pattern = kBlobs + "/query", .body = BodyKind::kJson, .handler = Query});
  t.Add({.method = "POST", .pattern = std::string(kNsPrefix) + "/signed-urls", .body = BodyKind::kJson,
         .handler = [](ApiRequest& r) { return Sign(r, false); }});
  t.Add({.method = "POST", .pattern = std::string(kNsPrefix) + "/upload-urls", .role = TokenRole::kWrite,
         .body = BodyKind::kJson, .create_ns = true, .handler = [](ApiRequest& r) { return Sign(r, true); }});
  t.Add({.method = "PUT", .pattern = kBlobs + "/(.+)", .role = TokenRole::kWrite, .body = BodyKind::kStream,
         .create_ns = true, .success_status = 201, .handler = Put});
  t.Add({.method = "GET", .pattern = kBlobs + "/(.+)", .handler = Get});
  t.Add({.method = "DELETE", .pattern = kBlobs + "/(.+)", .role = TokenRole::kWrite, .handler = Delete});
  t.Add({.method = "GET", .pattern = kSigned, .public_route = true,
         .handler = [](ApiRequest& r) {
           return Download(r, r.context["key"].get<std::string>(), r.context["disposition"].get<std::string>());
         },
         .precheck = VerifySigned});
  t.Add({.method = "PUT", .pattern = kSigned, .body = BodyKind::kStream, .create_ns = true, .public_route = true,
         .success_status = 201,
         .handler = [](ApiRequest& r) -> Result<Json> {
           std::string type = r.http.get_header_value("Content-Type");
           return Upload(r, r.context["key"].get<std::string>(), type, Json::object());
         },
         .precheck = VerifySigned});
}

}  // namespace dotdo::internal
