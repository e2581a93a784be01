// StreamStore retention: delete topics lose their oldest records by age (retention.ms) and by size
// per partition (retention.bytes); compacted topics keep the latest record per key and drop
// tombstones older than delete.retention.ms. Offsets are never renumbered: a delete topic's log
// start moves up, a compacted partition keeps its survivors' offsets. One transaction per
// partition, with one stream.retention event (counts only).
#include <unordered_map>

#include "stream/stream_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::PartitionRow;
using internal::TopicRow;

namespace {

struct Removal {
  int64_t records = 0, bytes = 0, new_log_start = 0;
};

// The first offset to keep of a delete-policy partition.
Result<int64_t> DeletePolicyStart(Connection& conn, const TopicRow& t, int32_t partition, const PartitionRow& p,
                                  int64_t now) {
  int64_t start = p.log_start;
  if (t.config.retention_ms > 0) {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT MIN(offset) FROM stream_records WHERE topic_id = ?1 AND "
                                                 "partition = ?2 AND ts >= ?3"));
    st.BindAll(t.id, partition, now - t.config.retention_ms);
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    start = std::max(start, row && !st.IsNull(0) ? st.ColumnInt64(0) : p.next_offset);
  }
  if (t.config.retention_bytes > 0 && p.bytes > t.config.retention_bytes) {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT offset, size FROM stream_records WHERE topic_id = ?1 AND "
                                                 "partition = ?2 ORDER BY offset"));
    st.BindAll(t.id, partition);
    int64_t remaining = p.bytes;
    int64_t keep_from = p.next_offset;
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (remaining <= t.config.retention_bytes) {
        keep_from = st.ColumnInt64(0);
        break;
      }
      remaining -= st.ColumnInt64(1);
    }
    start = std::max(start, keep_from);
  }
  return start;
}

// Offsets a compacted partition drops: records superseded by a later one with the same key, and
// tombstones older than delete.retention.ms.
Result<std::vector<std::pair<int64_t, int64_t>>> CompactedAway(Connection& conn, const TopicRow& t, int32_t partition,
                                                               int64_t now) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT offset, key, value IS NULL, ts, size FROM stream_records WHERE "
                                               "topic_id = ?1 AND partition = ?2 ORDER BY offset"));
  st.BindAll(t.id, partition);
  struct Row {
    int64_t offset, size, ts;
    bool tombstone;
  };
  std::unordered_map<std::string, Row> latest;
  std::vector<std::pair<int64_t, int64_t>> drop;  // (offset, size)
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Row r{st.ColumnInt64(0), st.ColumnInt64(4), st.ColumnInt64(3), st.ColumnInt64(2) != 0};
    auto [it, inserted] = latest.try_emplace(std::string(st.ColumnBlob(1)), r);
    if (!inserted) {
      drop.emplace_back(it->second.offset, it->second.size);
      it->second = r;
    }
  }
  for (const auto& [key, r] : latest)
    if (r.tombstone && now - r.ts >= t.config.delete_retention_ms) drop.emplace_back(r.offset, r.size);
  return drop;
}

Result<Removal> EnforcePartition(Database& db, const TopicRow& t, int32_t partition) {
  Connection& conn = DatabaseInternals::Conn(db);
  Removal rm;
  DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(PartitionRow p, internal::LoadPartition(conn, t.id, partition));
    const int64_t now = db.NowMillis();
    rm.new_log_start = p.log_start;
    if (t.config.cleanup_policy == StreamCleanupPolicy::kDelete) {
      DOTDO_ASSIGN_OR_RETURN(rm.new_log_start, DeletePolicyStart(conn, t, partition, p, now));
      if (rm.new_log_start == p.log_start) return OkStatus();
      DOTDO_ASSIGN_OR_RETURN(auto sum, conn.Prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM stream_records WHERE "
                                                    "topic_id = ?1 AND partition = ?2 AND offset < ?3"));
      sum.BindAll(t.id, partition, rm.new_log_start);
      DOTDO_RETURN_IF_ERROR(sum.Step().status());
      rm.records = sum.ColumnInt64(0);
      rm.bytes = sum.ColumnInt64(1);
      sum.Reset();
      DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM stream_records WHERE topic_id = ?1 AND partition = ?2 "
                                                    "AND offset < ?3"));
      del.BindAll(t.id, partition, rm.new_log_start);
      DOTDO_RETURN_IF_ERROR(del.Run());
    } else {
      DOTDO_ASSIGN_OR_RETURN(auto drop, CompactedAway(conn, t, partition, now));
      if (drop.empty()) return OkStatus();
      DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM stream_records WHERE topic_id = ?1 AND partition = ?2 "
                                                    "AND offset = ?3"));
      for (const auto& [offset, size] : drop) {
        del.BindAll(t.id, partition, offset);
        DOTDO_RETURN_IF_ERROR(del.Run());
        del.Reset();
        ++rm.records;
        rm.bytes += size;
      }
      DOTDO_ASSIGN_OR_RETURN(auto first, conn.Prepare("SELECT MIN(offset) FROM stream_records WHERE topic_id = ?1 AND "
                                                      "partition = ?2"));
      first.BindAll(t.id, partition);
      DOTDO_RETURN_IF_ERROR(first.Step().status());
      rm.new_log_start = first.IsNull(0) ? p.next_offset : first.ColumnInt64(0);
    }
    DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE stream_partitions SET log_start = ?3, records = records - ?4, "
                                                 "bytes = bytes - ?5 WHERE topic_id = ?1 AND partition = ?2"));
    up.BindAll(t.id, partition, rm.new_log_start, rm.records, rm.bytes);
    DOTDO_RETURN_IF_ERROR(up.Run());
    return internal::AppendStreamEvent(db, "stream.retention", "d", "records", t.name + "/" + std::to_string(partition),
                                       Json{{"topic", t.name},
                                            {"partition", partition},
                                            {"recordsDeleted", rm.records},
                                            {"bytesDeleted", rm.bytes},
                                            {"logStartOffset", rm.new_log_start}});
  }));
  return rm;
}

}  // namespace

Result<StreamRetentionResult> StreamStore::EnforceRetention() {
  DOTDO_ASSIGN_OR_RETURN(auto topics, ListTopics());
  Connection& conn = DatabaseInternals::Conn(db_);
  StreamRetentionResult out;
  for (const auto& name : topics) {
    auto lock = conn.Lock();
    DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, name));
    for (int32_t p = 0; p < t.config.partitions; ++p) {
      DOTDO_ASSIGN_OR_RETURN(Removal rm, EnforcePartition(db_, t, p));
      out.records_deleted += rm.records;
      out.bytes_deleted += rm.bytes;
    }
  }
  return out;
}

}  // namespace dotdo
