// Sink registry and outbox retention over `cdc_checkpoints`: one row per sink holding the highest
// lsn it has durably received. Retention deletes only what every registered sink already holds.
//
// Invariants:
//   1. A sink's checkpoint only moves forward.
//   2. Retention never deletes an event with lsn greater than some registered sink's checkpoint;
//      with no sink registered it deletes nothing unless given an explicit bound.
#include <limits>

#include "cdc/outbox.h"

namespace dotdo::internal {

Status ValidateSinkName(std::string_view sink) {
  if (sink.empty() || sink.size() > 512) return InvalidArgumentError("sink name must be 1..512 bytes long");
  for (char c : sink) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return InvalidArgumentError("sink name must not contain control characters");
  }
  return OkStatus();
}

Result<int64_t> RegisterSink(Database& db, std::string_view sink) {
  DOTDO_RETURN_IF_ERROR(ValidateSinkName(sink));
  DOTDO_RETURN_IF_ERROR(Outbox::Of(db).status());
  Connection& conn = DatabaseInternals::Conn(db);
  int64_t lsn = 0;
  DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare(
        "INSERT INTO cdc_checkpoints(sink, lsn, updated_at) VALUES (?1, 0, ?2) ON CONFLICT(sink) DO NOTHING"));
    ins.BindAll(sink, db.NowMillis());
    DOTDO_RETURN_IF_ERROR(ins.Run());
    DOTDO_ASSIGN_OR_RETURN(auto sel, conn.Prepare("SELECT lsn FROM cdc_checkpoints WHERE sink = ?1"));
    sel.Bind(1, sink);
    DOTDO_ASSIGN_OR_RETURN(bool row, sel.Step());
    if (!row) return InternalError("sink checkpoint vanished right after registration");
    lsn = sel.ColumnInt64(0);
    return OkStatus();
  }));
  return lsn;
}

Status SaveCheckpoint(Database& db, std::string_view sink, int64_t lsn) {
  DOTDO_RETURN_IF_ERROR(ValidateSinkName(sink));
  if (lsn < 0) return InvalidArgumentError("checkpoint lsn must be >= 0");
  DOTDO_RETURN_IF_ERROR(Outbox::Of(db).status());
  Connection& conn = DatabaseInternals::Conn(db);
  return db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
        "INSERT INTO cdc_checkpoints(sink, lsn, updated_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(sink) DO UPDATE SET lsn = MAX(lsn, excluded.lsn), updated_at = excluded.updated_at"));
    st.BindAll(sink, lsn, db.NowMillis());
    return st.Run();
  });
}

}  // namespace dotdo::internal

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::Outbox;

Result<int64_t> CdcCheckpoints::Register(std::string_view sink) { return internal::RegisterSink(db_, sink); }

Status CdcCheckpoints::Unregister(std::string_view sink) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateSinkName(sink));
  DOTDO_RETURN_IF_ERROR(Outbox::Of(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  return db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("DELETE FROM cdc_checkpoints WHERE sink = ?1"));
    st.Bind(1, sink);
    DOTDO_RETURN_IF_ERROR(st.Run());
    if (conn.Changes() == 0) return NotFoundError("sink '" + std::string(sink) + "' is not registered");
    return OkStatus();
  });
}

Result<std::vector<SinkCheckpoint>> CdcCheckpoints::List() {
  DOTDO_RETURN_IF_ERROR(Outbox::Of(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT sink, lsn, updated_at FROM cdc_checkpoints ORDER BY sink"));
  std::vector<SinkCheckpoint> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.ColumnString(0), st.ColumnInt64(1), st.ColumnInt64(2)});
  }
  return out;
}

Result<int64_t> CdcCheckpoints::ApplyRetention(const CdcRetentionOptions& options) {
  if (options.min_age_ms < 0) return InvalidArgumentError("retention min_age_ms must be >= 0");
  if (options.up_to_lsn && *options.up_to_lsn < 0) return InvalidArgumentError("retention up_to_lsn must be >= 0");
  DOTDO_RETURN_IF_ERROR(Outbox::Of(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  int64_t deleted = 0;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    // The bound is computed under the write lock, so no checkpoint can move backwards under us.
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT COUNT(*), MIN(lsn) FROM cdc_checkpoints"));
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return InternalError("aggregate query returned no row");
    const int64_t sinks = st.ColumnInt64(0);
    int64_t bound = 0;
    if (sinks == 0) {
      if (!options.up_to_lsn) return OkStatus();
      bound = *options.up_to_lsn;
    } else {
      bound = std::min(st.ColumnInt64(1), options.up_to_lsn.value_or(std::numeric_limits<int64_t>::max()));
    }
    st = internal::Statement();  // release before writing
    if (bound <= 0) return OkStatus();
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM cdc_events WHERE lsn <= ?1 AND ts <= ?2"));
    del.BindAll(bound, db_.NowMillis() - options.min_age_ms);
    DOTDO_RETURN_IF_ERROR(del.Run());
    deleted = conn.Changes();
    return OkStatus();
  }));
  return deleted;
}

}  // namespace dotdo
