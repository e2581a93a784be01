// The mover's steps (src/tiering/mover.cc), each idempotent: select, write + intent, verify,
// register + delete hot rows, recover. Called by Tiering::Run and Tiering::Compact.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tiering/tiering_internal.h"

namespace dotdo::tiering {

// The ids of one future file.
struct MoveGroup {
  std::string type, day;
  std::vector<std::string> ids;
};

// A file written and put, not yet registered.
struct PreparedFile {
  std::string key, type, day, sha256, id_bloom, paths_json;
  std::map<std::string, std::string> path_blooms;
  std::vector<std::pair<std::string, int64_t>> ids;  // current rows: id, version
  int64_t documents = 0, live = 0, versions = 0, rows = 0, bytes = 0, max_seq = 0, seq_sum = 0;
};

// reads_tracked_since: since when doc_reads records reads (0 = never): the idle rule selects only
// once that covers its window, and then (and the cap's order) counts the later of write and read.
Result<std::vector<MoveGroup>> SelectMoves(TierState& ts, const TieringOptions& options, int64_t now,
                                           int64_t reads_tracked_since);
// The current rows and superseded versions of `ids` (missing ids are skipped).
Result<std::vector<FileRow>> LoadHotRows(Database& db, const std::vector<std::string>& ids);
Result<std::vector<std::string>> HotPathsOf(Database& db, std::string_view type);
// Writes the rows to a Parquet file, records the intent, and puts it on the object store.
Result<PreparedFile> WriteFile(TierState& ts, std::string_view type, std::string_view day, std::vector<FileRow> rows,
                               const std::vector<std::string>& hot_paths);
// Size, SHA-256, row count and checksum of the stored object, read back.
Status VerifyFile(TierState& ts, const PreparedFile& pf);
// Registers the file and deletes the hot rows of unchanged documents; returns how many moved.
Result<int64_t> RegisterFile(TierState& ts, const PreparedFile& pf, int64_t* skipped_changed);
// The rows of a registered file that are still visible (masked rows dropped).
Result<std::vector<FileRow>> ReadUnmaskedRows(TierState& ts, const FileEntry& f);
// Replaces `removed` by `added` in one transaction, unless the epoch moved on since `epoch`
// (kAborted). The removed objects are listed for deletion by RecoverMoves.
Status RegisterCompaction(TierState& ts, const std::vector<PreparedFile>& added, const std::vector<const FileEntry*>& removed,
                          int64_t epoch);
// Removes objects of unfinished moves; returns how many.
Result<int64_t> RecoverMoves(TierState& ts);

}  // namespace dotdo::tiering
