// StreamStore: Kafka-style topics, partitions and offsets inside the namespace's SQLite file —
// producers (Kafka's default partitioner, idempotent batches), consumers (assign or subscribe,
// poll, seek, pause, commit, lag), consumer groups (generations, session timeouts, Kafka's range and
// roundrobin assignors), retention by age and size, compaction and back-pressure. Because every
// call runs in the namespace's own transactions, a consume, the application's writes, a produce and
// the offset commit can share ONE `db.Transaction` (exactly-once without a transaction
// coordinator).
//
//   dotdo::StreamStore stream(*db);
//   stream.CreateTopic("orders", {.partitions = 3});
//   auto md = stream.Send("orders", {.key = "customer-7", .value = "{\"total\":12}"});
//   dotdo::StreamConsumer consumer(stream, {.group_id = "billing"});
//   consumer.Subscribe({"orders"});
//   for (const dotdo::StreamRecord& r : consumer) { ... }   // polls until nothing is left
//   consumer.Commit();
//
// Grammar of names (anything else is kInvalidArgument and nothing is written):
//   topic        [A-Za-z0-9._-]{1,249}, not "." or ".."       (Kafka's rule)
//   group id     [A-Za-z0-9._-]{1,249}
//   client id    [A-Za-z0-9._-]{1,128}                         (member ids are "<client id>-<ULID>")
//   header key   1..256 bytes of valid UTF-8; at most kMaxStreamHeaders headers per record
//
// CDC (docs/formats/stream.md): topic create/alter/delete are cdc.* events on table "topics";
// every produced batch appends one `stream.produce` event per partition it wrote (metadata only:
// topic, partition, offsets, count, bytes — never keys or values) and every offset commit one
// `stream.commit` event, in the same transaction as the write.
//
// Thread-safety: StreamStore is a light handle over a Database (held by reference; the Database
// must outlive it) and follows the Database's rules. Group membership lives in the Database's
// per-process state (like a Kafka group coordinator's memory); generations and committed offsets
// are stored. (A rebalance inside a caller's transaction that then rolls back leaves the process's
// generation ahead of the stored one; generations still only grow.) Retention runs when
// EnforceRetention is called (no background thread). A StreamConsumer is a client object owned by
// one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

// Largest partition count of a topic (CreateTopic, AddPartitions).
inline constexpr int32_t kMaxStreamPartitions = 10000;
// Largest number of records per SendBatch and per Poll.
inline constexpr int64_t kMaxStreamBatchRecords = 100000;
inline constexpr size_t kMaxStreamHeaders = 64;
inline constexpr size_t kMaxStreamHeaderKeyBytes = 256;
// Upper bound of max_record_bytes.
inline constexpr int64_t kMaxStreamRecordBytesLimit = 64 << 20;

enum class StreamCleanupPolicy { kDelete, kCompact };
// "delete" | "compact"; anything else is kInvalidArgument.
DOTDO_EXPORT Result<StreamCleanupPolicy> ParseStreamCleanupPolicy(std::string_view name);
DOTDO_EXPORT std::string_view StreamCleanupPolicyName(StreamCleanupPolicy policy);

// What Send does when a topic's un-consumed depth is at max_unconsumed.
enum class StreamFullPolicy { kError, kBlock };

