// The dotdo HTTP server (`dotdo serve`): a JSON API over every namespace of a NamespaceHost — one
// route family per primitive (documents, graph, blobs, events, sql, stream, timeseries,
// namespaces) — with bearer tokens scoped to a namespace and a role, limits that answer with typed
// errors, one JSON access-log line per request, and the web console's static files at `/`. The
// API is described in docs/formats/http.md.
//
// Thread-safety: a Server is started once and stopped once; Stop() may be called from any thread
// (a signal handler must only set a flag that another thread turns into Stop()). A TokenStore may
// be shared between threads (its calls serialize on one SQLite connection).
// Ownership: the NamespaceHost and the TokenStore passed to Server::Create must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/export.h"
#include "dotdo/host.h"
#include "dotdo/status.h"

namespace dotdo {

// What a token lets its bearer do; each role includes the ones before it.
enum class TokenRole { kRead, kWrite, kAdmin };
DOTDO_EXPORT std::string_view TokenRoleName(TokenRole role);
DOTDO_EXPORT Result<TokenRole> ParseTokenRole(std::string_view text);

struct TokenInfo {
  std::string id;     // 16 hex characters, printed by create and list, the handle for revoke
  std::string ns;     // a namespace name, or "*" for every namespace
  TokenRole role = TokenRole::kRead;
  std::string label;  // free text, at most 200 bytes
  int64_t created_at = 0;  // ms since epoch
};
DOTDO_EXPORT Json TokenInfoToJson(const TokenInfo& info);

// Bearer tokens of a data directory, kept in <data>/auth/tokens.sqlite (mode 0600 in a 0700
// directory). Only the SHA-256 of a token is stored; the token itself ("dd_<id>_<64 hex>") is shown
// once, by Create. Authenticate compares hashes in constant time.
class DOTDO_EXPORT TokenStore {
 public:
  static Result<std::unique_ptr<TokenStore>> Open(const std::filesystem::path& data_dir);
  ~TokenStore();
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  struct Created {
    TokenInfo info;
    std::string token;  // the secret: not stored, not shown again
  };
  // ns: a valid namespace name or "*". kInvalidArgument for a bad namespace or label.
  Result<Created> Create(std::string_view ns, TokenRole role, std::string_view label = {});
  Result<std::vector<TokenInfo>> List();
  // kNotFound when no token has this id.
  Status Revoke(std::string_view id);
  // The token's record; kPermissionDenied-free: a malformed, unknown or revoked token is
  // kNotFound (the server answers 401 either way).
  Result<TokenInfo> Authenticate(std::string_view token);
  // Whether any token exists (the server then requires one on every request). Cached for one
  // second; Create/Revoke on this object refresh it at once, another process's within a second.
  Result<bool> Any();

  class Impl;

 private:
  explicit TokenStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class ServerAuth {
  // Tokens are required when the store holds at least one token, or when listening on an address
  // other than loopback (which then refuses to start without a token). Without tokens on loopback
  // every request may do everything (a local development server).
  kAuto,
  // Tokens are required on every API request.
  kRequired,
};

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see Server::port()). Default 127.0.0.1:8787.
  std::string listen = "127.0.0.1:8787";
  // Worker threads; each serves one connection at a time (keep-alive connections and SSE streams
  // hold theirs). Default 16, 1..1024.
  int threads = 16;
  ServerAuth auth = ServerAuth::kAuto;
  // Largest JSON request body: a larger one is 413 before it is read. Default 8 MiB.
  size_t max_body_bytes = size_t{8} << 20;
  // Largest blob upload body (streamed to a temporary file, never held in memory). Default 1 GiB.
  uint64_t max_upload_bytes = uint64_t{1} << 30;
  // Request line plus all headers, in bytes: more is 431. Default 16 KiB. (cpp-httplib also refuses
  // any single header line over 8 KiB with 400.)
  size_t max_header_bytes = 16 << 10;
  // JSON request bodies nested deeper than this are 400. Default 64.
  int max_json_depth = 64;
  // Socket read/write timeout (a stalled client is dropped) and the time limit of a SQL statement.
  // Default 30000.
  int64_t request_timeout_ms = 30000;
  // Requests in progress on one namespace at once; more are 429. Default 64.
  int max_concurrent_per_namespace = 64;
  // Live SSE streams at once (each holds a worker thread); more are 503. Default threads / 2.
  int max_event_streams = -1;
  // Directory of the web console, served at "/". Default empty: no console.
  std::filesystem::path web_root;
  // Receives one JSON access-log line per request (without '\n'). Default: written to stderr.
  std::function<void(const std::string&)> access_log;
};

class DOTDO_EXPORT Server {
 public:
  // Checks the options; binds nothing yet. REQUIRES: host and tokens outlive the Server.
  static Result<std::unique_ptr<Server>> Create(NamespaceHost& host, TokenStore& tokens, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket: kInvalidArgument for a bad address, kUnavailable when the port is
  // taken, kFailedPrecondition for a non-loopback address without tokens.
  Status Bind();
  // The bound port (after Bind).
  int port() const;
  // Serves until Stop(): stops accepting, lets requests in flight finish (SSE streams end), then
  // returns. REQUIRES: Bind() succeeded.
  Status Run();
  // Asks Run() to return; safe from any thread, idempotent.
  void Stop();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dotdo
