// ReadSnapshot: several reads of one call see one consistent state of the namespace. It holds the
// connection lock and, unless a transaction is already open (or `active` is false), runs them in a
// deferred read transaction (BEGIN ... COMMIT), so a concurrent writer in another process commits
// either before all of them or after all of them.
#pragma once

#include <mutex>

#include "dotdo/status.h"
#include "sqlite/connection.h"

namespace dotdo::internal {

class ReadSnapshot {
 public:
  explicit ReadSnapshot(Connection& conn, bool active = true);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  const Status& status() const { return status_; }

 private:
  Connection& conn_;
  std::unique_lock<std::recursive_mutex> lock_;
  bool began_ = false;
  Status status_;
};

}  // namespace dotdo::internal