struct StreamTopicConfig {
  // 1..kMaxStreamPartitions. Default 1.
  int32_t partitions = 1;
  // Records older than this (by record timestamp) are deleted by EnforceRetention; -1 = keep
  // forever. Default 7 days (Kafka's retention.ms). Only for cleanup.policy delete.
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  // Per partition, the oldest records are deleted while the partition holds more bytes than this;
  // -1 = no limit. Default -1 (Kafka's retention.bytes).
  int64_t retention_bytes = -1;
  // Default kDelete.
  StreamCleanupPolicy cleanup_policy = StreamCleanupPolicy::kDelete;
  // Largest key + value + headers of one record, 1..kMaxStreamRecordBytesLimit. Default 1 MiB.
  int64_t max_record_bytes = 1 << 20;
  // Compacted topics: tombstones (null values) are removed this long after they were written.
  // >= 0. Default 1 day (Kafka's delete.retention.ms).
  int64_t delete_retention_ms = 24LL * 3600 * 1000;
  // Back-pressure: the most records of the topic not yet consumed by its slowest committed group
  // (records past every group's committed offset; all records when no group committed); -1 = no
  // bound. Default -1.
  int64_t max_unconsumed = -1;
  // At the bound: kError answers kResourceExhausted, kBlock waits up to full_block_ms (then
  // kResourceExhausted). Default kError.
  StreamFullPolicy full_policy = StreamFullPolicy::kError;
  // 0..600000. Default 1000.
  int64_t full_block_ms = 1000;

  friend bool operator==(const StreamTopicConfig&, const StreamTopicConfig&) = default;
};

struct StreamPartitionInfo {
  int32_t partition = 0;
  int64_t log_start_offset = 0;  // first offset still stored
  int64_t end_offset = 0;        // the offset the next record gets (Kafka's high watermark)
  int64_t records = 0;           // records stored (compaction and retention remove some)
  int64_t bytes = 0;             // key + value + headers bytes stored

  friend bool operator==(const StreamPartitionInfo&, const StreamPartitionInfo&) = default;
};

struct StreamTopicInfo {
  std::string name;
  StreamTopicConfig config;
  int64_t created_at = 0;
  std::vector<StreamPartitionInfo> partitions;
};

DOTDO_EXPORT Json StreamTopicInfoToJson(const StreamTopicInfo& info);

struct StreamHeader {
  std::string key;
  std::optional<std::string> value;  // bytes; nullopt = null value

  friend bool operator==(const StreamHeader&, const StreamHeader&) = default;
};

// What a producer sends. key/value are bytes; a null key is not the same as an empty key (an
// empty key is hashed, a null key is spread over partitions); a null value is a tombstone.
struct StreamMessage {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<StreamHeader> headers;
  // Explicit partition (0..partitions-1). Default: chosen by the partitioner.
  std::optional<int32_t> partition;
  // ms since epoch, >= 0. Default: the Database clock at send.
  std::optional<int64_t> timestamp;
};

struct StreamRecordMetadata {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = 0;

  friend bool operator==(const StreamRecordMetadata&, const StreamRecordMetadata&) = default;
};

struct StreamRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<StreamHeader> headers;

  friend bool operator==(const StreamRecord&, const StreamRecord&) = default;
};

// {"topic","partition","offset","timestamp","key","value","headers"}; bytes that are not valid
// UTF-8 are rendered as {"base64": "..."}.
DOTDO_EXPORT Json StreamRecordToJson(const StreamRecord& record);

struct StreamTopicPartition {
  std::string topic;
  int32_t partition = 0;

  friend auto operator<=>(const StreamTopicPartition&, const StreamTopicPartition&) = default;
};

// Kafka's Java client murmur2 (seed 0x9747b28c), as a signed 32-bit value like Utils.murmur2.
DOTDO_EXPORT int32_t KafkaMurmur2(std::string_view bytes);
// Utils.toPositive(Utils.murmur2(key)) % partitions. REQUIRES: partitions > 0.
DOTDO_EXPORT int32_t KafkaPartitionForKey(std::string_view key, int32_t partitions);

// Idempotent producing: a batch for ONE partition carrying the producer id and the sequence of its
// first record (record i has base_sequence + i). The batch whose sequence continues the
// partition's last one is written; the last batch sent again is written once (the first call's
// metadata is returned); any other sequence is kFailedPrecondition (out of order).
struct StreamIdempotence {
  int64_t producer_id = 0;     // from InitProducerId
  int32_t base_sequence = 0;   // >= 0; the first batch of a producer on a partition starts at 0
};

struct StreamSendOptions {
  std::optional<StreamIdempotence> idempotence;
};

