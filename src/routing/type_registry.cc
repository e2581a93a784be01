// TypeRegistry: parsing and validation of `$store` routes (see include/dotdo/routing.h).
#include <array>
#include <utility>

#include "dotdo/routing.h"

namespace dotdo {
namespace {

constexpr std::array<std::pair<std::string_view, StoreKind>, 7> kStoreNames = {{
    {"document", StoreKind::kDocument},
    {"graph", StoreKind::kGraph},
    {"relational", StoreKind::kRelational},
    {"columnar", StoreKind::kColumnar},
    {"timeseries", StoreKind::kTimeSeries},
    {"vector", StoreKind::kVector},
    {"blob", StoreKind::kBlob},
}};

bool IsTypeStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsTypeChar(char c) { return IsTypeStart(c) || (c >= '0' && c <= '9'); }

}  // namespace

Result<StoreKind> ParseStoreKind(std::string_view name) {
  for (const auto& [n, kind] : kStoreNames) {
    if (n == name) return kind;
  }
  std::string valid;
  for (const auto& [n, kind] : kStoreNames) {
    if (!valid.empty()) valid += ", ";
    valid += n;
  }
  return InvalidArgumentError("unknown store '" + std::string(name) + "'; valid stores: " + valid);
}

std::string_view StoreKindName(StoreKind kind) {
  for (const auto& [n, k] : kStoreNames) {
    if (k == kind) return n;
  }
  return "unknown";
}

Status ValidateTypeName(std::string_view type) {
  if (type.empty()) return InvalidArgumentError("type name is empty");
  if (type.size() > 128) {
    return InvalidArgumentError("type name is " + std::to_string(type.size()) + " bytes; the limit is 128");
  }
  if (!IsTypeStart(type[0])) {
    return InvalidArgumentError("type name '" + std::string(type) +
                                "' must start with a letter or '_' (grammar [A-Za-z_][A-Za-z0-9_]*)");
  }
  for (char c : type) {
    if (!IsTypeChar(c)) {
      return InvalidArgumentError("type name contains an invalid character (grammar [A-Za-z_][A-Za-z0-9_]*)");
    }
  }
  return OkStatus();
}

Status TypeRegistry::Register(std::string_view type, StoreKind store) {
  DOTDO_RETURN_IF_ERROR(ValidateTypeName(type));
  auto it = routes_.find(type);
  if (it != routes_.end()) {
    if (it->second == store) return OkStatus();
    return AlreadyExistsError("type '" + std::string(type) + "' is already routed to the " +
                              std::string(StoreKindName(it->second)) + " store, not " +
                              std::string(StoreKindName(store)));
  }
  routes_.emplace(std::string(type), store);
  return OkStatus();
}

Status TypeRegistry::LoadJson(const Json& spec) {
  if (!spec.is_object()) {
    return InvalidArgumentError("a type registry is a JSON object like {\"Customer\":{\"$store\":\"document\"}}");
  }
  // Validate everything first, then apply: a bad entry adds nothing.
  std::vector<std::pair<std::string, StoreKind>> parsed;
  for (const auto& [type, entry] : spec.items()) {
    DOTDO_RETURN_IF_ERROR(ValidateTypeName(type));
    if (!entry.is_object() || !entry.contains("$store") || !entry["$store"].is_string()) {
      return InvalidArgumentError("type '" + type + "' needs an object with a string \"$store\"");
    }
    auto kind = ParseStoreKind(entry["$store"].get<std::string>());
    if (!kind.ok()) return InvalidArgumentError("type '" + type + "': " + kind.status().message());
    auto it = routes_.find(type);
    if (it != routes_.end() && it->second != *kind) {
      return AlreadyExistsError("type '" + type + "' is already routed to the " +
                                std::string(StoreKindName(it->second)) + " store");
    }
    parsed.emplace_back(type, *kind);
  }
  for (auto& [type, kind] : parsed) routes_.insert_or_assign(std::move(type), kind);
  return OkStatus();
}

Status TypeRegistry::LoadJsonText(std::string_view text) {
  Json spec;
  try {
    spec = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return InvalidArgumentError("type registry is not valid JSON at byte " + std::to_string(e.byte) + ": " +
                                e.what());
  }
  return LoadJson(spec);
}

Result<StoreKind> TypeRegistry::StoreOf(std::string_view type) const {
  auto it = routes_.find(type);
  if (it == routes_.end()) {
    return NotFoundError("type '" + std::string(type) + "' has no $store route; register it first");
  }
  return it->second;
}

Json TypeRegistry::ToJson() const {
  Json out = Json::object();
  for (const auto& [type, kind] : routes_) out[type] = {{"$store", StoreKindName(kind)}};
  return out;
}

}  // namespace dotdo
