// Server: cpp-httplib underneath, the route table on top. For every route it checks the token
// (401 without a valid one when tokens are required, 403 for the wrong namespace or role), takes a
// slot of the namespace's concurrency limit (429 when full), opens the namespace through the host,
// reads the body within its limit (413), runs the handler and writes its JSON or the error body,
// then logs one JSON line (namespace, route, status, duration, rows read/written).
//
// Invariants:
//   1. Every response of the API (including the library's own 4xx/5xx) has a JSON body; an error
//      body is {"error":{"code","message"}}.
//   2. Stop() stops accepting; requests in flight finish (cpp-httplib joins its workers after the
//      listening socket closes); SSE streams see stopping() and end; Run() then closes the
//      namespaces nobody holds.
#include <arpa/inet.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include "core/json.h"
#include "core/sha256.h"
#include "dotdo/clock.h"
#include "server/server_internal.h"

namespace dotdo {

namespace {

using internal::ApiRequest;
using internal::BodyKind;
using internal::ErrorBody;
using internal::Route;

// What the access log line of the request being served on this thread says.
struct RequestLog {
  std::chrono::steady_clock::time_point start;
  std::string ns, route, token;
  int64_t rows_read = 0, rows_written = 0;
};
thread_local RequestLog t_log;

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

void SendError(httplib::Response& res, int http_status, std::string_view code, std::string_view message) {
  res.status = http_status;
  res.set_content(ErrorBody(code, message), "application/json");
}

void SendStatus(httplib::Response& res, const Status& s) {
  SendError(res, internal::HttpStatusFor(s.code()), StatusCodeName(s.code()), s.message());
}

std::string_view CodeForHttpStatus(int status) {
  switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 405: return "INVALID_ARGUMENT";
    case 413: return "RESOURCE_EXHAUSTED";
    case 414: return "RESOURCE_EXHAUSTED";
    case 416: return "OUT_OF_RANGE";
    case 429: return "RESOURCE_EXHAUSTED";
    case 503: return "UNAVAILABLE";
    default: return status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
  }
}

}  // namespace

class Server::Impl : public internal::ServerCore {
 public:
  Impl(NamespaceHost& host, TokenStore& tokens, ServerOptions options, std::string bind_host, int bind_port)
      : host_(host), tokens_(tokens), options_(std::move(options)), bind_host_(std::move(bind_host)),
        bind_port_(bind_port) {}

  NamespaceHost& host() override { return host_; }
  const ServerOptions& options() const override { return options_; }
  bool stopping() const override { return stopping_.load(); }
  bool AcquireEventStream() override {
    if (event_streams_.fetch_add(1) >= options_.max_event_streams) {
      event_streams_.fetch_sub(1);
      return false;
    }
    return true;
  }
  void ReleaseEventStream() override { event_streams_.fetch_sub(1); }

  Status Bind();
  Status Run();
  void Stop() {
    stopping_ = true;
    svr_.stop();
  }
  int port() const { return port_; }

 private:
  void Install();
  void Serve(const Route& route, const httplib::Request& req, httplib::Response& res,
             const httplib::ContentReader* reader);
  // 401/403 or OK; fills api.token and t_log.token.
  Status Authorize(const Route& route, const httplib::Request& req, ApiRequest& api, int* http_status);
  Status ReadBody(const Route& route, const httplib::Request& req, const httplib::ContentReader* reader,
                  ApiRequest& api, int* http_status);
  void Log(const httplib::Request& req, const httplib::Response& res);

  // A slot of the namespace's concurrency limit, released on destruction.
  class NsSlot {
   public:
    NsSlot(Impl& s, std::string ns) : s_(s), ns_(std::move(ns)) {}
    ~NsSlot() {
      std::lock_guard lock(s_.slots_mu_);
      if (--s_.in_flight_[ns_] == 0) s_.in_flight_.erase(ns_);
    }

   private:
    Impl& s_;
    std::string ns_;
  };
  std::unique_ptr<NsSlot> TakeSlot(const std::string& ns) {
    std::lock_guard lock(slots_mu_);
    int& n = in_flight_[ns];
    if (n >= options_.max_concurrent_per_namespace) {
      if (n == 0) in_flight_.erase(ns);
      return nullptr;
    }
    ++n;
    return std::make_unique<NsSlot>(*this, ns);
  }

  NamespaceHost& host_;
  TokenStore& tokens_;
  ServerOptions options_;
  std::string bind_host_;
  int bind_port_;
  int port_ = 0;
  httplib::Server svr_;
  internal::RouteTable table_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> event_streams_{0};
  std::mutex slots_mu_;
  std::map<std::string, int> in_flight_;  // GUARDED_BY(slots_mu_)
  std::mutex log_mu_;

