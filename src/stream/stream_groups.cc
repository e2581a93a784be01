// StreamStore consumer groups: Kafka's range and roundrobin assignors, the group coordinator
// (membership, session timeouts, generations, rebalances) and committed offsets with the
// stale-generation check, lag and group descriptions.
//
// Membership lives in the per-Database StreamState (as a Kafka coordinator keeps it in memory);
// every rebalance stores the new generation in stream_groups with a cdc event on table "groups",
// and every commit writes stream_offsets with one stream.commit event, in one transaction.
#include <algorithm>
#include <set>

#include "cdc/outbox.h"
#include "core/encoding.h"
#include "stream/stream_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::GroupMember;
using internal::GroupState;
using internal::TopicRow;

StreamAssignment AssignPartitions(StreamAssignor assignor, const std::map<std::string, int32_t>& partitions_per_topic,
                                  const std::map<std::string, std::vector<std::string>>& subscriptions) {
  StreamAssignment out;
  for (const auto& [member, topics] : subscriptions) out[member];  // every member gets an entry
  if (assignor == StreamAssignor::kRange) {
    // RangeAssignor: per topic, the subscribed members in member-id order each take a contiguous
    // range; the first (partitions % members) members take one extra.
    std::map<std::string, std::vector<std::string>> members_per_topic;  // topic -> members, sorted
    for (const auto& [member, topics] : subscriptions)
      for (const auto& t : std::set<std::string>(topics.begin(), topics.end())) members_per_topic[t].push_back(member);
    for (const auto& [topic, members] : members_per_topic) {
      auto it = partitions_per_topic.find(topic);
      if (it == partitions_per_topic.end() || it->second <= 0) continue;
      const int32_t n = it->second, c = static_cast<int32_t>(members.size());
      const int32_t per = n / c, extra = n % c;
      for (int32_t i = 0; i < c; ++i) {
        const int32_t start = per * i + std::min(i, extra);
        const int32_t len = per + (i + 1 > extra ? 0 : 1);
        for (int32_t p = start; p < start + len; ++p) out[members[i]].push_back({topic, p});
      }
    }
  } else {
    // RoundRobinAssignor: every partition of every subscribed topic in (topic, partition) order,
    // dealt to the members in member-id order, skipping members not subscribed to its topic.
    std::set<std::string> all_topics;
    for (const auto& [member, topics] : subscriptions) all_topics.insert(topics.begin(), topics.end());
    std::vector<std::string> members;
    for (const auto& [member, topics] : subscriptions) members.push_back(member);
    size_t next = 0;
    for (const auto& topic : all_topics) {
      auto it = partitions_per_topic.find(topic);
      if (it == partitions_per_topic.end()) continue;
      for (int32_t p = 0; p < it->second; ++p) {
        for (size_t tries = 0; tries < members.size(); ++tries) {
          const std::string& m = members[next];
          next = (next + 1) % members.size();
          const auto& subs = subscriptions.at(m);
          if (std::find(subs.begin(), subs.end(), topic) != subs.end()) {
            out[m].push_back({topic, p});
            break;
          }
        }
      }
    }
  }
  for (auto& [member, parts] : out) std::sort(parts.begin(), parts.end());
  return out;
}

Json StreamGroupInfoToJson(const StreamGroupInfo& g) {
  auto tp_json = [](const std::vector<StreamTopicPartition>& tps) {
    Json a = Json::array();
    for (const auto& tp : tps) a.push_back(Json{{"topic", tp.topic}, {"partition", tp.partition}});
    return a;
  };
  Json members = Json::array(), offsets = Json::array();
  for (const auto& m : g.members)
    members.push_back(Json{{"memberId", m.member_id}, {"clientId", m.client_id}, {"topics", m.topics},
                           {"assignment", tp_json(m.assignment)}, {"lastHeartbeat", FormatIso8601(m.last_heartbeat)}});
  for (const auto& o : g.offsets)
    offsets.push_back(Json{{"topic", o.tp.topic}, {"partition", o.tp.partition},
                           {"committed", o.committed ? Json(*o.committed) : Json(nullptr)},
                           {"logStartOffset", o.log_start_offset}, {"endOffset", o.end_offset}, {"lag", o.lag}});
  return Json{{"groupId", g.group_id}, {"generation", g.generation}, {"assignor", g.assignor},
              {"members", std::move(members)}, {"offsets", std::move(offsets)}};
}

