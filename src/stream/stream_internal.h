// Internals shared by the StreamStore files: the schema, name grammars, the topic row every call
// starts from, header encoding, the per-Database state (sticky-partition counters and the group
// coordinator's membership), and the CDC event builders.
//
// Invariants of the stream tables (see docs/formats/stream.md):
//   1. For every (topic, partition): stream_partitions.next_offset is one past the highest offset
//      ever written; offsets are assigned densely (next_offset, next_offset + 1, ...) inside the
//      writing transaction, so committed offsets have no gaps and are never renumbered.
//   2. Every stored record of a partition has log_start <= offset < next_offset; retention only
//      raises log_start (delete topics remove a prefix), compaction removes records in between and
//      leaves the survivors' offsets as they were.
//   3. stream_partitions.records / bytes are the count and total size of the partition's stored
//      records (kept in the same transaction as each insert and delete).
//   4. stream_producer_state holds, per (producer, topic, partition), the last sequence written and
//      the last batch (its base sequence, base offset and count), so a resent last batch is found.
//   5. stream_groups.generation never decreases; a committed offset row names the generation it was
//      committed under.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/store_scaffold.h"
#include "core/database_internals.h"
#include "dotdo/stream.h"
#include "sqlite/connection.h"

namespace dotdo::internal {

extern const StoreSpec kStreamSpec;
inline constexpr std::string_view kTopicsTable = "topics";
inline constexpr std::string_view kGroupsTable = "groups";
inline constexpr std::string_view kProducersTable = "producers";

Status ValidateTopicName(std::string_view topic);
Status ValidateGroupId(std::string_view group);
Status ValidateClientId(std::string_view client);
Status ValidateTopicConfig(const StreamTopicConfig& config);

// The stored row of a topic.
struct TopicRow {
  int64_t id = 0;
  std::string name;
  StreamTopicConfig config;
  int64_t created_at = 0;
};
// kNotFound naming the topic when it does not exist.
Result<TopicRow> LoadTopic(Connection& conn, std::string_view topic);
Result<TopicRow> LoadTopicById(Connection& conn, int64_t id);
Status CheckPartition(const TopicRow& t, int32_t partition);

struct PartitionRow {
  int64_t next_offset = 0, log_start = 0, records = 0, bytes = 0;
};
Result<PartitionRow> LoadPartition(Connection& conn, int64_t topic_id, int32_t partition);
// Every partition of the topic, by partition number.
Result<std::vector<StreamPartitionInfo>> LoadPartitions(Connection& conn, int64_t topic_id);
// kOutOfRange "offset X of topic/p is out of range: valid offsets are [a, b]".
Status CheckOffsetInRange(const TopicRow& t, int32_t partition, const PartitionRow& p, int64_t offset);

// Appends to `out` up to max_records records of one partition from `offset` on; `p` receives the
// partition's row (its end offset and log start). An offset outside [log start, end] is kOutOfRange.
// REQUIRES: the topic and partition exist (checked by the caller through `t`).
Status FetchRecords(Connection& conn, const TopicRow& t, int32_t partition, int64_t offset, int64_t max_records,
                    PartitionRow& p, std::vector<StreamRecord>& out);

// Headers as stored: NULL when none, else a sequence of (varint key length, key, varint value
// length + 1 or 0 for null, value).
std::string EncodeHeaders(const std::vector<StreamHeader>& headers);
Result<std::vector<StreamHeader>> DecodeHeaders(std::string_view blob);
Status ValidateHeaders(const std::vector<StreamHeader>& headers);

// Columns read by RecordFromRow (after the topic name): partition, offset, ts, key, value, headers.
inline constexpr std::string_view kRecordColumns = "partition, offset, ts, key, value, headers";
Status RecordFromRow(const Statement& st, int first, const std::string& topic, StreamRecord& record);

// Appends a domain-shaped stream event (type "stream.produce" | "stream.commit") with metadata
// `data` in the current transaction.
Status AppendStreamEvent(Database& db, std::string_view type, std::string_view op, std::string_view table,
                         std::string_view key, Json data);

// One group as the coordinator keeps it in memory.
struct GroupMember {
  std::string client_id;
  std::vector<std::string> topics;
  int64_t session_timeout_ms = 0;
  int64_t last_heartbeat = 0;
  std::vector<StreamTopicPartition> assignment;
};
struct GroupState {
  bool loaded = false;
  int64_t generation = 0;
  StreamAssignor assignor = StreamAssignor::kRange;
  std::map<std::string, GroupMember> members;
  std::map<std::string, int32_t> partition_counts;  // of the subscribed topics at the last rebalance
};

// Per-Database state. Guarded by the Database lock.
class StreamState {
 public:
  explicit StreamState(Database&) {}
  std::map<int64_t, int32_t> sticky_next;  // topic id -> next partition for keyless batches
  std::map<std::string, GroupState, std::less<>> groups;
};

Result<StreamState*> StreamStateOf(Database& db);

}  // namespace dotdo::internal