  friend class Server;
};

Status Server::Impl::Authorize(const Route& route, const httplib::Request& req, ApiRequest& api,
                               int* http_status) {
  const std::string& ns = api.ns_name;
  if (route.public_route) return OkStatus();
  std::string token;
  const std::string header = req.get_header_value("Authorization");
  if (header.rfind("Bearer ", 0) == 0) token = header.substr(7);
  else if (!header.empty()) {
    *http_status = 401;
    return PermissionDeniedError("the Authorization header must be 'Bearer <token>'");
  } else if (req.has_param("access_token")) {
    token = req.get_param_value("access_token");  // EventSource cannot send headers
  }
  bool required = options_.auth == ServerAuth::kRequired || !IsLoopback(bind_host_);
  if (!required) {
    DOTDO_ASSIGN_OR_RETURN(required, tokens_.Any());
  }
  if (token.empty()) {
    if (!required) return OkStatus();
    *http_status = 401;
    return PermissionDeniedError("this server requires a bearer token (dotdo token create)");
  }
  auto info = tokens_.Authenticate(token);
  if (!info.ok()) {
    *http_status = 401;
    return PermissionDeniedError(info.status().message());
  }
  t_log.token = info->id;
  if (route.namespaced && info->ns != "*" && info->ns != ns) {
    *http_status = 403;
    return PermissionDeniedError("token " + info->id + " is scoped to namespace '" + info->ns + "', not '" + ns + "'");
  }
  if (!route.namespaced && route.role != TokenRole::kRead && info->ns != "*") {
    *http_status = 403;
    return PermissionDeniedError("token " + info->id + " is scoped to one namespace; this route needs '*'");
  }
  if (static_cast<int>(info->role) < static_cast<int>(route.role)) {
    *http_status = 403;
    return PermissionDeniedError("token " + info->id + " has role " + std::string(TokenRoleName(info->role)) +
                                 "; this route needs " + std::string(TokenRoleName(route.role)));
  }
  api.token = std::move(*info);
  return OkStatus();
}

Status Server::Impl::ReadBody(const Route& route, const httplib::Request& req, const httplib::ContentReader* reader,
                              ApiRequest& api, int* http_status) {
  if (route.body == BodyKind::kNone || reader == nullptr) return OkStatus();
  const uint64_t limit = route.body == BodyKind::kJson ? options_.max_body_bytes : options_.max_upload_bytes;
  const std::string what = route.body == BodyKind::kJson ? "request body" : "upload";
  const auto too_large = [&] {
    *http_status = 413;
    return ResourceExhaustedError(what + " is larger than " + std::to_string(limit) + " bytes");
  };
  if (req.has_header("Content-Length")) {
    uint64_t declared = 0;
    const std::string v = req.get_header_value("Content-Length");
    std::from_chars(v.data(), v.data() + v.size(), declared);
    if (declared > limit) return too_large();
  }
  if (route.body == BodyKind::kJson) {
    std::string text;
    bool over = false;
    (*reader)([&](const char* data, size_t len) {
      if (text.size() + len > limit) {
        over = true;
        return false;
      }
      text.append(data, len);
      return true;
    });
    if (over) return too_large();
    if (text.empty()) return OkStatus();
    DOTDO_ASSIGN_OR_RETURN(api.body, internal::ParseRequestJson(options_, text, what));
    return OkStatus();
  }
  // kStream: spool to a temporary file so memory stays bounded whatever the upload's size.
  const auto dir = host_.options().data_dir / "tmp";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  api.upload = dir / ("upload-" + internal::RandomHex(8));
  std::ofstream out(api.upload, std::ios::binary | std::ios::trunc);
  if (!out) return UnavailableError("cannot create the upload spool file '" + api.upload.string() + "'");
  bool over = false;
  (*reader)([&](const char* data, size_t len) {
    if (api.upload_size + len > limit) {
      over = true;
      return false;
    }
    out.write(data, static_cast<std::streamsize>(len));
    api.upload_size += len;
    return static_cast<bool>(out);
  });
  out.close();
  if (over) return too_large();
  if (!out) return UnavailableError("cannot write the upload spool file (disk full?)");
  return OkStatus();
}

