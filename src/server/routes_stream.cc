// Stream routes: topics (list, create, describe), producing records (one batch = one transaction)
// and fetching a partition from an offset. Results are the CLI's `dotdo stream` JSON.
#include "dotdo/stream.h"
#include "server/server_internal.h"

namespace dotdo::internal {
namespace {

const std::string kTopics = std::string(kNsPrefix) + "/stream/topics";
const std::string kTopic = kTopics + "/([^/]+)";

Result<Json> ListTopics(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, r.ns->Stream());
  DOTDO_ASSIGN_OR_RETURN(auto topics, s.ListTopics());
  return Json{{"topics", topics}};
}

Result<Json> CreateTopic(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  std::string topic;
  StreamTopicConfig config;
  try {
    topic = b.at("topic").get<std::string>();
    config.partitions = b.value("partitions", config.partitions);
    config.retention_ms = b.value("retention_ms", config.retention_ms);
    config.retention_bytes = b.value("retention_bytes", config.retention_bytes);
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("topic body needs \"topic\" (and optional integers): ") + e.what());
  }
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, r.ns->Stream());
  DOTDO_ASSIGN_OR_RETURN(auto info, s.CreateTopic(topic, config));
  return StreamTopicInfoToJson(info);
}

Result<Json> Describe(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, r.ns->Stream());
  DOTDO_ASSIGN_OR_RETURN(auto info, s.DescribeTopic(r.Capture(2)));
  return StreamTopicInfoToJson(info);
}

Result<std::optional<std::string>> OptionalString(const Json& j, const char* field) {
  if (!j.contains(field) || j[field].is_null()) return std::optional<std::string>();
  if (!j[field].is_string()) return InvalidArgumentError(std::string("record field '") + field + "' must be a string");
  return std::optional<std::string>(j[field].get<std::string>());
}

// {"records": [{"key"?, "value"?, "partition"?, "timestamp"?}, ...]}
Result<Json> Produce(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  if (!b.contains("records") || !b["records"].is_array()) return InvalidArgumentError("the body must be {\"records\": [...]}");
  std::vector<StreamMessage> messages;
  for (const auto& j : b["records"]) {
    if (!j.is_object()) return InvalidArgumentError("a record is a JSON object");
    StreamMessage m;
    DOTDO_ASSIGN_OR_RETURN(m.key, OptionalString(j, "key"));
    DOTDO_ASSIGN_OR_RETURN(m.value, OptionalString(j, "value"));
    if (j.contains("partition")) {
      if (!j["partition"].is_number_integer()) return InvalidArgumentError("partition must be an integer");
      m.partition = j["partition"].get<int32_t>();
    }
    if (j.contains("timestamp")) {
      if (!j["timestamp"].is_number_integer()) return InvalidArgumentError("timestamp must be an integer (ms)");
      m.timestamp = j["timestamp"].get<int64_t>();
    }
    messages.push_back(std::move(m));
  }
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, r.ns->Stream());
  DOTDO_ASSIGN_OR_RETURN(auto sent, s.SendBatch(r.Capture(2), messages));
  Json items = Json::array();
  for (const auto& m : sent) items.push_back({{"partition", m.partition}, {"offset", m.offset}, {"timestamp", m.timestamp}});
  return Json{{"topic", r.Capture(2)}, {"records", std::move(items)}};
}

Result<Json> Fetch(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(int64_t partition, r.IntParam("partition", 0));
  DOTDO_ASSIGN_OR_RETURN(int64_t offset, r.IntParam("offset", 0));
  DOTDO_ASSIGN_OR_RETURN(int64_t limit, r.IntParam("limit", 500));
  if (partition < 0 || partition > INT32_MAX) return InvalidArgumentError("partition must be >= 0");
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, r.ns->Stream());
  DOTDO_ASSIGN_OR_RETURN(auto records, s.Fetch(r.Capture(2), static_cast<int32_t>(partition), offset, limit));
  Json items = Json::array();
  for (const auto& rec : records) items.push_back(StreamRecordToJson(rec));
  return Json{{"records", std::move(items)}};
}

}  // namespace

void InstallStreamRoutes(RouteTable& t) {
  t.Add({.method = "GET", .pattern = kTopics, .handler = ListTopics});
  t.Add({.method = "POST", .pattern = kTopics, .role = TokenRole::kAdmin, .body = BodyKind::kJson, .create_ns = true,
         .success_status = 201, .handler = CreateTopic});
  t.Add({.method = "GET", .pattern = kTopic, .handler = Describe});
  t.Add({.method = "POST", .pattern = kTopic + "/records", .role = TokenRole::kWrite, .body = BodyKind::kJson,
         .success_status = 201, .handler = Produce});
  t.Add({.method = "GET", .pattern = kTopic + "/records", .handler = Fetch});
}

}  // namespace dotdo::internal
