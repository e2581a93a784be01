// BlobStore::Query: the shared filter language (core/filter_compiler.h) over blob metadata. The
// store only declares its fields: fixed columns with their value kinds, and `metadata.<path>` inside
// the metadata JSON column; the compiler owns the operators, type rules, limits and messages.
#include <string>
#include <vector>

#include "blob/blob_store_impl.h"
#include "core/filter_compiler.h"

namespace dotdo {

namespace {

using internal::ValueKind;

const internal::FieldResolver& BlobFields() {
  static const internal::JsonColumnFields fields({{"key", "key", ValueKind::kText},
                                                  {"size", "size", ValueKind::kInteger},
                                                  {"hash", "sha256", ValueKind::kText},
                                                  {"contentType", "content_type", ValueKind::kText},
                                                  {"storageClass", "storage_class", ValueKind::kText},
                                                  {"createdAt", "created_at", ValueKind::kTime},
                                                  {"updatedAt", "updated_at", ValueKind::kTime},
                                                  {"lastAccessedAt", "last_accessed_at", ValueKind::kTime}},
                                                 "metadata", "metadata.");
  return fields;
}

}  // namespace

Result<std::vector<BlobInfo>> BlobStore::Query(const BlobQuery& query) {
  if (query.limit < 1 || query.limit > 1000)
    return InvalidArgumentError("query limit " + std::to_string(query.limit) + " is outside 1..1000");
  DOTDO_ASSIGN_OR_RETURN(internal::CompiledFilter filter, internal::CompileFilter(query.where, BlobFields()));
  const std::string sql = std::string("SELECT ") + internal::kBlobColumns + " FROM blob_blobs WHERE " + filter.sql +
                          " ORDER BY key" + internal::LimitClause(query.limit);
  DOTDO_ASSIGN_OR_RETURN(bool readable, impl_->Readable());
  if (!readable) return std::vector<BlobInfo>();
  auto& conn = internal::DatabaseInternals::Conn(impl_->db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.PrepareUncached(sql));
  st.BindValues(filter.params);
  std::vector<BlobInfo> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DOTDO_ASSIGN_OR_RETURN(auto info, impl_->FromRow(st));
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace dotdo
