// The one place that turns SQLite result codes into dotdo Status codes.
#pragma once

#include <string_view>

#include "dotdo/status.h"

struct sqlite3;

namespace dotdo::internal {

// Maps an SQLite result code (with the handle's message when db is not null) to a Status.
// BUSY/LOCKED -> kUnavailable, CONSTRAINT -> kAlreadyExists (unique/PK) or kFailedPrecondition,
// CORRUPT/NOTADB -> kDataLoss, FULL/TOOBIG -> kResourceExhausted, CANTOPEN/PERM -> kPermissionDenied
// style errors, ERROR (bad SQL) -> kInvalidArgument, everything else -> kInternal.
Status StatusFromSqlite(int rc, sqlite3* db, std::string_view context);

}  // namespace dotdo::internal