enum class StreamAssignor { kRange, kRoundRobin };
// "range" | "roundrobin"; anything else is kInvalidArgument.
DOTDO_EXPORT Result<StreamAssignor> ParseStreamAssignor(std::string_view name);
DOTDO_EXPORT std::string_view StreamAssignorName(StreamAssignor assignor);

// Kafka's assignors on plain data (exposed for tests and tools): member id -> subscribed topics,
// topic -> partition count. Members are ordered by member id, partitions by (topic, partition),
// exactly as Kafka's RangeAssignor / RoundRobinAssignor order them. Every member is a key of the
// result; a topic absent from partitions_per_topic has no partitions.
using StreamAssignment = std::map<std::string, std::vector<StreamTopicPartition>>;
DOTDO_EXPORT StreamAssignment AssignPartitions(StreamAssignor assignor,
                                               const std::map<std::string, int32_t>& partitions_per_topic,
                                               const std::map<std::string, std::vector<std::string>>& subscriptions);

struct StreamJoinOptions {
  std::string client_id = "consumer";
  std::vector<std::string> topics;
  // A member not heard from (Join, Heartbeat, Commit) for this long is removed: 1..3600000.
  // Default 45000 (Kafka's session.timeout.ms).
  int64_t session_timeout_ms = 45000;
  // Must be the same for every member of a group. Default kRange (Kafka's default).
  StreamAssignor assignor = StreamAssignor::kRange;
};

struct StreamMembership {
  std::string member_id;
  int64_t generation = 0;
  std::vector<StreamTopicPartition> assignment;  // this member's partitions, sorted
};

struct StreamGroupMember {
  std::string member_id;
  std::string client_id;
  std::vector<std::string> topics;
  std::vector<StreamTopicPartition> assignment;
  int64_t last_heartbeat = 0;
};

struct StreamOffsetLag {
  StreamTopicPartition tp;
  std::optional<int64_t> committed;  // nullopt: the group never committed this partition
  int64_t log_start_offset = 0;
  int64_t end_offset = 0;
  int64_t lag = 0;  // end_offset - committed (or - log_start_offset when never committed)
};

struct StreamGroupInfo {
  std::string group_id;
  int64_t generation = 0;
  std::string assignor;
  std::vector<StreamGroupMember> members;  // members known to this process, by member id
  std::vector<StreamOffsetLag> offsets;    // committed partitions, sorted
};

DOTDO_EXPORT Json StreamGroupInfoToJson(const StreamGroupInfo& info);

struct StreamRetentionResult {
  int64_t records_deleted = 0;
  int64_t bytes_deleted = 0;
};

class DOTDO_EXPORT StreamStore {
 public:
  // Creates or migrates the tables (and the outbox). REQUIRES: db outlives the store.
  static Result<StreamStore> Open(Database& db);
  // A handle without checks: tables are created on the first call, whose error that is.
  explicit StreamStore(Database& db) : db_(db) {}

  Database& db() { return db_; }

  // ---- topics ----
  // kAlreadyExists when the topic exists; kInvalidArgument for a bad name or config.
  Result<StreamTopicInfo> CreateTopic(std::string_view topic, const StreamTopicConfig& config = {});
  // Names, sorted.
  Result<std::vector<std::string>> ListTopics();
  // kNotFound for an unknown topic.
  Result<StreamTopicInfo> DescribeTopic(std::string_view topic);
  // Grows the topic to `total` partitions (Kafka's CreatePartitions). Fewer than now is
  // kInvalidArgument; equal is a no-op.
  Result<StreamTopicInfo> AddPartitions(std::string_view topic, int32_t total);
  // Replaces the retention/size/back-pressure settings. The partition count and the cleanup
  // policy cannot change here (kInvalidArgument).
  Result<StreamTopicInfo> AlterTopic(std::string_view topic, const StreamTopicConfig& config);
  // Removes the topic, its records and every group's offsets for it. kNotFound when unknown.
  Status DeleteTopic(std::string_view topic);

