// ForEachBlock (declared in timeseries_internal.h): one statement over the blocks of a series that
// intersect a time range, in start_ts order. Included by timeseries_internal.h only.
#pragma once

namespace dotdo::internal {

template <typename Fn>
Status ForEachBlock(Connection& conn, int64_t series, int64_t start, int64_t end, Fn&& fn) {
  // The floor block of `start` (largest start_ts <= start) may still hold points >= start; every
  // later block that starts before `end` intersects the range (invariant 1).
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "SELECT " + std::string(kBlockColumns) + " FROM ts_blocks WHERE series_id = ?1 AND start_ts >= "
      "COALESCE((SELECT MAX(start_ts) FROM ts_blocks WHERE series_id = ?1 AND start_ts <= ?2), ?2) "
      "AND start_ts < ?3 AND end_ts >= ?2 ORDER BY start_ts"));
  st.BindAll(series, start, end);
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DOTDO_ASSIGN_OR_RETURN(bool more, fn(BlockFromRow(st, true)));
    if (!more) break;
  }
  return OkStatus();
}

}  // namespace dotdo::internal
