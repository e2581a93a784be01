// `dotdo doc ...`: the DocumentStore from the shell. Documents and filters are JSON arguments
// (literal text, `@file`, or `-` for stdin); results are JSON on stdout.
#include <charconv>
#include <memory>

#include "cli.h"
#include "dotdo/document.h"

namespace dotdo::cli {
namespace {

struct DocArgs {
  std::string id;
  std::string body;
  std::string type;
  std::string where = "{}";
  std::vector<std::string> sort;
  std::vector<std::string> fields;
  std::string cursor;
  int64_t limit = 100;
  int64_t expect_version = -1;
  bool hard = false;
  bool merge = false;
  bool patch = false;
  bool replace = false;
  std::string at;
  std::string path;
};

Result<Json> ReadJson(std::string_view what, const std::string& arg) {
  DOTDO_ASSIGN_OR_RETURN(auto text, ReadArgText(arg));
  return ParseJsonArg(what, text);
}

Result<Json> ReadDocument(const std::string& arg) {
  DOTDO_ASSIGN_OR_RETURN(auto text, ReadArgText(arg));
  return ParseDocument(text);
}

std::optional<int64_t> ExpectedVersion(const DocArgs& a) {
  if (a.expect_version < 0) return std::nullopt;
  return a.expect_version;
}

// "path" or "path:desc" / "path:asc".
Result<DocumentSortKey> ParseSortKey(const std::string& text) {
  DocumentSortKey key;
  auto colon = text.rfind(':');
  key.path = text.substr(0, colon);
  if (colon != std::string::npos) {
    std::string dir = text.substr(colon + 1);
    if (dir == "desc") key.descending = true;
    else if (dir != "asc") {
      return InvalidArgumentError("sort '" + text + "': direction must be 'asc' or 'desc'");
    }
  }
  if (key.path.empty()) return InvalidArgumentError("sort '" + text + "' has an empty path");
  return key;
}

// ISO 8601 ("2026-11-25T09:00:00Z") or unix milliseconds.
Result<int64_t> ParseTime(const std::string& text) {
  int64_t millis = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), millis);
  if (ec == std::errc() && end == text.data() + text.size()) {
    DOTDO_RETURN_IF_ERROR(ValidateTimestampMillis(millis, "time"));
    return millis;
  }
  auto parsed = ParseIso8601(text);
  if (!parsed.ok()) {
    return InvalidArgumentError("time '" + text + "' is neither unix milliseconds nor ISO 8601 (" +
                                parsed.status().message() + ")");
  }
  return *parsed;
}

Result<Json> RunCreate(Context& ctx, const DocArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, ctx.Documents());
  DOTDO_ASSIGN_OR_RETURN(auto doc, ReadDocument(a.body));
  return a.replace ? docs.Upsert(std::move(doc)) : docs.Create(std::move(doc));
}

Result<Json> RunUpdate(Context& ctx, const DocArgs& a) {
  if (a.merge + a.patch > 1) return InvalidArgumentError("--merge-patch and --json-patch are exclusive");
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, ctx.Documents(/*create=*/false));

  DocumentUpdateOptions options{.expected_version = ExpectedVersion(a)};
  if (a.replace) {
    DOTDO_ASSIGN_OR_RETURN(auto doc, ReadDocument(a.body));
    return docs.Replace(a.id, std::move(doc), options);
  }
  DOTDO_ASSIGN_OR_RETURN(auto ops, ReadJson("update", a.body));
  if (a.merge) return docs.MergePatch(a.id, ops, options);
  if (a.patch) return docs.JsonPatch(a.id, ops, options);
  return docs.Update(a.id, ops, options);
}

Result<Json> RunDelete(Context& ctx, const DocArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, ctx.Documents(/*create=*/false));

  DOTDO_RETURN_IF_ERROR(docs.Delete(a.id, DocumentDeleteOptions{.hard = a.hard, .expected_version = ExpectedVersion(a)}));
  return Json{{"deleted", a.id}, {"hard", a.hard}};
}

Result<Json> RunQuery(Context& ctx, const DocArgs& a, bool count_only) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, ctx.Documents(/*create=*/false));

  DocumentQueryOptions q;
  q.type = a.type;
  DOTDO_ASSIGN_OR_RETURN(q.where, ReadJson("--where", a.where));
  if (count_only) {
    DOTDO_ASSIGN_OR_RETURN(auto n, docs.Count(q.type, q.where));
    return Json{{"count", n}};
  }
  for (const auto& s : a.sort) {
    DOTDO_ASSIGN_OR_RETURN(auto key, ParseSortKey(s));
    q.sort.push_back(std::move(key));
  }
  q.limit = a.limit;
  q.cursor = a.cursor;
  q.projection = a.fields;
  DOTDO_ASSIGN_OR_RETURN(auto page, docs.Query(q));
  return PageToJson(page);
}

void AddIdArg(CLI::App* cmd, DocArgs& a) { cmd->add_option("id", a.id, "Document $id")->required(); }
void AddVersionArg(CLI::App* cmd, DocArgs& a) {
  cmd->add_option("--expect-version", a.expect_version,
                  "Fail with a conflict (exit 4) unless the stored $version equals this")
      ->check(CLI::NonNegativeNumber);
}
void AddPageArgs(CLI::App* cmd, DocArgs& a) {
  cmd->add_option("--limit", a.limit, "Page size, 1..1000 (default 100)")->check(CLI::Range(1, 1000));
  cmd->add_option("--cursor", a.cursor, "next_cursor of the previous page");
}

