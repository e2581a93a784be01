// StreamStore partition logs: producing (partitioner, dense offsets, idempotent batches,
// back-pressure, one stream.produce event per partition written) and reading (fetch by offset,
// offset for a timestamp).
#include <chrono>
#include <thread>

#include "stream/stream_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::PartitionRow;
using internal::TopicRow;

namespace {

int64_t MessageBytes(const StreamMessage& m, size_t headers_bytes) {
  return static_cast<int64_t>((m.key ? m.key->size() : 0) + (m.value ? m.value->size() : 0) + headers_bytes);
}

// Records not yet consumed: per partition, those at or past the lowest offset any group committed
// for it (every stored record when no group committed the partition).
Result<int64_t> UnconsumedDepth(Connection& conn, int64_t topic_id) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "SELECT COALESCE(SUM(p.next_offset - MAX(p.log_start, COALESCE((SELECT MIN(o.offset) FROM stream_offsets o "
      "WHERE o.topic_id = p.topic_id AND o.partition = p.partition), p.log_start))), 0) "
      "FROM stream_partitions p WHERE p.topic_id = ?1"));
  st.Bind(1, topic_id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

struct ProducerState {
  bool exists = false;
  int64_t last_sequence = -1, batch_base_sequence = -1, batch_base_offset = 0, batch_count = 0;
};

Result<ProducerState> LoadProducerState(Connection& conn, int64_t producer_id, int64_t topic_id, int32_t partition) {
  DOTDO_ASSIGN_OR_RETURN(auto known, conn.Prepare("SELECT 1 FROM stream_producers WHERE producer_id = ?1"));
  known.Bind(1, producer_id);
  DOTDO_ASSIGN_OR_RETURN(bool found, known.Step());
  if (!found) return NotFoundError("unknown producer id " + std::to_string(producer_id) + "; get one from InitProducerId");
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "SELECT last_sequence, batch_base_sequence, batch_base_offset, batch_count FROM stream_producer_state "
      "WHERE producer_id = ?1 AND topic_id = ?2 AND partition = ?3"));
  st.BindAll(producer_id, topic_id, partition);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  ProducerState s;
  if (row) s = {true, st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3)};
  return s;
}

// The metadata of records already stored (a resent idempotent batch).
Result<std::vector<StreamRecordMetadata>> StoredMetadata(Connection& conn, int64_t topic_id, int32_t partition,
                                                         int64_t base, int64_t count) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT offset, ts FROM stream_records WHERE topic_id = ?1 AND "
                                               "partition = ?2 AND offset >= ?3 AND offset < ?4 ORDER BY offset"));
  st.BindAll(topic_id, partition, base, base + count);
  std::vector<StreamRecordMetadata> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({partition, st.ColumnInt64(0), st.ColumnInt64(1)});
  }
  if (static_cast<int64_t>(out.size()) != count)
    return FailedPreconditionError("the resent batch was already written but retention has removed part of it");
  return out;
}

struct PartitionWrite {
  PartitionRow row;
  int64_t base_offset = 0, count = 0, bytes = 0;
};

