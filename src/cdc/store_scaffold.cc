// EnsureStoreSchema: the outbox first (every store writes events), then the store's own tables.
#include "cdc/store_scaffold.h"

namespace dotdo::internal {

Status EnsureStoreSchema(Database& db, const StoreSpec& spec) {
  DOTDO_RETURN_IF_ERROR(Outbox::Of(db).status());
  return DatabaseInternals::EnsureSchema(db, spec.name, spec.migrations);
}

}  // namespace dotdo::internal
