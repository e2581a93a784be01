// Document routes: CRUD, batch create, query (filter, sort, projection, cursor), count, history
// and as-of reads over the namespace's DocumentStore. Bodies and results are the JSON the CLI's
// `dotdo doc` prints (the store's own document shape; pages as PageToJson).
#include "dotdo/document.h"
#include "server/server_internal.h"

namespace dotdo::internal {
namespace {

const std::string kDocs = std::string(kNsPrefix) + "/docs";
const std::string kTypes = std::string(kNsPrefix) + "/types/([A-Za-z_][A-Za-z0-9_]*)";

// expect_version from ?expect_version= or an If-Match: "<version>" header.
Result<DocumentUpdateOptions> UpdateOptions(const ApiRequest& r) {
  DocumentUpdateOptions o;
  DOTDO_ASSIGN_OR_RETURN(auto v, r.OptionalIntParam("expect_version"));
  if (!v && r.http.has_header("If-Match")) {
    std::string tag = r.http.get_header_value("If-Match");
    if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
    char* end = nullptr;
    const long long n = std::strtoll(tag.c_str(), &end, 10);
    if (tag.empty() || *end != '\0') return InvalidArgumentError("If-Match must be a document $version, got '" + tag + "'");
    v = n;
  }
  if (v && *v < 0) return InvalidArgumentError("expect_version must be >= 0");
  o.expected_version = v;
  return o;
}

Result<DocumentSortKey> SortKey(const Json& term) {
  DocumentSortKey key;
  if (term.is_string()) {
    std::string text = term.get<std::string>();
    const auto colon = text.rfind(':');
    key.path = text.substr(0, colon);
    if (colon != std::string::npos) {
      const std::string dir = text.substr(colon + 1);
      if (dir != "asc" && dir != "desc") return InvalidArgumentError("sort '" + text + "': direction must be asc or desc");
      key.descending = dir == "desc";
    }
  } else if (term.is_object() && term.contains("path") && term["path"].is_string()) {
    key.path = term["path"].get<std::string>();
    key.descending = term.value("desc", false);
  } else {
    return InvalidArgumentError("a sort term is \"path[:asc|:desc]\" or {\"path\": ..., \"desc\": bool}");
  }
  if (key.path.empty()) return InvalidArgumentError("a sort term has an empty path");
  return key;
}

// A query from the URL (GET .../types/{type}/docs) or a JSON body (POST .../query).
Result<DocumentQueryOptions> QueryFromParams(const ApiRequest& r, std::string type) {
  DocumentQueryOptions q;
  q.type = std::move(type);
  DOTDO_ASSIGN_OR_RETURN(q.where, r.JsonParam("where", Json::object()));
  for (const auto& s : r.ListParam("sort")) {
    DOTDO_ASSIGN_OR_RETURN(auto key, SortKey(Json(s)));
    q.sort.push_back(std::move(key));
  }
  q.projection = r.ListParam("fields");
  DOTDO_ASSIGN_OR_RETURN(q.limit, r.IntParam("limit", 100));
  q.cursor = r.Param("cursor");
  return q;
}

Result<DocumentQueryOptions> QueryFromBody(const ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  DocumentQueryOptions q;
  try {
    q.type = b.value("type", "");
    q.where = b.value("where", Json::object());
    for (const auto& s : b.value("sort", Json::array())) {
      DOTDO_ASSIGN_OR_RETURN(auto key, SortKey(s));
      q.sort.push_back(std::move(key));
    }
    q.projection = b.value("fields", std::vector<std::string>{});
    q.limit = b.value("limit", int64_t{100});
    q.cursor = b.value("cursor", "");
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("query body: ") + e.what());
  }
  return q;
}

Result<DocumentStore> Docs(ApiRequest& r) { return r.ns->Documents(); }

Result<Json> Create(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  DOTDO_ASSIGN_OR_RETURN(bool upsert, r.BoolParam("upsert", false));
  DOTDO_ASSIGN_OR_RETURN(Json doc, r.BodyObject());
  return upsert ? docs.Upsert(std::move(doc)) : docs.Create(std::move(doc));
}

Result<Json> CreateBatch(ApiRequest& r) {
  if (!r.body.is_array()) return InvalidArgumentError("the body must be a JSON array of documents");
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  std::vector<Json> in = r.body.get<std::vector<Json>>();
  DOTDO_ASSIGN_OR_RETURN(auto created, docs.CreateMany(std::move(in)));
  return Json{{"created", created.size()}, {"items", created}};
}

Result<Json> Get(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  if (r.http.has_param("at")) {
    DOTDO_ASSIGN_OR_RETURN(int64_t at, ParseTimeParam(r.Param("at"), "at"));
    return docs.GetAsOf(r.Capture(2), at);
  }
  DOTDO_ASSIGN_OR_RETURN(Json doc, docs.Get(r.Capture(2)));
  if (doc.contains("$version")) {
    const std::string etag = "\"" + doc["$version"].dump() + "\"";
    r.res.set_header("ETag", etag);
  }
  return doc;
}

Result<Json> Replace(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  DOTDO_ASSIGN_OR_RETURN(auto options, UpdateOptions(r));
  DOTDO_ASSIGN_OR_RETURN(Json doc, r.BodyObject());
  return docs.Replace(r.Capture(2), std::move(doc), options);
}

// PATCH: the Content-Type chooses the language (merge patch, JSON Patch, or update operators).
Result<Json> Patch(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  DOTDO_ASSIGN_OR_RETURN(auto options, UpdateOptions(r));
  const std::string type = r.http.get_header_value("Content-Type");
  if (type.rfind("application/merge-patch+json", 0) == 0) return docs.MergePatch(r.Capture(2), r.body, options);
  if (type.rfind("application/json-patch+json", 0) == 0) return docs.JsonPatch(r.Capture(2), r.body, options);
  return docs.Update(r.Capture(2), r.body, options);
}

Result<Json> Delete(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  DOTDO_ASSIGN_OR_RETURN(auto options, UpdateOptions(r));
  DOTDO_ASSIGN_OR_RETURN(bool hard, r.BoolParam("hard", false));
  DOTDO_RETURN_IF_ERROR(docs.Delete(r.Capture(2), {.hard = hard, .expected_version = options.expected_version}));
  return Json{{"deleted", r.Capture(2)}, {"hard", hard}};
}

Result<Json> History(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  DOTDO_ASSIGN_OR_RETURN(auto versions, docs.History(r.Capture(2)));
  return Json(versions);
}

Result<Json> RunQuery(ApiRequest& r, const DocumentQueryOptions& q) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  DOTDO_ASSIGN_OR_RETURN(auto page, docs.Query(q));
  return PageToJson(page);
}

