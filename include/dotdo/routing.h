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

#include <concepts>
#include <functional>
#include <map>
#include <memory>
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

// A C++ record type that routes itself: static `kType` and `kStore` plus nlohmann to_json/from_json.
template <typename T>
concept RoutedRecord = requires(const T& record, const Json& j) {
  { T::kType } -> std::convertible_to<std::string_view>;
  { T::kStore } -> std::convertible_to<std::string_view>;
  { Json(record) };
  { j.get<T>() };
};

// A store that keeps typed records (JSON objects carrying "$id" and "$type"), as the router uses
// it. Each primitive that holds records provides one (the document store today; relational,
// columnar, timeseries and vector as they arrive) and registers it in a RecordStoreRegistry.
class DOTDO_EXPORT RecordStore {
 public:
  virtual ~RecordStore() = default;
  // Creates the record, or replaces the live one with its "$id". REQUIRES: "$type" is set.
  virtual Result<Json> Upsert(Json record) = 0;
  // The live record with that id, whatever its type; kNotFound when there is none.
  virtual Result<Json> Get(std::string_view id) = 0;
  virtual Status Delete(std::string_view id) = 0;
};

// Opens a kind's RecordStore on a Database.
using RecordStoreFactory = std::function<Result<std::unique_ptr<RecordStore>>(Database& db)>;

// Which store kinds hold typed records, and how to open them. Thread-compatible like TypeRegistry.
class DOTDO_EXPORT RecordStoreRegistry {
 public:
  // The record stores of this build (document).
  static RecordStoreRegistry WithBuiltins();

  // Registers (or replaces) the factory of `kind`.
  void Register(StoreKind kind, RecordStoreFactory factory);
  // nullptr when `kind` holds no typed records in this registry.
  const RecordStoreFactory* Find(StoreKind kind) const;

 private:
  std::map<StoreKind, RecordStoreFactory> factories_;
};

// Saves and loads typed records through the store their type is routed to.
// Thread-safety: like the stores it calls; the registry must not be mutated concurrently with calls.
// Ownership: the Database must outlive the router.
class DOTDO_EXPORT TypeRouter {
 public:
  explicit TypeRouter(Database& db, TypeRegistry registry = {},
                      RecordStoreRegistry stores = RecordStoreRegistry::WithBuiltins());

  TypeRegistry& registry() { return registry_; }

  // Creates or replaces the record (a JSON object) of `type`. The record's "$id", else a non-empty
  // string "id", names it; neither means a new id is generated. Returns the stored record with
  // "id" set to its id. kNotFound when the type has no route; kUnimplemented when it is routed to a
  // store that cannot hold typed records in this build.
  Result<Json> Save(std::string_view type, Json record);
  // The live record of `type` with that id (kNotFound also when the id holds another type).
  Result<Json> Get(std::string_view type, std::string_view id);
  // Deletes it (soft delete in the document store: history keeps it).
  Status Delete(std::string_view type, std::string_view id);

  // Typed forms: the route comes from T::kStore (registered on first use), the mapping from
  // to_json/from_json. A record that does not convert is kInvalidArgument naming the type.
  template <RoutedRecord T>
  Result<T> Save(const T& record) {
    DOTDO_RETURN_IF_ERROR(RegisterRecordType(T::kType, T::kStore));
    DOTDO_ASSIGN_OR_RETURN(Json json, ToJson(T::kType, [&record] { return Json(record); }));
    DOTDO_ASSIGN_OR_RETURN(Json saved, Save(T::kType, std::move(json)));
    return FromJson<T>(saved);
  }
  template <RoutedRecord T>
  Result<T> Get(std::string_view id) {
    DOTDO_RETURN_IF_ERROR(RegisterRecordType(T::kType, T::kStore));
    DOTDO_ASSIGN_OR_RETURN(Json stored, Get(T::kType, id));
    return FromJson<T>(stored);
  }

 private:
  Status RegisterRecordType(std::string_view type, std::string_view store);
  // The record store `type` is routed to; kUnimplemented when its kind holds no records here.
  Result<std::unique_ptr<RecordStore>> StoreFor(std::string_view type);
  // Runs a throwing conversion and turns a nlohmann exception into kInvalidArgument.
  static Result<Json> ToJson(std::string_view type, const std::function<Json()>& convert);
  static Status ConversionError(std::string_view type, const char* what);
  template <typename T>
  static Result<T> FromJson(const Json& stored) {
    try {
      return stored.get<T>();
    } catch (const std::exception& e) {
      return ConversionError(T::kType, e.what());
    }
  }

  Database& db_;
  TypeRegistry registry_;
  RecordStoreRegistry stores_;
};

}  // namespace dotdo