void Server::Impl::Serve(const Route& route, const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader* reader) {
  t_log.route = route.method + " " + route.pattern;
  ApiRequest api{.http = req, .res = res, .server = *this};
  if (route.namespaced) api.ns_name = req.matches[1].str();
  t_log.ns = api.ns_name;
  int http_status = 0;
  Status st = Authorize(route, req, api, &http_status);
  if (!st.ok()) {
    if (http_status == 401) res.set_header("WWW-Authenticate", "Bearer");
    if (http_status != 0) return SendError(res, http_status, http_status == 401 ? "UNAUTHENTICATED" : "PERMISSION_DENIED", st.message());
    return SendStatus(res, st);
  }
  std::unique_ptr<NsSlot> slot;
  if (route.namespaced && !route.event_stream) {
    slot = TakeSlot(api.ns_name);
    if (!slot) {
      res.set_header("Retry-After", "1");
      return SendError(res, 429, "RESOURCE_EXHAUSTED",
                       "more than " + std::to_string(options_.max_concurrent_per_namespace) +
                           " requests in progress on namespace '" + api.ns_name + "'");
    }
  }
  if (route.namespaced) {
    auto ns = host_.Get(api.ns_name, route.create_ns);
    if (!ns.ok()) return SendStatus(res, ns.status());
    api.ns = std::move(*ns);
  }
  if (route.precheck) {
    st = route.precheck(api);
    if (!st.ok()) {
      if (reader != nullptr) res.set_header("Connection", "close");  // the body is not read
      return SendStatus(res, st);
    }
  }
  st = ReadBody(route, req, reader, api, &http_status);
  if (!st.ok()) {
    std::error_code ec;
    if (!api.upload.empty()) std::filesystem::remove(api.upload, ec);
    if (http_status == 413) res.set_header("Connection", "close");  // the rest of the body is not read
    return http_status ? SendError(res, http_status, StatusCodeName(st.code()), st.message()) : SendStatus(res, st);
  }
  const DatabaseStats before = api.ns ? api.ns->db().stats() : DatabaseStats{};
  Result<Json> out = route.handler(api);
  if (api.ns) {
    const DatabaseStats after = api.ns->db().stats();
    t_log.rows_read = after.rows_read - before.rows_read;
    t_log.rows_written = after.rows_written - before.rows_written;
  }
  if (!api.upload.empty()) {
    std::error_code ec;
    std::filesystem::remove(api.upload, ec);
  }
  if (!out.ok()) return SendStatus(res, out.status());
  if (api.responded) return;
  res.status = route.success_status;
  res.set_content(internal::DumpJson(*out), "application/json");
}

void Server::Impl::Log(const httplib::Request& req, const httplib::Response& res) {
  const auto ms = t_log.start.time_since_epoch().count() == 0
                      ? 0.0
                      : std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_log.start).count();
  // Written straight to text (a Json object per request was a visible share of a small GET); the
  // keys in the sorted order DumpJson gives.
  using internal::AppendJsonString;
  std::string text;
  text.reserve(256 + req.path.size() + t_log.route.size());
  const auto key = [&text](std::string_view name) {
    text += text.empty() ? "{\"" : ",\"";
    text += name;
    text += "\":";
  };
  const auto str = [&](std::string_view name, std::string_view value) {
    key(name);
    AppendJsonString(text, value);
  };
  const auto num = [&](std::string_view name, auto value) {
    key(name);
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    text.append(buf, ec == std::errc() ? end : buf);
  };
  num("bytes", res.body.size());
  str("method", req.method);
  num("ms", static_cast<double>(static_cast<int64_t>(ms * 1000)) / 1000);
  str("ns", t_log.ns);
  str("path", req.path);
  str("remote", req.remote_addr);
  str("route", t_log.route);
  num("rows_read", t_log.rows_read);
  num("rows_written", t_log.rows_written);
  num("status", res.status);
  if (!t_log.token.empty()) str("token", t_log.token);
  str("ts", FormatIso8601(SystemClock::Default()->NowMillis()));
  text += '}';
  if (options_.access_log) return options_.access_log(text);
  std::lock_guard lock(log_mu_);
  std::cerr << text << '\n';
}