  // ---- producer ----
  Result<StreamRecordMetadata> Send(std::string_view topic, const StreamMessage& message,
                                    const StreamSendOptions& options = {});
  // All records in one transaction: all or none. Keyless records without a partition go to one
  // partition per batch (sticky), the next batch to the next partition (round robin).
  Result<std::vector<StreamRecordMetadata>> SendBatch(std::string_view topic, const std::vector<StreamMessage>& messages,
                                                      const StreamSendOptions& options = {});
  // A new producer id for idempotent batches (a row in stream_producers).
  Result<int64_t> InitProducerId();

  // ---- reading ----
  // Records of one partition from `offset` on, at most max_records (1..kMaxStreamBatchRecords).
  // An offset below the log start or above the end is kOutOfRange naming the valid range; the end
  // offset itself reads nothing.
  Result<std::vector<StreamRecord>> Fetch(std::string_view topic, int32_t partition, int64_t offset,
                                          int64_t max_records = 500);
  // First offset whose timestamp is >= timestamp, or the end offset when none (offsetsForTimes).
  Result<int64_t> OffsetForTimestamp(std::string_view topic, int32_t partition, int64_t timestamp);

  // ---- groups ----
  // Joins (a rebalance: generation + 1, every member reassigned). Expired members are removed first.
  Result<StreamMembership> JoinGroup(std::string_view group, const StreamJoinOptions& options);
  // Keeps the member alive and returns the current generation and its assignment (a member seeing
  // a newer generation than it had must drop the partitions it lost). kNotFound for an unknown
  // (or expired) member.
  Result<StreamMembership> Heartbeat(std::string_view group, std::string_view member_id);
  // Leaves (a rebalance). kNotFound for an unknown member.
  Status LeaveGroup(std::string_view group, std::string_view member_id);
  // Removes members whose session timed out (a rebalance per group that lost any). Returns the
  // number removed. Join, Heartbeat, Commit and DescribeGroup do this for their group first.
  Result<int64_t> ExpireMembers();
  // Commits offsets (the next offset to read, as in Kafka) for the group. With a member id the
  // generation must be the group's current one (a stale generation is kFailedPrecondition naming
  // both); without one (manual assignment) the group must have no live members. An offset outside
  // [log start, end] is kOutOfRange naming the valid range.
  Status CommitOffsets(std::string_view group, const std::map<StreamTopicPartition, int64_t>& offsets,
                       std::string_view member_id = {}, int64_t generation = -1);
  // The committed offset, nullopt when none.
  Result<std::optional<int64_t>> CommittedOffset(std::string_view group, const StreamTopicPartition& tp);
  // Lag for every partition of the group's committed topics (or of `topics` when given).
  Result<std::vector<StreamOffsetLag>> Lag(std::string_view group, const std::vector<std::string>& topics = {});
  // Group ids with committed offsets or live members, sorted.
  Result<std::vector<std::string>> ListGroups();
  Result<StreamGroupInfo> DescribeGroup(std::string_view group);

  // ---- retention ----
  // Applies retention.ms / retention.bytes (delete topics) and compaction (compact topics) to every
  // topic: records are removed, offsets are never renumbered (log_start_offset moves up).
  Result<StreamRetentionResult> EnforceRetention();

 private:
  Database& db_;
};

enum class StreamOffsetReset { kEarliest, kLatest };

struct StreamConsumerOptions {
  // Empty: no group (Assign only, no commits). Default empty.
  std::string group_id;
  std::string client_id = "consumer";
  // Commit positions at most every auto_commit_interval_ms (Database clock), checked at each Poll
  // and at Close. Default true / 5000 (Kafka's enable.auto.commit / auto.commit.interval.ms).
  bool auto_commit = true;
  int64_t auto_commit_interval_ms = 5000;
  // Where a partition without a committed offset starts. Default kEarliest.
  StreamOffsetReset offset_reset = StreamOffsetReset::kEarliest;
  int64_t session_timeout_ms = 45000;
  StreamAssignor assignor = StreamAssignor::kRange;
};