namespace {

Result<GroupState*> LoadGroup(Database& db, std::string_view group) {
  DOTDO_ASSIGN_OR_RETURN(internal::StreamState * state, internal::StreamStateOf(db));
  auto it = state->groups.find(group);
  if (it == state->groups.end()) it = state->groups.emplace(std::string(group), GroupState{}).first;
  GroupState& gs = it->second;
  if (!gs.loaded) {
    Connection& conn = DatabaseInternals::Conn(db);
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT generation, assignor FROM stream_groups WHERE group_id = ?1"));
    st.Bind(1, group);
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      gs.generation = st.ColumnInt64(0);
      auto a = ParseStreamAssignor(st.ColumnText(1));
      if (a.ok()) gs.assignor = *a;
    }
    gs.loaded = true;
  }
  return &gs;
}

// Partition counts of the topics; unknown topics are left out (Kafka ignores them until created).
Result<std::map<std::string, int32_t>> PartitionCounts(Connection& conn, const std::set<std::string>& topics) {
  std::map<std::string, int32_t> out;
  for (const auto& t : topics) {
    auto row = internal::LoadTopic(conn, t);
    if (row.ok()) {
      out[t] = row->config.partitions;
    } else if (row.status().code() != StatusCode::kNotFound) {
      return row.status();
    }
  }
  return out;
}

std::set<std::string> SubscribedTopics(const std::map<std::string, GroupMember>& members) {
  std::set<std::string> topics;
  for (const auto& [id, m] : members) topics.insert(m.topics.begin(), m.topics.end());
  return topics;
}

// Installs `members` as the group's membership under generation + 1, reassigning every partition.
Status Rebalance(Database& db, std::string_view group, GroupState& gs, std::map<std::string, GroupMember> members,
                 StreamAssignor assignor) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto counts, PartitionCounts(conn, SubscribedTopics(members)));
  std::map<std::string, std::vector<std::string>> subs;
  for (const auto& [id, m] : members) subs[id] = m.topics;
  StreamAssignment assignment = AssignPartitions(assignor, counts, subs);
  for (auto& [id, m] : members) m.assignment = assignment[id];
  const int64_t generation = gs.generation + 1;
  DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
        "INSERT INTO stream_groups(group_id, generation, assignor, updated_at) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (group_id) DO UPDATE SET generation = excluded.generation, assignor = excluded.assignor, "
        "updated_at = excluded.updated_at"));
    st.BindAll(group, generation, StreamAssignorName(assignor), db.NowMillis());
    DOTDO_RETURN_IF_ERROR(st.Run());
    Json ids = Json::array();
    for (const auto& [id, m] : members) ids.push_back(id);
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db));
    return outbox->AppendChange(
        gs.generation == 0 ? ChangeOp::kInsert : ChangeOp::kUpdate, internal::kStreamSpec.name, internal::kGroupsTable,
        group, std::nullopt,
        Json{{"generation", generation}, {"assignor", StreamAssignorName(assignor)}, {"members", std::move(ids)}});
  }));
  gs.generation = generation;
  gs.assignor = assignor;
  gs.members = std::move(members);
  gs.partition_counts = std::move(counts);
  return OkStatus();
}

// Removes the group's members whose session timed out; a rebalance when any did. Returns how many.
Result<int64_t> ExpireGroup(Database& db, std::string_view group, GroupState& gs) {
  const int64_t now = db.NowMillis();
  std::map<std::string, GroupMember> alive;
  for (const auto& [id, m] : gs.members)
    if (now - m.last_heartbeat <= m.session_timeout_ms) alive.emplace(id, m);
  const int64_t removed = static_cast<int64_t>(gs.members.size() - alive.size());
  if (removed > 0) DOTDO_RETURN_IF_ERROR(Rebalance(db, group, gs, std::move(alive), gs.assignor));
  return removed;
}

StreamMembership MembershipOf(const GroupState& gs, const std::string& member_id) {
  return {member_id, gs.generation, gs.members.at(member_id).assignment};
}

// The group, loaded and with its expired members removed. REQUIRES: the Database lock held.
Result<GroupState*> LiveGroup(Database& db, std::string_view group) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateGroupId(group));
  DOTDO_ASSIGN_OR_RETURN(GroupState * gs, LoadGroup(db, group));
  DOTDO_RETURN_IF_ERROR(ExpireGroup(db, group, *gs).status());
  return gs;
}

Result<GroupMember*> FindMember(GroupState& gs, std::string_view group, std::string_view member_id) {
  auto it = gs.members.find(std::string(member_id));
  if (it == gs.members.end())
    return NotFoundError("unknown member '" + internal::Printable(member_id, 160) + "' of group '" + std::string(group) +
                         "' (it left or its session timed out); join again");
  return &it->second;
}

}  // namespace

