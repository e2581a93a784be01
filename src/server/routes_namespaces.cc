// Namespace-level routes: the namespace list, one namespace's info and billing counters (rows read
// and written since it was opened, the last change lsn, blob totals), read-only SQL
// (Database::QueryReadOnly, bounded by the server's request time), and an unauthenticated health
// check.
#include "dotdo/cdc.h"
#include "server/server_internal.h"

namespace dotdo::internal {
namespace {

// A token scoped to one namespace sees that namespace only (and not the host's counters, which
// describe the others too); a "*" token, or an open loopback server, sees every one.
Result<Json> ListNamespaces(ApiRequest& r) {
  NamespaceHost& host = r.server.host();
  DOTDO_ASSIGN_OR_RETURN(auto names, host.List());
  if (r.token && r.token->ns != "*") {
    const auto only = [&](std::vector<std::string> list) {
      std::erase_if(list, [&](const std::string& n) { return n != r.token->ns; });
      return list;
    };
    return Json{{"namespaces", only(std::move(names))}, {"open", only(host.OpenNamespaces())}};
  }
  const auto stats = host.stats();
  return Json{{"namespaces", names}, {"open", host.OpenNamespaces()},
              {"host", {{"open", stats.open}, {"opened", stats.opened}, {"closed", stats.closed}}}};
}

Result<Json> NamespaceInfo(ApiRequest& r) {
  Database& db = r.ns->db();
  const DatabaseStats stats = db.stats();
  DOTDO_ASSIGN_OR_RETURN(int64_t last_lsn, ChangeFeed(db).LastLsn());
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(r.ns->layout().database_file, ec);
  Json out = {{"ns", r.ns->name()},
              {"file", r.ns->layout().database_file.string()},
              {"file_bytes", ec ? 0 : static_cast<int64_t>(bytes)},
              {"last_lsn", last_lsn},
              {"stats", {{"rows_read", stats.rows_read}, {"rows_written", stats.rows_written}}}};
  // Tables per store: which primitives hold data in this namespace.
  DOTDO_ASSIGN_OR_RETURN(Json tables, db.QueryReadOnly(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"));
  Json names = Json::array();
  for (const auto& t : tables) names.push_back(t["name"]);
  out["tables"] = std::move(names);
  DOTDO_ASSIGN_OR_RETURN(BlobStore * blobs, r.ns->Blobs());
  DOTDO_ASSIGN_OR_RETURN(BlobStats b, blobs->Stats());
  out["blobs"] = {{"blobs", b.blobs}, {"logical_bytes", b.logical_bytes}, {"objects", b.objects},
                  {"stored_bytes", b.stored_bytes}};
  return out;
}

Result<Json> Sql(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  if (!b.contains("sql") || !b["sql"].is_string()) return InvalidArgumentError("the body must be {\"sql\": \"SELECT ...\"}");
  std::vector<Json> params;
  if (b.contains("params")) {
    if (!b["params"].is_array()) return InvalidArgumentError("params must be an array (bound to ?1..?n)");
    params = b["params"].get<std::vector<Json>>();
  }
  ReadOnlyQueryOptions limits;
  limits.timeout_ms = r.server.options().request_timeout_ms;
  if (b.contains("max_rows")) {
    if (!b["max_rows"].is_number_integer() || b["max_rows"].get<int64_t>() < 0 ||
        b["max_rows"].get<int64_t>() > limits.max_rows)
      return InvalidArgumentError("max_rows must be an integer 0.." + std::to_string(limits.max_rows));
    limits.max_rows = b["max_rows"].get<int64_t>();
  }
  DOTDO_ASSIGN_OR_RETURN(Json rows, r.ns->db().QueryReadOnly(b["sql"].get<std::string>(), params, limits));
  return Json{{"rows", std::move(rows)}};
}

}  // namespace

void InstallNamespaceRoutes(RouteTable& t) {
  t.Add({.method = "GET", .pattern = "/v1/health", .namespaced = false, .public_route = true,
         .handler = [](ApiRequest&) -> Result<Json> { return Json{{"ok", true}}; }});
  t.Add({.method = "GET", .pattern = "/v1/namespaces", .namespaced = false, .handler = ListNamespaces});
  t.Add({.method = "GET", .pattern = std::string(kNsPrefix), .handler = NamespaceInfo});
  t.Add({.method = "POST", .pattern = std::string(kNsPrefix) + "/sql", .body = BodyKind::kJson, .handler = Sql});
}

}  // namespace dotdo::internal
