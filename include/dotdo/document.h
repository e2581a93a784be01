// DocumentStore: schema-free JSON documents in one namespace (the seed's DocumentStore). Documents
// are stored as SQLite JSONB, keyed by `$id` (unique in the namespace) and grouped by `$type`. Every
// write bumps `$version`, records the previous version in the history table (time travel with
// GetAsOf) and appends its change event (`cdc.insert` / `cdc.update` / `cdc.delete`, store
// "document", table = `$type`, key = `$id`) to the outbox in the same transaction.
//
// System fields, maintained by the store (ignored when a caller supplies them, except `$id` and
// `$type`): `$id` (ULID when not given), `$type`, `$createdAt` and `$updatedAt` (ISO 8601 UTC),
// `$version` (1 on create, +1 on every write). Other top-level keys starting with `$` are reserved.
//
// Paths ("address.city", "tags.0") follow the JsonPath grammar of src/core/json_path.h; queries are
// compiled to SQL with bound parameters and only our canonical rendering of validated paths ever
// reaches SQL text. The tables are documented in docs/formats/document.md.
//
// Thread-safety: a DocumentStore is a light handle (a reference to the Database plus options); it
// may be used from several threads, calls serialize on the Database. Per-Database state (schema,
// stats configuration) lives in a Database extension, so constructing a store is cheap.
// Ownership: the Database must outlive every DocumentStore bound to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/page.h"
#include "dotdo/status.h"

namespace dotdo {

struct DocumentStoreOptions {
  // Largest accepted document, measured as its compact JSON text including system fields.
  // Larger documents are kResourceExhausted. Default 1 MiB.
  size_t max_document_bytes = 1 << 20;
  // History retention used by PruneHistory() without an argument: versions superseded more than
  // this many milliseconds ago are removed. Default -1: keep every version forever.
  int64_t history_retention_millis = -1;
  // Size of the bloom filter ConfigureStats creates, in 512-bit blocks (64 bytes each). One block is
  // written per new value, never the whole filter. Default 1024 blocks (64 KiB, about 1% false
  // positives at 50,000 distinct values). Fixed per (type, path) when it is configured.
  int64_t bloom_blocks = 1024;
};

// One ORDER BY term of a query.
struct DocumentSortKey {
  std::string path;         // a JsonPath, or "$id" / "$type" / "$version" / "$createdAt" / "$updatedAt"
  bool descending = false;  // default ascending
};

struct DocumentQueryOptions {
  // Only documents of this `$type`. REQUIRES: non-empty, [A-Za-z_][A-Za-z0-9_]{0,127}.
  std::string type;
  // Filter: {"age": {"$gte": 18}, "name": "Ada", "$or": [...], "$and": [...], "$not": {...}}.
  // Operators: $eq $ne $gt $gte $lt $lte $in $nin $exists $like; a bare value means $eq.
  // Default: every document of the type.
  Json where = Json::object();
  // Sort terms; ties (and an empty sort) are broken by insertion order. Default: insertion order.
  std::vector<DocumentSortKey> sort;
  // Page size, 1..1000. Default 100.
  int64_t limit = 100;
  // next_cursor of the previous page of the same query; empty for the first page. Default empty.
  std::string cursor;
  // Paths to return ($id and $type are always included); empty = whole documents. Default empty.
  std::vector<std::string> projection;
};

// A page of documents (dotdo/page.h).
using DocumentPage = Page<Json>;

struct DocumentUpdateOptions {
  // When set, the write fails with kAborted unless the stored `$version` equals it.
  std::optional<int64_t> expected_version;
};

struct DocumentDeleteOptions {
  // false (default): soft delete — Get reports kNotFound, History and GetAsOf keep the document.
  // true: the document and its whole history are removed (a cdc.delete event is still written).
  bool hard = false;
  // When set, the delete fails with kAborted unless the stored `$version` equals it.
  std::optional<int64_t> expected_version;
};

// Parses document text. Malformed JSON is kInvalidArgument naming the byte offset of the error;
// anything but an object, or nesting deeper than 64 levels, is kInvalidArgument too.
DOTDO_EXPORT Result<Json> ParseDocument(std::string_view text);

class DOTDO_EXPORT DocumentStore {
 public:
  // Opens the store on db: checks the options, creates or migrates the tables (and the outbox),
  // and returns the handle. Errors are returned: invalid options (kInvalidArgument), tables
  // written by a newer dotdo (kFailedPrecondition), I/O errors. REQUIRES: db outlives the store.
  static Result<DocumentStore> Open(Database& db, DocumentStoreOptions options = {});

  // A handle without checks: the tables are created on the first call, and any error that
  // creating them meets is that call's error. Prefer Open.
  explicit DocumentStore(Database& db, DocumentStoreOptions options = {});