Result<StreamMembership> StreamStore::JoinGroup(std::string_view group, const StreamJoinOptions& options) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateClientId(options.client_id));
  if (options.topics.empty()) return InvalidArgumentError("a member must subscribe to at least one topic");
  for (const auto& t : options.topics) DOTDO_RETURN_IF_ERROR(internal::ValidateTopicName(t));
  if (options.session_timeout_ms < 1 || options.session_timeout_ms > 3600000)
    return InvalidArgumentError("session_timeout_ms must be 1..3600000, got " + std::to_string(options.session_timeout_ms));
  auto lock = DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(GroupState * gs, LiveGroup(db_, group));
  if (!gs->members.empty() && gs->assignor != options.assignor)
    return FailedPreconditionError("group '" + std::string(group) + "' uses the " +
                                   std::string(StreamAssignorName(gs->assignor)) + " assignor; a member asked for " +
                                   std::string(StreamAssignorName(options.assignor)));
  const std::string member_id = options.client_id + "-" + db_.NewId();
  std::map<std::string, GroupMember> members = gs->members;
  std::vector<std::string> topics(options.topics);
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  members[member_id] = GroupMember{options.client_id, topics, options.session_timeout_ms, db_.NowMillis(), {}};
  DOTDO_RETURN_IF_ERROR(Rebalance(db_, group, *gs, std::move(members), options.assignor));
  return MembershipOf(*gs, member_id);
}

Result<StreamMembership> StreamStore::Heartbeat(std::string_view group, std::string_view member_id) {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(GroupState * gs, LiveGroup(db_, group));
  DOTDO_ASSIGN_OR_RETURN(GroupMember * m, FindMember(*gs, group, member_id));
  m->last_heartbeat = db_.NowMillis();
  // A topic that gained partitions (or was created) since the last rebalance: rebalance again.
  DOTDO_ASSIGN_OR_RETURN(auto counts, PartitionCounts(DatabaseInternals::Conn(db_), SubscribedTopics(gs->members)));
  if (counts != gs->partition_counts) DOTDO_RETURN_IF_ERROR(Rebalance(db_, group, *gs, gs->members, gs->assignor));
  return MembershipOf(*gs, std::string(member_id));
}

Status StreamStore::LeaveGroup(std::string_view group, std::string_view member_id) {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(GroupState * gs, LiveGroup(db_, group));
  DOTDO_RETURN_IF_ERROR(FindMember(*gs, group, member_id).status());
  std::map<std::string, GroupMember> members = gs->members;
  members.erase(std::string(member_id));
  return Rebalance(db_, group, *gs, std::move(members), gs->assignor);
}

Result<int64_t> StreamStore::ExpireMembers() {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(internal::StreamState * state, internal::StreamStateOf(db_));
  int64_t removed = 0;
  for (auto& [group, gs] : state->groups) {
    DOTDO_ASSIGN_OR_RETURN(int64_t n, ExpireGroup(db_, group, gs));
    removed += n;
  }
  return removed;
}

Status StreamStore::CommitOffsets(std::string_view group, const std::map<StreamTopicPartition, int64_t>& offsets,
                                  std::string_view member_id, int64_t generation) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(GroupState * gs, LiveGroup(db_, group));
  if (!member_id.empty()) {
    DOTDO_ASSIGN_OR_RETURN(GroupMember * m, FindMember(*gs, group, member_id));
    if (generation != gs->generation)
      return FailedPreconditionError("commit refused: member '" + std::string(member_id) + "' is in generation " +
                                     std::to_string(generation) + " but group '" + std::string(group) +
                                     "' is in generation " + std::to_string(gs->generation) +
                                     " (a rebalance happened); rejoin and read again from the committed offsets");
    m->last_heartbeat = db_.NowMillis();
  } else if (!gs->members.empty()) {
    return FailedPreconditionError("group '" + std::string(group) + "' has " + std::to_string(gs->members.size()) +
                                   " live members; commit as a member (member id and generation)");
  }
  if (offsets.empty()) return OkStatus();
  return db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare(
        "INSERT INTO stream_offsets(group_id, topic_id, partition, offset, generation, committed_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (group_id, topic_id, partition) DO UPDATE SET "
        "offset = excluded.offset, generation = excluded.generation, committed_at = excluded.committed_at"));
    Json list = Json::array();
    std::optional<TopicRow> t;
    std::vector<StreamPartitionInfo> parts;  // of *t (offsets are sorted by topic)
    for (const auto& [tp, offset] : offsets) {
      if (!t || t->name != tp.topic) {
        DOTDO_ASSIGN_OR_RETURN(t, internal::LoadTopic(conn, tp.topic));
        DOTDO_ASSIGN_OR_RETURN(parts, internal::LoadPartitions(conn, t->id));
      }
      DOTDO_RETURN_IF_ERROR(internal::CheckPartition(*t, tp.partition));
      const StreamPartitionInfo& info = parts.at(static_cast<size_t>(tp.partition));
      DOTDO_RETURN_IF_ERROR(internal::CheckOffsetInRange(
          *t, tp.partition, {info.end_offset, info.log_start_offset, info.records, info.bytes}, offset));
      up.BindAll(group, t->id, tp.partition, offset, gs->generation, db_.NowMillis());
      DOTDO_RETURN_IF_ERROR(up.Run());
      up.Reset();
      list.push_back(Json{{"topic", tp.topic}, {"partition", tp.partition}, {"offset", offset}});
    }
    return internal::AppendStreamEvent(db_, "stream.commit", "u", "offsets", group,
                                       Json{{"group", group}, {"generation", gs->generation}, {"offsets", std::move(list)}});
  });
}

