// The read-only SQL door: one user-supplied statement run with reads only, enforced by SQLite's own
// means — an authorizer that allows reading actions only, no ATTACH (SQLITE_LIMIT_ATTACHED = 0 and
// the authorizer), a progress handler that ends a statement at its time limit — plus a bound on the
// rows and bytes it may return. The statement text is never parsed by us.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dotdo/status.h"

namespace dotdo::internal {

class Connection;

struct ReadOnlyQueryLimits {
  int64_t max_rows = 10000;
  int64_t max_result_bytes = 64 << 20;
  int64_t timeout_ms = 5000;
};

// Runs `sql` on `conn` (whose lock it takes for the whole call) and returns its rows as an array of
// objects. Refusals are kInvalidArgument naming the action; the limits are kResourceExhausted
// (rows, bytes) and kDeadlineExceeded (time). The connection's authorizer, progress handler and
// ATTACH limit are restored before returning.
Result<nlohmann::json> RunReadOnlyQuery(Connection& conn, std::string_view sql, const std::vector<nlohmann::json>& params,
                                        const ReadOnlyQueryLimits& limits);

}  // namespace dotdo::internal
