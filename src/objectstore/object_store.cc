// The parts of the object-store contract shared by every implementation: key grammar, user
// metadata limits, the storage-class vocabulary, and the default (hash, then put) PutAddressed.
#include "dotdo/object_store.h"

#include <string>

#include "core/sha256.h"

namespace dotdo {

Status ValidateObjectKey(std::string_view key) {
  auto bad = [&](const std::string& why) {
    std::string shown(key.substr(0, 64));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return InvalidArgumentError("invalid object key '" + shown + (key.size() > 64 ? "..." : "") + "': " + why +
                                " (keys are 1..1024 bytes of '/'-separated non-empty segments, not '.' or '..', "
                                "without a leading '/', backslashes or control characters)");
  };
  if (key.empty()) return bad("the key is empty");
  if (key.size() > 1024) return bad("the key is longer than 1024 bytes");
  if (key.front() == '/') return bad("the key starts with '/'");
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\0') return bad("the key contains a NUL byte");
    if (c == '\\') return bad("the key contains a backslash");
    if (u < 0x20 || u == 0x7f) return bad("the key contains a control character");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view seg = key.substr(start, end - start);
    if (seg.empty()) return bad(end == key.size() ? "the key ends with '/'" : "the key has an empty segment ('//')");
    if (seg == "." || seg == "..") return bad("the key has a '" + std::string(seg) + "' segment");
    if (seg.size() > 255) return bad("a segment is longer than 255 bytes");
    start = end + 1;
  }
  return OkStatus();
}

Status ValidateObjectMetadata(const std::map<std::string, std::string>& metadata) {
  if (metadata.size() > 64) return InvalidArgumentError("too many user metadata entries (" + std::to_string(metadata.size()) + " > 64)");
  for (const auto& [name, value] : metadata) {
    if (name.empty() || name.size() > 128)
      return InvalidArgumentError("user metadata name must be 1..128 characters, got " + std::to_string(name.size()));
    for (char c : name) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '-';
      if (!ok) return InvalidArgumentError("user metadata name '" + name + "' may only hold [A-Za-z0-9_.-]");
    }
    if (value.size() > 2048)
      return InvalidArgumentError("user metadata value of '" + name + "' is longer than 2048 bytes");
  }
  return OkStatus();
}

Result<ObjectInfo> ObjectStore::PutAddressed(const AddressFn& key_for, std::string_view data, const ObjectPutOptions& options) {
  if (!key_for) return InvalidArgumentError("PutAddressed needs a key function");
  return Put(key_for(internal::Sha256::Hex(data)), data, options);
}

Status ValidateStorageClass(std::string_view storage_class) {
  if (storage_class == kStorageClassStandard || storage_class == kStorageClassInfrequentAccess) return OkStatus();
  return InvalidArgumentError("unknown storage class '" + std::string(storage_class.substr(0, 64)) +
                              "': use STANDARD or INFREQUENT_ACCESS");
}

}  // namespace dotdo
