// PrefixObjectStore: every call forwards to the inner store with the prefix added to its keys and
// removed from the keys it reports. Validation of the relative key happens here first, so a key
// that would escape the prefix ("..", a leading '/') is refused before the inner store sees it.
#include "objectstore/prefixed_object_store.h"

#include <utility>

namespace dotdo::internal {
namespace {

class PrefixedObjectStore final : public ObjectStore {
 public:
  PrefixedObjectStore(std::unique_ptr<ObjectStore> inner, std::string prefix)
      : inner_(std::move(inner)), prefix_(std::move(prefix)) {}

  Result<ObjectInfo> Put(std::string_view key, std::string_view data, const ObjectPutOptions& options) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return Strip(inner_->Put(full, data, options));
  }
  Result<ObjectInfo> PutStream(std::string_view key, const ObjectReader& reader, const ObjectPutOptions& options) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return Strip(inner_->PutStream(full, reader, options));
  }
  Result<ObjectInfo> PutAddressed(const AddressFn& key_for, std::string_view data,
                                  const ObjectPutOptions& options) override {
    if (!key_for) return InvalidArgumentError("PutAddressed needs a key function");
    Status bad = OkStatus();
    AddressFn prefixed = [&](std::string_view sha256) {
      std::string key = key_for(sha256);
      bad = ValidateObjectKey(key);
      return prefix_ + key;
    };
    Result<ObjectInfo> info = inner_->PutAddressed(prefixed, data, options);
    DOTDO_RETURN_IF_ERROR(bad);
    return Strip(std::move(info));
  }
  Result<std::string> Get(std::string_view key, const ObjectGetOptions& options) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return inner_->Get(full, options);
  }
  Result<ObjectInfo> GetStream(std::string_view key, const ObjectWriter& writer, const ObjectGetOptions& options) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return Strip(inner_->GetStream(full, writer, options));
  }
  Result<ObjectInfo> Head(std::string_view key) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return Strip(inner_->Head(full));
  }
  Result<ObjectListResult> List(const ObjectListOptions& options) override {
    ObjectListOptions o = options;
    o.prefix = prefix_ + options.prefix;
    DOTDO_ASSIGN_OR_RETURN(ObjectListResult page, inner_->List(o));
    for (ObjectInfo& info : page.objects) DOTDO_RETURN_IF_ERROR(StripKey(info.key));
    for (std::string& p : page.common_prefixes) DOTDO_RETURN_IF_ERROR(StripKey(p));
    return page;
  }
  Status Delete(std::string_view key, const ObjectDeleteOptions& options) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return inner_->Delete(full, options);
  }
  Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key, const ObjectCopyOptions& options) override {
    DOTDO_ASSIGN_OR_RETURN(std::string source, Full(source_key));
    DOTDO_ASSIGN_OR_RETURN(std::string dest, Full(dest_key));
    return Strip(inner_->Copy(source, dest, options));
  }
  Result<std::string> CreateMultipartUpload(std::string_view key, const ObjectPutOptions& options) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return inner_->CreateMultipartUpload(full, options);
  }
  Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                 std::string_view data) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return inner_->UploadPart(full, upload_id, part_number, data);
  }
  Result<ObjectInfo> CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                             const std::vector<ObjectCompletedPart>& parts) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return Strip(inner_->CompleteMultipartUpload(full, upload_id, parts));
  }
  Status AbortMultipartUpload(std::string_view key, std::string_view upload_id) override {
    DOTDO_ASSIGN_OR_RETURN(std::string full, Full(key));
    return inner_->AbortMultipartUpload(full, upload_id);
  }

 private:
  Result<std::string> Full(std::string_view key) const {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
    return prefix_ + std::string(key);
  }
  Status StripKey(std::string& key) const {
    if (key.compare(0, prefix_.size(), prefix_) != 0)
      return InternalError("the object store listed '" + key + "' outside the prefix '" + prefix_ + "'");
    key.erase(0, prefix_.size());
    return OkStatus();
  }
  Result<ObjectInfo> Strip(Result<ObjectInfo> info) const {
    if (!info.ok()) return info;
    ObjectInfo out = std::move(info).value();
    DOTDO_RETURN_IF_ERROR(StripKey(out.key));
    return out;
  }

  std::unique_ptr<ObjectStore> inner_;
  std::string prefix_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> PrefixObjectStore(std::unique_ptr<ObjectStore> inner, std::string prefix) {
  if (!inner) return InvalidArgumentError("PrefixObjectStore needs a store");
  if (prefix.empty() || prefix.back() != '/')
    return InvalidArgumentError("an object key prefix must end with '/', got '" + prefix + "'");
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(prefix + "x"));
  return std::unique_ptr<ObjectStore>(new PrefixedObjectStore(std::move(inner), std::move(prefix)));
}

}  // namespace dotdo::internal
