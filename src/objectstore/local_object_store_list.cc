// LocalObjectStore::List: byte-ordered, paginated listing with S3's prefix/delimiter roll-up.
//
// The walk starts at the deepest directory the prefix names and collects every object below it, so
// one page costs O(objects under that directory); the continuation token says where the previous
// page stopped ("k:<key>" after an object, "p:<common prefix>" after a rolled-up prefix).
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "objectstore/local_object_store_impl.h"

namespace dotdo {

namespace fs = std::filesystem;

Result<ObjectListResult> LocalObjectStore::List(const ObjectListOptions& options) {
  if (options.limit < 1 || options.limit > 10000)
    return InvalidArgumentError("list limit " + std::to_string(options.limit) + " is outside 1..10000");
  const std::string& prefix = options.prefix;
  if (!prefix.empty()) {
    // Any prefix that can start a valid key is allowed; "x" completes a trailing partial segment.
    Status s = ValidateObjectKey(prefix + "x");
    if (!s.ok()) return InvalidArgumentError("invalid list prefix '" + prefix.substr(0, 64) + "': " + s.message());
  }
  if (options.delimiter.size() > 16 || options.delimiter.find('\0') != std::string::npos)
    return InvalidArgumentError("list delimiter must be at most 16 bytes without NUL");
  std::string after;
  bool after_is_prefix = false;
  if (!options.continuation.empty()) {
    const std::string& c = options.continuation;
    if (c.size() < 3 || c[1] != ':' || (c[0] != 'k' && c[0] != 'p'))
      return InvalidArgumentError("invalid continuation token: pass back next_continuation of the previous page");
    after = c.substr(2);
    after_is_prefix = c[0] == 'p';
  }

  fs::path start = impl_->data_;
  const size_t slash = prefix.rfind('/');
  if (slash != std::string::npos) start /= prefix.substr(0, slash);

  std::vector<std::string> keys;
  std::error_code ec;
  if (fs::is_directory(start, ec)) {
    const std::string base = impl_->data_.string() + "/";
    auto it = fs::recursive_directory_iterator(start, fs::directory_options::skip_permission_denied, ec);
    // Entries that vanish mid-walk (concurrent deletes) are skipped, not errors.
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (!it->is_regular_file(type_ec)) continue;
      std::string key = it->path().generic_string().substr(base.size());
      if (key.compare(0, prefix.size(), prefix) == 0) keys.push_back(std::move(key));
    }
  }
  std::sort(keys.begin(), keys.end());

  ObjectListResult out;
  int64_t count = 0;
  bool more = false;
  std::string last_token, last_prefix;
  for (const std::string& key : keys) {
    if (!options.continuation.empty()) {
      if (key <= after) continue;
      if (after_is_prefix && key.compare(0, after.size(), after) == 0) continue;
    }
    if (!options.delimiter.empty()) {
      const size_t pos = key.find(options.delimiter, prefix.size());
      if (pos != std::string::npos) {
        std::string cp = key.substr(0, pos + options.delimiter.size());
        if (cp == last_prefix) continue;
        if (count == options.limit) {
          more = true;
          break;
        }
        last_prefix = cp;
        last_token = "p:" + cp;
        out.common_prefixes.push_back(std::move(cp));
        ++count;
        continue;
      }
    }
    if (count == options.limit) {
      more = true;
      break;
    }
    auto meta = impl_->HeadImpl(key, false);
    if (!meta.ok()) {
      if (meta.status().code() == StatusCode::kNotFound) continue;  // deleted since the walk
      return meta.status();
    }
    last_token = "k:" + key;
    out.objects.push_back(std::move(meta->info));
    ++count;
  }
  if (more) out.next_continuation = last_token;
  return out;
}

}  // namespace dotdo
