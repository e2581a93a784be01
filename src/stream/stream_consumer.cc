// StreamConsumer: the client side of consuming — manual assignment or a group subscription (join,
// heartbeats, following rebalances), positions per partition, poll with a wall-clock wait, seeks,
// pause/resume, manual and interval auto-commits, lag, and the range-for iterator.
#include <chrono>
#include <thread>

#include "stream/stream_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::PartitionRow;
using internal::TopicRow;

namespace {

Result<PartitionRow> PartitionOf(Database& db, const StreamTopicPartition& tp) {
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db).status());
  DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, tp.topic));
  DOTDO_RETURN_IF_ERROR(internal::CheckPartition(t, tp.partition));
  return internal::LoadPartition(conn, t.id, tp.partition);
}

std::string Name(const StreamTopicPartition& tp) { return tp.topic + "/" + std::to_string(tp.partition); }

Status ValidateConsumerOptions(const StreamConsumerOptions& o) {
  if (!o.group_id.empty()) DOTDO_RETURN_IF_ERROR(internal::ValidateGroupId(o.group_id));
  DOTDO_RETURN_IF_ERROR(internal::ValidateClientId(o.client_id));
  if (o.auto_commit_interval_ms < 1) return InvalidArgumentError("auto_commit_interval_ms must be >= 1");
  return OkStatus();
}

}  // namespace

StreamConsumer::StreamConsumer(StreamStore& store, StreamConsumerOptions options)
    : store_(store), options_(std::move(options)) {}

StreamConsumer::~StreamConsumer() {
  if (!member_id_.empty()) store_.LeaveGroup(options_.group_id, member_id_).IgnoreError();
}

Status StreamConsumer::RequireAssigned(const StreamTopicPartition& tp) const {
  if (!positions_.count(tp))
    return FailedPreconditionError("partition " + Name(tp) + " is not assigned to this consumer");
  return OkStatus();
}

Status StreamConsumer::ResetPosition(const StreamTopicPartition& tp) {
  DOTDO_ASSIGN_OR_RETURN(PartitionRow p, PartitionOf(store_.db(), tp));
  if (!options_.group_id.empty()) {
    DOTDO_ASSIGN_OR_RETURN(auto committed, store_.CommittedOffset(options_.group_id, tp));
    if (committed && *committed >= p.log_start && *committed <= p.next_offset) {
      positions_[tp] = *committed;
      return OkStatus();
    }
  }
  positions_[tp] = options_.offset_reset == StreamOffsetReset::kEarliest ? p.log_start : p.next_offset;
  return OkStatus();
}

Status StreamConsumer::Assign(const std::vector<StreamTopicPartition>& partitions) {
  DOTDO_RETURN_IF_ERROR(ValidateConsumerOptions(options_));
  for (const auto& tp : partitions) DOTDO_RETURN_IF_ERROR(PartitionOf(store_.db(), tp).status());
  if (!member_id_.empty()) {
    DOTDO_RETURN_IF_ERROR(store_.LeaveGroup(options_.group_id, member_id_));
    member_id_.clear();
    generation_ = -1;
  }
  topics_.clear();
  positions_.clear();
  paused_.clear();
  for (const auto& tp : partitions) DOTDO_RETURN_IF_ERROR(ResetPosition(tp));
  last_auto_commit_ = store_.db().NowMillis();
  return OkStatus();
}

Status StreamConsumer::Subscribe(const std::vector<std::string>& topics) {
  DOTDO_RETURN_IF_ERROR(ValidateConsumerOptions(options_));
  if (options_.group_id.empty()) return FailedPreconditionError("Subscribe needs options.group_id; use Assign without a group");
  if (!member_id_.empty()) {
    DOTDO_RETURN_IF_ERROR(store_.LeaveGroup(options_.group_id, member_id_));
    member_id_.clear();
  }
  topics_ = topics;
  positions_.clear();
  paused_.clear();
  last_auto_commit_ = store_.db().NowMillis();
  return Rejoin();
}

Status StreamConsumer::Rejoin() {
  DOTDO_ASSIGN_OR_RETURN(StreamMembership m,
                         store_.JoinGroup(options_.group_id, {.client_id = options_.client_id,
                                                              .topics = topics_,
                                                              .session_timeout_ms = options_.session_timeout_ms,
                                                              .assignor = options_.assignor}));
  return SyncMembership(m);
}

