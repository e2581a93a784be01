// Change data capture: the UnifiedEvent every write produces, the read/subscribe API over the
// namespace's transactional outbox, and CdcEmitter for domain events ("Customer.created").
//
// Guarantees (see src/cdc/outbox.h for the invariants):
//   - an event exists iff the change that produced it committed (same SQLite transaction);
//   - lsn is strictly increasing and gap-free among committed events, never reused;
//   - all events of one transaction share one txid (the lsn of its first event);
//   - subscribers are called after commit only, in lsn order, once per committed transaction.
//
// Thread-safety: ChangeFeed and CdcEmitter are light handles over a Database and follow its rules.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

// The seed's event envelope, field for field. JSON names are the seed's (correlationId, _meta).
struct UnifiedEvent {
  // Envelope
  std::string id;                 // ULID, unique per event
  std::string type;               // "cdc.insert" | "cdc.update" | "cdc.delete" | "Customer.created"
  int64_t timestamp = 0;          // ms since epoch; serialized as ISO 8601
  std::string ns;                 // namespace
  std::optional<std::string> correlation_id;
  // CDC fields (store operations)
  std::optional<std::string> op;  // "c" | "u" | "d" | "r"
  std::optional<std::string> store;  // "document" | "graph" | "blob" | ...
  std::optional<std::string> table;
  std::optional<std::string> key;
  std::optional<Json> before;
  std::optional<Json> after;
  std::optional<int64_t> txid;
  std::optional<int64_t> lsn;
  // Domain event fields
  std::optional<std::string> actor;
  std::optional<Json> data;
  std::optional<std::string> visibility;  // e.g. "public" | "internal"
  std::optional<Json> meta;               // "_meta"

  friend bool operator==(const UnifiedEvent&, const UnifiedEvent&) = default;
};

DOTDO_EXPORT Json EventToJson(const UnifiedEvent& event);
// Validates types and required fields (id, type, timestamp, ns).
DOTDO_EXPORT Result<UnifiedEvent> EventFromJson(const Json& json);

// Read and subscribe to the committed events of one namespace.
class DOTDO_EXPORT ChangeFeed {
 public:
  explicit ChangeFeed(Database& db) : db_(db) {}

  // Committed events with lsn > after_lsn, in lsn order, at most `limit` (1..10000).
  Result<std::vector<UnifiedEvent>> Read(int64_t after_lsn, int64_t limit = 1000);
  // Highest committed lsn, 0 when none.
  Result<int64_t> LastLsn();

  using Callback = std::function<void(const std::vector<UnifiedEvent>&)>;
  // Called after each commit with that transaction's events, in lsn order, on the committing thread
  // (with the Database lock held: a callback may read but should not block). Returns a handle.
  int64_t Subscribe(Callback callback);
  void Unsubscribe(int64_t handle);

 private:
  Database& db_;
};

// A domain event as an application states it.
struct DomainEvent {
  std::string type;                       // "Customer.created": Noun.verb
  std::optional<std::string> actor;
  Json data = Json::object();
  std::optional<std::string> correlation_id;
  std::optional<std::string> visibility;
  std::optional<Json> meta;
};

class DOTDO_EXPORT CdcEmitter {
 public:
  explicit CdcEmitter(Database& db) : db_(db) {}
  // Appends the event (in the caller's transaction when there is one). Type must be Noun.verb
  // ([A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+, not starting with "cdc."); data an object.
  Result<UnifiedEvent> Emit(const DomainEvent& event);
  // All events in one transaction: all or none.
  Result<std::vector<UnifiedEvent>> EmitBatch(const std::vector<DomainEvent>& events);

 private:
  Database& db_;
};

}  // namespace dotdo
