// Type routing: the seed's `$store` annotation. A type name (`Customer`) is routed to the primitive
// that keeps its records (`document`, `timeseries`, `vector`, ...). A TypeRegistry holds the routes
// (registered in code, or loaded from JSON such as `{"Customer":{"$store":"document"}}`); a
// TypeRouter saves and loads records through the routed store, and for C++ structs that carry their
// route as static members it does the JSON mapping too:
//
//   struct Customer {
//     static constexpr std::string_view kType = "Customer";
//     static constexpr std::string_view kStore = "document";
//     std::string id;
//     std::string name;
//   };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Customer, id, name)
//
//   dotdo::TypeRouter router(*db);
//   auto saved = router.Save(Customer{.id = "", .name = "Ada"});   // id generated when empty
//   auto back = router.Get<Customer>(saved->id);
//
// A record's `id` member maps to the store's `$id`; the store's `$`-fields (`$type`, `$version`, ...)
// are visible to from_json and ignored by structs that do not declare them. Routes to primitives
// that cannot hold typed records in this build are kUnimplemented with the reason.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

// The primitives a `$store` annotation can name (the seed's folder names).
enum class StoreKind { kDocument, kGraph, kRelational, kColumnar, kTimeSeries, kVector, kBlob };

// "document" -> kDocument, ...; anything else is kInvalidArgument listing the valid names.
DOTDO_EXPORT Result<StoreKind> ParseStoreKind(std::string_view name);
DOTDO_EXPORT std::string_view StoreKindName(StoreKind kind);

// Type names match [A-Za-z_][A-Za-z0-9_]{0,127} (they become URL segments `<ns>/<Type>/<id>`).
DOTDO_EXPORT Status ValidateTypeName(std::string_view type);

// Routes from type name to store. Thread-compatible: const calls may run concurrently; a mutating
// call needs exclusive access.
class DOTDO_EXPORT TypeRegistry {
 public:
  // Adds or confirms a route. Routing a type already routed elsewhere is kAlreadyExists (a type
  // lives in one store; moving it is a migration, not a re-registration).
  Status Register(std::string_view type, StoreKind store);

  // Loads `{"<Type>": {"$store": "<store>"}, ...}`. All or nothing: on any error (not an object,
  // bad type name, missing or unknown `$store`, conflict with an existing route) nothing is added.
  Status LoadJson(const Json& spec);
  // Same from JSON text; malformed text is kInvalidArgument with the byte position.
  Status LoadJsonText(std::string_view text);

  // The store of `type`; kNotFound when the type has no route.
  Result<StoreKind> StoreOf(std::string_view type) const;

  // The routes in the LoadJson format, sorted by type.
  Json ToJson() const;
  size_t size() const { return routes_.size(); }

 private:
  std::map<std::string, StoreKind, std::less<>> routes_;
};

}  // namespace dotdo
