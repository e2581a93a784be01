// TierableStore: what the mover asks of a store whose rows can leave the hot tier. The mover
// (src/tiering/mover.cc) knows no store: it asks each store which units of rows may move under a
// policy and their partition values, loads them as a batch that carries its Parquet schema and
// appends its own rows, then writes, verifies and registers the file, and in the registering
// transaction has the store delete the hot rows of the units that did not change since they were
// loaded. Reads that fall through to the files stay the store's own business (the DocumentStore's
// are in tier_state.cc); the accelerator rows (tier_files, tier_blooms, tier_masks) carry the
// store's name so every store sees only its files.
//
// A store plugs in by registering a factory (RegisterTierableStore) before Tiering::Attach; Attach
// builds one instance per Tiering, and a policy names the store by TierableStore::Name().
// "How to add a store" in docs/architecture.md lists the steps.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "document/document_stats.h"
#include "dotdo/database.h"
#include "dotdo/tiering.h"
#include "tiering/duck_session.h"

namespace dotdo::tiering {

class TierState;
struct FileEntry;

// One unit that moves together (for documents: an id's current row and its superseded versions),
// with its partition values: the file key is <prefix>/type=<table>/dt=<day>/part-<ULID>.parquet.
struct MovableUnit {
  std::string key;  // the unit's id, recorded in the file's id bloom and in masks
  std::string day;  // YYYY-MM-DD
};

// A column of a store's Parquet file: its name and DuckDB type (BIGINT, DOUBLE, BOOLEAN, VARCHAR,
// TIMESTAMP, JSON).
struct TierColumn {
  std::string name;
  std::string type;
};

// What the accelerator and the hot delete know of one unit in a file.
struct TierUnit {
  std::string key;
  int64_t version = 0;  // the hot version loaded: DeleteHot keeps a unit whose version moved on
  bool live = true;     // false: a tombstone (counted, in the id bloom, not live)
  // Values of the batch's hot paths in the unit's current row (index into TierBatch::hot_paths):
  // min/max and bloom per path in the accelerator.
  std::vector<std::pair<size_t, internal::StatValue>> values;
};

// The rows of one future file, loaded from the hot tier (or from registered files, to compact).
struct TierBatch {
  std::vector<TierColumn> columns;     // the file's schema, in order
  std::string order_by;                // the DuckDB ORDER BY list the file is sorted by
  std::vector<std::string> hot_paths;  // the paths TierUnit::values index
  std::vector<TierUnit> units;         // one per key, in key order
  int64_t rows = 0;                    // rows in the file, superseded versions included
  int64_t versions = 0;                // rows that are no unit's current row
  int64_t max_seq = 0;                 // the store's change sequence high-water mark in the file
  int64_t checksum = 0;                // the sum of TierableStore::RowChecksumSql over the rows
  // Appends every row, columns in order (called once).
  std::function<Status(DuckSession::Appender&)> append;
};

class TierableStore {
 public:
  virtual ~TierableStore() = default;
  // The name a policy and tier_files.store use ("document"), and the first segment of the store's
  // warm keys ("documents").
  virtual std::string_view Name() const = 0;
  virtual std::string_view KeyPrefix() const = 0;
  // DuckDB expressions over a file's columns: a row's checksum term (summed, BIGINT) and whether a
  // row is a unit's current row (BOOLEAN). VerifyFile reads both back.
  virtual std::string_view RowChecksumSql() const = 0;
  virtual std::string_view CurrentRowSql() const = 0;

  // The store's tables with hot rows and the units each holds. REQUIRES: connection lock held.
  virtual Result<std::vector<std::pair<std::string, int64_t>>> HotTables() = 0;
  // The units of `table` the policy selects at `now` (its age, cap and idle rules; the rules are
  // alternatives), least recently accessed first. reads_tracked_since: since when reads are
  // recorded (0 = they are not; the idle rule then selects nothing). REQUIRES: connection lock held.
  virtual Result<std::vector<MovableUnit>> SelectMovable(const TieringPolicy& policy, std::string_view table, int64_t now,
                                                         int64_t reads_tracked_since) = 0;
  // The hot rows of `keys` (all of `table`; a key gone since selection is skipped).
  // REQUIRES: connection lock held.
  virtual Result<TierBatch> LoadHot(std::string_view table, const std::vector<std::string>& keys) = 0;
  // The visible rows of registered files of one partition (masked rows dropped), as batches of at
  // most max_units units each: the input of a compaction.
  virtual Result<std::vector<TierBatch>> LoadFiles(TierState& ts, std::string_view table,
                                                   const std::vector<const FileEntry*>& files, int64_t max_units) = 0;
  // In the registering transaction of a file: deletes the hot rows of every unit whose hot version
  // is still the one loaded, and returns the keys of the others (their copies in the file are
  // masked by the caller). max_seq: TierBatch::max_seq of the file. REQUIRES: inside a transaction.
  virtual Result<std::vector<std::string>> DeleteHot(TierState& ts, const std::vector<TierUnit>& units,
                                                     int64_t max_seq) = 0;
};

// Builds a store's TierableStore over a Database (once per Tiering).
using TierableStoreFactory = std::function<std::unique_ptr<TierableStore>(Database& db)>;
// Makes a store movable by every later Tiering::Attach (the DocumentStore is registered from the
// start). A second registration under the same name replaces the first. Thread-safe.
void RegisterTierableStore(std::string name, TierableStoreFactory factory);
// The registered names, sorted.
std::vector<std::string> TierableStoreNames();
// One instance of every registered store over db.
std::vector<std::unique_ptr<TierableStore>> MakeTierableStores(Database& db);

// The DocumentStore's implementation (src/tiering/document_tierable.cc).
std::unique_ptr<TierableStore> MakeDocumentTierable(Database& db);

}  // namespace dotdo::tiering
