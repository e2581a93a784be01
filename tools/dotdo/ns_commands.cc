// `dotdo ns list`, `dotdo info` and `dotdo sql`: namespace-level commands.
#include "cli.h"

#include <filesystem>

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
