// Helpers for the fault-injection tests of the stores: a namespace on disk opened through the
// fault-injecting VFS, the "fail the Nth call" loop (N = 1, 2, 3, ... until the operation runs
// without reaching a fault), the reopen through the normal VFS with the checks every such test
// makes (PRAGMA integrity_check, a gap-free outbox), and the status a given fault must surface as.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dotdo/cdc.h"
#include "dotdo/database.h"
#include "sqlite/fault_vfs.h"
#include "testing/test_util.h"

namespace dotdo::testing {

// The status code an injected fault surfaces as (status_from_sqlite.h): EIO -> kUnavailable,
// ENOSPC -> kResourceExhausted.
StatusCode ExpectedCode(internal::FaultError error);

// One namespace in a scratch directory. Open() goes through the fault VFS, OpenNormal() through
// SQLite's default VFS (a restarted process); Close() closes cleanly, which checkpoints.
class FaultyNamespace {
 public:
  explicit FaultyNamespace(Synchronous synchronous = Synchronous::kNormal);
  ~FaultyNamespace();

  Database& Open();
  Database& OpenNormal();
  void Close() { db_.reset(); }
  Database& db() { return *db_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  // Power cut, connections closed, unsynced data dropped (keeping `keep_writes` per file).
  void LosePower(size_t keep_writes = 0);

  // PRAGMA integrity_check is "ok" and the outbox lsns are 1..n without gaps.
  void ExpectConsistent();
  // The committed events whose key is `key`.
  std::vector<UnifiedEvent> EventsFor(const std::string& key);

 private:
  ScratchDir dir_;
  Synchronous synchronous_;
  std::unique_ptr<Database> db_;
};

struct FaultLoopOptions {
  internal::FaultSpec fault;  // nth is set by the loop
  Synchronous synchronous = Synchronous::kNormal;
  int max_runs = 400;  // a safety net: an operation reaching more calls than this fails the test
};

// For N = 1, 2, ...: a fresh namespace; setup(db) with no fault armed; the fault armed to fail the
// Nth matching call; status = op(db); the fault disarmed; in_process(db, status, faulted) in the
// same process (checks what the caller sees, and may retry: the namespace must keep working); a
// clean close; a reopen through the normal VFS; ExpectConsistent(); after_reopen(db, status,
// faulted). Stops after the first run whose op reached no fault. Returns the number of runs that
// injected a fault.
using FaultCheck = std::function<void(Database&, const Status&, bool faulted)>;
int ForEachFaultPosition(const FaultLoopOptions& options, const std::function<void(Database&)>& setup,
                         const std::function<Status(Database&)>& op, const FaultCheck& in_process,
                         const FaultCheck& after_reopen);

// The committed change events whose key is `key`, in lsn order (a test failure when the feed cannot
// be read).
std::vector<UnifiedEvent> EventsFor(Database& db, const std::string& key);

// The disk faults every store's fault test runs: EIO and ENOSPC on a write, EIO on a sync with
// synchronous=FULL (under NORMAL a commit does not sync). Use with TEST_P:
//   INSTANTIATE_TEST_SUITE_P(Faults, XFaultTest, ::testing::ValuesIn(kDiskFaultCases), DiskFaultCaseName);
struct DiskFaultCase {
  const char* name;
  FaultLoopOptions options;
};
inline const DiskFaultCase kDiskFaultCases[] = {
    {"WriteEio", {.fault = {.op = internal::FaultOp::kWrite, .error = internal::FaultError::kIoError}}},
    {"WriteEnospc", {.fault = {.op = internal::FaultOp::kWrite, .error = internal::FaultError::kNoSpace}}},
    {"SyncEioFull",
     {.fault = {.op = internal::FaultOp::kSync, .error = internal::FaultError::kIoError}, .synchronous = Synchronous::kFull}},
};
inline std::string DiskFaultCaseName(const ::testing::TestParamInfo<DiskFaultCase>& info) { return info.param.name; }

}  // namespace dotdo::testing
