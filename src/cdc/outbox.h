// Outbox: the namespace's `cdc_events` table, written in the same transaction as every change.
// Stores call Append() inside db.Transaction; events are buffered per savepoint and published to
// subscribers after the outermost commit.
//
// Invariants:
//   1. An event row exists iff the transaction that appended it committed (same SQLite transaction).
//   2. lsn = INTEGER PRIMARY KEY AUTOINCREMENT: strictly increasing, never reused (even after
//      retention empties the table), gap-free among committed events (a rollback undoes the
//      sqlite_sequence bump too).
//   3. txid of an event = lsn of the first event of its transaction. The first event stores NULL
//      (it is its own txid), the others store that lsn, so Append costs exactly one row write.
//   4. Subscribers see events of committed transactions only, in lsn order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/database_internals.h"
#include "dotdo/cdc.h"

namespace dotdo::internal {

class Outbox final : public TransactionObserver {
 public:
  explicit Outbox(Database& db);
  ~Outbox() override;

  // The Outbox of db (created, with its table, on first use).
  static Result<Outbox*> Of(Database& db);

  // Fills id, timestamp (when 0), ns, txid and lsn of `event` and writes it.
  // REQUIRES: called inside db.Transaction.
  Status Append(UnifiedEvent& event);

  // Convenience for stores: a cdc.insert/update/delete event for (store, table, key).
  Status AppendChange(ChangeOp op, std::string_view store, std::string_view table, std::string_view key,
                      std::optional<Json> before, std::optional<Json> after);
  // Same, for a change whose `after` the caller has serialized already: REQUIRES after_json ==
  // after.dump() (it is stored as is, saving a second serialization of the document). `after` is
  // copied into the pending event only when there are subscribers; otherwise the text is kept and
  // parsed at commit in case one subscribed meanwhile.
  Status AppendChange(ChangeOp op, std::string_view store, std::string_view table, std::string_view key,
                      std::optional<Json> before, const Json& after, std::string_view after_json);

  Result<std::vector<UnifiedEvent>> Read(int64_t after_lsn, int64_t limit);
  Result<int64_t> LastLsn();

  int64_t Subscribe(ChangeFeed::Callback cb);
  void Unsubscribe(int64_t handle);

  // TransactionObserver
  void OnBegin(int depth) override;
  void OnRollback(int depth) override;
  void OnRelease(int depth) override;
  void OnCommit() override;

 private:
  Status EnsureTable();
  // Fills and writes the event row (Append without remembering it for the subscribers);
  // `after_json`, when given, is e.after already serialized.
  Status Write(UnifiedEvent& e, std::optional<std::string_view> after_json);

  Database& db_;
  std::vector<UnifiedEvent> pending_;     // events of the open transaction
  struct DeferredAfter {
    size_t index;      // into pending_
    std::string json;  // that event's `after`, not yet parsed
  };
  std::vector<DeferredAfter> deferred_after_;  // ascending index
  std::vector<size_t> savepoint_marks_;   // pending_.size() at each depth's begin
  std::optional<int64_t> current_txid_;   // lsn of the open transaction's first event
  std::map<int64_t, ChangeFeed::Callback> subscribers_;
  int64_t next_handle_ = 1;
};

// Sink checkpoints (cdc_checkpoints). Names: 1..512 bytes, no control characters.
Status ValidateSinkName(std::string_view sink);
// Inserts the sink at lsn 0 when absent; returns its checkpoint.
Result<int64_t> RegisterSink(Database& db, std::string_view sink);
// Moves the sink's checkpoint forward to lsn (never backwards), registering it when absent.
Status SaveCheckpoint(Database& db, std::string_view sink, int64_t lsn);

// Reads one outbox row (columns as selected by kOutboxColumns) into an event.
Result<UnifiedEvent> EventFromRow(const Statement& st, const std::string& ns);
extern const char* const kOutboxColumns;

}  // namespace dotdo::internal
