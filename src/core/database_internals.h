// What src/ layers above core may use of a Database: the connection, transaction observers (the CDC
// outbox buffers events per savepoint and publishes them after commit), per-component schema
// migration, and typed extension slots where a layer keeps per-Database state.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <typeindex>

#include "dotdo/database.h"
#include "sqlite/connection.h"

namespace dotdo::internal {

// Told about transaction boundaries. depth 1 is the outermost transaction.
class TransactionObserver {
 public:
  virtual ~TransactionObserver() = default;
  virtual void OnBegin(int depth) = 0;
  // The savepoint/transaction at `depth` was rolled back.
  virtual void OnRollback(int depth) = 0;
  // The savepoint at `depth` (> 1) was released into its parent.
  virtual void OnRelease(int depth) = 0;
  // The outermost transaction committed; called after COMMIT with the database mutex held.
  virtual void OnCommit() = 0;
};

struct DatabaseInternals {
  static Connection& Conn(Database& db);
  // REQUIRES: observer outlives db, or is removed first.
  static void AddObserver(Database& db, TransactionObserver* observer);
  static void RemoveObserver(Database& db, TransactionObserver* observer);

  // Per-Database state of a layer, created on first use (under the Database lock, so two threads
  // racing on first use get the same object) and destroyed with the Database. T(Database&) may
  // call back into the Database (the lock is recursive).
  template <typename T>
  static T& Extension(Database& db) {
    auto lock = Conn(db).Lock();
    std::shared_ptr<void>& slot = ExtensionSlot(db, std::type_index(typeid(T)));
    if (!slot) slot = std::make_shared<T>(db);
    return *static_cast<T*>(slot.get());
  }

  // Brings the tables of `component` to version migrations.size(): migrations[i] upgrades from
  // version i to i + 1. Runs in one transaction; the version lives in meta('schema.<component>').
  // Cheap after the first call per Database. Called inside a transaction, the migration is part of
  // it: a rollback undoes the tables and the next call creates them again.
  static Status EnsureSchema(Database& db, std::string_view component, std::span<const std::string_view> migrations);
  // The schema version of `component` on disk without changing anything: 0 when its tables were
  // never created (or the namespace has no meta table yet, as a read-only open of a fresh file).
  static Result<int64_t> SchemaVersion(Database& db, std::string_view component);
  // True when EnsureSchema(component) succeeded on this Database and no rollback undid it since.
  static bool SchemaEnsured(Database& db, std::string_view component);

 private:
  static std::shared_ptr<void>& ExtensionSlot(Database& db, std::type_index type);
};

}  // namespace dotdo::internal