void Server::Impl::Install() {
  const int threads = options_.threads;
  svr_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  const time_t secs = static_cast<time_t>(options_.request_timeout_ms / 1000);
  const time_t usecs = static_cast<time_t>((options_.request_timeout_ms % 1000) * 1000);
  svr_.set_read_timeout(secs, usecs);
  svr_.set_write_timeout(secs, usecs);
  svr_.set_keep_alive_max_count(1000);
  svr_.set_keep_alive_timeout(5);
  svr_.set_tcp_nodelay(true);
  svr_.set_payload_max_length(std::max<uint64_t>(options_.max_upload_bytes, options_.max_body_bytes) + 1);
  svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_log = RequestLog{.start = std::chrono::steady_clock::now()};
    size_t bytes = req.method.size() + req.target.size() + req.version.size() + 4;
    for (const auto& [k, v] : req.headers) bytes += k.size() + v.size() + 4;
    if (bytes > options_.max_header_bytes) {
      SendError(res, 431, "RESOURCE_EXHAUSTED",
                "request line and headers are larger than " + std::to_string(options_.max_header_bytes) + " bytes");
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string msg = res.status == 404 ? "no route for " + req.method + " " + req.path
                                              : "HTTP " + std::to_string(res.status) + " for " + req.method + " " + req.path;
    res.set_content(ErrorBody(CodeForHttpStatus(res.status), msg), "application/json");
  });
  svr_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, 500, "INTERNAL", what);
  });
  svr_.set_logger([this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });
  if (!options_.web_root.empty()) svr_.set_mount_point("/", options_.web_root.string());

  internal::InstallAllRoutes(table_);
  for (const Route& route : table_.routes()) {
    const Route* r = &route;
    auto plain = [this, r](const httplib::Request& req, httplib::Response& res) { Serve(*r, req, res, nullptr); };
    auto with_body = [this, r](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) { Serve(*r, req, res, &reader); };
    if (route.method == "GET") svr_.Get(route.pattern, plain);
    else if (route.method == "POST") svr_.Post(route.pattern, with_body);
    else if (route.method == "PUT") svr_.Put(route.pattern, with_body);
    else if (route.method == "PATCH") svr_.Patch(route.pattern, with_body);
    else if (route.method == "DELETE") svr_.Delete(route.pattern, plain);
  }
}

Status Server::Impl::Bind() {
  if (!IsLoopback(bind_host_) && options_.auth == ServerAuth::kAuto) {
    DOTDO_ASSIGN_OR_RETURN(bool any, tokens_.Any());
    if (!any) {
      return FailedPreconditionError("listening on '" + bind_host_ +
                                     "' (not loopback) requires tokens: create one with `dotdo token create`");
    }
  }
  Install();
  if (bind_port_ == 0) {
    port_ = svr_.bind_to_any_port(bind_host_);
    if (port_ < 0) return UnavailableError("cannot bind to " + bind_host_);
  } else {
    if (!svr_.bind_to_port(bind_host_, bind_port_)) {
      return UnavailableError("cannot listen on " + bind_host_ + ":" + std::to_string(bind_port_) +
                              " (address in use or not local)");
    }
    port_ = bind_port_;
  }
  return OkStatus();
}

Status Server::Impl::Run() {
  if (port_ == 0) return FailedPreconditionError("Server::Run before a successful Bind");
  if (!stopping_) svr_.listen_after_bind();
  // listen_after_bind returns after the workers finished their requests; nobody holds a
  // namespace now, so each closes cleanly (WAL checkpointed, files released).
  for (const auto& ns : host_.OpenNamespaces()) host_.Close(ns);
  return OkStatus();
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
  if (impl_) impl_->Stop();
}

Result<std::unique_ptr<Server>> Server::Create(NamespaceHost& host, TokenStore& tokens, ServerOptions options) {
  const size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return InvalidArgumentError("listen address must be host:port, got '" + options.listen + "'");
  std::string bind_host = options.listen.substr(0, colon);
  if (bind_host.size() > 2 && bind_host.front() == '[' && bind_host.back() == ']')
    bind_host = bind_host.substr(1, bind_host.size() - 2);
  int port = -1;
  const std::string port_text = options.listen.substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535)
    return InvalidArgumentError("listen port must be 0..65535, got '" + port_text + "'");
  if (options.threads < 1 || options.threads > 1024)
    return InvalidArgumentError("threads must be 1..1024, got " + std::to_string(options.threads));
  if (options.max_body_bytes < 1 || options.max_upload_bytes < 1 || options.max_header_bytes < 256)
    return InvalidArgumentError("body limits must be >= 1 byte and the header limit >= 256 bytes");
  if (options.max_json_depth < 1 || options.max_json_depth > 10000)
    return InvalidArgumentError("max_json_depth must be 1..10000");
  if (options.request_timeout_ms < 1) return InvalidArgumentError("request_timeout_ms must be >= 1");
  if (options.max_concurrent_per_namespace < 1) return InvalidArgumentError("max_concurrent_per_namespace must be >= 1");
  if (options.max_event_streams < 0) options.max_event_streams = std::max(1, options.threads / 2);
  if (!options.web_root.empty() && !std::filesystem::is_directory(options.web_root))
    return InvalidArgumentError("web root '" + options.web_root.string() + "' is not a directory");
  return std::unique_ptr<Server>(
      new Server(std::make_unique<Impl>(host, tokens, std::move(options), std::move(bind_host), port)));
}

Status Server::Bind() { return impl_->Bind(); }
int Server::port() const { return impl_->port(); }
Status Server::Run() { return impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace dotdo