Status StreamConsumer::SyncMembership(const StreamMembership& m) {
  member_id_ = m.member_id;
  if (m.generation == generation_) return OkStatus();
  generation_ = m.generation;
  std::map<StreamTopicPartition, bool> paused;
  for (const auto& tp : m.assignment) {
    // A partition kept across the rebalance resumes from the committed offset like a new one, as
    // in Kafka's eager protocol; uncommitted progress of the old generation is read again.
    auto it = paused_.find(tp);
    if (it != paused_.end()) paused[tp] = it->second;
  }
  positions_.clear();
  paused_ = std::move(paused);
  for (const auto& tp : m.assignment) DOTDO_RETURN_IF_ERROR(ResetPosition(tp));
  return OkStatus();
}

Status StreamConsumer::Close() {
  Status st;
  if (options_.auto_commit && !options_.group_id.empty() && !positions_.empty()) st = Commit();
  if (!member_id_.empty()) {
    Status leave = store_.LeaveGroup(options_.group_id, member_id_);
    if (st.ok()) st = leave;
    member_id_.clear();
  }
  generation_ = -1;
  topics_.clear();
  positions_.clear();
  paused_.clear();
  return st;
}

Status StreamConsumer::MaybeAutoCommit() {
  if (!options_.auto_commit || options_.group_id.empty() || positions_.empty()) return OkStatus();
  const int64_t now = store_.db().NowMillis();
  if (now - last_auto_commit_ < options_.auto_commit_interval_ms) return OkStatus();
  DOTDO_RETURN_IF_ERROR(Commit());
  last_auto_commit_ = now;
  return OkStatus();
}

