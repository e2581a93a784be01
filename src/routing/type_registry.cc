// TypeRegistry: parsing and validation of `$store` routes (see include/dotdo/routing.h).
#include <array>
#include <utility>

#include "core/json.h"
#include "core/names.h"
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

// The type-name grammar of core/names.h, the same one document $type uses.
Status ValidateTypeName(std::string_view type) { return internal::ValidateTypeName(type); }

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
  DOTDO_ASSIGN_OR_RETURN(Json spec, internal::ParseJson(text, "type registry"));
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