// REQUIRES: inside db.Transaction. `full` is set when the refusal is back-pressure.
Result<std::vector<StreamRecordMetadata>> SendInTransaction(Database& db, std::string_view topic,
                                                            const std::vector<StreamMessage>& messages,
                                                            const StreamSendOptions& options, bool& full) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(internal::StreamState * state, internal::StreamStateOf(db));
  DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, topic));
  const int32_t n = t.config.partitions;
  std::vector<std::string> headers(messages.size());
  std::vector<int32_t> partition_of(messages.size());
  std::optional<int32_t> sticky;
  for (size_t i = 0; i < messages.size(); ++i) {
    const StreamMessage& m = messages[i];
    if (!m.headers.empty()) headers[i] = internal::EncodeHeaders(m.headers);
    const int64_t size = MessageBytes(m, headers[i].size());
    if (size > t.config.max_record_bytes)
      return InvalidArgumentError("record " + std::to_string(i) + " is " + std::to_string(size) +
                                  " bytes; topic '" + t.name + "' accepts at most max.record.bytes = " +
                                  std::to_string(t.config.max_record_bytes));
    if (!m.key && t.config.cleanup_policy == StreamCleanupPolicy::kCompact)
      return InvalidArgumentError("record " + std::to_string(i) + " has no key; compacted topic '" + t.name +
                                  "' accepts keyed records only");
    if (m.partition) {
      DOTDO_RETURN_IF_ERROR(internal::CheckPartition(t, *m.partition));
      partition_of[i] = *m.partition;
    } else if (m.key) {
      partition_of[i] = KafkaPartitionForKey(*m.key, n);
    } else {
      if (!sticky) {
        int32_t& next = state->sticky_next[t.id];
        sticky = next % n;
        next = (next + 1) % n;
      }
      partition_of[i] = *sticky;
    }
  }
  ProducerState producer;
  if (options.idempotence) {
    for (int32_t p : partition_of)
      if (p != partition_of[0])
        return InvalidArgumentError("an idempotent batch must go to one partition; this one spans several");
    const StreamIdempotence& id = *options.idempotence;
    DOTDO_ASSIGN_OR_RETURN(producer, LoadProducerState(conn, id.producer_id, t.id, partition_of[0]));
    const int64_t count = static_cast<int64_t>(messages.size());
    if (producer.exists && id.base_sequence == producer.batch_base_sequence && count == producer.batch_count)
      return StoredMetadata(conn, t.id, partition_of[0], producer.batch_base_offset, count);
    if (id.base_sequence != producer.last_sequence + 1)
      return FailedPreconditionError("out-of-order sequence for producer " + std::to_string(id.producer_id) + " on " +
                                     t.name + "/" + std::to_string(partition_of[0]) + ": expected " +
                                     std::to_string(producer.last_sequence + 1) + ", got " +
                                     std::to_string(id.base_sequence));
    if (id.base_sequence + count - 1 > INT32_MAX) return InvalidArgumentError("sequence numbers overflow int32");
  }

  // After the duplicate check: a resent batch is answered even when the topic is full.
  if (t.config.max_unconsumed >= 0) {
    DOTDO_ASSIGN_OR_RETURN(int64_t depth, UnconsumedDepth(conn, t.id));
    if (depth + static_cast<int64_t>(messages.size()) > t.config.max_unconsumed) {
      full = true;
      return ResourceExhaustedError("topic '" + t.name + "' is full: " + std::to_string(depth) +
                                    " records not yet consumed, max.unconsumed = " +
                                    std::to_string(t.config.max_unconsumed) + "; consume and commit, then retry");
    }
  }
  std::map<int32_t, PartitionWrite> writes;
  std::vector<StreamRecordMetadata> out(messages.size());
  const int64_t now = db.NowMillis();
  DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare("INSERT INTO stream_records(topic_id, partition, offset, ts, key, value, "
                                                "headers, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  for (size_t i = 0; i < messages.size(); ++i) {
    const StreamMessage& m = messages[i];
    const int32_t p = partition_of[i];
    auto it = writes.find(p);
    if (it == writes.end()) {
      DOTDO_ASSIGN_OR_RETURN(PartitionRow row, internal::LoadPartition(conn, t.id, p));
      it = writes.emplace(p, PartitionWrite{row, row.next_offset, 0, 0}).first;
    }
    PartitionWrite& w = it->second;
    const int64_t offset = w.base_offset + w.count;
    const int64_t ts = m.timestamp.value_or(now);
    const int64_t size = MessageBytes(m, headers[i].size());
    ins.BindAll(t.id, p, offset, ts);
    if (m.key) ins.BindBlob(5, *m.key); else ins.BindNull(5);
    if (m.value) ins.BindBlob(6, *m.value); else ins.BindNull(6);
    if (!headers[i].empty()) ins.BindBlob(7, headers[i]); else ins.BindNull(7);
    ins.Bind(8, size);
    DOTDO_RETURN_IF_ERROR(ins.Run());
    ins.Reset();
    ++w.count;
    w.bytes += size;
    out[i] = {p, offset, ts};
  }
  DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE stream_partitions SET next_offset = ?3, records = records + ?4, "
                                               "bytes = bytes + ?5 WHERE topic_id = ?1 AND partition = ?2"));
  for (const auto& [p, w] : writes) {
    up.BindAll(t.id, p, w.base_offset + w.count, w.count, w.bytes);
    DOTDO_RETURN_IF_ERROR(up.Run());
    up.Reset();
    Json data = {{"topic", t.name}, {"partition", p}, {"baseOffset", w.base_offset},
                 {"lastOffset", w.base_offset + w.count - 1}, {"count", w.count}, {"bytes", w.bytes}};
    if (options.idempotence) {
      data["producerId"] = options.idempotence->producer_id;
      data["baseSequence"] = options.idempotence->base_sequence;
    }
    DOTDO_RETURN_IF_ERROR(internal::AppendStreamEvent(db, "stream.produce", "c", "records",
                                                      t.name + "/" + std::to_string(p), std::move(data)));
  }
  if (options.idempotence) {
    const PartitionWrite& w = writes.begin()->second;
    DOTDO_ASSIGN_OR_RETURN(auto ps, conn.Prepare(
        "INSERT INTO stream_producer_state(producer_id, topic_id, partition, last_sequence, batch_base_sequence, "
        "batch_base_offset, batch_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (producer_id, topic_id, "
        "partition) DO UPDATE SET last_sequence = excluded.last_sequence, batch_base_sequence = "
        "excluded.batch_base_sequence, batch_base_offset = excluded.batch_base_offset, batch_count = excluded.batch_count"));
    const int64_t base = options.idempotence->base_sequence;
    ps.BindAll(options.idempotence->producer_id, t.id, partition_of[0], base + w.count - 1, base, w.base_offset, w.count);
    DOTDO_RETURN_IF_ERROR(ps.Run());
  }
  return out;
}

