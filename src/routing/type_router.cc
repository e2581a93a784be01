// TypeRouter: dispatch of typed records to the store their `$store` route names, through the
// RecordStoreRegistry. Only the document store holds typed records in this build; routes to kinds
// without a registered record store are reported, not guessed at.
#include <utility>

#include "core/json.h"
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

class DocumentRecords final : public RecordStore {
 public:
  explicit DocumentRecords(DocumentStore docs) : docs_(std::move(docs)) {}
  Result<Json> Upsert(Json record) override { return docs_.Upsert(std::move(record)); }
  Result<Json> Get(std::string_view id) override { return docs_.Get(id); }
  Status Delete(std::string_view id) override { return docs_.Delete(id); }

 private:
  DocumentStore docs_;
};

// The store's `$id` is the record's `id`.
void ExposeId(Json& stored) {
  if (stored.is_object() && stored.contains("$id")) stored["id"] = stored["$id"];
}

}  // namespace

RecordStoreRegistry RecordStoreRegistry::WithBuiltins() {
  RecordStoreRegistry r;
  r.Register(StoreKind::kDocument, [](Database& db) -> Result<std::unique_ptr<RecordStore>> {
    DOTDO_ASSIGN_OR_RETURN(DocumentStore docs, DocumentStore::Open(db));
    return std::unique_ptr<RecordStore>(new DocumentRecords(std::move(docs)));
  });
  return r;
}

void RecordStoreRegistry::Register(StoreKind kind, RecordStoreFactory factory) { factories_[kind] = std::move(factory); }

const RecordStoreFactory* RecordStoreRegistry::Find(StoreKind kind) const {
  auto it = factories_.find(kind);
  return it == factories_.end() ? nullptr : &it->second;
}

TypeRouter::TypeRouter(Database& db, TypeRegistry registry, RecordStoreRegistry stores)
    : db_(db), registry_(std::move(registry)), stores_(std::move(stores)) {}

Result<std::unique_ptr<RecordStore>> TypeRouter::StoreFor(std::string_view type) {
  DOTDO_ASSIGN_OR_RETURN(StoreKind kind, registry_.StoreOf(type));
  const RecordStoreFactory* factory = stores_.Find(kind);
  if (factory == nullptr) return UnsupportedRoute(type, kind);
  return (*factory)(db_);
}

Status TypeRouter::RegisterRecordType(std::string_view type, std::string_view store) {
  DOTDO_ASSIGN_OR_RETURN(StoreKind kind, ParseStoreKind(store));
  return registry_.Register(type, kind);
}

Result<Json> TypeRouter::ToJson(std::string_view type, const std::function<Json()>& convert) {
  try {
    return convert();
  } catch (...) {
    // The converter is the caller's code: whatever it throws, short of running out of memory, means
    // the record does not convert.
    Status s = internal::StatusFromCurrentException("record does not convert to/from type '" + std::string(type) + "'");
    return s.code() == StatusCode::kResourceExhausted ? s : InvalidArgumentError(s.message());
  }
}

Status TypeRouter::ConversionError(std::string_view type, const char* what) {
  return InvalidArgumentError("record does not convert to/from type '" + std::string(type) + "': " + what);
}

Result<Json> TypeRouter::Save(std::string_view type, Json record) {
  DOTDO_ASSIGN_OR_RETURN(auto store, StoreFor(type));
  if (!record.is_object()) {
    return InvalidArgumentError("a record of type '" + std::string(type) + "' must be a JSON object");
  }
  if (record.contains("$type") && record["$type"] != type) {
    return InvalidArgumentError("record says $type " + internal::DumpJson(record["$type"]) + " but is saved as '" +
                                std::string(type) + "'");
  }
  if (auto it = record.find("id"); it != record.end()) {
    if (!it->is_string()) return InvalidArgumentError("record 'id' must be a string");
    if (!record.contains("$id") && !it->get<std::string>().empty()) record["$id"] = *it;
    record.erase("id");
  }
  record["$type"] = type;
  DOTDO_ASSIGN_OR_RETURN(Json stored, store->Upsert(std::move(record)));
  ExposeId(stored);
  return stored;
}

Result<Json> TypeRouter::Get(std::string_view type, std::string_view id) {
  DOTDO_ASSIGN_OR_RETURN(auto store, StoreFor(type));
  auto stored = store->Get(id);
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
    DOTDO_ASSIGN_OR_RETURN(auto store, StoreFor(type));
    return store->Delete(id);
  });
}

}  // namespace dotdo
