// Internals shared by the DocumentStore files: the schema, per-Database state (the stats
// configuration cache), validation of ids/types/bodies, system fields, the change diff used for
// cdc.update events, and the stored-row representation.
//
// Invariants (see docs/formats/document.md):
//   1. doc_documents holds exactly one row per id that has ever been created and not hard-deleted;
//      `deleted = 1` marks a soft-deleted document (a tombstone carrying the last live body).
//   2. For every id, doc_history holds superseded versions with valid_from <= valid_to, and the
//      versions of history + the current row are consecutive from the oldest kept one.
//   3. A document row, its history row and its outbox event are written in one transaction.
//   4. Bloom filters and min/max cover every value ever written for a configured (type, path) since
//      it was configured: stale positives are allowed, false negatives never.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/store_scaffold.h"
#include "core/database_internals.h"
#include "core/filter_compiler.h"
#include "core/read_snapshot.h"
#include "core/json_path.h"
#include "dotdo/document.h"

namespace dotdo::internal {

// Per-Database state of the DocumentStore: the schema flag and the cached list of (type -> paths)
// with configured stats. The cache is dropped on any rollback (it is reloaded on next use), so it
// never claims a configuration that did not commit for longer than the failed transaction.
class DocumentState final : public TransactionObserver {
 public:
  explicit DocumentState(Database& db);
  ~DocumentState() override;

  static Result<DocumentState*> Of(Database& db);
  // For reads, which never create tables: nullptr when the namespace has no document tables (every
  // read then answers as for an empty store).
  static Result<DocumentState*> ForRead(Database& db);

  // Paths with stats configured for `type` (canonical dotted form). REQUIRES: connection lock held.
  Result<const std::vector<std::string>*> StatsPaths(std::string_view type);
  void InvalidateStatsCache();
  // An expression index on a path of one type. `multikey`: some live document of the type has (or
  // had: the flag is sticky) an array on the path, so filters on it cannot be served by the index.
  struct Index {
    std::string name;
    bool multikey = false;
  };
  // The indexes of `type` by path (canonical dotted form). REQUIRES: connection lock held.
  Result<const std::map<std::string, Index>*> Indexes(std::string_view type);
  // The paths of `type`'s indexes that are not multikey: no live document has an array on them,
  // so filters compile to plain comparisons there (CompileFilter's scalar_paths).
  Result<const std::set<std::string>*> ScalarIndexPaths(std::string_view type);
  void InvalidateIndexCache();

  void OnBegin(int) override {}
  void OnRollback(int) override {
    InvalidateStatsCache();
    InvalidateIndexCache();
  }
  void OnRelease(int) override {}
  void OnCommit() override {}

 private:
  Database& db_;
  bool stats_loaded_ = false;
  std::map<std::string, std::vector<std::string>, std::less<>> stats_paths_;
  bool indexes_loaded_ = false;
  std::map<std::string, std::map<std::string, Index>, std::less<>> indexes_;
  std::map<std::string, std::set<std::string>, std::less<>> scalar_paths_;
};

// The document store's name, table prefix and migrations.
extern const StoreSpec kDocumentSpec;

// Marks the indexes of `type` on which `doc` puts an array as multikey. Called with every write
// of a live document, in its transaction.
Status NoteIndexArrays(Database& db, std::string_view type, const Json& doc);

// The current row of one id.
struct StoredRow {
  int64_t seq = 0;
  std::string type;
  int64_t version = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  bool deleted = false;
  Json doc;  // the whole document, system fields included
};

// Loads the current row of `id` (live or tombstone); nullopt when there is none.
Result<std::optional<StoredRow>> LoadRow(Connection& conn, std::string_view id);

// A superseded version as doc_history keeps it.
struct HistoryRow {
  int64_t version = 0;
  int64_t valid_from = 0;
  int64_t valid_to = 0;
  bool deleted = false;
  Json doc;
};

// The document rows the tiering layer (src/tiering) moved out of doc_documents / doc_history into
// warm files. A row is in exactly one place: the move deletes the hot rows in the transaction that
// registers the file, and bringing a row back hot masks its warm copy in the same transaction, so
// no read ever sees it twice. Installed per Database by Tiering::Attach.
class DocumentTier {
 public:
  virtual ~DocumentTier() = default;
  // The current row of `id` (live or tombstone), hot or moved, read in one snapshot; nullopt when
  // there is none.
  virtual Result<std::optional<StoredRow>> Current(std::string_view id) = 0;
  // The moved superseded versions of `id`, any order.
  virtual Result<std::vector<HistoryRow>> History(std::string_view id) = 0;
  // Moves the current row of `id` back into doc_documents (same seq) when it is warm; a no-op
  // otherwise. REQUIRES: inside the write's transaction.
  virtual Status BringBack(std::string_view id) = 0;
  // A hard delete: hides every moved row of `id`. REQUIRES: inside a transaction.
  virtual Status Forget(std::string_view id) = 0;
  // PruneHistory(before): hides moved versions with valid_to <= before. REQUIRES: in a transaction.
  virtual Status PruneHistory(int64_t before) = 0;
  // The largest seq ever moved (0 when none): new rows must get a larger one.
  virtual Result<int64_t> SeqFloor() = 0;
  // Stages the moved live rows of `type` that may match `terms` in temp.doc_warm and returns the
  // SQL source "(SELECT ... UNION ALL ...)" that reads hot and staged rows like doc_documents, or
  // an empty string when no warm file can hold a match (then the hot table alone answers).
  virtual Result<std::string> StageQuery(std::string_view type, const std::vector<PrunableTerm>& terms) = 0;
  // The number of moved live rows of `type` when no file has to be opened for it (no filter and
  // no masked rows), else nullopt.
  virtual Result<std::optional<int64_t>> CountWithoutFiles(std::string_view type) = 0;
};

// The tier of db's documents: nullptr when none of them ever moved. kFailedPrecondition when rows
// were moved but no tier is attached to this Database (reading without it would miss them).
Result<DocumentTier*> TierOf(Database& db);
// Installs (or with nullptr removes) the tier of db. REQUIRES: tier outlives its installation.
void SetDocumentTier(Database& db, DocumentTier* tier);

// Loads the current row of `id` for a write: a warm row is brought back hot first.
// REQUIRES: inside the write's transaction.
Result<std::optional<StoredRow>> LoadRowForWrite(Database& db, Connection& conn, std::string_view id);

// $type is a type name, $id a record id (core/names.h), named "$type" / "$id" in messages.
Status ValidateType(std::string_view type);
Status ValidateId(std::string_view id);

// A stored body (json(data) of a row) parsed back; text that does not parse is kDataLoss
// "<what> is not valid JSON ...".
Result<Json> ParseStoredDocument(std::string_view text, std::string_view what);

// Checks that `doc` is an object whose top-level `$` keys are only system fields.
Status ValidateBody(const Json& doc);
// The document without its system fields.
Json BodyOf(const Json& doc);
// Writes the five system fields into `doc`.
void SetSystemFields(Json& doc, std::string_view id, std::string_view type, int64_t version, int64_t created_at,
                     int64_t updated_at);
bool IsSystemField(std::string_view key);

// Nested partial objects holding only what differs between two documents: keys only in `a` go to
// `before` (removed), keys only in `b` to `after` (added), changed leaves (or arrays) to both, and
// a key whose value is an object on both sides to both as the nested diff, even when one side of
// it is empty (docs/formats/cdc.md, "Update diffs": the events alone rebuild every document).
void DiffObjects(const Json& a, const Json& b, Json& before, Json& after);

}  // namespace dotdo::internal