Status ValidateMessages(const std::vector<StreamMessage>& messages, const StreamSendOptions& options) {
  if (messages.empty() || static_cast<int64_t>(messages.size()) > kMaxStreamBatchRecords)
    return InvalidArgumentError("a batch holds 1.." + std::to_string(kMaxStreamBatchRecords) + " records, got " +
                                std::to_string(messages.size()));
  for (const auto& m : messages) {
    DOTDO_RETURN_IF_ERROR(internal::ValidateHeaders(m.headers));
    if (m.timestamp && *m.timestamp < 0)
      return InvalidArgumentError("record timestamps must be >= 0 (ms since epoch), got " + std::to_string(*m.timestamp));
  }
  if (options.idempotence) {
    if (options.idempotence->producer_id <= 0) return InvalidArgumentError("producer_id must be > 0 (InitProducerId)");
    if (options.idempotence->base_sequence < 0) return InvalidArgumentError("base_sequence must be >= 0");
  }
  return OkStatus();
}

}  // namespace

Result<StreamRecordMetadata> StreamStore::Send(std::string_view topic, const StreamMessage& message,
                                               const StreamSendOptions& options) {
  DOTDO_ASSIGN_OR_RETURN(auto md, SendBatch(topic, {message}, options));
  return md.front();
}

