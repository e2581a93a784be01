// `dotdo ns list`, `dotdo info` and `dotdo sql`: namespace-level commands. `dotdo sql` runs on the
// namespace's SQLite file, or with --tiers warm,cold through DuckDB over every namespace's warm
// files and cold Iceberg tables (--as-of: the cold tables' snapshots current at that time).
#include "cli.h"
#include "core/database_internals.h"

#include <filesystem>
#include <string>

namespace dotdo::cli {
namespace {

// The namespaces of the data directory; none (and nothing created) when it does not exist yet.
Result<std::vector<std::string>> Namespaces(Context& ctx) {
  std::error_code ec;
  if (!std::filesystem::exists(ctx.data_dir, ec)) return std::vector<std::string>{};
  DOTDO_ASSIGN_OR_RETURN(NamespaceHost * host, ctx.Host());
  return host->List();
}

Result<Json> NamespaceInfo(Context& ctx) {
  DOTDO_ASSIGN_OR_RETURN(auto names, Namespaces(ctx));
  std::error_code ec;
  Json out = {{"data", ctx.data_dir}, {"exists", std::filesystem::exists(ctx.data_dir, ec)}, {"namespaces", names}};
  return out;
}

Result<Json> RunWarmSql(Context& ctx, const std::string& tiers, const std::string& as_of, const std::string& query,
                        const ReadOnlyQueryOptions& limits) {
  WarmSqlOptions options{.max_rows = limits.max_rows, .timeout_ms = limits.timeout_ms, .tiers = {}};
  for (size_t start = 0; start <= tiers.size();) {
    size_t end = tiers.find(',', start);
    if (end == std::string::npos) end = tiers.size();
    options.tiers.push_back(tiers.substr(start, end - start));
    start = end + 1;
  }
  if (!as_of.empty()) {
    DOTDO_ASSIGN_OR_RETURN(int64_t at, ParseTimestamp(as_of));
    options.cold_as_of_ms = at;
  }
  DOTDO_ASSIGN_OR_RETURN(NamespaceHost * host, ctx.Host());
  DOTDO_ASSIGN_OR_RETURN(std::vector<std::string> names, host->List());
  std::vector<std::shared_ptr<Namespace>> leases;
  std::vector<std::pair<std::string, Tiering*>> namespaces;
  for (const std::string& name : names) {
    DOTDO_ASSIGN_OR_RETURN(auto ns, host->Get(name, /*create=*/false));
    // Namespaces that never tiered have no warm files (and get no tables from a read).
    DOTDO_ASSIGN_OR_RETURN(int64_t version, internal::DatabaseInternals::SchemaVersion(ns->db(), "tiering"));
    if (version == 0) continue;
    DOTDO_ASSIGN_OR_RETURN(Tiering * tiering, ns->Tiers());
    namespaces.emplace_back(name, tiering);
    leases.push_back(std::move(ns));
  }
  return Tiering::Sql(namespaces, query, options);
}

// An integer flag's lower bound with a readable message (CLI11's number checks print the whole
// double range: "Value 0 not in range 0.000000 to 1797693...").
CLI::Validator AtLeast(int64_t min) {
  return CLI::Validator(
      [min](std::string& v) -> std::string {
        try {
          size_t used = 0;
          if (std::stoll(v, &used) >= min && used == v.size()) return "";
        } catch (...) {
        }
        return "must be an integer >= " + std::to_string(min) + ", got '" + v + "'";
      },
      "");
}

const CommandGroup kNamespaceCommands(0, [](CLI::App& app, Context& ctx) {
  auto* info = app.add_subcommand("info", "Show the data directory and its namespaces");
  info->callback([&ctx] { ctx.Finish(NamespaceInfo(ctx)); });

  auto* ns = app.add_subcommand("ns", "Namespaces");
  ns->require_subcommand(1);
  ns->add_subcommand("list", "List namespaces in the data directory")->callback([&ctx] {
    auto names = Namespaces(ctx);
    if (!names.ok()) return ctx.Fail(names.status());
    ctx.Print(Json(*names));
  });

  auto* sql = app.add_subcommand("sql", "Run one read-only SQL statement on the namespace (SELECT/EXPLAIN)");
  static std::string query;
  static ReadOnlyQueryOptions limits;
  sql->add_option("query", query, "SQL text")->required();
  sql->add_option("--max-rows", limits.max_rows, "Refuse results of more rows")->capture_default_str()
      ->check(AtLeast(0));
  sql->add_option("--timeout-ms", limits.timeout_ms, "End the statement after this long")->capture_default_str()
      ->check(AtLeast(1));
  static std::string tiers;
  static std::string as_of;
  sql->add_option("--tiers", tiers, "warm, cold or warm,cold: run the statement through DuckDB over the warm files "
                                    "and cold Iceberg tables of every namespace (views \"<ns>\".documents and "
                                    "\"<ns>\".document_versions)");
  sql->add_option("--as-of", as_of, "With the cold tier: its Iceberg snapshots current at this time (ms or ISO 8601)");
  sql->callback([&ctx] {
    if (!as_of.empty() && tiers.empty()) return ctx.Fail(InvalidArgumentError("--as-of needs --tiers cold"));
    if (!tiers.empty()) return ctx.Finish(RunWarmSql(ctx, tiers, as_of, query, limits));
    auto db = ctx.OpenDb(/*create=*/false);
    if (!db.ok()) return ctx.Fail(db.status());
    ctx.Finish((*db)->QueryReadOnly(query, {}, limits));
  });
});

}  // namespace
}  // namespace dotdo::cli
