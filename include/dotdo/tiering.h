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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/cdc.h"
#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/object_store.h"
#include "dotdo/status.h"

namespace dotdo {

// Which rows a Run moves. A document moves when it was last written at least `min_age_millis`
// before `now`, or when its type holds more than `max_hot_documents` hot documents (the least
// recently written move first, down to the cap).
struct TieringPolicy {
  // The store whose rows move: "document", or another registered tiering::TierableStore.
  std::string store = "document";
  // One `$type`, or empty for every type of the store. Default every type.
  std::string type;
  // Minimum age of the last write, ms; -1 = no age rule. Default 30 days.
  int64_t min_age_millis = int64_t{30} * 24 * 3600 * 1000;
  // Hot documents kept per type; -1 = no cap. Default -1. Over the cap, the least recently accessed
  // go first (last write, or last read where reads are tracked; see min_idle_millis).
  int64_t max_hot_documents = -1;
  // Minimum time since the last access of a document: its last write, or its last read through
  // DocumentStore::Get, Query or List; -1 = no idle rule. Default -1. The rules of a policy are
  // alternatives (a document any of them selects moves), so an idle-only policy sets min_age_millis
  // to -1. Reads are recorded once the namespace tracks them: the first Run of a policy with this
  // rule turns tracking on (persisted, so every process that opens the namespace records reads from
  // then on), and the rule selects nothing until tracking has covered min_idle_millis
  // (TieringRunStats::reads_tracked_since says since when).
  int64_t min_idle_millis = -1;
  // Warm files of the type written at least this long before `now` move to the cold tier (the
  // store's Iceberg table); -1 = never. Default -1.
  int64_t cold_after_millis = -1;
};

struct TieringOptions {
  // Default: one policy with the defaults above.
  std::vector<TieringPolicy> policies = {TieringPolicy{}};
  // Documents per warm file, 1..1,000,000. Default 100,000.
  int64_t max_documents_per_file = 100000;
  // A partition (type, day) with more warm files than this is compacted by Compact(). 1..1000.
  // Default 8.
  int64_t max_files_per_partition = 8;
  // The URI the object store's keys are read under by other engines, ending in '/', e.g.
  // "s3://bucket/namespaces/acme/": the cold tier's Iceberg metadata records data file paths as this
  // + key. Default: for a LocalObjectStore "file://<root>/data/"; otherwise "dotdo-objects:///"
  // (readable through dotdo only).
  std::string cold_location_root;
};

struct TieringRunStats {
  int64_t documents_moved = 0;  // ids whose rows left the hot tier
  int64_t versions_moved = 0;   // superseded versions moved with them
  int64_t files_written = 0;
  int64_t bytes_written = 0;
  int64_t files_recovered = 0;  // unregistered files of an interrupted run that were removed
  int64_t files_compacted = 0;  // small files merged away by Compact
  int64_t skipped_changed = 0;  // documents written while their file was prepared (moved next time)
  int64_t files_to_cold = 0;    // warm files moved into the cold tier's Iceberg table
  int64_t bytes_to_cold = 0;
  // Since when the namespace records reads for the idle rule (ms); 0 = it does not.
  int64_t reads_tracked_since = 0;
};

struct TierFileInfo {
  std::string key;     // object key of the Parquet file
  std::string store;   // "document"
  std::string table;   // the `$type`
  std::string day;     // YYYY-MM-DD of `$createdAt`
  std::string tier;    // "warm" or "cold"
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
  int64_t cold_documents = 0;  // live, unmasked
  int64_t cold_files = 0;
  int64_t cold_bytes = 0;
};

// One snapshot of a store's cold-tier Iceberg table (time travel: Sql with cold_as_of_ms).
struct ColdSnapshot {
  int64_t snapshot_id = 0;
  int64_t timestamp_ms = 0;
  std::string operation;  // "append", ...
  int64_t files = 0;      // live data files in the snapshot
  int64_t records = 0;
};

// What ExpireColdSnapshots removed.
struct ColdExpireStats {
  int64_t snapshots_expired = 0;
  int64_t data_files_deleted = 0;      // files of expired snapshots no kept one lists (replaced by Compact)
  int64_t metadata_files_deleted = 0;  // their manifest lists and manifests
};

// What the calling thread's last tiered read touched (Get/Query/Count/History/GetAsOf of a
// DocumentStore whose Database has a Tiering).
struct TierReadReport {
  bool hot = false;
  bool warm = false;
  bool cold = false;
  int64_t files_read = 0;     // Parquet files opened
  int64_t files_skipped = 0;  // files the accelerator ruled out (partition, min/max, bloom)
};
DOTDO_EXPORT TierReadReport LastTierRead();

struct WarmSqlOptions {
  // Refuse results of more rows (kResourceExhausted). Default 10,000.
  int64_t max_rows = 10000;
  // Interrupt the statement after this long (kDeadlineExceeded). Default 5 s.
  int64_t timeout_ms = 5000;
  // Tiers the views cover: "warm" and/or "cold". Default warm only.
  std::vector<std::string> tiers = {"warm"};
  // Cold tier as of this time (ms): the files of the Iceberg snapshot current then, rows masked
  // since included (the table as it was committed). Default: the current snapshot, masks applied.
  std::optional<int64_t> cold_as_of_ms;
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
  // Merges the files of a partition with more than max_files_per_partition files (masked rows dropped)
  // into as few as max_documents_per_file allows; cold partitions with masked rows are rewritten too.
  Result<TieringRunStats> Compact();
  // Per (store, table): hot and warm documents, files and bytes (`dotdo tier status`).
  Result<std::vector<TierTableStatus>> Tables();
  // The registered files, by table then day then key; `table` empty = every table.
  Result<std::vector<TierFileInfo>> Files(std::string_view table = "");
  // The snapshots of the store's cold-tier Iceberg table, oldest first (none before the first
  // cold move). store: "document".
  Result<std::vector<ColdSnapshot>> ColdSnapshots(std::string_view store = "document");
  // Drops the cold table's snapshots committed before `older_than_ms`, keeping the current one and
  // the newest `retain_last` (>= 1, else kInvalidArgument), then deletes the files no kept snapshot
  // lists: data files that Compact replaced, manifests, manifest lists. Time travel (Sql with
  // cold_as_of_ms) before the oldest kept snapshot then finds no snapshot. No table yet: nothing.
  Result<ColdExpireStats> ExpireColdSnapshots(int64_t older_than_ms, int retain_last = 1);

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

struct IcebergEventSinkOptions {
  // The table's key prefix in the object store. Default "cold/events".
  std::string prefix = "cold/events";
  // Like TieringOptions::cold_location_root: the URI other engines read the store's keys under.
  std::string location_root;
  // Checkpoint name. Default "iceberg:<prefix>".
  std::string name;
};

// A CDC sink that archives a namespace's change events into an Apache Iceberg table on its object
// store (the seed's pipeline to R2), partitioned by event type and UTC day:
//   <prefix>/data/type=<type>/dt=<YYYY-MM-DD>/part-<ULID>.parquet   (zstd, via DuckDB)
//   columns lsn, id, type, ts (timestamp), ns, store, table, key, op, event (the whole event as JSON)
// Each Write is one Iceberg append whose snapshot summary records the namespace and the batch's
// last lsn, so the table itself says what it durably holds: Recover() reads it back from the current
// snapshot (exactly once with the pipeline's checkpoint, whichever side a crash interrupted), and
// removes data files of appends that never committed.
//
// Thread-safety: not thread-safe; owned by one pipeline. The ObjectStore must outlive the sink.
class DOTDO_EXPORT IcebergEventSink final : public CdcSink {
 public:
  // Loads the table, creating it when missing. kInvalidArgument for a bad prefix or location.
  static Result<std::unique_ptr<IcebergEventSink>> Open(ObjectStore& objects, IcebergEventSinkOptions options = {});
  ~IcebergEventSink() override;

  std::string Name() const override;
  Result<std::optional<int64_t>> Recover() override;
  Status Write(const std::vector<UnifiedEvent>& events) override;
  // kFailedPrecondition when the table holds another namespace's events.
  Status Claim(std::string_view ns) override;

  class Impl;

 private:
  explicit IcebergEventSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dotdo
