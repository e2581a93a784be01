#include "core/read_snapshot.h"

namespace dotdo::internal {

ReadSnapshot::ReadSnapshot(Connection& conn, bool active) : conn_(conn), lock_(conn.Lock()) {
  if (!active || conn_.InTransaction()) return;
  auto st = conn_.Prepare("BEGIN");
  status_ = st.ok() ? st->Run() : st.status();
  began_ = status_.ok();
}

ReadSnapshot::~ReadSnapshot() {
  if (!began_) return;
  // Nothing was written to the main database: ending the transaction either way is the same.
  auto st = conn_.Prepare("COMMIT");
  if (!st.ok() || !st->Run().ok()) (void)conn_.Exec("ROLLBACK");
}

}  // namespace dotdo::internal
