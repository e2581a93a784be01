// EnsureStoreSchema: the outbox first (every store writes events), then the store's own tables.
#include "cdc/store_scaffold.h"

namespace dotdo::internal {

Status EnsureStoreSchema(Database& db, const StoreSpec& spec) {
  DOTDO_RETURN_IF_ERROR(Outbox::Of(db).status());
  return DatabaseInternals::EnsureSchema(db, spec.name, spec.migrations);
}

Result<bool> StoreSchemaPresent(Database& db, const StoreSpec& spec) {
  if (DatabaseInternals::SchemaEnsured(db, spec.name)) return true;  // the hot path: no query
  DOTDO_ASSIGN_OR_RETURN(int64_t version, DatabaseInternals::SchemaVersion(db, spec.name));
  if (version == 0) return false;
  DOTDO_RETURN_IF_ERROR(EnsureStoreSchema(db, spec));
  return true;
}

}  // namespace dotdo::internal
