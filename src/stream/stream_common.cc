// StreamStore foundations: the schema, the name grammars, topic configuration checks and rows,
// Kafka's murmur2 partitioner, header encoding, record rows and their JSON, and the CDC events.
#include <array>

#include "cdc/outbox.h"
#include "core/encoding.h"
#include "core/json.h"
#include "core/names.h"
#include "stream/stream_internal.h"

namespace dotdo {

// Kafka's Utils.murmur2 (clients/src/main/java/org/apache/kafka/common/utils/Utils.java): Austin
// Appleby's MurmurHash2, 32-bit, seed 0x9747b28c, little-endian 4-byte blocks, the tail mixed in
// from its highest byte down. Java ints wrap; uint32_t arithmetic gives the same bits.
int32_t KafkaMurmur2(std::string_view bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint32_t length = static_cast<uint32_t>(bytes.size());
  const uint32_t seed = 0x9747b28cU, m = 0x5bd1e995U;
  const int r = 24;
  uint32_t h = seed ^ length;
  const uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = static_cast<uint32_t>(data[i4]) | (static_cast<uint32_t>(data[i4 + 1]) << 8) |
                 (static_cast<uint32_t>(data[i4 + 2]) << 16) | (static_cast<uint32_t>(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = length & ~3U;
  switch (length % 4) {
    case 3: h ^= static_cast<uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t KafkaPartitionForKey(std::string_view key, int32_t partitions) {
  // Utils.toPositive: number & 0x7fffffff (not Math.abs, which breaks on Integer.MIN_VALUE).
  return static_cast<int32_t>(static_cast<uint32_t>(KafkaMurmur2(key)) & 0x7fffffffU) % partitions;
}

Result<StreamCleanupPolicy> ParseStreamCleanupPolicy(std::string_view name) {
  if (name == "delete") return StreamCleanupPolicy::kDelete;
  if (name == "compact") return StreamCleanupPolicy::kCompact;
  return InvalidArgumentError("unknown cleanup.policy '" + internal::Printable(name) + "'; valid: delete, compact");
}

std::string_view StreamCleanupPolicyName(StreamCleanupPolicy policy) {
  return policy == StreamCleanupPolicy::kCompact ? "compact" : "delete";
}

Result<StreamAssignor> ParseStreamAssignor(std::string_view name) {
  if (name == "range") return StreamAssignor::kRange;
  if (name == "roundrobin") return StreamAssignor::kRoundRobin;
  return InvalidArgumentError("unknown assignor '" + internal::Printable(name) + "'; valid: range, roundrobin");
}

std::string_view StreamAssignorName(StreamAssignor assignor) {
  return assignor == StreamAssignor::kRoundRobin ? "roundrobin" : "range";
}

namespace {

// Bytes as JSON: the text when it is valid UTF-8, else {"base64url": "..."}; null stays null.
Json BytesToJson(const std::optional<std::string>& bytes) {
  if (!bytes) return nullptr;
  if (internal::ValidateUtf8(*bytes, "bytes").ok()) return *bytes;
  return Json{{"base64url", internal::Base64UrlEncode(*bytes)}};
}

}  // namespace

Json StreamRecordToJson(const StreamRecord& r) {
  Json headers = Json::array();
  for (const auto& h : r.headers) headers.push_back(Json{{"key", h.key}, {"value", BytesToJson(h.value)}});
  return Json{{"topic", r.topic},         {"partition", r.partition},     {"offset", r.offset},
              {"timestamp", r.timestamp}, {"key", BytesToJson(r.key)},    {"value", BytesToJson(r.value)},
              {"headers", std::move(headers)}};
}

Json StreamTopicInfoToJson(const StreamTopicInfo& t) {
  const StreamTopicConfig& c = t.config;
  Json parts = Json::array();
  for (const auto& p : t.partitions)
    parts.push_back(Json{{"partition", p.partition}, {"logStartOffset", p.log_start_offset},
                         {"endOffset", p.end_offset}, {"records", p.records}, {"bytes", p.bytes}});
  return Json{{"name", t.name},
              {"partitions", c.partitions},
              {"config",
               {{"retention.ms", c.retention_ms},
                {"retention.bytes", c.retention_bytes},
                {"cleanup.policy", StreamCleanupPolicyName(c.cleanup_policy)},
                {"max.record.bytes", c.max_record_bytes},
                {"delete.retention.ms", c.delete_retention_ms},
                {"max.unconsumed", c.max_unconsumed},
                {"full.policy", c.full_policy == StreamFullPolicy::kBlock ? "block" : "error"},
                {"full.block.ms", c.full_block_ms}}},
              {"createdAt", FormatIso8601(t.created_at)},
              {"partitionInfo", std::move(parts)}};
}

namespace internal {
namespace {

bool TopicChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}
const NameGrammar kTopicGrammar{"topic name", "[A-Za-z0-9._-]{1,249}", 249, TopicChar, TopicChar,
                                "a letter, digit, '.', '_' or '-'", "letters, digits, '.', '_' and '-'"};
const NameGrammar kGroupGrammar{"group id", "[A-Za-z0-9._-]{1,249}", 249, TopicChar, TopicChar,
                                "a letter, digit, '.', '_' or '-'", "letters, digits, '.', '_' and '-'"};
const NameGrammar kClientGrammar{"client id", "[A-Za-z0-9._-]{1,128}", 128, TopicChar, TopicChar,
                                 "a letter, digit, '.', '_' or '-'", "letters, digits, '.', '_' and '-'"};

constexpr std::string_view kMigrationV1 = R"sql(
CREATE TABLE stream_topics (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  name                TEXT NOT NULL UNIQUE,
  partitions          INTEGER NOT NULL,
  retention_ms        INTEGER NOT NULL,
  retention_bytes     INTEGER NOT NULL,
  cleanup_policy      TEXT NOT NULL,
  max_record_bytes    INTEGER NOT NULL,
  delete_retention_ms INTEGER NOT NULL,
  max_unconsumed      INTEGER NOT NULL,
  full_policy         TEXT NOT NULL,
  full_block_ms       INTEGER NOT NULL,
  created_at          INTEGER NOT NULL
);
CREATE TABLE stream_partitions (
  topic_id    INTEGER NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  log_start   INTEGER NOT NULL,
  records     INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  PRIMARY KEY (topic_id, partition)
) WITHOUT ROWID;
CREATE TABLE stream_records (
  topic_id  INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  offset    INTEGER NOT NULL,
  ts        INTEGER NOT NULL,
  key       BLOB,
  value     BLOB,
  headers   BLOB,
  size      INTEGER NOT NULL,
  PRIMARY KEY (topic_id, partition, offset)
) WITHOUT ROWID;
CREATE TABLE stream_producers (
  producer_id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at  INTEGER NOT NULL
);
CREATE TABLE stream_producer_state (
  producer_id         INTEGER NOT NULL,
  topic_id            INTEGER NOT NULL,
  partition           INTEGER NOT NULL,
  last_sequence       INTEGER NOT NULL,
  batch_base_sequence INTEGER NOT NULL,
  batch_base_offset   INTEGER NOT NULL,
  batch_count         INTEGER NOT NULL,
  PRIMARY KEY (producer_id, topic_id, partition)
) WITHOUT ROWID;
CREATE TABLE stream_groups (
  group_id   TEXT PRIMARY KEY,
  generation INTEGER NOT NULL,
  assignor   TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE stream_offsets (
  group_id     TEXT NOT NULL,
  topic_id     INTEGER NOT NULL,
  partition    INTEGER NOT NULL,
  offset       INTEGER NOT NULL,
  generation   INTEGER NOT NULL,
  committed_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, topic_id, partition)
) WITHOUT ROWID;
CREATE INDEX stream_offsets_topic ON stream_offsets(topic_id, partition);
)sql";
constexpr std::array<std::string_view, 1> kMigrations = {kMigrationV1};

constexpr std::string_view kTopicColumns =
    "id, name, partitions, retention_ms, retention_bytes, cleanup_policy, max_record_bytes, delete_retention_ms, "
    "max_unconsumed, full_policy, full_block_ms, created_at";

Result<TopicRow> TopicFromRow(const Statement& st) {
  TopicRow t;
  t.id = st.ColumnInt64(0);
  t.name = st.ColumnString(1);
  StreamTopicConfig& c = t.config;
  c.partitions = static_cast<int32_t>(st.ColumnInt64(2));
  c.retention_ms = st.ColumnInt64(3);
  c.retention_bytes = st.ColumnInt64(4);
  auto policy = ParseStreamCleanupPolicy(st.ColumnText(5));
  if (!policy.ok()) return DataLossError("stream_topics." + t.name + ": " + policy.status().message());
  c.cleanup_policy = *policy;
  c.max_record_bytes = st.ColumnInt64(6);
  c.delete_retention_ms = st.ColumnInt64(7);
  c.max_unconsumed = st.ColumnInt64(8);
  c.full_policy = st.ColumnText(9) == "block" ? StreamFullPolicy::kBlock : StreamFullPolicy::kError;
  c.full_block_ms = st.ColumnInt64(10);
  t.created_at = st.ColumnInt64(11);
  return t;
}

Result<TopicRow> LoadTopicWhere(Connection& conn, std::string_view where, const SqlValue& v, std::string_view what) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT " + std::string(kTopicColumns) + " FROM stream_topics WHERE " +
                                               std::string(where)));
  st.Bind(1, v);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFoundError("unknown topic " + std::string(what) + "; create it first (CreateTopic)");
  return TopicFromRow(st);
}

uint64_t ReadVarint(std::string_view blob, size_t& pos, bool& ok) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= blob.size()) break;
    const auto b = static_cast<unsigned char>(blob[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  ok = false;
  return 0;
}

void WriteVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

}  // namespace

const StoreSpec kStreamSpec{"stream", "stream_", kMigrations};

Result<StreamState*> StreamStateOf(Database& db) { return StoreStateOf<StreamState>(db, kStreamSpec); }

Status ValidateTopicName(std::string_view topic) {
  DOTDO_RETURN_IF_ERROR(ValidateName(kTopicGrammar, topic, kTopicGrammar.kind));
  if (topic == "." || topic == "..") return InvalidArgumentError("topic name may not be '.' or '..'");
  return OkStatus();
}
Status ValidateGroupId(std::string_view group) { return ValidateName(kGroupGrammar, group, kGroupGrammar.kind); }
Status ValidateClientId(std::string_view client) { return ValidateName(kClientGrammar, client, kClientGrammar.kind); }

Status ValidateTopicConfig(const StreamTopicConfig& c) {
  auto bad = [](const std::string& what, int64_t v, const std::string& rule) {
    return InvalidArgumentError(what + " must be " + rule + ", got " + std::to_string(v));
  };
  if (c.partitions < 1 || c.partitions > kMaxStreamPartitions)
    return bad("partitions", c.partitions, "between 1 and " + std::to_string(kMaxStreamPartitions));
  if (c.retention_ms < -1 || c.retention_ms == 0) return bad("retention.ms", c.retention_ms, "-1 (forever) or > 0");
  if (c.retention_bytes < -1 || c.retention_bytes == 0)
    return bad("retention.bytes", c.retention_bytes, "-1 (no limit) or > 0");
  if (c.max_record_bytes < 1 || c.max_record_bytes > kMaxStreamRecordBytesLimit)
    return bad("max.record.bytes", c.max_record_bytes, "between 1 and " + std::to_string(kMaxStreamRecordBytesLimit));
  if (c.delete_retention_ms < 0) return bad("delete.retention.ms", c.delete_retention_ms, ">= 0");
  if (c.max_unconsumed < -1 || c.max_unconsumed == 0)
    return bad("max.unconsumed", c.max_unconsumed, "-1 (no bound) or > 0");
  if (c.full_block_ms < 0 || c.full_block_ms > 600000) return bad("full.block.ms", c.full_block_ms, "0..600000");
  if (c.cleanup_policy != StreamCleanupPolicy::kDelete && c.cleanup_policy != StreamCleanupPolicy::kCompact)
    return InvalidArgumentError("cleanup.policy must be delete or compact");
  if (c.full_policy != StreamFullPolicy::kError && c.full_policy != StreamFullPolicy::kBlock)
    return InvalidArgumentError("full.policy must be error or block");
  return OkStatus();
}

Result<TopicRow> LoadTopic(Connection& conn, std::string_view topic) {
  DOTDO_RETURN_IF_ERROR(ValidateTopicName(topic));
  return LoadTopicWhere(conn, "name = ?1", SqlValue(std::string(topic)), "'" + std::string(topic) + "'");
}

Result<TopicRow> LoadTopicById(Connection& conn, int64_t id) {
  return LoadTopicWhere(conn, "id = ?1", SqlValue(id), "#" + std::to_string(id));
}

Status CheckPartition(const TopicRow& t, int32_t partition) {
  if (partition < 0 || partition >= t.config.partitions)
    return NotFoundError("unknown partition " + std::to_string(partition) + " of topic '" + t.name +
                         "': valid partitions are 0.." + std::to_string(t.config.partitions - 1));
  return OkStatus();
}

Result<PartitionRow> LoadPartition(Connection& conn, int64_t topic_id, int32_t partition) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT next_offset, log_start, records, bytes FROM stream_partitions "
                                               "WHERE topic_id = ?1 AND partition = ?2"));
  st.BindAll(topic_id, partition);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return DataLossError("stream_partitions has no row for partition " + std::to_string(partition));
  return PartitionRow{st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3)};
}

