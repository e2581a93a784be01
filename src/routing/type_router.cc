// TypeRouter: dispatch of typed records to the store their `$store` route names. Only the document
// store holds typed records in this build; the other routes are reported, not guessed at.
#include <utility>

#include "dotdo/document.h"
#include "dotdo/routing.h"

namespace dotdo {
namespace {

Status UnsupportedRoute(std::string_view type, StoreKind store) {
  std::string msg = "type '" + std::string(type) + "' is routed to the " + std::string(StoreKindName(store)) + " store";
  switch (store) {
    case StoreKind::kGraph:
      msg += ", which keeps edges, not records; use GraphStore::Relate for relationships";
      break;
    case StoreKind::kBlob:
      msg += ", which keeps bytes, not records; use BlobStore::Put";
      break;
    default:
      msg += ", which this build of dotdo does not provide yet; route the type to 'document' until it does";
      break;
  }
  return UnimplementedError(std::move(msg));
}

// The store's `$id` is the record's `id`.
void ExposeId(Json& stored) {
  if (stored.is_object() && stored.contains("$id")) stored["id"] = stored["$id"];
}

}  // namespace

TypeRouter::TypeRouter(Database& db, TypeRegistry registry) : db_(db), registry_(std::move(registry)) {}

Status TypeRouter::RegisterRecordType(std::string_view type, std::string_view store) {
  DOTDO_ASSIGN_OR_RETURN(StoreKind kind, ParseStoreKind(store));
  return registry_.Register(type, kind);
}

Result<Json> TypeRouter::ToJson(std::string_view type, const std::function<Json()>& convert) {
  try {
    return convert();
  } catch (const std::exception& e) {
    return ConversionError(type, e.what());
  }
}

Status TypeRouter::ConversionError(std::string_view type, const char* what) {
  return InvalidArgumentError("record does not convert to/from type '" + std::string(type) + "': " + what);
}

Result<Json> TypeRouter::Save(std::string_view type, Json record) {
  DOTDO_ASSIGN_OR_RETURN(StoreKind store, registry_.StoreOf(type));
  if (store != StoreKind::kDocument) return UnsupportedRoute(type, store);
  if (!record.is_object()) {
    return InvalidArgumentError("a record of type '" + std::string(type) + "' must be a JSON object");
  }
  if (record.contains("$type") && record["$type"] != type) {
    return InvalidArgumentError("record says $type " + record["$type"].dump() + " but is saved as '" +
                                std::string(type) + "'");
  }
  if (auto it = record.find("id"); it != record.end()) {
    if (!it->is_string()) return InvalidArgumentError("record 'id' must be a string");
    if (!record.contains("$id") && !it->get<std::string>().empty()) record["$id"] = *it;
    record.erase("id");
  }
  record["$type"] = type;
  DocumentStore docs(db_);
  DOTDO_ASSIGN_OR_RETURN(Json stored, docs.Upsert(std::move(record)));
  ExposeId(stored);
  return stored;
}

Result<Json> TypeRouter::Get(std::string_view type, std::string_view id) {
  DOTDO_ASSIGN_OR_RETURN(StoreKind store, registry_.StoreOf(type));
  if (store != StoreKind::kDocument) return UnsupportedRoute(type, store);
  DocumentStore docs(db_);
  auto stored = docs.Get(id);
  if (!stored.ok()) return stored.status();
  if ((*stored)["$type"] != type) {
    return NotFoundError("no " + std::string(type) + " with id '" + std::string(id) + "'");
  }
  ExposeId(*stored);
  return stored;
}

Status TypeRouter::Delete(std::string_view type, std::string_view id) {
  // One transaction: the type check and the delete see the same version.
  return db_.Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(Get(type, id).status());
    return DocumentStore(db_).Delete(id);
  });
}

}  // namespace dotdo
