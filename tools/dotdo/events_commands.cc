// `dotdo events read|tail|export|sinks|prune`: the namespace's change feed from the command line.
//
//   read    one page of events as a JSON array (pretty unless --compact);
//   tail    every event after --after as JSON lines (one compact event per line); with --follow it
//           keeps polling for new events until SIGINT/SIGTERM, then exits 0;
//   export  runs the CDC pipeline once into a JSONL file (durable checkpoint per file) and prints
//           {"exported": n, "checkpoint": lsn, "sink": name, "file": path};
//   sinks   the registered sinks, their checkpoints and lag (events not yet acknowledged);
//   unregister  forgets a sink (--sink FILE or --name NAME): retention stops waiting for it, and the
//           next export to it starts from the oldest retained event;
//   prune   outbox retention: deletes what every registered sink has checkpointed;
//   archive runs the pipeline once into the namespace's Iceberg event table on its object store
//           (cold/events: type/dt partitions, exactly once) and prints what it archived;
//   deliver runs the sinks of the host configuration (e.g. JetStream) once for the namespace, or for
//           every namespace with --all; --follow keeps delivering until SIGINT/SIGTERM.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <limits>
#include <set>

#include "cli.h"
#include "dotdo/cdc.h"

namespace dotdo::cli {
namespace {

constexpr int64_t kUnset = std::numeric_limits<int64_t>::min();

struct EventsArgs {
  int64_t after = 0;
  int64_t limit = 100;
  bool global = false;
  bool follow = false;
  int64_t interval_ms = 500;
  std::string sink;
  std::string sink_name;
  int64_t batch_size = 500;
  bool local_ids = false;
  std::string min_age = "0";
  int64_t up_to = kUnset;
  bool all = false;
};

volatile std::sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

void InstallStopSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a signal cuts the sleep short
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void SleepMillis(int64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1'000'000)};
  nanosleep(&ts, nullptr);
}

Status ValidateAfter(int64_t after) {
  if (after < 0) return InvalidArgumentError("--after must be an lsn >= 0, got " + std::to_string(after));
  return OkStatus();
}

Result<Json> RunRead(Context& ctx, const EventsArgs& a) {
  DOTDO_RETURN_IF_ERROR(ValidateAfter(a.after));
  if (a.limit < 1 || a.limit > 10000)
    return InvalidArgumentError("--limit must be between 1 and 10000, got " + std::to_string(a.limit));
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(/*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(auto events, ChangeFeed(*db).Read(a.after, a.limit));
  Json out = Json::array();
  for (const auto& e : events) out.push_back(EventToJson(a.global ? ToGlobalEvent(e) : e));
  return out;
}

// Prints every event after `after` as JSON lines; with follow, polls until a stop signal.
Status RunTail(Context& ctx, const EventsArgs& a) {
  DOTDO_RETURN_IF_ERROR(ValidateAfter(a.after));
  if (a.interval_ms < 1 || a.interval_ms > 60000)
    return InvalidArgumentError("--interval-ms must be between 1 and 60000, got " + std::to_string(a.interval_ms));
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(/*create=*/false));
  ChangeFeed feed(*db);
  if (a.follow) InstallStopSignals();
  int64_t after = a.after;
  while (!g_stop) {
    DOTDO_ASSIGN_OR_RETURN(auto events, feed.Read(after, 1000));
    for (const auto& e : events) {
      std::cout << EventToJson(a.global ? ToGlobalEvent(e) : e).dump(-1, ' ', false, Json::error_handler_t::replace)
                << '\n';
    }
    std::cout.flush();
    if (!std::cout) return UnavailableError("cannot write to stdout");
    if (!events.empty()) {
      after = *events.back().lsn;
      continue;  // drain everything that is there before sleeping
    }
    if (!a.follow) break;
    SleepMillis(a.interval_ms);
  }
  return OkStatus();
}

Result<Json> RunExport(Context& ctx, const EventsArgs& a) {
  if (a.sink.empty()) return InvalidArgumentError("--sink needs a file path");
  if (a.batch_size < 1 || a.batch_size > 10000)
    return InvalidArgumentError("--batch-size must be between 1 and 10000, got " + std::to_string(a.batch_size));
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(/*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(auto sink, JsonlFileSink::Open(a.sink));
  CdcPipelineOptions o;
  o.batch_size = a.batch_size;
  o.global_ids = !a.local_ids;
  CdcPipeline pipeline(*db, *sink, o);
  DOTDO_ASSIGN_OR_RETURN(int64_t exported, pipeline.RunOnce());
  DOTDO_ASSIGN_OR_RETURN(int64_t checkpoint, pipeline.Checkpoint());
  return Json{{"exported", exported}, {"checkpoint", checkpoint}, {"sink", sink->Name()}, {"file", sink->path().string()}};
}

Json DeliveryJson(const std::string& ns, const SinkDelivery& d) {
  Json j = {{"namespace", ns}, {"sink", d.sink}, {"delivered", d.delivered}, {"checkpoint", d.checkpoint}, {"lag", d.lag}};
  if (!d.last_error.empty()) j["error"] = d.last_error;
  return j;
}

// One round over the namespaces: {"namespace", "sink", "delivered", "checkpoint", "lag"} per sink.
Result<Json> DeliverRound(Context& ctx, const std::vector<std::string>& namespaces) {
  DOTDO_ASSIGN_OR_RETURN(NamespaceHost * host, ctx.Host(/*create=*/false));
  Json out = Json::array();
  for (const std::string& ns : namespaces) {
    DOTDO_ASSIGN_OR_RETURN(auto opened, host->Get(ns, /*create=*/false));
    DOTDO_ASSIGN_OR_RETURN(auto deliveries, opened->Deliver());
    for (const SinkDelivery& d : deliveries) out.push_back(DeliveryJson(ns, d));
  }
  return out;
}