Result<std::vector<StreamPartitionInfo>> LoadPartitions(Connection& conn, int64_t topic_id) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT partition, log_start, next_offset, records, bytes FROM "
                                               "stream_partitions WHERE topic_id = ?1 ORDER BY partition"));
  st.Bind(1, topic_id);
  std::vector<StreamPartitionInfo> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({static_cast<int32_t>(st.ColumnInt64(0)), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3),
                   st.ColumnInt64(4)});
  }
  return out;
}

Status CheckOffsetInRange(const TopicRow& t, int32_t partition, const PartitionRow& p, int64_t offset) {
  if (offset < p.log_start || offset > p.next_offset)
    return OutOfRangeError("offset " + std::to_string(offset) + " of " + t.name + "/" + std::to_string(partition) +
                           " is out of range: valid offsets are [" + std::to_string(p.log_start) + ", " +
                           std::to_string(p.next_offset) + "]");
  return OkStatus();
}

std::string EncodeHeaders(const std::vector<StreamHeader>& headers) {
  std::string out;
  for (const auto& h : headers) {
    WriteVarint(out, h.key.size());
    out += h.key;
    WriteVarint(out, h.value ? h.value->size() + 1 : 0);
    if (h.value) out += *h.value;
  }
  return out;
}

Result<std::vector<StreamHeader>> DecodeHeaders(std::string_view blob) {
  std::vector<StreamHeader> out;
  size_t pos = 0;
  bool ok = true;
  while (ok && pos < blob.size()) {
    StreamHeader h;
    const uint64_t klen = ReadVarint(blob, pos, ok);
    if (!ok || klen > blob.size() - pos) break;
    h.key = std::string(blob.substr(pos, klen));
    pos += klen;
    const uint64_t vlen = ReadVarint(blob, pos, ok);
    if (!ok || (vlen > 0 && vlen - 1 > blob.size() - pos)) {
      ok = false;
      break;
    }
    if (vlen > 0) {
      h.value = std::string(blob.substr(pos, vlen - 1));
      pos += vlen - 1;
    }
    out.push_back(std::move(h));
  }
  if (!ok) return DataLossError("corrupt headers in stream_records");
  return out;
}

