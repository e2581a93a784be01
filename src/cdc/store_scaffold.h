// The store scaffold: what every store (document, graph, blob, and each one to come) declares once
// and the one way it opens on a Database. A store states its name, table prefix and schema
// migrations in a StoreSpec constant; StoreStateOf<State> ensures the outbox and the store's
// schema (once per Database, again after a rollback undid them) and returns the store's
// per-Database state, created under the Database lock. Change events go through
// Outbox::AppendChange with a typed ChangeOp and the spec's name, so no store spells op letters or
// store names itself. How to add a store: docs/architecture.md.
//
// Thread-safety: StoreStateOf may be called from any thread; the state it returns is guarded by
// the Database lock (callers hold it, or run inside db.Transaction, while they use it).
#pragma once

#include <span>
#include <string_view>

#include "cdc/outbox.h"
#include "core/database_internals.h"

namespace dotdo::internal {

struct StoreSpec {
  // The store's name: the CDC events' `store` field and its schema component in `meta`
  // ("document", "graph", "blob").
  std::string_view name;
  // Prefix of every table the store owns ("doc_", "graph_", "blob_"); see DESIGN.md.
  std::string_view table_prefix;
  // migrations[i] upgrades the store's tables from version i to i + 1.
  std::span<const std::string_view> migrations;
};

// Creates or migrates the outbox and the store's tables. Cheap after the first call per Database.
Status EnsureStoreSchema(Database& db, const StoreSpec& spec);

// For read paths, which never create tables: true when the store's tables exist (then they are
// ensured as EnsureStoreSchema does, which upgrades an older schema and refuses a newer one),
// false when the store was never written in this namespace — the read then answers as an empty
// store. Works on a namespace opened read-only.
Result<bool> StoreSchemaPresent(Database& db, const StoreSpec& spec);

// A store without per-Database state.
struct NoStoreState {
  explicit NoStoreState(Database&) {}
};

// The store's per-Database state (constructed as State(Database&) on first use, under the lock),
// with its schema ensured. Errors (a newer schema on disk, an I/O error) are returned, never dropped.
template <typename State = NoStoreState>
Result<State*> StoreStateOf(Database& db, const StoreSpec& spec) {
  auto lock = DatabaseInternals::Conn(db).Lock();
  DOTDO_RETURN_IF_ERROR(EnsureStoreSchema(db, spec));
  return &DatabaseInternals::Extension<State>(db);
}

}  // namespace dotdo::internal