Result<std::optional<int64_t>> StreamStore::CommittedOffset(std::string_view group, const StreamTopicPartition& tp) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateGroupId(group));
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, tp.topic));
  DOTDO_RETURN_IF_ERROR(internal::CheckPartition(t, tp.partition));
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT offset FROM stream_offsets WHERE group_id = ?1 AND "
                                               "topic_id = ?2 AND partition = ?3"));
  st.BindAll(group, t.id, tp.partition);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.ColumnInt64(0));
}

Result<std::vector<StreamOffsetLag>> StreamStore::Lag(std::string_view group, const std::vector<std::string>& topics) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateGroupId(group));
  DOTDO_RETURN_IF_ERROR(internal::StreamStateOf(db_).status());
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::set<std::string> names(topics.begin(), topics.end());
  if (names.empty()) {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT DISTINCT t.name FROM stream_offsets o JOIN stream_topics t "
                                                 "ON t.id = o.topic_id WHERE o.group_id = ?1"));
    st.Bind(1, group);
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      names.insert(st.ColumnString(0));
    }
  }
  std::vector<StreamOffsetLag> out;
  for (const auto& name : names) {
    DOTDO_ASSIGN_OR_RETURN(TopicRow t, internal::LoadTopic(conn, name));
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
        "SELECT p.partition, p.log_start, p.next_offset, o.offset FROM stream_partitions p LEFT JOIN stream_offsets o "
        "ON o.group_id = ?2 AND o.topic_id = p.topic_id AND o.partition = p.partition WHERE p.topic_id = ?1 "
        "ORDER BY p.partition"));
    st.BindAll(t.id, group);
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      StreamOffsetLag l;
      l.tp = {t.name, static_cast<int32_t>(st.ColumnInt64(0))};
      l.log_start_offset = st.ColumnInt64(1);
      l.end_offset = st.ColumnInt64(2);
      if (!st.IsNull(3)) l.committed = st.ColumnInt64(3);
      l.lag = l.end_offset - std::max(l.log_start_offset, l.committed.value_or(l.log_start_offset));
      out.push_back(std::move(l));
    }
  }
  return out;
}

Result<std::vector<std::string>> StreamStore::ListGroups() {
  DOTDO_ASSIGN_OR_RETURN(internal::StreamState * state, internal::StreamStateOf(db_));
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::set<std::string> out;
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT group_id FROM stream_groups UNION SELECT group_id FROM stream_offsets"));
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.insert(st.ColumnString(0));
  }
  for (const auto& [g, gs] : state->groups)
    if (!gs.members.empty()) out.insert(g);
  return std::vector<std::string>(out.begin(), out.end());
}

Result<StreamGroupInfo> StreamStore::DescribeGroup(std::string_view group) {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(GroupState * gs, LiveGroup(db_, group));
  StreamGroupInfo info;
  info.group_id = std::string(group);
  info.generation = gs->generation;
  info.assignor = std::string(StreamAssignorName(gs->assignor));
  for (const auto& [id, m] : gs->members)
    info.members.push_back({id, m.client_id, m.topics, m.assignment, m.last_heartbeat});
  DOTDO_ASSIGN_OR_RETURN(auto lag, Lag(group));
  for (auto& l : lag)
    if (l.committed) info.offsets.push_back(std::move(l));
  if (info.generation == 0 && info.members.empty() && info.offsets.empty())
    return NotFoundError("unknown group '" + std::string(group) + "': it has no members and no committed offsets");
  return info;
}

}  // namespace dotdo
