// Change data capture: the UnifiedEvent every write produces, the read/subscribe API over the
// namespace's transactional outbox, CdcEmitter for domain events ("Customer.created"), and delivery:
// CdcPipeline moves events through the local -> global transform into a CdcSink (JsonlFileSink,
// JetStreamSink)
// with a durable checkpoint per sink, and CdcCheckpoints applies outbox retention.
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
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

// The operation of a store change event: the seed's op letters and cdc.* event types.
enum class ChangeOp { kInsert, kUpdate, kDelete, kRead };
// "c" | "u" | "d" | "r"
DOTDO_EXPORT std::string_view ChangeOpCode(ChangeOp op);
// "cdc.insert" | "cdc.update" | "cdc.delete" | "cdc.read" (the seed: create/update/delete/read)
DOTDO_EXPORT std::string_view ChangeOpEventType(ChangeOp op);
// Inverse of ChangeOpCode; anything else is kInvalidArgument.
DOTDO_EXPORT Result<ChangeOp> ParseChangeOp(std::string_view code);

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

// ---------------------------------------------------------------------------------------------
// Delivery: sinks, checkpoints, the local -> global transform, the pipeline and retention.
// ---------------------------------------------------------------------------------------------

// The local -> global transform applied on the way out of the namespace (docs/formats/cdc.md):
//   - key                 -> "<ns>/<table>/<key>"                    (events with table and key)
//   - before.$id, after.$id (top-level strings)
//                         -> "<ns>/<T>/<$id>", T = the object's own string "$type", else table
//   - data.$id (top-level string)
//                         -> "<ns>/<T>/<$id>", T = data's string "$type", else the noun of a
//                            domain event's type ("Customer" for "Customer.created"), else table
// Each segment is percent-encoded (everything but A-Z a-z 0-9 - . _ ~), so a global id always has
// exactly three '/'-separated segments. Every other field is unchanged; events without the needed
// parts (no table, no $id) pass through as they are.
DOTDO_EXPORT std::string GlobalId(std::string_view ns, std::string_view type, std::string_view id);
DOTDO_EXPORT UnifiedEvent ToGlobalEvent(const UnifiedEvent& local);

// Where a pipeline delivers events. Implementations make a batch durable before Write returns.
//
// Thread-safety: a sink is driven by one CdcPipeline at a time; it need not be thread-safe.
class DOTDO_EXPORT CdcSink {
 public:
  virtual ~CdcSink();
  // Stable name of the sink: its row in cdc_checkpoints. 1..512 bytes, no control characters.
  virtual std::string Name() const = 0;
  // Brings the sink to a consistent state after a crash (e.g. drops a torn partial write) and
  // returns the highest lsn it durably holds (0 when empty), or nullopt when it cannot tell (then
  // the checkpoint alone decides where delivery resumes). Called before the first Write and again
  // after any failed Write or checkpoint update.
  virtual Result<std::optional<int64_t>> Recover() = 0;
  // Appends events (lsn-ordered, every lsn greater than anything delivered before) and makes them
  // durable before returning OK. On error the pipeline calls Recover() before writing again.
  virtual Status Write(const std::vector<UnifiedEvent>& events) = 0;
  // Pipelined delivery: Submit starts making `events` durable and may return before they are;
  // Complete(events), with the same events, returns OK once they are (retrying as Write does), or
  // an error as Write would. Between the two a pipeline reads and prepares its next batch; at most
  // one batch is submitted and not completed, and Submit is called again only after Complete. A
  // failed Submit or Complete is followed by Recover(), as a failed Write. Default: Submit is
  // Write, Complete does nothing.
  virtual Status Submit(const std::vector<UnifiedEvent>& events);
  virtual Status Complete(const std::vector<UnifiedEvent>& events);
  // Called by a pipeline before its first Recover() with the namespace it delivers from. A sink
  // holding another namespace's events refuses with kFailedPrecondition (one sink, one namespace:
  // lsns of two namespaces cannot be told apart). Default: accepts any namespace.
  virtual Status Claim(std::string_view ns);
};

struct JsonlFileSinkOptions {
  // fsync the file after every batch (and its directory when the file is created). Default true.
  // Without it a process crash still loses nothing, but an OS crash may.
  bool fsync = true;
  // Checkpoint name. Default: "jsonl:" + the file's canonical absolute path.
  std::string name;
};