// A consumer: a set of partitions (assigned manually or by its group), a position per partition,
// pause flags, and commits. Positions live in this object; after a failed transaction that polled,
// call SeekToCommitted to read again from what is stored.
//
// Thread-safety: not thread-safe; one thread owns a consumer. The StreamStore must outlive it.
class DOTDO_EXPORT StreamConsumer {
 public:
  StreamConsumer(StreamStore& store, StreamConsumerOptions options = {});
  ~StreamConsumer();  // leaves the group (best effort, no auto-commit)
  StreamConsumer(const StreamConsumer&) = delete;
  StreamConsumer& operator=(const StreamConsumer&) = delete;

  // Manual assignment (replaces any subscription). Unknown topics/partitions are kNotFound.
  Status Assign(const std::vector<StreamTopicPartition>& partitions);
  // Joins options.group_id (required) for these topics; the group assigns the partitions.
  Status Subscribe(const std::vector<std::string>& topics);
  // Leaves the group / drops the assignment; auto-commits first when enabled.
  Status Close();

  // Up to max_records (1..kMaxStreamBatchRecords) from the unpaused partitions, waiting up to
  // timeout_ms (>= 0, wall clock) for the first one. Heartbeats and auto-commits as needed.
  Result<std::vector<StreamRecord>> Poll(int64_t max_records = 500, int64_t timeout_ms = 0);

  Status Seek(const StreamTopicPartition& tp, int64_t offset);
  Status SeekToBeginning(const std::vector<StreamTopicPartition>& partitions = {});  // {} = all assigned
  Status SeekToEnd(const std::vector<StreamTopicPartition>& partitions = {});
  Status SeekToTimestamp(const StreamTopicPartition& tp, int64_t timestamp);
  // Every assigned partition back to its committed offset (or the reset position).
  Status SeekToCommitted();
  Status Pause(const std::vector<StreamTopicPartition>& partitions);
  Status Resume(const std::vector<StreamTopicPartition>& partitions);

  // Commits the current positions / the given offsets (next offset to read) for the group.
  Status Commit();
  Status Commit(const std::map<StreamTopicPartition, int64_t>& offsets);

  Result<int64_t> Position(const StreamTopicPartition& tp) const;
  std::vector<StreamTopicPartition> Assignment() const;
  std::vector<StreamTopicPartition> Paused() const;
  // Per assigned partition: end offset - position.
  Result<std::map<StreamTopicPartition, int64_t>> Lag();
  int64_t generation() const { return generation_; }
  const std::string& member_id() const { return member_id_; }

  // Range-for over records: each step polls (max 500, no wait) when its batch is used up and ends
  // when a poll returns nothing or fails; the failure is then status().
  class Iterator {
   public:
    using value_type = StreamRecord;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    explicit Iterator(StreamConsumer* c) : c_(c) { Advance(); }
    const StreamRecord& operator*() const { return batch_[i_]; }
    const StreamRecord* operator->() const { return &batch_[i_]; }
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return c_ == o.c_; }

   private:
    void Advance();
    StreamConsumer* c_ = nullptr;
    std::vector<StreamRecord> batch_;
    size_t i_ = 0;
  };
  Iterator begin() { return Iterator(this); }
  Iterator end() { return Iterator(); }
  const Status& status() const { return status_; }

 private:
  Status Rejoin();
  Status SyncMembership(const StreamMembership& m);
  Status ResetPosition(const StreamTopicPartition& tp);
  Status SeekToEdge(const std::vector<StreamTopicPartition>& partitions, bool end);
  Status MaybeAutoCommit();
  Status RequireAssigned(const StreamTopicPartition& tp) const;

  StreamStore& store_;
  StreamConsumerOptions options_;
  std::vector<std::string> topics_;  // subscription (empty when assigned manually)
  std::string member_id_;
  int64_t generation_ = -1;
  std::map<StreamTopicPartition, int64_t> positions_;
  std::map<StreamTopicPartition, bool> paused_;
  int64_t last_auto_commit_ = 0;
  Status status_;
};

}  // namespace dotdo
