// The mover's steps (src/tiering/mover.cc), each idempotent: select, write + intent, verify,
// register + delete hot rows, recover. Called by Tiering::Run and Tiering::Compact; the store-specific
// parts are the TierableStore's (tierable_store.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tiering/tierable_store.h"
#include "tiering/tiering_internal.h"

namespace dotdo::tiering {

// The units of one future file.
struct MoveGroup {
  TierableStore* store = nullptr;
  std::string type, day;
  std::vector<std::string> ids;
};

// A file written and put, not yet registered.
struct PreparedFile {
  std::string key, store, tier, type, day, sha256, id_bloom, paths_json;
  std::map<std::string, std::string> path_blooms;
  std::vector<TierUnit> units;  // the current rows: what the hot delete compares
  int64_t documents = 0, live = 0, versions = 0, rows = 0, bytes = 0, max_seq = 0, seq_sum = 0;
};

// reads_tracked_since: since when doc_reads records reads (0 = never): the idle rule selects only
// once that covers its window, and then (and the cap's order) counts the later of write and read.
// Each store's units are selected once, whichever policies select them.
Result<std::vector<MoveGroup>> SelectMoves(TierState& ts, const std::vector<std::unique_ptr<TierableStore>>& stores,
                                           const TieringOptions& options, int64_t now, int64_t reads_tracked_since);
// Writes the batch to a Parquet file of `store`, records the intent, and puts it on the object store:
// a warm file under the store's key prefix, or (tier kTierCold, a rewrite of cold files) a data file
// of its Iceberg table.
Result<PreparedFile> WriteFile(TierState& ts, const TierableStore& store, std::string_view type, std::string_view day,
                               TierBatch batch, std::string_view tier = kTierWarm);
// Size, SHA-256, row count and checksum of the stored object, read back.
Status VerifyFile(TierState& ts, const TierableStore& store, const PreparedFile& pf);
// Registers the file and has the store delete the hot rows of unchanged units; returns how many moved.
Result<int64_t> RegisterFile(TierState& ts, TierableStore& store, const PreparedFile& pf, int64_t* skipped_changed);
// The rows of a registered document file that are still visible (masked rows dropped).
Result<std::vector<FileRow>> ReadUnmaskedRows(TierState& ts, const FileEntry& f);
// Replaces `removed` by `added` in one transaction, unless the epoch moved on since `epoch`
// (kAborted). Warm: the removed objects are listed for deletion by RecoverMoves. Cold: both sides
// are recorded in tier_cold_rewrites for FinishColdRewrites to replace in the Iceberg table.
Status RegisterCompaction(TierState& ts, const std::vector<PreparedFile>& added, const std::vector<const FileEntry*>& removed,
                          int64_t epoch, std::string_view tier = kTierWarm);
// Removes objects of unfinished moves; returns how many.
Result<int64_t> RecoverMoves(TierState& ts);

}  // namespace dotdo::tiering