Result<std::vector<StreamRecord>> StreamConsumer::Poll(int64_t max_records, int64_t timeout_ms) {
  if (max_records < 1 || max_records > kMaxStreamBatchRecords)
    return InvalidArgumentError("max_records must be 1.." + std::to_string(kMaxStreamBatchRecords));
  if (timeout_ms < 0) return InvalidArgumentError("timeout_ms must be >= 0, got " + std::to_string(timeout_ms));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Database& db = store_.db();
  Connection& conn = DatabaseInternals::Conn(db);
  for (;;) {
    if (!topics_.empty()) {
      auto m = store_.Heartbeat(options_.group_id, member_id_);
      if (m.status().code() == StatusCode::kNotFound) {
        generation_ = -1;
        DOTDO_RETURN_IF_ERROR(Rejoin());
      } else {
        DOTDO_RETURN_IF_ERROR(m.status());
        DOTDO_RETURN_IF_ERROR(SyncMembership(*m));
      }
    }
    DOTDO_RETURN_IF_ERROR(MaybeAutoCommit());
    std::vector<StreamRecord> out;
    {
      auto lock = conn.Lock();
      std::optional<TopicRow> t;
      for (auto& [tp, pos] : positions_) {
        if (static_cast<int64_t>(out.size()) >= max_records) break;
        if (paused_[tp]) continue;
        if (!t || t->name != tp.topic) {
          DOTDO_ASSIGN_OR_RETURN(t, internal::LoadTopic(conn, tp.topic));
        }
        PartitionRow p;
        const size_t before = out.size();
        const int64_t want = max_records - static_cast<int64_t>(before);
        Status fetched = internal::FetchRecords(conn, *t, tp.partition, pos, want, p, out);
        if (fetched.code() == StatusCode::kOutOfRange) {
          // Retention moved the log start past this position: restart by the reset policy.
          pos = options_.offset_reset == StreamOffsetReset::kEarliest ? p.log_start : p.next_offset;
          continue;
        }
        DOTDO_RETURN_IF_ERROR(fetched);
        const int64_t got = static_cast<int64_t>(out.size() - before);
        if (got > 0) pos = out.back().offset + 1;
        // Fewer than asked: the rest of the partition was read (compaction may have left a gap at
        // its end), so the position is the end offset.
        if (got < want) pos = std::max(pos, p.next_offset);
      }
    }
    if (!out.empty() || std::chrono::steady_clock::now() >= deadline) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Status StreamConsumer::Seek(const StreamTopicPartition& tp, int64_t offset) {
  DOTDO_RETURN_IF_ERROR(RequireAssigned(tp));
  DOTDO_ASSIGN_OR_RETURN(PartitionRow p, PartitionOf(store_.db(), tp));
  if (offset < p.log_start || offset > p.next_offset)
    return OutOfRangeError("offset " + std::to_string(offset) + " of " + Name(tp) + " is out of range: valid offsets are [" +
                           std::to_string(p.log_start) + ", " + std::to_string(p.next_offset) + "]");
  positions_[tp] = offset;
  return OkStatus();
}

Status StreamConsumer::SeekToBeginning(const std::vector<StreamTopicPartition>& partitions) {
  return SeekToEdge(partitions, /*end=*/false);
}

Status StreamConsumer::SeekToEnd(const std::vector<StreamTopicPartition>& partitions) {
  return SeekToEdge(partitions, /*end=*/true);
}

Status StreamConsumer::SeekToEdge(const std::vector<StreamTopicPartition>& partitions, bool end) {
  const std::vector<StreamTopicPartition> tps = partitions.empty() ? Assignment() : partitions;
  for (const auto& tp : tps) DOTDO_RETURN_IF_ERROR(RequireAssigned(tp));
  for (const auto& tp : tps) {
    DOTDO_ASSIGN_OR_RETURN(PartitionRow p, PartitionOf(store_.db(), tp));
    positions_[tp] = end ? p.next_offset : p.log_start;
  }
  return OkStatus();
}

Status StreamConsumer::SeekToTimestamp(const StreamTopicPartition& tp, int64_t timestamp) {
  DOTDO_RETURN_IF_ERROR(RequireAssigned(tp));
  DOTDO_ASSIGN_OR_RETURN(int64_t offset, store_.OffsetForTimestamp(tp.topic, tp.partition, timestamp));
  positions_[tp] = offset;
  return OkStatus();
}

Status StreamConsumer::SeekToCommitted() {
  for (const auto& tp : Assignment()) DOTDO_RETURN_IF_ERROR(ResetPosition(tp));
  return OkStatus();
}

Status StreamConsumer::Pause(const std::vector<StreamTopicPartition>& partitions) {
  for (const auto& tp : partitions) DOTDO_RETURN_IF_ERROR(RequireAssigned(tp));
  for (const auto& tp : partitions) paused_[tp] = true;
  return OkStatus();
}

Status StreamConsumer::Resume(const std::vector<StreamTopicPartition>& partitions) {
  for (const auto& tp : partitions) DOTDO_RETURN_IF_ERROR(RequireAssigned(tp));
  for (const auto& tp : partitions) paused_[tp] = false;
  return OkStatus();
}

Status StreamConsumer::Commit() { return Commit(positions_); }

Status StreamConsumer::Commit(const std::map<StreamTopicPartition, int64_t>& offsets) {
  if (options_.group_id.empty()) return FailedPreconditionError("Commit needs options.group_id");
  return store_.CommitOffsets(options_.group_id, offsets, member_id_, member_id_.empty() ? -1 : generation_);
}

Result<int64_t> StreamConsumer::Position(const StreamTopicPartition& tp) const {
  DOTDO_RETURN_IF_ERROR(RequireAssigned(tp));
  return positions_.at(tp);
}

std::vector<StreamTopicPartition> StreamConsumer::Assignment() const {
  std::vector<StreamTopicPartition> out;
  for (const auto& [tp, pos] : positions_) out.push_back(tp);
  return out;
}

std::vector<StreamTopicPartition> StreamConsumer::Paused() const {
  std::vector<StreamTopicPartition> out;
  for (const auto& [tp, paused] : paused_)
    if (paused && positions_.count(tp)) out.push_back(tp);
  return out;
}

Result<std::map<StreamTopicPartition, int64_t>> StreamConsumer::Lag() {
  std::map<StreamTopicPartition, int64_t> out;
  for (const auto& [tp, pos] : positions_) {
    DOTDO_ASSIGN_OR_RETURN(PartitionRow p, PartitionOf(store_.db(), tp));
    out[tp] = p.next_offset - std::max(pos, p.log_start);
  }
  return out;
}

StreamConsumer::Iterator& StreamConsumer::Iterator::operator++() {
  Advance();
  return *this;
}

void StreamConsumer::Iterator::Advance() {
  if (!batch_.empty() && i_ + 1 < batch_.size()) {
    ++i_;
    return;
  }
  auto next = c_->Poll(500, 0);
  c_->status_ = next.status();
  if (!next.ok() || next->empty()) {
    c_ = nullptr;
    batch_.clear();
    return;
  }
  batch_ = std::move(*next);
  i_ = 0;
}

}  // namespace dotdo