Status ValidateHeaders(const std::vector<StreamHeader>& headers) {
  if (headers.size() > kMaxStreamHeaders)
    return InvalidArgumentError("a record may carry at most " + std::to_string(kMaxStreamHeaders) + " headers, got " +
                                std::to_string(headers.size()));
  for (const auto& h : headers) {
    if (h.key.empty() || h.key.size() > kMaxStreamHeaderKeyBytes)
      return InvalidArgumentError("header keys must be 1.." + std::to_string(kMaxStreamHeaderKeyBytes) + " bytes");
    DOTDO_RETURN_IF_ERROR(ValidateUtf8(h.key, "header key"));
  }
  return OkStatus();
}

Status RecordFromRow(const Statement& st, int first, const std::string& topic, StreamRecord& r) {
  r.topic = topic;
  r.partition = static_cast<int32_t>(st.ColumnInt64(first));
  r.offset = st.ColumnInt64(first + 1);
  r.timestamp = st.ColumnInt64(first + 2);
  // A NULL column reads as an empty blob with a null pointer; so does an empty blob.
  const std::string_view key = st.ColumnBlob(first + 3), value = st.ColumnBlob(first + 4);
  if (key.data() != nullptr || !st.IsNull(first + 3)) r.key.emplace(key);
  if (value.data() != nullptr || !st.IsNull(first + 4)) r.value.emplace(value);
  const std::string_view headers = st.ColumnBlob(first + 5);
  if (!headers.empty()) {
    DOTDO_ASSIGN_OR_RETURN(r.headers, DecodeHeaders(headers));
  }
  return OkStatus();
}

Status AppendStreamEvent(Database& db, std::string_view type, std::string_view op, std::string_view table,
                         std::string_view key, Json data) {
  DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db));
  UnifiedEvent e;
  e.type = std::string(type);
  e.op = std::string(op);
  e.store = std::string(kStreamSpec.name);
  e.table = std::string(table);
  e.key = std::string(key);
  e.data = std::move(data);
  return outbox->Append(e);
}

}  // namespace internal
}  // namespace dotdo