const CommandGroup kDocCommands(10, [](CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DocArgs>();
  auto* doc = app.add_subcommand("doc", "DocumentStore: JSON documents by $type and $id");
  doc->require_subcommand(1);

  auto* create = doc->add_subcommand("create", "Create a document ($type required, $id optional)");
  create->add_option("document", a->body, "JSON object, @file or - for stdin")->required();
  create->add_flag("--upsert", a->replace, "Replace the document when its $id exists");
  create->callback([&ctx, a] { ctx.Finish(RunCreate(ctx, *a)); });

  auto* get = doc->add_subcommand("get", "Get a live document by $id");
  AddIdArg(get, *a);
  get->callback([&ctx, a] {
    auto docs = ctx.Documents(/*create=*/false);
    if (!docs.ok()) return ctx.Fail(docs.status());
    ctx.Finish(docs->Get(a->id));
  });

  auto* update = doc->add_subcommand(
      "update", "Update a document: {\"$set\":{..},\"$unset\":{..},\"$inc\":{..}}, or --merge / --patch / --replace");
  AddIdArg(update, *a);
  update->add_option("changes", a->body, "JSON, @file or - for stdin")->required();
  update->add_flag("--merge-patch,--merge", a->merge, "Apply a JSON Merge Patch (RFC 7386); --merge is the old spelling");
  update->add_flag("--json-patch,--patch", a->patch, "Apply a JSON Patch (RFC 6902); --patch is the old spelling");
  update->add_flag("--replace", a->replace, "Replace the whole body");
  AddVersionArg(update, *a);
  update->callback([&ctx, a] { ctx.Finish(RunUpdate(ctx, *a)); });

  auto* del = doc->add_subcommand("delete", "Delete a document (soft: history keeps it; --hard removes all)");
  AddIdArg(del, *a);
  del->add_flag("--hard", a->hard, "Remove the document and its history");
  AddVersionArg(del, *a);
  del->callback([&ctx, a] { ctx.Finish(RunDelete(ctx, *a)); });

  auto* query = doc->add_subcommand("query", "Query documents of a type with a filter, sort and projection");
  query->add_option("--type", a->type, "$type to query")->required();
  query->add_option("--where", a->where,
                    "Filter JSON, e.g. '{\"age\":{\"$gte\":18}}' (operators $eq $ne $gt $gte $lt $lte $in $nin "
                    "$exists $like $and $or $not)");
  query->add_option("--sort", a->sort, "Sort term path[:asc|:desc]; repeatable");
  query->add_option("--fields", a->fields, "Project these paths; repeatable")->delimiter(',');
  AddPageArgs(query, *a);
  query->callback([&ctx, a] { ctx.Finish(RunQuery(ctx, *a, /*count_only=*/false)); });

  auto* count = doc->add_subcommand("count", "Count documents of a type matching a filter");
  count->add_option("--type", a->type, "$type to count")->required();
  count->add_option("--where", a->where, "Filter JSON (as for query)");
  count->callback([&ctx, a] { ctx.Finish(RunQuery(ctx, *a, /*count_only=*/true)); });

  auto* list = doc->add_subcommand("list", "List documents of a type in insertion order");
  list->add_option("--type", a->type, "$type to list")->required();
  AddPageArgs(list, *a);
  list->callback([&ctx, a] {
    auto docs = ctx.Documents(/*create=*/false);
    if (!docs.ok()) return ctx.Fail(docs.status());
    auto page = docs->List(a->type, a->limit, a->cursor);
    if (!page.ok()) return ctx.Fail(page.status());
    ctx.Finish(PageToJson(*page));
  });

  auto* index = doc->add_subcommand("index", "Create an expression index on a path of a type");
  index->add_option("--type", a->type, "$type")->required();
  index->add_option("path", a->path, "Dotted path, e.g. address.city")->required();
  index->callback([&ctx, a] {
    auto docs = ctx.Documents();
    if (!docs.ok()) return ctx.Fail(docs.status());
    Status st = docs->CreateIndex(a->type, a->path);
    if (!st.ok()) return ctx.Fail(st);
    ctx.Print(Json{{"type", a->type}, {"path", a->path}, {"index", "ready"}});
  });

  auto* history = doc->add_subcommand("history", "Every recorded version of a document, oldest first");
  AddIdArg(history, *a);
  history->callback([&ctx, a] {
    auto docs = ctx.Documents(/*create=*/false);
    if (!docs.ok()) return ctx.Fail(docs.status());
    auto versions = docs->History(a->id);
    if (!versions.ok()) return ctx.Fail(versions.status());
    ctx.Print(Json(*versions));
  });

  auto* as_of = doc->add_subcommand("get-as-of", "The document as it was at a time (ISO 8601 or unix ms)");
  AddIdArg(as_of, *a);
  as_of->add_option("time", a->at, "e.g. 2026-11-25T09:00:00Z or 1795597200000")->required();
  as_of->callback([&ctx, a] {
    auto at = ParseTime(a->at);
    if (!at.ok()) return ctx.Fail(at.status());
    auto docs = ctx.Documents(/*create=*/false);
    if (!docs.ok()) return ctx.Fail(docs.status());
    ctx.Finish(docs->GetAsOf(a->id, *at));
  });
});

}  // namespace
}  // namespace dotdo::cli
