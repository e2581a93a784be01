// `dotdo tier ...`: the namespace's tiers from the shell — status (hot, warm and cold documents,
// files and bytes per type), run (move what a policy selects now: age of the last write, time since
// the last read or write, and/or a cap of hot documents per type to warm; warm files older than
// --cold-after to the cold Iceberg table),
// files (the registered warm and cold files) and snapshots (the cold table's, for --as-of reads).
// Policies are validated by Tiering.
#include <memory>

#include "cli.h"
#include "dotdo/tiering.h"

namespace dotdo::cli {
namespace {

struct TierArgs {
  std::string older_than = "30d";
  std::string type;
  int64_t max_hot = -1;
  int64_t per_file = 100000;
  std::string now;
  std::string cold_after = "never";
  std::string idle_for;          // empty: no idle rule
  bool older_than_given = false;
  int64_t max_files = 8;         // compact
  int retain = 1;                // expire
};

Json StatsJson(const TieringRunStats& s) {
  return Json{{"documentsMoved", s.documents_moved}, {"versionsMoved", s.versions_moved},
              {"filesWritten", s.files_written},     {"bytesWritten", s.bytes_written},
              {"filesRecovered", s.files_recovered}, {"skippedChanged", s.skipped_changed},
              {"filesToCold", s.files_to_cold},      {"bytesToCold", s.bytes_to_cold},
              {"readsTrackedSince", s.reads_tracked_since > 0 ? Json(FormatIso8601(s.reads_tracked_since)) : Json()}};
}

Json FileJson(const TierFileInfo& f) {
  return Json{{"key", f.key},         {"store", f.store},   {"table", f.table}, {"day", f.day},
              {"tier", f.tier},       {"documents", f.documents}, {"live", f.live}, {"versions", f.versions},
              {"masked", f.masked},   {"bytes", f.bytes},   {"sha256", f.sha256}, {"createdAt", FormatIso8601(f.created_at)}};
}

Result<Json> RunMove(Context& ctx, const TierArgs& a) {
  TieringOptions options;
  TieringPolicy policy;
  policy.type = a.type;
  policy.max_hot_documents = a.max_hot;
  if (!a.idle_for.empty()) {
    DOTDO_ASSIGN_OR_RETURN(policy.min_idle_millis, ParseDurationMillis(a.idle_for));
  }
  // --idle-for alone is an idle-only policy: the age rule would move recently read documents.
  if (a.older_than == "none" || (!a.idle_for.empty() && !a.older_than_given)) {
    policy.min_age_millis = -1;
  } else {
    DOTDO_ASSIGN_OR_RETURN(policy.min_age_millis, ParseDurationMillis(a.older_than));
  }
  if (a.cold_after != "never") {
    DOTDO_ASSIGN_OR_RETURN(policy.cold_after_millis, ParseDurationMillis(a.cold_after));
  }
  options.policies = {policy};
  options.max_documents_per_file = a.per_file;
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(false));
  DOTDO_ASSIGN_OR_RETURN(Tiering * tiering, n->Tiers(options));
  int64_t now = n->db().NowMillis();
  if (!a.now.empty()) {
    DOTDO_ASSIGN_OR_RETURN(now, ParseTimestamp(a.now));
  }
  DOTDO_ASSIGN_OR_RETURN(TieringRunStats s, tiering->Run(now));
  return StatsJson(s);
}

Result<Json> RunCompact(Context& ctx, const TierArgs& a) {
  TieringOptions options;
  options.max_documents_per_file = a.per_file;
  options.max_files_per_partition = a.max_files;
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(false));
  DOTDO_ASSIGN_OR_RETURN(Tiering * tiering, n->Tiers(options));
  DOTDO_ASSIGN_OR_RETURN(TieringRunStats s, tiering->Compact());
  Json out = StatsJson(s);
  out["filesCompacted"] = s.files_compacted;
  return out;
}

Result<Json> RunExpire(Context& ctx, const TierArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(int64_t older_than, ParseDurationMillis(a.older_than));
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(false));
  DOTDO_ASSIGN_OR_RETURN(Tiering * tiering, n->Tiers());
  int64_t now = n->db().NowMillis();
  if (!a.now.empty()) {
    DOTDO_ASSIGN_OR_RETURN(now, ParseTimestamp(a.now));
  }
  DOTDO_ASSIGN_OR_RETURN(ColdExpireStats s, tiering->ExpireColdSnapshots(now - older_than, a.retain));
  return Json{{"snapshotsExpired", s.snapshots_expired}, {"dataFilesDeleted", s.data_files_deleted},
              {"metadataFilesDeleted", s.metadata_files_deleted}};
}

}  // namespace

