// `dotdo config show|check`: the host configuration (--config FILE, else <data>/dotdo.json) as the
// CLI and the server read it.
//
//   show   the file's JSON with secrets replaced by "***", and which file it is ({"file": null}
//          when there is none: every namespace then keeps its objects under <data>/objects/<ns>/);
//   check  reaches what it names: lists the namespace's object store (an S3 bucket answers) and
//          connects each CDC sink (the JetStream stream exists or is created). Prints one entry per
//          part with "ok" and the error; exits 1 (UNAVAILABLE) when any part failed.
#include "cli.h"

namespace dotdo::cli {
namespace {

Result<Json> RunShow(Context& ctx) {
  std::string file;
  DOTDO_RETURN_IF_ERROR(ctx.HostOptions(&file).status());
  if (file.empty()) return Json{{"file", nullptr}, {"config", Json::object()}};
  DOTDO_ASSIGN_OR_RETURN(Json described, DescribeHostConfig(file));
  return Json{{"file", file}, {"config", described}};
}

Json Outcome(const Status& s) {
  Json j = {{"ok", s.ok()}};
  if (!s.ok()) j["error"] = std::string(StatusCodeName(s.code())) + ": " + std::string(s.message());
  return j;
}

Result<Json> RunCheck(Context& ctx) {
  std::string file;
  DOTDO_ASSIGN_OR_RETURN(NamespaceHostOptions options, ctx.HostOptions(&file));
  DOTDO_ASSIGN_OR_RETURN(NamespaceHost * host, ctx.Host(/*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(NamespaceLayout layout, host->Layout(ctx.ns));
  Json out = {{"file", file.empty() ? Json(nullptr) : Json(file)}, {"namespace", ctx.ns}};
  std::vector<std::string> failed;
  {
    // The namespace's object store, opened the way the host opens it, without opening the database.
    Status st = [&]() -> Status {
      std::unique_ptr<ObjectStore> store;
      if (options.object_store_factory) {
        DOTDO_ASSIGN_OR_RETURN(store, options.object_store_factory(layout));
      } else {
        DOTDO_ASSIGN_OR_RETURN(store, LocalObjectStore::Open(layout.object_root));
      }
      return store->List({.limit = 1}).status();
    }();
    out["objectStore"] = Outcome(st);
    out["objectStore"]["type"] = options.object_store_factory ? "s3" : "local";
    if (!st.ok()) failed.push_back("objectStore");
  }
  out["sinks"] = Json::array();
  for (const HostSinkOptions& sink : options.sinks) {
    Status st = OkStatus();
    if (sink.type == HostSinkType::kIceberg) {
      // The table on the namespace's object store (created when missing).
      st = [&]() -> Status {
        DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(/*create=*/false));
        DOTDO_ASSIGN_OR_RETURN(ObjectStore * objects, n->Objects());
        return IcebergEventSink::Open(*objects, sink.iceberg).status();
      }();
    } else {
      st = JetStreamSink::Open(sink.jetstream).status();
    }
    Json j = Outcome(st);
    j["sink"] = sink.Name();
    out["sinks"].push_back(j);
    if (!st.ok()) failed.push_back(sink.Name());
  }
  if (!failed.empty()) {
    std::string names;
    for (const std::string& f : failed) names += (names.empty() ? "" : ", ") + f;
    return UnavailableError("cannot reach " + names + ": " + out.dump());
  }
  return out;
}

const CommandGroup kConfigCommands(95, [](CLI::App& app, Context& ctx) {
  auto* config = app.add_subcommand("config", "The host configuration: object store (local or S3) and CDC sinks");
  config->require_subcommand(1);
  config->add_subcommand("show", "Print the configuration in use (secrets hidden) and its file")->callback([&ctx] {
    ctx.Finish(RunShow(ctx));
  });
  config->add_subcommand("check", "Reach the object store and every sink the configuration names")->callback([&ctx] {
    ctx.Finish(RunCheck(ctx));
  });
});

}  // namespace
}  // namespace dotdo::cli
