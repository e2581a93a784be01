// SQLite result code -> Status.
#include "sqlite/status_from_sqlite.h"

#include <sqlite3.h>

#include <string>

namespace dotdo::internal {

Status StatusFromSqlite(int rc, sqlite3* db, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return OkStatus();
  std::string msg(context);
  if (!msg.empty()) msg += ": ";
  msg += (db != nullptr) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int ext = (db != nullptr) ? sqlite3_extended_errcode(db) : rc;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(msg + " (database is busy; retry)");
    case SQLITE_CONSTRAINT:
      if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return AlreadyExistsError(msg);
      return FailedPreconditionError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(msg);
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
    case SQLITE_NOMEM:
      return ResourceExhaustedError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return PermissionDeniedError(msg);
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return InvalidArgumentError(msg);
    case SQLITE_INTERRUPT:
      return Status(StatusCode::kCancelled, msg);
    case SQLITE_IOERR:
      return UnavailableError(msg + " (I/O error)");
    default:
      return InternalError(msg);
  }
}

}  // namespace dotdo::internal
