// UnifiedEvent <-> JSON with the seed's field names.
#include "dotdo/cdc.h"

namespace dotdo {

Json EventToJson(const UnifiedEvent& e) {
  Json j = Json::object();
  j["id"] = e.id;
  j["type"] = e.type;
  j["timestamp"] = FormatIso8601(e.timestamp);
  j["ns"] = e.ns;
  if (e.correlation_id) j["correlationId"] = *e.correlation_id;
  if (e.op) j["op"] = *e.op;
  if (e.store) j["store"] = *e.store;
  if (e.table) j["table"] = *e.table;
  if (e.key) j["key"] = *e.key;
  if (e.before) j["before"] = *e.before;
  if (e.after) j["after"] = *e.after;
  if (e.txid) j["txid"] = *e.txid;
  if (e.lsn) j["lsn"] = *e.lsn;
  if (e.actor) j["actor"] = *e.actor;
  if (e.data) j["data"] = *e.data;
  if (e.visibility) j["visibility"] = *e.visibility;
  if (e.meta) j["_meta"] = *e.meta;
  return j;
}

namespace {
Status ReadString(const Json& j, const char* name, bool required, std::optional<std::string>& out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) return InvalidArgumentError(std::string("event field '") + name + "' is required");
    return OkStatus();
  }
  if (!it->is_string()) return InvalidArgumentError(std::string("event field '") + name + "' must be a string");
  out = it->get<std::string>();
  return OkStatus();
}
Status ReadInt(const Json& j, const char* name, std::optional<int64_t>& out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return OkStatus();
  if (!it->is_number_integer()) return InvalidArgumentError(std::string("event field '") + name + "' must be an integer");
  out = it->get<int64_t>();
  return OkStatus();
}
Status ReadObject(const Json& j, const char* name, std::optional<Json>& out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return OkStatus();
  if (!it->is_object()) return InvalidArgumentError(std::string("event field '") + name + "' must be an object");
  out = *it;
  return OkStatus();
}
}  // namespace

Result<UnifiedEvent> EventFromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgumentError("an event must be a JSON object");
  UnifiedEvent e;
  std::optional<std::string> s;
  DOTDO_RETURN_IF_ERROR(ReadString(j, "id", true, s));
  e.id = *s;
  DOTDO_RETURN_IF_ERROR(ReadString(j, "type", true, s));
  e.type = *s;
  DOTDO_RETURN_IF_ERROR(ReadString(j, "timestamp", true, s));
  DOTDO_ASSIGN_OR_RETURN(e.timestamp, ParseIso8601(*s));
  DOTDO_RETURN_IF_ERROR(ReadString(j, "ns", true, s));
  e.ns = *s;
  DOTDO_RETURN_IF_ERROR(ReadString(j, "correlationId", false, e.correlation_id));
  DOTDO_RETURN_IF_ERROR(ReadString(j, "op", false, e.op));
  if (e.op && *e.op != "c" && *e.op != "u" && *e.op != "d" && *e.op != "r")
    return InvalidArgumentError("event field 'op' must be one of c, u, d, r");
  DOTDO_RETURN_IF_ERROR(ReadString(j, "store", false, e.store));
  DOTDO_RETURN_IF_ERROR(ReadString(j, "table", false, e.table));
  DOTDO_RETURN_IF_ERROR(ReadString(j, "key", false, e.key));
  DOTDO_RETURN_IF_ERROR(ReadObject(j, "before", e.before));
  DOTDO_RETURN_IF_ERROR(ReadObject(j, "after", e.after));
  DOTDO_RETURN_IF_ERROR(ReadInt(j, "txid", e.txid));
  DOTDO_RETURN_IF_ERROR(ReadInt(j, "lsn", e.lsn));
  DOTDO_RETURN_IF_ERROR(ReadString(j, "actor", false, e.actor));
  DOTDO_RETURN_IF_ERROR(ReadObject(j, "data", e.data));
  DOTDO_RETURN_IF_ERROR(ReadString(j, "visibility", false, e.visibility));
  DOTDO_RETURN_IF_ERROR(ReadObject(j, "_meta", e.meta));
  return e;
}

std::string_view ChangeOpCode(ChangeOp op) {
  switch (op) {
    case ChangeOp::kInsert: return "c";
    case ChangeOp::kUpdate: return "u";
    case ChangeOp::kDelete: return "d";
    case ChangeOp::kRead: return "r";
  }
  return "?";
}

std::string_view ChangeOpEventType(ChangeOp op) {
  switch (op) {
    case ChangeOp::kInsert: return "cdc.insert";
    case ChangeOp::kUpdate: return "cdc.update";
    case ChangeOp::kDelete: return "cdc.delete";
    case ChangeOp::kRead: return "cdc.read";
  }
  return "cdc.unknown";
}

Result<ChangeOp> ParseChangeOp(std::string_view code) {
  for (ChangeOp op : {ChangeOp::kInsert, ChangeOp::kUpdate, ChangeOp::kDelete, ChangeOp::kRead}) {
    if (ChangeOpCode(op) == code) return op;
  }
  return InvalidArgumentError("unknown change op '" + std::string(code.substr(0, 8)) + "': use c, u, d or r");
}

}  // namespace dotdo
