// Read tracking for the tiering's last-access rule (docs/formats/document.md § doc_reads).
//
// While a namespace tracks reads (meta 'document.reads_tracked_since', set by Tiering::Run for a
// policy with an idle rule), every Get and Query of hot documents records the ids it returned, in
// memory; Flush() writes them to doc_reads(id, read_at) in one transaction, keeping the later time
// per id. Tiering::Run flushes before it selects, a Database flushes when closed, and a read that
// finds a flush due (kMaxPendingReads ids pending, or the oldest kFlushAfterMillis old) flushes when
// its statements are done, outside a transaction. Reads recorded but not yet flushed are lost in a
// crash: the documents then look idler than they were, which only moves them sooner (placement,
// never correctness). Recording never fails a read.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dotdo/database.h"

namespace dotdo::internal {

class DocumentReadLog {
 public:
  static constexpr size_t kMaxPendingReads = 65536;
  // Pending reads older than this are flushed at the end of the next read (so a long-running
  // server's reads reach doc_reads for a `tier run` in another process within about a minute).
  static constexpr int64_t kFlushAfterMillis = 60000;
  // How long a cached "does this namespace track reads" answer is trusted before meta is read again
  // (another process may have turned tracking on).
  static constexpr int64_t kRecheckMillis = 5000;

  explicit DocumentReadLog(Database& db) : db_(db) {}
  ~DocumentReadLog();  // flushes, best effort
  DocumentReadLog(const DocumentReadLog&) = delete;
  DocumentReadLog& operator=(const DocumentReadLog&) = delete;

  // Whether reads are recorded now (the answer is cached for kRecheckMillis).
  bool Tracking();
  // Records that the document `id` was read now, when the namespace tracks reads. A full log keeps
  // the ids it has and counts the new one as dropped. Returns true when a flush is due (the log is
  // full, or its oldest read is kFlushAfterMillis old): the caller then calls FlushIfDue once its
  // statements are done.
  bool Record(std::string_view id);
  // Flushes when one is due and db is not inside a transaction; a failure keeps the pending reads
  // for the next try. REQUIRES: no statement of db is stepping.
  void FlushIfDue();
  // Writes the pending reads to doc_reads. A no-op when none are pending. REQUIRES: not inside a
  // transaction of db (kFailedPrecondition).
  Status Flush();
  // Deletes the recorded reads of documents that are no longer hot (moved or hard-deleted).
  // REQUIRES: not inside a transaction of db.
  Status PruneGone();
  // When tracking started (ms since the epoch); 0 when the namespace does not track reads.
  Result<int64_t> TrackedSince();
  // Turns tracking on from `now` (persisted) unless it is on already; returns its start.
  // REQUIRES: not inside a transaction of db.
  Result<int64_t> Enable(int64_t now);
  // Reads recorded since open that could not be kept (the log was full and could not be flushed).
  int64_t dropped() const { return dropped_; }

 private:
  Status FlushLocked();
  bool DueLocked(int64_t now) const {
    return pending_.size() >= kMaxPendingReads || (!pending_.empty() && now - first_pending_at_ >= kFlushAfterMillis);
  }
  bool TrackingLocked(int64_t now);

  Database& db_;
  std::mutex mu_;  // guards everything below; taken after the connection lock, never before it
  int64_t tracked_since_ = 0;
  int64_t checked_at_ = 0;
  bool checked_ = false;
  std::unordered_map<std::string, int64_t> pending_;
  int64_t first_pending_at_ = 0;  // when the oldest pending read was recorded
  int64_t dropped_ = 0;
};

// The read log of db (created on first use).
DocumentReadLog& ReadLogOf(Database& db);

}  // namespace dotdo::internal
