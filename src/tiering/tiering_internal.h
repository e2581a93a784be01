// Internals of tiering: the accelerator tables (schema component "tiering"), the per-Database tier
// state that serves DocumentStore reads (internal::DocumentTier), and the Parquet layout of a
// document file. Layout and invariants: docs/formats/tiering.md.
//
// Invariants:
//   1. A document row is in exactly one place: doc_documents/doc_history, or an unmasked row of a
//      registered file. Registration + hot delete, and bring-back + mask, are single transactions.
//   2. tier_moves lists every object key that may exist without being registered (a file being
//      written, or replaced by a compaction); Run removes those objects before anything else.
//   3. tier_state('epoch') changes with every transaction that changes tier_files/tier_masks, so a
//      cached view is reloaded when it differs (and on any rollback).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "columnar/sketches.h"
#include "core/database_internals.h"
#include "document/document_internal.h"
#include "document/document_stats.h"
#include "dotdo/object_store.h"
#include "dotdo/tiering.h"
#include "tiering/duck_session.h"
#include "tiering/iceberg_table.h"
#include "tiering/tierable_store.h"

namespace dotdo::tiering {

inline constexpr std::string_view kComponent = "tiering";
Status EnsureTieringSchema(Database& db);

// The system columns of a document file, in order; typed hot-path columns follow (named by their
// path). `_current` rows are current rows (valid_to null); the others superseded versions of the
// same ids. (src/tiering/document_tierable.cc)
const std::vector<TierColumn>& DocumentSystemColumns();
// "<quoted name> <type>, ..." for CREATE TABLE.
std::string ColumnsDdl(const std::vector<TierColumn>& columns);
// The select list that reads a row back in the order RowFrom() expects.
inline constexpr std::string_view kRowSelect =
    "_seq, \"$id\", \"$type\", \"$version\", epoch_ms(\"$createdAt\"), epoch_ms(\"$updatedAt\"), _deleted, "
    "_current, _valid_from, _valid_to, doc::VARCHAR";

// One row of a document file.
struct FileRow {
  int64_t seq = 0;
  std::string id, type;
  int64_t version = 0, created_at = 0, updated_at = 0;
  bool deleted = false, current = false;
  int64_t valid_from = 0, valid_to = 0;  // valid_to 0 for current rows
  std::string doc;                       // JSON text
};
FileRow RowFrom(const DuckResult& r, size_t row);

// A registered file as the accelerator describes it.
struct FileEntry {
  int64_t file_id = 0;
  TierFileInfo info;
  int64_t max_seq = 0;
  internal::BloomFilter id_bloom{1};
  struct PathEntry {
    internal::PathStats stats;
    internal::BloomFilter bloom{1};
  };
  std::map<std::string, PathEntry> paths;  // configured paths of the type when the file was written
};

inline constexpr std::string_view kTierWarm = "warm";
inline constexpr std::string_view kTierCold = "cold";
// Marks the file's tier as touched in the thread's read report.
void NoteTier(const FileEntry& f);

// The bloom hash of an id and of a path value (same canonical keys as the document stats).
uint64_t IdHash(std::string_view id);
uint64_t ValueHash(std::string_view bloom_key);

// Per-Database state: the object store, DuckDB, the cached accelerator and the staged rows.
class TierState final : public internal::DocumentTier, public internal::TransactionObserver {
 public:
  TierState(Database& db, ObjectStore& objects);
  ~TierState() override;

  Database& db() { return db_; }
  ObjectStore& objects() { return objects_; }
  DuckSession& duck() { return *duck_; }
  Status OpenDuck();

  // A local filesystem path DuckDB can read the object from (downloaded to a cache when the store
  // is not local).
  Result<std::string> LocalFile(const TierFileInfo& file);
  // The registered files (reloaded when the epoch changed). REQUIRES: connection lock held.
  Result<const std::vector<FileEntry>*> Files();
  Status BumpEpoch();  // REQUIRES: inside a transaction
  Result<int64_t> StateValue(std::string_view key);
  Status SetStateValue(std::string_view key, int64_t value);  // REQUIRES: inside a transaction

  // DocumentTier
  Result<std::optional<internal::StoredRow>> Current(std::string_view id) override;
  Result<std::vector<internal::HistoryRow>> History(std::string_view id) override;
  Status BringBack(std::string_view id) override;
  Status Forget(std::string_view id) override;
  Status PruneHistory(int64_t before) override;
  Result<int64_t> SeqFloor() override;
  Result<std::string> StageQuery(std::string_view type, const std::vector<internal::PrunableTerm>& terms) override;
  Result<std::optional<int64_t>> CountWithoutFiles(std::string_view type) override;

  // TransactionObserver
  void OnBegin(int) override {}
  void OnRollback(int) override;
  void OnRelease(int) override {}
  void OnCommit() override {}

 private:
  // The unmasked current row of id in the warm files, with its file.
  Result<std::optional<std::pair<const FileEntry*, FileRow>>> FindWarmCurrent(std::string_view id);
  Result<std::vector<FileRow>> ReadRowsById(const FileEntry& f, std::string_view id);
  Result<int> MaskOf(int64_t file_id, std::string_view id);  // -1 none, 0 current, 1 all rows

  Database& db_;
  ObjectStore& objects_;
  std::unique_ptr<DuckSession> duck_;
  int64_t epoch_ = -1;
  std::vector<FileEntry> files_;
  std::map<int64_t, int64_t> mask_counts_;  // file_id -> masked ids
  bool staged_valid_ = false;
  std::set<int64_t> staged_;  // file ids whose live rows are in temp.doc_warm
};

// The thread's report of its last tiered read.
TierReadReport& ThreadReport();

}  // namespace dotdo::tiering

namespace dotdo {

class Tiering::Impl {
 public:
  Impl(Database& db, ObjectStore& objects, TieringOptions options)
      : db(db), options(std::move(options)), state(db, objects) {}
  ~Impl() { internal::SetDocumentTier(db, nullptr); }
  Database& db;
  TieringOptions options;
  tiering::TierState state;
  // One per registered store (tierable_store.h), built at Attach.
  std::vector<std::unique_ptr<tiering::TierableStore>> stores;
  tiering::TierableStore* Store(std::string_view name) {
    for (auto& s : stores)
      if (s->Name() == name) return s.get();
    return nullptr;
  }
  // The DocumentStore's cold-tier table, loaded (or created) on first use.
  std::optional<tiering::IcebergTable> cold_documents;
};

}  // namespace dotdo
