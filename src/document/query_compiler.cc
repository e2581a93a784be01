// The document store's field layout for the shared filter compiler (see query_compiler.h).
#include "document/query_compiler.h"

namespace dotdo::internal {

const FieldResolver& DocumentFields() {
  static const JsonColumnFields fields({{"$id", "id", ValueKind::kText},
                                        {"$type", "type", ValueKind::kText},
                                        {"$version", "version", ValueKind::kInteger}},
                                       "data", /*json_prefix=*/"", {"$createdAt", "$updatedAt"});
  return fields;
}

std::string TypeClause(std::string_view type) { return "type = '" + std::string(type) + "' AND deleted = 0"; }

}  // namespace dotdo::internal
