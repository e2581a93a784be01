// StreamStore topic administration: create, list, describe, add partitions, alter, delete; each
// write in one transaction with its cdc.* event on table "topics" (key = topic name).
#include "cdc/outbox.h"
#include "stream/stream_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::Outbox;
using internal::TopicRow;

namespace {

Result<StreamTopicInfo> Describe(Connection& conn, const TopicRow& t) {
  StreamTopicInfo info{t.name, t.config, t.created_at, {}};
  DOTDO_ASSIGN_OR_RETURN(info.partitions, internal::LoadPartitions(conn, t.id));
  return info;
}

// The CDC image of a topic: its name and configuration (no partition state).
Json TopicImage(const TopicRow& t) {
  StreamTopicInfo info{t.name, t.config, t.created_at, {}};
  Json j = StreamTopicInfoToJson(info);
  j.erase("partitionInfo");
  return j;
}

Status InsertPartitions(Connection& conn, int64_t topic_id, int32_t from, int32_t to) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT INTO stream_partitions(topic_id, partition, next_offset, "
                                               "log_start, records, bytes) VALUES (?1, ?2, 0, 0, 0, 0)"));
  for (int32_t p = from; p < to; ++p) {
    st.BindAll(topic_id, p);
    DOTDO_RETURN_IF_ERROR(st.Run());
    st.Reset();
  }
  return OkStatus();
}

Status WriteConfig(Connection& conn, int64_t id, const StreamTopicConfig& c) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "UPDATE stream_topics SET partitions = ?2, retention_ms = ?3, retention_bytes = ?4, max_record_bytes = ?5, "
      "delete_retention_ms = ?6, max_unconsumed = ?7, full_policy = ?8, full_block_ms = ?9 WHERE id = ?1"));
  st.BindAll(id, c.partitions, c.retention_ms, c.retention_bytes, c.max_record_bytes, c.delete_retention_ms,
             c.max_unconsumed, c.full_policy == StreamFullPolicy::kBlock ? "block" : "error", c.full_block_ms);
  return st.Run();
}

// Loads, lets `change` edit the config, writes it with a cdc.update; returns the new description.
Result<StreamTopicInfo> UpdateTopic(Database& db, std::string_view topic,
                                    const std::function<Status(StreamTopicConfig&, bool&)>& change) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTopicName(topic));
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db).status());
  Connection& conn = DatabaseInternals::Conn(db);
  StreamTopicInfo out;
  DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, topic));
    TopicRow after = t;
    bool changed = true;
    DOTDO_RETURN_IF_ERROR(change(after.config, changed));
    if (changed) {
      DOTDO_RETURN_IF_ERROR(internal::ValidateTopicConfig(after.config));
      if (after.config.partitions > t.config.partitions)
        DOTDO_RETURN_IF_ERROR(InsertPartitions(conn, t.id, t.config.partitions, after.config.partitions));
      DOTDO_RETURN_IF_ERROR(WriteConfig(conn, t.id, after.config));
      DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db));
      DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kUpdate, internal::kStreamSpec.name, internal::kTopicsTable,
                                                 t.name, TopicImage(t), TopicImage(after)));
    }
    DOTDO_ASSIGN_OR_RETURN(out, Describe(conn, after));
    return OkStatus();
  }));
  return out;
}

}  // namespace

Result<StreamStore> StreamStore::Open(Database& db) {
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db).status());
  return StreamStore(db);
}

Result<StreamTopicInfo> StreamStore::CreateTopic(std::string_view topic, const StreamTopicConfig& config) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTopicName(topic));
  DOTDO_RETURN_IF_ERROR(internal::ValidateTopicConfig(config));
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  StreamTopicInfo out;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    auto existing = internal::LoadTopic(conn, topic);
    if (existing.ok()) return AlreadyExistsError("topic '" + std::string(topic) + "' already exists");
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
    TopicRow t{0, std::string(topic), config, db_.NowMillis()};
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
        "INSERT INTO stream_topics(name, partitions, retention_ms, retention_bytes, cleanup_policy, max_record_bytes, "
        "delete_retention_ms, max_unconsumed, full_policy, full_block_ms, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
    st.BindAll(t.name, config.partitions, config.retention_ms, config.retention_bytes,
               StreamCleanupPolicyName(config.cleanup_policy), config.max_record_bytes, config.delete_retention_ms,
               config.max_unconsumed, config.full_policy == StreamFullPolicy::kBlock ? "block" : "error",
               config.full_block_ms, t.created_at);
    DOTDO_RETURN_IF_ERROR(st.Run());
    t.id = conn.LastInsertRowId();
    DOTDO_RETURN_IF_ERROR(InsertPartitions(conn, t.id, 0, config.partitions));
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kInsert, internal::kStreamSpec.name, internal::kTopicsTable,
                                               t.name, std::nullopt, TopicImage(t)));
    DOTDO_ASSIGN_OR_RETURN(out, Describe(conn, t));
    return OkStatus();
  }));
  return out;
}

Result<std::vector<std::string>> StreamStore::ListTopics() {
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT name FROM stream_topics ORDER BY name"));
  std::vector<std::string> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.ColumnString(0));
  }
  return out;
}

Result<StreamTopicInfo> StreamStore::DescribeTopic(std::string_view topic) {
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, topic));
  return Describe(conn, t);
}

Result<StreamTopicInfo> StreamStore::AddPartitions(std::string_view topic, int32_t total) {
  return UpdateTopic(db_, topic, [&](StreamTopicConfig& c, bool& changed) -> Status {
    if (total < c.partitions)
      return InvalidArgumentError("topic '" + std::string(topic) + "' has " + std::to_string(c.partitions) +
                                  " partitions; partitions can be added, never removed (asked for " +
                                  std::to_string(total) + ")");
    changed = total != c.partitions;
    c.partitions = total;
    return OkStatus();
  });
}

Result<StreamTopicInfo> StreamStore::AlterTopic(std::string_view topic, const StreamTopicConfig& config) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTopicConfig(config));
  return UpdateTopic(db_, topic, [&](StreamTopicConfig& c, bool& changed) -> Status {
    if (config.partitions != c.partitions)
      return InvalidArgumentError("AlterTopic cannot change the partition count; use AddPartitions");
    if (config.cleanup_policy != c.cleanup_policy)
      return InvalidArgumentError("cleanup.policy of an existing topic cannot change");
    changed = !(config == c);
    c = config;
    return OkStatus();
  });
}

Status StreamStore::DeleteTopic(std::string_view topic) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTopicName(topic));
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  return db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, topic));
    for (const char* table : {"stream_records", "stream_partitions", "stream_offsets", "stream_producer_state"}) {
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(std::string("DELETE FROM ") + table + " WHERE topic_id = ?1"));
      st.Bind(1, t.id);
      DOTDO_RETURN_IF_ERROR(st.Run());
    }
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("DELETE FROM stream_topics WHERE id = ?1"));
    st.Bind(1, t.id);
    DOTDO_RETURN_IF_ERROR(st.Run());
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    return outbox->AppendChange(ChangeOp::kDelete, internal::kStreamSpec.name, internal::kTopicsTable, t.name,
                                TopicImage(t), std::nullopt);
  });
}

}  // namespace dotdo
