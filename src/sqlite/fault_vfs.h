// FaultInjectionVfs: an SQLite VFS ("dotdo-fault") that wraps the default one so tests can make the
// disk fail and lose power (after RocksDB's utilities/fault_injection_fs.h). A database opens
// through it with DatabaseOptions::vfs = FaultInjectionVfs::kName; everything is passed through to
// the default VFS except that
//   - armed faults make the Nth (or every) xWrite / xSync / xTruncate, optionally only on the main
//     database, the WAL or the rollback journal, fail with EIO (SQLITE_IOERR_WRITE / _FSYNC /
//     _TRUNCATE) or ENOSPC (SQLITE_FULL) without touching the file;
//   - every write and truncate of a named file is recorded in an undo log that a successful xSync
//     of that file discards, so DropUnsyncedData() can put each file back to what it held at its
//     last sync: what a power loss leaves on a disk that honours fsync and writes in place.
//
// Invariants:
//   1. For every tracked file, applying its undo log backwards and truncating to the size before the
//      first entry yields exactly its content at its last successful xSync (or at first open).
//   2. A failed or power-cut operation changes no file and no undo log.
//   3. After CutPower() no write, sync, truncate or delete reaches a file until DropUnsyncedData().
//
// Model limits (stated so tests do not over-claim): unsynced writes are either all lost or, with
// keep_writes, lost from the first dropped one on (in-order persistence per file); directory
// entries are taken as durable at once (a file created and never synced comes back empty, a deleted
// file stays deleted); the -shm wal-index is deleted, as a reboot would, and SQLite rebuilds it from
// the WAL.
//
// Thread-safety: all methods may be called from any thread; the VFS serializes its bookkeeping and
// the I/O of tracked files on one mutex. Ownership: Instance() is a process-wide singleton that is
// never destroyed (SQLite keeps a pointer to it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "dotdo/status.h"

namespace dotdo::internal {

enum class FaultOp { kWrite, kSync, kTruncate };
enum class FaultError {
  kIoError,  // EIO: SQLITE_IOERR_WRITE / SQLITE_IOERR_FSYNC / SQLITE_IOERR_TRUNCATE
  kNoSpace,  // ENOSPC: SQLITE_FULL
};
enum class FileKind { kMainDb, kWal, kJournal, kOther };

struct FaultSpec {
  FaultOp op = FaultOp::kWrite;
  FaultError error = FaultError::kIoError;
  // Fail the nth matching call after Arm (1 = the next one). Default 1.
  int64_t nth = 1;
  // Also fail every matching call after the nth. Default false (fail once, then disarm).
  bool repeat = false;
  // Only calls on this kind of file count. Default: every file.
  std::optional<FileKind> only;
};

class FaultInjectionVfs {
 public:
  static constexpr const char kName[] = "dotdo-fault";

  // The VFS, registered with SQLite (not as the default) on first call.
  static FaultInjectionVfs& Instance();

  // Adds a fault; several may be armed at once.
  void Arm(const FaultSpec& spec);
  // Removes every armed fault.
  void Disarm();
  // Disarms, zeroes the counters, restores power and forgets the undo logs (the files' current
  // content counts as synced). Call at the start of each test.
  void Reset();

  // Faults returned since the last Reset.
  int64_t injected() const;
  // Calls of `op` seen (failed ones included) since the last Reset.
  int64_t calls(FaultOp op) const;
  // Writes and truncates not yet made durable by a sync, over all tracked files.
  size_t unsynced_operations() const;

  // Simulated power cut: from now on every write, sync, truncate and delete through the VFS fails
  // with an I/O error and changes nothing (reads keep working), so closing a Database cannot make
  // anything durable. Follow with closing every connection and DropUnsyncedData().
  void CutPower();
  // Puts every tracked file back to its content at its last successful sync — keeping the first
  // keep_writes unsynced writes/truncates of each file, which models a disk that got part of the
  // way — deletes the -shm file of every tracked database, and restores power. kFailedPrecondition
  // while a file is still open through the VFS; kDataLoss naming the file when it cannot be
  // restored.
  Status DropUnsyncedData(size_t keep_writes = 0);

  class State;

 private:
  FaultInjectionVfs();
  std::unique_ptr<State> state_;
};

}  // namespace dotdo::internal
