// `dotdo ns list`, `dotdo info` and `dotdo sql`: namespace-level commands.
#include "cli.h"

namespace dotdo::cli {
namespace {

Result<Json> NamespaceInfo(Context& ctx) {
  DOTDO_ASSIGN_OR_RETURN(NamespaceHost * host, ctx.Host());
  DOTDO_ASSIGN_OR_RETURN(auto names, host->List());
  Json out = {{"data", ctx.data_dir}, {"namespaces", names}};
  return out;
}

const CommandGroup kNamespaceCommands(0, [](CLI::App& app, Context& ctx) {
  auto* info = app.add_subcommand("info", "Show the data directory and its namespaces");
  info->callback([&ctx] { ctx.Finish(NamespaceInfo(ctx)); });

  auto* ns = app.add_subcommand("ns", "Namespaces");
  ns->require_subcommand(1);
  ns->add_subcommand("list", "List namespaces in the data directory")->callback([&ctx] {
    auto host = ctx.Host();
    if (!host.ok()) return ctx.Fail(host.status());
    auto names = (*host)->List();
    if (!names.ok()) return ctx.Fail(names.status());
    ctx.Print(Json(*names));
  });

  auto* sql = app.add_subcommand("sql", "Run one read-only SQL statement on the namespace (SELECT/EXPLAIN)");
  static std::string query;
  static ReadOnlyQueryOptions limits;
  sql->add_option("query", query, "SQL text")->required();
  sql->add_option("--max-rows", limits.max_rows, "Refuse results of more rows")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sql->add_option("--timeout-ms", limits.timeout_ms, "End the statement after this long")->capture_default_str()
      ->check(CLI::PositiveNumber);
  sql->callback([&ctx] {
    auto db = ctx.OpenDb(/*create=*/false);
    if (!db.ok()) return ctx.Fail(db.status());
    ctx.Finish((*db)->QueryReadOnly(query, {}, limits));
  });
});

}  // namespace
}  // namespace dotdo::cli
