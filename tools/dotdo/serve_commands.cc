// `dotdo serve` and `dotdo token create|list|revoke`: the HTTP server over the data directory and
// the bearer tokens it accepts. serve prints one JSON line with its URLs once it listens, logs one
// JSON line per request on stderr, and stops gracefully on SIGINT/SIGTERM (requests in flight
// finish, live event streams end, namespaces close).
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli.h"
#include "dotdo/server.h"

#ifndef DOTDO_WEB_DIR
#define DOTDO_WEB_DIR ""
#endif

namespace dotdo::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8787";
  int threads = 16;
  std::string web = DOTDO_WEB_DIR;
  bool require_auth = false;
  size_t max_body_bytes = size_t{8} << 20;
  int max_per_namespace = 64;
  int64_t request_timeout_ms = 30000;
  bool quiet = false;
  // token commands
  std::string token_ns = "*";
  std::string role = "read";
  std::string label;
  std::string id;
};

// The data directory's token store. As for every command, only one that writes (token create)
// creates the data directory; the others find a missing one kNotFound instead of leaving it behind.
Result<std::unique_ptr<TokenStore>> OpenTokens(Context& ctx, bool create) {
  DOTDO_RETURN_IF_ERROR(ctx.Host(create).status());
  return TokenStore::Open(ctx.data_dir);
}

Result<Json> RunServe(Context& ctx, const ServeArgs& a) {
  // Signals are taken by one thread (sigwait), so they never interrupt a worker mid-request.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  DOTDO_ASSIGN_OR_RETURN(NamespaceHostOptions ho, ctx.HostOptions());
  ho.deliver_in_background = true;  // configured CDC sinks receive events while the server runs
  DOTDO_ASSIGN_OR_RETURN(auto host, NamespaceHost::Open(std::move(ho)));
  DOTDO_ASSIGN_OR_RETURN(auto tokens, TokenStore::Open(ctx.data_dir));
  ServerOptions so;
  so.listen = a.listen;
  so.threads = a.threads;
  so.auth = a.require_auth ? ServerAuth::kRequired : ServerAuth::kAuto;
  so.max_body_bytes = a.max_body_bytes;
  so.max_concurrent_per_namespace = a.max_per_namespace;
  so.request_timeout_ms = a.request_timeout_ms;
  if (!a.web.empty() && std::filesystem::is_directory(a.web)) so.web_root = a.web;
  if (a.quiet) so.access_log = [](const std::string&) {};
  DOTDO_ASSIGN_OR_RETURN(auto server, Server::Create(*host, *tokens, std::move(so)));
  DOTDO_RETURN_IF_ERROR(server->Bind());

  const std::string host_part = a.listen.substr(0, a.listen.rfind(':'));
  const std::string base = "http://" + host_part + ":" + std::to_string(server->port());
  DOTDO_ASSIGN_OR_RETURN(bool any_token, tokens->Any());
  ctx.Print(Json{{"listening", base}, {"console", base + "/"}, {"api", base + "/v1"}, {"data", ctx.data_dir},
                 {"tokens_required", a.require_auth || any_token}});
  std::cout.flush();

  Server* s = server.get();
  NamespaceHost* h = host.get();
  std::thread signals([s, h, set] {
    while (true) {
      timespec idle{60, 0};
      const int sig = sigtimedwait(&set, nullptr, &idle);
      if (sig == SIGINT || sig == SIGTERM) break;
      h->CloseIdle();  // once a minute: close namespaces nobody used for idle_timeout_ms
    }
    s->Stop();
  });
  Status st = server->Run();
  signals.join();
  server.reset();
  host.reset();
  DOTDO_RETURN_IF_ERROR(st);
  return Json{{"stopped", base}};
}

const CommandGroup kServeCommands(90, [](CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ServeArgs>();
  auto* serve = app.add_subcommand("serve", "Serve the HTTP JSON API and the web console over every namespace");
  serve->add_option("--listen", a->listen, "host:port (port 0 = any free port)")->capture_default_str();
  serve->add_option("--threads", a->threads, "Worker threads, one connection each")->capture_default_str()
      ->check(CLI::Range(1, 1024));
  serve->add_option("--web", a->web, "Directory of the web console served at / (empty: none)")->capture_default_str();
  serve->add_flag("--require-tokens", a->require_auth, "Require a bearer token on every request, also on loopback");
  serve->add_option("--max-body-bytes", a->max_body_bytes, "Largest JSON request body")->capture_default_str();
  serve->add_option("--max-per-namespace", a->max_per_namespace, "Requests in progress per namespace before 429")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve->add_option("--request-timeout-ms", a->request_timeout_ms, "Socket timeout and SQL statement limit")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve->add_flag("--quiet", a->quiet, "No access log");
  serve->callback([&ctx, a] { ctx.Finish(RunServe(ctx, *a)); });

  auto* token = app.add_subcommand("token", "Bearer tokens of the HTTP server (stored hashed in <data>/auth/)");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "Create a token; the secret is printed once");
  create->add_option("--scope", a->token_ns, "Namespace the token may use, or * for every one")->capture_default_str();
  create->add_option("--role", a->role, "read | write | admin")->capture_default_str();
  create->add_option("--label", a->label, "A note to recognise the token by");
  create->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(TokenRole role, ParseTokenRole(a->role));
      DOTDO_ASSIGN_OR_RETURN(auto store, OpenTokens(ctx, /*create=*/true));
      DOTDO_ASSIGN_OR_RETURN(auto created, store->Create(a->token_ns, role, a->label));
      Json out = TokenInfoToJson(created.info);
      out["token"] = created.token;
      return out;
    }());
  });
  token->add_subcommand("list", "List tokens (never their secrets)")->callback([&ctx] {
    ctx.Finish([&]() -> Result<Json> {
      std::error_code ec;
      if (!std::filesystem::exists(ctx.data_dir, ec)) return Json::array();  // like `ns list`
      DOTDO_ASSIGN_OR_RETURN(auto store, OpenTokens(ctx, /*create=*/false));
      DOTDO_ASSIGN_OR_RETURN(auto list, store->List());
      Json out = Json::array();
      for (const auto& t : list) out.push_back(TokenInfoToJson(t));
      return out;
    }());
  });
  auto* revoke = token->add_subcommand("revoke", "Revoke a token by id: the next request with it is refused");
  revoke->add_option("id", a->id, "Token id (from create or list)")->required();
  revoke->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(auto store, OpenTokens(ctx, /*create=*/false));
      DOTDO_RETURN_IF_ERROR(store->Revoke(a->id));
      return Json{{"revoked", a->id}};
    }());
  });
});

}  // namespace
}  // namespace dotdo::cli