Result<Json> RunDeliver(Context& ctx, const EventsArgs& a) {
  if (a.interval_ms < 1 || a.interval_ms > 60000)
    return InvalidArgumentError("--interval-ms must be between 1 and 60000, got " + std::to_string(a.interval_ms));
  DOTDO_ASSIGN_OR_RETURN(NamespaceHost * host, ctx.Host(/*create=*/false));
  if (host->options().sinks.empty())
    return FailedPreconditionError("no CDC sinks are configured: add \"sinks\" to the host configuration "
                                   "(--config FILE or <data>/dotdo.json, see docs/formats/config.md)");
  std::vector<std::string> namespaces = {ctx.ns};
  if (a.all) {
    DOTDO_ASSIGN_OR_RETURN(namespaces, host->List());
  }
  if (!a.follow) return DeliverRound(ctx, namespaces);
  InstallStopSignals();
  // --follow: one JSON line per round that delivered something; errors are retried each round.
  while (!g_stop) {
    Result<Json> round = DeliverRound(ctx, namespaces);
    if (round.ok()) {
      int64_t delivered = 0;
      for (const Json& d : *round) delivered += d["delivered"].get<int64_t>();
      if (delivered > 0) std::cout << round->dump() << '\n' << std::flush;
    } else {
      std::cerr << "error: " << StatusCodeName(round.status().code()) << ": " << round.status().message()
                << " (retrying)\n";
    }
    if (a.all) {
      auto listed = host->List();
      if (listed.ok()) namespaces = std::move(listed).value();
    }
    SleepMillis(a.interval_ms);
  }
  return Json{{"stopped", true}};
}

Result<Json> RunArchive(Context& ctx, const EventsArgs& a) {
  if (a.batch_size < 1 || a.batch_size > 10000)
    return InvalidArgumentError("--batch-size must be between 1 and 10000, got " + std::to_string(a.batch_size));
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(/*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(ObjectStore * objects, n->Objects());
  IcebergEventSinkOptions options;
  if (!a.sink.empty()) options.prefix = a.sink;
  DOTDO_ASSIGN_OR_RETURN(auto sink, IcebergEventSink::Open(*objects, options));
  CdcPipeline pipeline(n->db(), *sink, {.batch_size = a.batch_size, .global_ids = !a.local_ids});
  DOTDO_ASSIGN_OR_RETURN(int64_t archived, pipeline.RunOnce());
  DOTDO_ASSIGN_OR_RETURN(int64_t checkpoint, pipeline.Checkpoint());
  return Json{{"archived", archived}, {"checkpoint", checkpoint}, {"sink", sink->Name()}, {"table", options.prefix}};
}

Result<Json> RunSinks(Context& ctx) {
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(/*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(auto sinks, CdcCheckpoints(*db).List());
  DOTDO_ASSIGN_OR_RETURN(int64_t last, ChangeFeed(*db).LastLsn());
  Json out = Json::array();
  // lag: committed events the sink has not acknowledged yet.
  // configured: named by the host configuration (delivered by `events deliver` and `serve`).
  std::set<std::string> configured;
  for (const HostSinkOptions& c : ctx.host->options().sinks) configured.insert(c.Name());
  for (const auto& s : sinks) {
    out.push_back({{"sink", s.sink}, {"checkpoint", s.lsn}, {"lag", std::max<int64_t>(0, last - s.lsn)},
                   {"updatedAt", FormatIso8601(s.updated_at)}, {"configured", configured.erase(s.sink) > 0}});
  }
  for (const std::string& name : configured)  // configured, nothing delivered yet
    out.push_back({{"sink", name}, {"checkpoint", 0}, {"lag", last}, {"updatedAt", nullptr}, {"configured", true}});
  return out;
}

Result<Json> RunUnregister(Context& ctx, const EventsArgs& a) {
  if (a.sink.empty() == a.sink_name.empty()) return InvalidArgumentError("give exactly one of --sink FILE or --name NAME");
  std::string name = a.sink_name;
  if (name.empty()) {
    DOTDO_ASSIGN_OR_RETURN(name, JsonlFileSink::DefaultName(a.sink));
  }
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(/*create=*/false));
  DOTDO_RETURN_IF_ERROR(CdcCheckpoints(*db).Unregister(name));
  return Json{{"unregistered", name}};
}

