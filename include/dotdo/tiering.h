// Tiering: rows leave a namespace's SQLite file (hot) for Parquet files on its object store (warm)
// and reads fall through hot -> warm with the same answers as if nothing had moved. This release
// moves DocumentStore rows; the other stores plug into the same mover and file accelerator.
//
// How a move works (docs/formats/tiering.md): the policies select whole documents (the current row
// and every superseded version of an id) grouped by `$type` and UTC day of `$createdAt`; each group
// becomes one Parquet file (zstd) written through DuckDB at
//   documents/type=<T>/dt=<YYYY-MM-DD>/part-<ULID>.parquet
// then is verified (size and SHA-256 of the stored object, row count and checksums read back), and
// one SQLite transaction registers it in the accelerator (row counts, min/max, bloom filters) and
// deletes the hot rows. Every step is idempotent: a crash anywhere loses nothing and never shows a
// row twice (an unregistered file is removed by the next Run).
//
// Writing a moved document brings it back hot first (its warm copy is masked in the same
// transaction), so the write path and its CDC events are unchanged. Moving itself is not a change
// of any document and writes no change event.
//
// Thread-safety: a Tiering may be used from several threads; calls serialize on the Database.
// Ownership: the Database and the ObjectStore must outlive the Tiering; while it lives it is the
// tier every DocumentStore on the Database reads through.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/object_store.h"
#include "dotdo/status.h"

namespace dotdo {

// Which rows a Run moves. A document moves when it was last written at least `min_age_millis`
// before `now`, or when its type holds more than `max_hot_documents` hot documents (the least
// recently written move first, down to the cap).
struct TieringPolicy {
  // "document" (the only store that moves in this release).
  std::string store = "document";
  // One `$type`, or empty for every type of the store. Default every type.
  std::string type;
  // Minimum age of the last write, ms; -1 = no age rule. Default 30 days.
  int64_t min_age_millis = int64_t{30} * 24 * 3600 * 1000;
  // Hot documents kept per type; -1 = no cap. Default -1.
  int64_t max_hot_documents = -1;
};

struct TieringOptions {
  // Default: one policy with the defaults above.
  std::vector<TieringPolicy> policies = {TieringPolicy{}};
  // Documents per warm file, 1..1,000,000. Default 100,000.
  int64_t max_documents_per_file = 100000;
  // A partition (type, day) with more warm files than this is compacted by Compact(). 1..1000.
  // Default 8.
  int64_t max_files_per_partition = 8;
};

struct TieringRunStats {
  int64_t documents_moved = 0;  // ids whose rows left the hot tier
  int64_t versions_moved = 0;   // superseded versions moved with them
  int64_t files_written = 0;
  int64_t bytes_written = 0;
  int64_t files_recovered = 0;  // unregistered files of an interrupted run that were removed
  int64_t files_compacted = 0;  // small files merged away by Compact
  int64_t skipped_changed = 0;  // documents written while their file was prepared (moved next time)
};

struct TierFileInfo {
  std::string key;     // object key of the Parquet file
  std::string store;   // "document"
  std::string table;   // the `$type`
  std::string day;     // YYYY-MM-DD of `$createdAt`
  std::string tier;    // "warm"
  int64_t documents = 0;      // current rows (live and deleted)
  int64_t live = 0;           // current rows not deleted
  int64_t versions = 0;       // superseded versions
  int64_t masked = 0;         // rows hidden since (brought back hot or hard-deleted)
  int64_t bytes = 0;
  std::string sha256;
  int64_t created_at = 0;     // ms
};

struct TierTableStatus {
  std::string store;
  std::string table;
  int64_t hot_documents = 0;
  int64_t warm_documents = 0;  // live, unmasked
  int64_t warm_files = 0;
  int64_t warm_bytes = 0;
};

// What the calling thread's last tiered read touched (Get/Query/Count/History/GetAsOf of a
// DocumentStore whose Database has a Tiering).
struct TierReadReport {
  bool hot = false;
  bool warm = false;
  int64_t files_read = 0;     // Parquet files opened
  int64_t files_skipped = 0;  // files the accelerator ruled out (partition, min/max, bloom)
};
DOTDO_EXPORT TierReadReport LastTierRead();

struct WarmSqlOptions {
  // Refuse results of more rows (kResourceExhausted). Default 10,000.
  int64_t max_rows = 10000;
  // Interrupt the statement after this long (kDeadlineExceeded). Default 5 s.
  int64_t timeout_ms = 5000;
};

class DOTDO_EXPORT Tiering {
 public:
  // Checks the options, creates the accelerator tables when missing and installs the tier on db.
  // REQUIRES: db and objects outlive the result.
  static Result<std::unique_ptr<Tiering>> Attach(Database& db, ObjectStore& objects, TieringOptions options = {});
  ~Tiering();
  Tiering(const Tiering&) = delete;
  Tiering& operator=(const Tiering&) = delete;

  // Moves what the policies select at `now_millis` (first finishing or undoing an interrupted run).
  Result<TieringRunStats> Run(int64_t now_millis);
  // Merges the warm files of every partition with more than max_files_per_partition files (and
  // drops masked rows) into as few files as max_documents_per_file allows.
  Result<TieringRunStats> Compact();
  // Per (store, table): hot and warm documents, files and bytes (`dotdo tier status`).
  Result<std::vector<TierTableStatus>> Tables();
  // The registered files, by table then day then key; `table` empty = every table.
  Result<std::vector<TierFileInfo>> Files(std::string_view table = "");

  const TieringOptions& options() const;

  // One read-only SQL statement (SELECT or EXPLAIN) through DuckDB over the warm files of
  // `namespaces` (name -> its Tiering): each namespace is a schema with the views
  //   "<ns>".documents          live documents (system columns, typed hot-path columns, doc JSON)
  //   "<ns>".document_versions  every row, superseded versions included (_current, _valid_from/_to)
  // both without the rows masked since the move. Rows come back as JSON objects. Anything but one
  // SELECT/EXPLAIN is kInvalidArgument; DuckDB may read no file but those warm files.
  static Result<Json> Sql(const std::vector<std::pair<std::string, Tiering*>>& namespaces, std::string_view sql,
                          const WarmSqlOptions& options = {});

  class Impl;

 private:
  explicit Tiering(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dotdo
