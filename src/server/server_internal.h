// The server's route plumbing shared by the route families (routes_<primitive>.cc): what a route
// declares (method, path pattern, required role, body kind), the per-request context a handler
// gets (its namespace already opened and authorised, the parsed JSON body, query parameters), and
// the helpers that turn a Result into a JSON response. Each route family is one
// `void Install<Family>Routes(RouteTable&)` listed in kRouteFamilies (server_routes.cc): a new
// primitive adds its file and one line there.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dotdo/host.h"
#include "dotdo/server.h"

namespace dotdo::internal {

// How a route takes its body.
enum class BodyKind {
  kNone,    // no body expected (GET, DELETE); one that is sent is ignored
  kJson,    // a JSON value of at most max_body_bytes and max_json_depth, parsed into ApiRequest::body
  kStream,  // raw bytes (blob uploads) spooled to a temporary file, at most max_upload_bytes
};

class ServerCore;

struct ApiRequest {
  const httplib::Request& http;
  httplib::Response& res;
  ServerCore& server;
  std::string ns_name;
  std::shared_ptr<Namespace> ns;  // set for /v1/ns/{ns}/... routes
  Json body;                      // kJson routes: the parsed body (null when none was sent)
  std::filesystem::path upload;   // kStream routes: the spooled body (removed after the handler)
  uint64_t upload_size = 0;
  bool responded = false;         // the handler wrote res itself (downloads, SSE)
  Json context;                   // what a precheck hands to the handler
  std::optional<TokenInfo> token; // the bearer's token; absent when none was needed and none sent

  // Query parameter helpers: absent -> fallback; malformed -> kInvalidArgument naming the parameter.
  std::string Param(const std::string& name, const std::string& fallback = "") const;
  Result<int64_t> IntParam(const std::string& name, int64_t fallback) const;
  Result<std::optional<int64_t>> OptionalIntParam(const std::string& name) const;
  Result<bool> BoolParam(const std::string& name, bool fallback) const;
  // A repeatable or comma-separated parameter ("types=a,b" or "types=a&types=b").
  std::vector<std::string> ListParam(const std::string& name) const;
  // Path capture i (1-based; capture 1 of a /v1/ns route is the namespace).
  std::string Capture(size_t i) const;
  // A JSON value carried in a query parameter (e.g. where={...}), depth-checked like bodies.
  Result<Json> JsonParam(const std::string& name, const Json& fallback) const;
  // The body as a JSON object (an absent body is {}); kInvalidArgument for another value.
  Result<Json> BodyObject() const;
};

// The route's answer: a JSON value sent with `status`, or nothing when req.responded.
using RouteHandler = std::function<Result<Json>(ApiRequest&)>;

struct Route {
  std::string method;   // GET POST PUT PATCH DELETE
  std::string pattern;  // regex over the path; namespace routes start with kNsPrefix
  TokenRole role = TokenRole::kRead;
  BodyKind body = BodyKind::kNone;
  bool namespaced = true;   // capture 1 is the namespace, opened before the handler
  bool create_ns = false;   // open a missing namespace by creating it (writes) instead of 404
  bool event_stream = false;  // an SSE stream: counted against max_event_streams, not the per-ns limit
  bool public_route = false;  // no token needed (presigned URLs carry their own signature)
  int success_status = 200;
  RouteHandler handler;
  // Runs after the namespace is opened and before the body is read (e.g. a presigned URL's
  // signature, so an unauthenticated upload is refused before it is spooled). Default none.
  std::function<Status(ApiRequest&)> precheck;
};

// "/v1/ns/([^/]+)": capture 1 of every namespaced route.
inline constexpr const char* kNsPrefix = "/v1/ns/([^/]+)";

class RouteTable {
 public:
  void Add(Route route) { routes_.push_back(std::move(route)); }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

void InstallNamespaceRoutes(RouteTable& table);
void InstallDocumentRoutes(RouteTable& table);
void InstallGraphRoutes(RouteTable& table);
void InstallBlobRoutes(RouteTable& table);
void InstallEventRoutes(RouteTable& table);
void InstallStreamRoutes(RouteTable& table);
void InstallTimeSeriesRoutes(RouteTable& table);
// Every family, in the order their routes are matched.
void InstallAllRoutes(RouteTable& table);

// What route handlers may ask of the running server.
class ServerCore {
 public:
  virtual ~ServerCore() = default;
  virtual NamespaceHost& host() = 0;
  virtual const ServerOptions& options() const = 0;
  // True once Stop() was called: long-lived responses (SSE) end.
  virtual bool stopping() const = 0;
  // A slot of max_event_streams for one SSE stream; false when all are taken.
  virtual bool AcquireEventStream() = 0;
  virtual void ReleaseEventStream() = 0;
  // Base of presigned blob URLs for a namespace ("/v1/ns/<ns>/signed").
  std::string SignedBase(const std::string& ns) const { return "/v1/ns/" + ns + "/signed"; }
};

// Parses a JSON request text with the server's depth limit.
Result<Json> ParseRequestJson(const ServerOptions& options, std::string_view text, std::string_view what);
// "2026-11-25T09:00:00Z" or unix milliseconds.
Result<int64_t> ParseTimeParam(const std::string& text, std::string_view what);
// The HTTP status of a Status code (docs/formats/http.md, "Errors").
int HttpStatusFor(StatusCode code);
// {"error": {"code": "NOT_FOUND", "message": "..."}}
std::string ErrorBody(std::string_view code, std::string_view message);
// Appends `s` as a JSON string, the bytes DumpJson(Json(s)) gives, without building a Json value
// (for responses and log lines written straight to text).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace dotdo::internal