  // Stores a new document. REQUIRES: doc is an object with a valid "$type". "$id" is generated
  // (ULID) when absent; a live document with that id is kAlreadyExists. Returns the stored document.
  Result<Json> Create(Json doc);

  // Stores several new documents in one transaction, all or nothing: each as Create would, in order.
  // Every document is validated before anything is written; an error names the failing document's
  // position ("document 3 of the batch: ..."). A duplicate `$id`, against the store or earlier in the
  // batch, is kAlreadyExists and nothing is stored. Returns the stored documents, in order. Inside a
  // caller's transaction it costs one savepoint for the whole batch instead of one per document.
  Result<std::vector<Json>> CreateMany(std::vector<Json> docs);

  // The live document; kNotFound when absent or soft-deleted.
  Result<Json> Get(std::string_view id);

  // Replaces the whole body (system fields are kept/maintained). `$type` may be omitted but not
  // changed; `$id`, when present, must equal id.
  Result<Json> Replace(std::string_view id, Json doc, DocumentUpdateOptions options = {});

  // Partial update on dotted paths: {"$set": {"a.b": 1}, "$unset": {"c": true}, "$inc": {"n": 2}}.
  // Unknown operators, bad or overlapping paths, system fields, and $inc on a non-number are
  // kInvalidArgument.
  Result<Json> Update(std::string_view id, const Json& ops, DocumentUpdateOptions options = {});

  // JSON Merge Patch (RFC 7386) applied to the body.
  Result<Json> MergePatch(std::string_view id, const Json& patch, DocumentUpdateOptions options = {});

  // JSON Patch (RFC 6902) applied to the body; all or nothing, in time linear in the operations.
  // A failing "test" operation is kFailedPrecondition, a malformed patch, a path that does not
  // exist or more than kMaxJsonPatchOperations operations is kInvalidArgument.
  static constexpr size_t kMaxJsonPatchOperations = 10000;
  Result<Json> JsonPatch(std::string_view id, const Json& patch, DocumentUpdateOptions options = {});

  // Creates the document when "$id" is absent or names no live document, else replaces it.
  Result<Json> Upsert(Json doc);

  // Soft delete by default (see DocumentDeleteOptions). kNotFound when there is no live document.
  Status Delete(std::string_view id, DocumentDeleteOptions options = {});

  // Live documents of `type` in insertion order, `limit` (1..1000) per page.
  Result<DocumentPage> List(std::string_view type, int64_t limit = 100, std::string_view cursor = "");

  // Number of live documents of `type` matching `where` (same language as DocumentQueryOptions::where).
  Result<int64_t> Count(std::string_view type, const Json& where = Json::object());

  // Filter, sort, keyset pagination and projection; see DocumentQueryOptions.
  Result<DocumentPage> Query(const DocumentQueryOptions& q);

  // SQLite's plan for the query (EXPLAIN QUERY PLAN details, one per line), or
  // "SKIP DOCUMENTS ..." when the stats prove nothing matches. For tuning indexes.
  Result<std::string> Explain(const DocumentQueryOptions& q);

  // Creates (idempotently) a SQLite expression index on `path` for documents of `type`, usable by
  // $eq, $gt/$gte/$lt/$lte, $in and sort on that path.
  Status CreateIndex(std::string_view type, std::string_view path);

  // Every recorded version of the document, oldest first, including soft deletes (an entry with
  // "$deleted": true). kNotFound when the id has no history (never existed, hard-deleted, pruned).
  Result<std::vector<Json>> History(std::string_view id);

  // The document as it was at `unix_millis`; kNotFound when it did not exist, was deleted at that
  // time, or that version has been pruned.
  Result<Json> GetAsOf(std::string_view id, int64_t unix_millis);

  // Starts (or rebuilds from the live documents) a bloom filter and numeric/string min/max for
  // `path` of `type`, maintained on every write and used by Query/Count to skip reading documents.
  Status ConfigureStats(std::string_view type, std::string_view path);

  // Removes history versions superseded before `before_unix_millis`; returns how many were removed.
  // The live version of a document is never removed.
  Result<int64_t> PruneHistory(int64_t before_unix_millis);
  // Same with the cutoff now - options.history_retention_millis; removes nothing when retention is
  // -1 (keep forever).
  Result<int64_t> PruneHistory();

  const DocumentStoreOptions& options() const { return options_; }

 private:
  struct StoredRowView {
    const std::string& type;
    int64_t version;
  };
  // Read-modify-write of a live document; `mutate` rewrites the body (document without system fields).
  Result<Json> WriteVersion(std::string_view id, const std::optional<int64_t>& expected_version,
                            const std::function<Status(const StoredRowView&, Json&)>& mutate);

  Database& db_;
  DocumentStoreOptions options_;
};

}  // namespace dotdo