Result<Json> Count(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  DOTDO_ASSIGN_OR_RETURN(Json where, r.JsonParam("where", Json::object()));
  DOTDO_ASSIGN_OR_RETURN(int64_t n, docs.Count(r.Capture(2), where));
  return Json{{"count", n}};
}

Result<Json> CreateIndex(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  if (!b.contains("path") || !b["path"].is_string()) return InvalidArgumentError("the body must be {\"path\": \"...\"}");
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, Docs(r));
  const std::string path = b["path"].get<std::string>();
  DOTDO_RETURN_IF_ERROR(docs.CreateIndex(r.Capture(2), path));
  return Json{{"type", r.Capture(2)}, {"path", path}, {"index", "ready"}};
}

}  // namespace

void InstallDocumentRoutes(RouteTable& t) {
  const std::string id = "/([A-Za-z0-9_.:@~+=-]+)";
  t.Add({.method = "POST", .pattern = kDocs, .role = TokenRole::kWrite, .body = BodyKind::kJson, .create_ns = true,
         .success_status = 201, .handler = Create});
  t.Add({.method = "POST", .pattern = kDocs + "/batch", .role = TokenRole::kWrite, .body = BodyKind::kJson,
         .create_ns = true, .success_status = 201, .handler = CreateBatch});
  t.Add({.method = "GET", .pattern = kDocs + id + "/history", .handler = History});
  t.Add({.method = "GET", .pattern = kDocs + id, .handler = Get});
  t.Add({.method = "PUT", .pattern = kDocs + id, .role = TokenRole::kWrite, .body = BodyKind::kJson, .handler = Replace});
  t.Add({.method = "PATCH", .pattern = kDocs + id, .role = TokenRole::kWrite, .body = BodyKind::kJson, .handler = Patch});
  t.Add({.method = "DELETE", .pattern = kDocs + id, .role = TokenRole::kWrite, .handler = Delete});
  t.Add({.method = "GET", .pattern = kTypes + "/docs", .handler = [](ApiRequest& r) -> Result<Json> {
           DOTDO_ASSIGN_OR_RETURN(auto q, QueryFromParams(r, r.Capture(2)));
           return RunQuery(r, q);
         }});
  t.Add({.method = "GET", .pattern = kTypes + "/count", .handler = Count});
  t.Add({.method = "POST", .pattern = kTypes + "/indexes", .role = TokenRole::kAdmin, .body = BodyKind::kJson,
         .create_ns = true, .handler = CreateIndex});
  t.Add({.method = "POST", .pattern = std::string(kNsPrefix) + "/query", .body = BodyKind::kJson,
         .handler = [](ApiRequest& r) -> Result<Json> {
           DOTDO_ASSIGN_OR_RETURN(auto q, QueryFromBody(r));
           return RunQuery(r, q);
         }});
}

}  // namespace dotdo::internal
