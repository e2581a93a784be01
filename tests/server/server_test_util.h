// Test harness for the HTTP server: a NamespaceHost + TokenStore + Server on a free loopback port,
// served by a background thread, and a small client (cpp-httplib's) returning status, headers and
// the parsed JSON body.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <thread>

#include "core/encoding.h"
#include "core/json.h"
#include "dotdo/server.h"
#include "testing/test_util.h"

namespace dotdo::testing {

struct HttpReply {
  int status = 0;  // 0: no response (connection error)
  std::string body;
  Json json;  // parsed body when it is JSON, else null
  httplib::Headers headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string ErrorCode() const { return json.is_object() && json.contains("error") ? json["error"].value("code", "") : ""; }
};

inline std::string Enc(std::string_view s) { return internal::PercentEncode(s, false); }

class TestServer {
 public:
  // database: every namespace's Database options (e.g. the fault VFS).
  explicit TestServer(ServerOptions options = {}, std::filesystem::path data = {}, DatabaseOptions database = {}) {
    data_ = data.empty() ? scratch_.path() : data;
    NamespaceHostOptions ho;
    ho.data_dir = data_;
    ho.database = std::move(database);
    ho.blob_signing_secret = std::string(64, 'k');
    host_ = NamespaceHost::Open(std::move(ho)).value();
    tokens_ = TokenStore::Open(data_).value();
    options.listen = options.listen == ServerOptions{}.listen ? "127.0.0.1:0" : options.listen;
    if (!options.access_log) options.access_log = [this](const std::string& line) {
      std::lock_guard lock(log_mu_);
      log_.push_back(line);
    };
    server_ = Server::Create(*host_, *tokens_, std::move(options)).value();
  }
  ~TestServer() { Stop(); }

  Status Start() {
    DOTDO_RETURN_IF_ERROR(server_->Bind());
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
    return OkStatus();
  }
  void Stop() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return server_->port(); }
  NamespaceHost& host() { return *host_; }
  TokenStore& tokens() { return *tokens_; }
  const std::filesystem::path& data() const { return data_; }
  std::vector<std::string> Log() {
    std::lock_guard lock(log_mu_);
    return log_;
  }
  std::unique_ptr<httplib::Client> Client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
    c->set_read_timeout(30, 0);
    return c;
  }

  // One request on a fresh connection. body_type "" = application/json when a body is given.
  HttpReply Call(const std::string& method, const std::string& path, const std::string& body = "",
                 httplib::Headers headers = {}, const std::string& body_type = "") const {
    auto c = Client();
    return Send(*c, method, path, body, std::move(headers), body_type);
  }
  static HttpReply Send(httplib::Client& c, const std::string& method, const std::string& path,
                        const std::string& body = "", httplib::Headers headers = {},
                        const std::string& body_type = "") {
    const std::string type = body_type.empty() ? "application/json" : body_type;
    httplib::Result r = method == "GET"      ? c.Get(path, headers)
                        : method == "HEAD"   ? c.Head(path, headers)
                        : method == "DELETE" ? c.Delete(path, headers)
                        : method == "POST"   ? c.Post(path, headers, body, type)
                        : method == "PUT"    ? c.Put(path, headers, body, type)
                                             : c.Patch(path, headers, body, type);
    HttpReply out;
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    out.headers = r->headers;
    if (!r->body.empty() && (r->body[0] == '{' || r->body[0] == '[')) {
      auto parsed = internal::ParseJson(r->body, "response");
      if (parsed.ok()) out.json = *parsed;
    }
    return out;
  }

 private:
  ScratchDir scratch_;
  std::filesystem::path data_;
  std::unique_ptr<NamespaceHost> host_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  Status run_status_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

inline httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

}  // namespace dotdo::testing