Result<Json> RunPrune(Context& ctx, const EventsArgs& a) {
  CdcRetentionOptions r;
  DOTDO_ASSIGN_OR_RETURN(r.min_age_ms, ParseDurationMillis(a.min_age));
  if (r.min_age_ms < 0) return InvalidArgumentError("--min-age must not be negative");
  if (a.up_to != kUnset) {
    if (a.up_to < 0) return InvalidArgumentError("--up-to must be an lsn >= 0, got " + std::to_string(a.up_to));
    r.up_to_lsn = a.up_to;
  }
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(/*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(int64_t deleted, CdcCheckpoints(*db).ApplyRetention(r));
  return Json{{"deleted", deleted}};
}

const CommandGroup kEventsCommands(30, [](CLI::App& app, Context& ctx) {
  auto a = std::make_shared<EventsArgs>();
  auto* events = app.add_subcommand("events", "Change events (CDC) of the namespace");
  events->require_subcommand(1);

  auto* read = events->add_subcommand("read", "Print one page of events as a JSON array, in lsn order");
  read->add_option("--after", a->after, "Only events with lsn greater than this (default 0)");
  read->add_option("--limit", a->limit, "At most this many events, 1..10000 (default 100)");
  read->add_flag("--global", a->global, "Show ids as global <ns>/<Type>/<id> URLs, as the pipeline exports them");
  read->callback([&ctx, a] { ctx.Finish(RunRead(ctx, *a)); });

  auto* tail = events->add_subcommand(
      "tail", "Print events as JSON lines (one compact event per line); --follow keeps waiting for new ones");
  tail->add_option("--after", a->after, "Only events with lsn greater than this (default 0)");
  tail->add_flag("--follow,-f", a->follow, "Keep polling for new events until SIGINT/SIGTERM (then exit 0)");
  tail->add_option("--interval-ms", a->interval_ms, "Poll interval with --follow, 1..60000 (default 500)");
  tail->add_flag("--global", a->global, "Show ids as global <ns>/<Type>/<id> URLs");
  tail->callback([&ctx, a] {
    Status s = RunTail(ctx, *a);
    if (!s.ok()) ctx.Fail(s);
  });

  auto* exp = events->add_subcommand(
      "export", "Deliver new events into a JSONL file exactly once (the file's checkpoint is kept in the namespace)");
  exp->add_option("--sink", a->sink, "JSON-lines file to append to (created when missing)")->required();
  exp->add_option("--batch-size", a->batch_size, "Events per durable write, 1..10000 (default 500)");
  exp->add_flag("--local-ids", a->local_ids, "Keep local ids instead of global <ns>/<Type>/<id> URLs");
  exp->callback([&ctx, a] { ctx.Finish(RunExport(ctx, *a)); });

  events->add_subcommand("sinks", "List registered sinks and their checkpoints")->callback([&ctx] {
    ctx.Finish(RunSinks(ctx));
  });

  auto* unregister = events->add_subcommand(
      "unregister", "Forget a registered sink: retention no longer waits for it; a later export starts afresh");
  unregister->add_option("--sink", a->sink, "The JSONL file the sink exports to");
  unregister->add_option("--name", a->sink_name, "The sink's name as `events sinks` lists it");
  unregister->callback([&ctx, a] { ctx.Finish(RunUnregister(ctx, *a)); });

  auto* prune = events->add_subcommand(
      "prune", "Delete events every registered sink has checkpointed (none when no sink is registered, unless --up-to)");
  prune->add_option("--min-age", a->min_age, "Keep events younger than this, e.g. 7d, 24h, 0 (default 0)");
  prune->add_option("--up-to", a->up_to, "Never delete past this lsn; required to prune without sinks");
  prune->callback([&ctx, a] { ctx.Finish(RunPrune(ctx, *a)); });

  auto* archive = events->add_subcommand(
      "archive", "Archive new events into the namespace's Iceberg table (type/dt partitions), exactly once");
  archive->add_option("--table", a->sink, "The table's key prefix in the object store (default cold/events)");
  archive->add_option("--batch-size", a->batch_size, "Events per Iceberg commit, 1..10000 (default 500)");
  archive->add_flag("--local-ids", a->local_ids, "Keep local ids instead of global <ns>/<Type>/<id> URLs");
  archive->callback([&ctx, a] { ctx.Finish(RunArchive(ctx, *a)); });

  auto* deliver = events->add_subcommand(
      "deliver", "Deliver new events to the sinks of the host configuration (e.g. NATS JetStream), exactly once");
  deliver->add_flag("--all", a->all, "Every namespace of the data directory, not only --ns");
  deliver->add_flag("--follow,-f", a->follow, "Keep delivering until SIGINT/SIGTERM (then exit 0)");
  deliver->add_option("--interval-ms", a->interval_ms, "Pause between rounds with --follow, 1..60000 (default 500)");
  deliver->callback([&ctx, a] { ctx.Finish(RunDeliver(ctx, *a)); });
});

}  // namespace
}  // namespace dotdo::cli