// One JSON event per line (EventToJson, compact, '\n'-terminated), appended to a file.
// The file is locked (flock) while the sink is open, so two pipelines never append to it at once.
// Recover() truncates a torn last line and reports the lsn of the last complete one.
// Beside the file a sidecar "<file>.dotdo-sink" ({"format":"dotdo.cdc.jsonl","version":1,
// "namespace":…}, written atomically at the first Claim) marks it as an export file and names the
// namespace it belongs to. Open refuses, without changing it, an existing non-empty file that has no
// sidecar unless its first and last complete lines are events (an export file from before sidecars,
// which Claim then adopts) — so a sink pointed at a database or any other file never truncates it.
//
// Thread-safety: not thread-safe; owned by one pipeline.
class DOTDO_EXPORT JsonlFileSink final : public CdcSink {
 public:
  // Opens (creating when missing) the file. kInvalidArgument for an empty path or a directory,
  // kNotFound when the parent directory does not exist, kUnavailable when another process holds
  // the file, kFailedPrecondition when the file is not an export file (see above).
  static Result<std::unique_ptr<JsonlFileSink>> Open(const std::filesystem::path& path,
                                                     JsonlFileSinkOptions options = {});
  ~JsonlFileSink() override;
  // The checkpoint name Open gives `path` by default: "jsonl:" + its canonical absolute path (so
  // the same file reached through a symlink or ".." keeps one checkpoint).
  static Result<std::string> DefaultName(const std::filesystem::path& path);

  std::string Name() const override { return name_; }
  Result<std::optional<int64_t>> Recover() override;
  Status Write(const std::vector<UnifiedEvent>& events) override;
  // kFailedPrecondition when the sidecar names another namespace; records `ns` when it names none.
  Status Claim(std::string_view ns) override;
  const std::filesystem::path& path() const { return path_; }
  // The sidecar's path, "<canonical file path>.dotdo-sink".
  std::filesystem::path SidecarPath() const;
  // The namespace the sidecar names; empty before the first Claim.
  const std::string& owner() const { return owner_; }

 private:
  JsonlFileSink(std::filesystem::path path, std::filesystem::path canonical, int fd, JsonlFileSinkOptions options,
                std::string name, std::string owner);
  std::filesystem::path path_;
  std::filesystem::path canonical_;
  int fd_;
  JsonlFileSinkOptions options_;
  std::string name_;
  std::string owner_;
};

struct JetStreamSinkOptions {
  // Server URL(s), comma-separated ("nats://127.0.0.1:4222"). Required.
  std::string url;
  // A NATS credentials file (JWT + NKey seed); empty: none.
  std::string credentials_file;
  // The stream events go to. Required: [A-Za-z0-9_-]{1,64}.
  std::string stream;
  // Create the stream when it does not exist (subjects "dotdo.>", file storage, the duplicate
  // window below). Default true; false: a missing stream is kNotFound.
  bool create_stream = true;
  // JetStream's deduplication window for a created stream (Nats-Msg-Id). Default 2 minutes.
  int64_t duplicate_window_ms = 120000;
  // Asynchronous publishes awaiting their ack at once (1..65536). Default 1024.
  int max_in_flight = 1024;
  // How long a batch waits for its acks, and connect / request timeouts. Default 10 s.
  int64_t ack_timeout_ms = 10000;
  // Attempts per batch (1..100) with exponential backoff (initial_backoff_ms doubling, at most
  // max_backoff_ms). Defaults 5 / 50 / 2000.
  int max_attempts = 5;
  int64_t initial_backoff_ms = 50;
  int64_t max_backoff_ms = 2000;
  // Checkpoint name. Default "jetstream:<stream>".
  std::string name;
};

// Publishes each event (EventToJson, compact) to a JetStream stream on subject
// "dotdo.<ns>.<store>.<table>" (tokens escaped by JetStreamSubjectToken; "-" for an event without a
// store or table), with headers Nats-Msg-Id = event id and Dotdo-Lsn = lsn. Write returns after
// JetStream acknowledged every event of the batch (the ack is the durability point).
//
// Exactly once: the connection never reconnects behind the sink's back (a lost connection fails the
// batch), so what the stream holds from one connection is a prefix of what was sent on it in lsn
// order. After a failure the sink reads the namespace's last message in the stream (its Dotdo-Lsn)
// and continues after it; Recover() reports it the same way. Events published on a dropped connection
// that the server stores only after that read are dropped by JetStream's deduplication (same
// Nats-Msg-Id) as long as they arrive inside the duplicate window; see docs/architecture.md for the
// window vs outage bound.
//
// Thread-safety: not thread-safe; owned by one pipeline.
class DOTDO_EXPORT JetStreamSink final : public CdcSink {
 public:
  // Validates the options and connects (kUnavailable when the server cannot be reached: Open can
  // be retried), ensuring the stream exists.
  static Result<std::unique_ptr<JetStreamSink>> Open(JetStreamSinkOptions options);
  ~JetStreamSink() override;