const CommandGroup kTierCommands(28, [](CLI::App& app, Context& ctx) {
  auto* tier = app.add_subcommand("tier", "Hot -> warm -> cold tiering of documents: status, run, compact, files, snapshots, expire");
  tier->require_subcommand(1);
  auto a = std::make_shared<TierArgs>();

  auto* status = tier->add_subcommand("status", "Per type: hot, warm and cold documents, files and bytes");
  status->callback([&ctx] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(false));
      DOTDO_ASSIGN_OR_RETURN(Tiering * tiering, n->Tiers());
      DOTDO_ASSIGN_OR_RETURN(auto tables, tiering->Tables());
      Json out = Json::array();
      for (const auto& t : tables)
        out.push_back({{"store", t.store}, {"table", t.table}, {"hot", t.hot_documents}, {"warm", t.warm_documents},
                       {"warmFiles", t.warm_files}, {"warmBytes", t.warm_bytes}, {"cold", t.cold_documents},
                       {"coldFiles", t.cold_files}, {"coldBytes", t.cold_bytes}});
      return Json{{"tables", std::move(out)}};
    }());
  });

  auto* run = tier->add_subcommand("run", "Move the documents a policy selects to the warm tier (Parquet files)");
  auto* older = run->add_option("--older-than", a->older_than, "Move documents last written this long ago "
                                                              "(500ms/30s/5m/1h/7d, or none; default 30d, none with --idle-for)");
  run->add_option("--idle-for", a->idle_for, "Move documents neither written nor read for this long (reads are "
                                             "recorded from the first such run on)");
  run->add_option("--type", a->type, "Only documents of this $type (default every type)");
  run->add_option("--max-hot", a->max_hot, "Keep at most this many hot documents per type (default no cap)");
  run->add_option("--per-file", a->per_file, "Documents per warm file (default 100000)");
  run->add_option("--now", a->now, "The time the policy is evaluated at (ms or ISO 8601; default now)");
  run->add_option("--cold-after", a->cold_after, "Also move warm files written this long ago into the cold "
                                                 "Iceberg table (e.g. 90d; default never)");
  run->callback([&ctx, a, older] {
    a->older_than_given = older->count() > 0;
    ctx.Finish(RunMove(ctx, *a));
  });

  auto* compact = tier->add_subcommand("compact", "Merge small warm files; rewrite cold partitions with masked rows "
                                                  "(one Iceberg snapshot)");
  compact->add_option("--per-file", a->per_file, "Documents per file written (default 100000)");
  compact->add_option("--max-files", a->max_files, "Files a partition may have before it is merged (default 8)");
  compact->callback([&ctx, a] { ctx.Finish(RunCompact(ctx, *a)); });

  auto* expire = tier->add_subcommand("expire", "Drop cold-table snapshots older than --older-than and delete the "
                                                "files only they listed");
  auto* expire_age = expire->add_option("--older-than", a->older_than, "Snapshots committed this long ago (e.g. 7d)");
  expire_age->required();
  expire->add_option("--retain", a->retain, "Keep at least this many newest snapshots (default 1)");
  expire->add_option("--now", a->now, "The time the age is measured from (ms or ISO 8601; default now)");
  expire->callback([&ctx, a] { ctx.Finish(RunExpire(ctx, *a)); });

  tier->add_subcommand("snapshots", "The snapshots of the cold tier's Iceberg table (for sql --as-of)")->callback([&ctx] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(false));
      DOTDO_ASSIGN_OR_RETURN(Tiering * tiering, n->Tiers());
      DOTDO_ASSIGN_OR_RETURN(auto snapshots, tiering->ColdSnapshots());
      Json out = Json::array();
      for (const ColdSnapshot& s : snapshots)
        out.push_back({{"snapshotId", s.snapshot_id}, {"timestamp", FormatIso8601(s.timestamp_ms)},
                       {"operation", s.operation}, {"files", s.files}, {"records", s.records}});
      return Json{{"snapshots", std::move(out)}};
    }());
  });

  auto* files = tier->add_subcommand("files", "The registered warm and cold files");
  files->add_option("--type", a->type, "Only files of this $type");
  files->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(false));
      DOTDO_ASSIGN_OR_RETURN(Tiering * tiering, n->Tiers());
      DOTDO_ASSIGN_OR_RETURN(auto list, tiering->Files(a->type));
      Json out = Json::array();
      for (const auto& f : list) out.push_back(FileJson(f));
      return Json{{"files", std::move(out)}};
    }());
  });
});

}  // namespace dotdo::cli