Result<std::vector<StreamRecordMetadata>> StreamStore::SendBatch(std::string_view topic,
                                                                 const std::vector<StreamMessage>& messages,
                                                                 const StreamSendOptions& options) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTopicName(topic));
  DOTDO_RETURN_IF_ERROR(ValidateMessages(messages, options));
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    bool full = false;
    int64_t block_ms = 0;
    std::vector<StreamRecordMetadata> out;
    Status st = db_.Transaction([&]() -> Status {
      auto r = SendInTransaction(db_, topic, messages, options, full);
      if (!r.ok()) return r.status();
      out = std::move(*r);
      return OkStatus();
    });
    if (st.ok()) return out;
    if (!full || db_.InTransaction()) return st;  // inside a transaction no consumer can make room
    {
      auto t = internal::LoadTopic(DatabaseInternals::Conn(db_), topic);
      if (!t.ok() || t->config.full_policy != StreamFullPolicy::kBlock) return st;
      block_ms = t->config.full_block_ms;
    }
    if (std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(block_ms))
      return ResourceExhaustedError(st.message() + " (waited " + std::to_string(block_ms) + " ms)");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Result<int64_t> StreamStore::InitProducerId() {
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  int64_t id = 0;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT INTO stream_producers(created_at) VALUES (?1)"));
    st.Bind(1, db_.NowMillis());
    DOTDO_RETURN_IF_ERROR(st.Run());
    id = conn.LastInsertRowId();
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    return outbox->AppendChange(ChangeOp::kInsert, internal::kStreamSpec.name, internal::kProducersTable,
                                std::to_string(id), std::nullopt, Json{{"producerId", id}});
  }));
  return id;
}

namespace internal {
Status FetchRecords(Connection& conn, const TopicRow& t, int32_t partition, int64_t offset, int64_t max_records,
                    PartitionRow& p, std::vector<StreamRecord>& out) {
  DOTDO_ASSIGN_OR_RETURN(p, LoadPartition(conn, t.id, partition));
  DOTDO_RETURN_IF_ERROR(CheckOffsetInRange(t, partition, p, offset));
  if (offset == p.next_offset) return OkStatus();
  // No bound LIMIT (SQLite re-prepares a statement whose bound LIMIT changes): the primary-key scan
  // yields rows lazily and the loop stops after max_records.
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT " + std::string(kRecordColumns) +
                                               " FROM stream_records WHERE topic_id = ?1 AND partition = ?2 AND "
                                               "offset >= ?3 ORDER BY offset"));
  st.BindAll(t.id, partition, offset);
  out.reserve(out.size() + static_cast<size_t>(std::min<int64_t>(max_records, p.next_offset - offset)));
  for (int64_t n = 0; n < max_records; ++n) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DOTDO_RETURN_IF_ERROR(RecordFromRow(st, 0, t.name, out.emplace_back()));
  }
  return OkStatus();
}
}  // namespace internal

Result<std::vector<StreamRecord>> StreamStore::Fetch(std::string_view topic, int32_t partition, int64_t offset,
                                                     int64_t max_records) {
  if (max_records < 1 || max_records > kMaxStreamBatchRecords)
    return InvalidArgumentError("max_records must be 1.." + std::to_string(kMaxStreamBatchRecords));
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, topic));
  DOTDO_RETURN_IF_ERROR(internal::CheckPartition(t, partition));
  PartitionRow p;
  std::vector<StreamRecord> out;
  DOTDO_RETURN_IF_ERROR(internal::FetchRecords(conn, t, partition, offset, max_records, p, out));
  return out;
}

Result<int64_t> StreamStore::OffsetForTimestamp(std::string_view topic, int32_t partition, int64_t timestamp) {
  if (timestamp < 0) return InvalidArgumentError("timestamp must be >= 0 (ms since epoch)");
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, topic));
  DOTDO_RETURN_IF_ERROR(internal::CheckPartition(t, partition));
  DOTDO_ASSIGN_OR_RETURN(PartitionRow p, internal::LoadPartition(conn, t.id, partition));
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT MIN(offset) FROM stream_records WHERE topic_id = ?1 AND "
                                               "partition = ?2 AND ts >= ?3"));
  st.BindAll(t.id, partition, timestamp);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.IsNull(0)) return p.next_offset;
  return st.ColumnInt64(0);
}

}  // namespace dotdo