  std::string Name() const override;
  // The lsn of the last event of the claimed namespace in the stream; nullopt when the stream holds
  // none (then the checkpoint decides).
  Result<std::optional<int64_t>> Recover() override;
  Status Write(const std::vector<UnifiedEvent>& events) override;
  // Publishes the batch without waiting for its acks; Complete waits for them (and retries).
  Status Submit(const std::vector<UnifiedEvent>& events) override;
  Status Complete(const std::vector<UnifiedEvent>& events) override;
  // Binds the sink to `ns` (its subjects); another namespace afterwards is kFailedPrecondition.
  Status Claim(std::string_view ns) override;

  class Impl;

 private:
  explicit JetStreamSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A NATS subject token for a namespace / store / table: [A-Za-z0-9_-] kept, every other byte
// (including '.', '*', '>', whitespace and '%') as %XX; the empty string as "-".
DOTDO_EXPORT std::string JetStreamSubjectToken(std::string_view s);
// "dotdo.<ns>.<store or ->.<table or ->" for an event.
DOTDO_EXPORT std::string JetStreamSubject(const UnifiedEvent& event);

struct CdcPipelineOptions {
  // Events read from the outbox and written to the sink per batch (1..10000). Default 500.
  int64_t batch_size = 500;
  // Apply ToGlobalEvent before delivery. Default true.
  bool global_ids = true;
};

// Reads the outbox from the sink's durable checkpoint, transforms, delivers in batches and advances
// the checkpoint only after the sink made the batch durable. Exactly once across crashes: on the
// first run (and after any failure) the sink's Recover() position reconciles with the checkpoint,
// so events between the sink's write and the checkpoint update are never delivered twice, and
// events not yet durable in the sink are still in the outbox (retention keeps them).
//
// Thread-safety: RunOnce may be called from any thread (calls serialize); the background mode runs
// RunOnce on its own thread. The Database and the sink must outlive the pipeline.
class DOTDO_EXPORT CdcPipeline {
 public:
  CdcPipeline(Database& db, CdcSink& sink, CdcPipelineOptions options = {});
  ~CdcPipeline();  // stops the background thread
  CdcPipeline(const CdcPipeline&) = delete;
  CdcPipeline& operator=(const CdcPipeline&) = delete;

  // Delivers every event committed so far; returns how many were delivered. The first call
  // registers the sink (retention waits for it from then on) and reconciles it with the checkpoint.
  // kFailedPrecondition when the sink holds less than its checkpoint (it lost confirmed events) or
  // more than the outbox ever committed (it belongs to another namespace); kDataLoss when events
  // above the checkpoint were deleted (the sink had been unregistered).
  // REQUIRES: not inside db.Transaction on this thread (it would see uncommitted events):
  // kFailedPrecondition.
  Result<int64_t> RunOnce();
  // The sink's checkpoint (registering the sink at 0 when it has none).
  Result<int64_t> Checkpoint();

  // Runs RunOnce whenever a transaction commits events, and at least every poll_interval_ms
  // (1..3600000). kFailedPrecondition when already running.
  Status Start(int64_t poll_interval_ms = 1000);
  // Stops the background thread after its current batch; returns the last background error (OK
  // when none). Harmless when not running.
  // REQUIRES: not inside db.Transaction on this thread (the background batch may be waiting for it).
  Status Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// One registered sink and how far it has durably received events.
struct SinkCheckpoint {
  std::string sink;
  int64_t lsn = 0;
  int64_t updated_at = 0;  // ms since epoch
};

struct CdcRetentionOptions {
  // Keep events younger than this (ms before now), even when every sink has them. Default 0.
  int64_t min_age_ms = 0;
  // Upper bound on deleted lsns. With sinks registered: delete lsn <= min(every checkpoint, this).
  // With no sink registered nothing is deleted unless this is set. Default: unset.
  std::optional<int64_t> up_to_lsn;
};

// Sink registry and retention over the namespace's outbox.
class DOTDO_EXPORT CdcCheckpoints {
 public:
  explicit CdcCheckpoints(Database& db) : db_(db) {}
  // Registers `sink` at lsn 0 when absent; returns its checkpoint.
  Result<int64_t> Register(std::string_view sink);
  // Removes the sink: retention no longer waits for it. kNotFound when not registered.
  Status Unregister(std::string_view sink);
  Result<std::vector<SinkCheckpoint>> List();
  // Deletes outbox events every registered sink has checkpointed (see CdcRetentionOptions), in one
  // transaction; returns how many were deleted. lsns are never reused afterwards.
  Result<int64_t> ApplyRetention(const CdcRetentionOptions& options = {});

 private:
  Database& db_;
};

}  // namespace dotdo
