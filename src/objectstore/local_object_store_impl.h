// LocalObjectStore internals shared by its translation units (writes/reads in
// local_object_store.cc, listing in local_object_store_list.cc, multipart uploads in
// local_object_store_multipart.cc).
//
// Invariants:
//   1. An object file under data/ is never modified in place: every write creates a new file in
//      tmp/ (fsync) and renames it over the key, so hard links between keys (Copy) are safe.
//   2. The sidecar under meta/ names the inode of the data file it describes. A sidecar whose inode
//      or size disagree with the data file (a crash between the two renames of a put, or a copied
//      root) is stale: the object is the data file, and the sidecar is rebuilt from it under the key
//      lock (size and ETag recomputed; content type and user metadata reset to defaults).
//   3. All writes of one key (put, copy-to, delete, multipart completion, sidecar repair) hold that
//      key's stripe lock, so a precondition check and the write it guards are atomic.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <mutex>
#include <string>
#include <string_view>

#include "dotdo/object_store.h"

namespace dotdo {

class LocalObjectStore::Impl {
 public:
  Impl(std::filesystem::path root, LocalObjectStoreOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Opens data_fd_ and meta_fd_; called once by Open.
  Status OpenRootDirs();

  struct Meta {
    ObjectInfo info;
    uint64_t ino = 0;
  };
  struct TmpObject {
    std::filesystem::path path;
    uint64_t size = 0;
    std::string etag;
    uint64_t ino = 0;
  };

  std::mutex& LockFor(std::string_view key);

  std::filesystem::path DataPath(std::string_view key) const { return data_ / std::string(key); }
  std::filesystem::path MetaPath(std::string_view key) const { return meta_ / std::string(key); }
  std::filesystem::path NewTmpPath();

  // Writes in-memory bytes to a new temp file (hashing them on a second thread from 1 MiB on); the
  // file is removed on any error.
  Result<TmpObject> WriteTmpBytes(std::string_view data);
  // Streams reader into a new temp file (hashing as it goes); the file is removed on any error.
  Result<TmpObject> WriteTmp(const ObjectReader& reader);
  // Current metadata; kNotFound when there is no object. Rebuilds a stale sidecar (invariant 2);
  // `locked` says the caller already holds the key lock.
  Result<Meta> HeadImpl(std::string_view key, bool locked);
  // Checks preconditions against the current object, then renames tmp into place with a sidecar.
  // REQUIRES: the key lock is held.
  Result<ObjectInfo> CommitLocked(std::string_view key, const TmpObject& tmp, ObjectInfo info,
                                  const std::string& if_match, bool if_none_match);
  // Creates `dir` and its missing ancestors; with `sync`, fsyncs the parent of each directory it
  // creates so the new entries survive power loss. A file in the way is ClashError(key).
  Status MakeDirs(const std::filesystem::path& dir, std::string_view key, bool sync, int attempt = 0);
  // Removes temp files (tmp/<pid>-...) whose writing process no longer exists: writes interrupted
  // by a crash. Best effort; called by Open.
  void RemoveDeadTmpFiles();
  // Removes now-empty directories from `dir` up to (not including) `stop`.
  void PruneEmptyDirs(std::filesystem::path dir, const std::filesystem::path& stop);
  Status SyncDir(const std::filesystem::path& dir);

  const std::filesystem::path root_, data_, meta_, tmp_, uploads_;
  const LocalObjectStoreOptions options_;
  // data/ and meta/ opened as directories: reads resolve keys relative to them (openat/fstatat).
  // Valid keys never leave these directories (no leading '/', no '..').
  int data_fd_ = -1, meta_fd_ = -1;

 private:
  Result<Meta> ReadSidecar(std::string_view key, const struct stat& st);
  Status WriteSidecarLocked(std::string_view key, const Meta& meta);
  std::array<std::mutex, 64> stripes_;
};

namespace internal {
// errno -> Status with an actionable message about `what`.
Status ErrnoStatus(int err, const std::string& what);
int64_t WallClockMillis();

inline constexpr size_t kChunk = 1 << 20;  // streaming buffer: 1 MiB

// Closes an fd on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// Removes a path on scope exit unless released (path cleared).
struct Cleanup {
  std::filesystem::path path;
  ~Cleanup() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

// write() all of data, retrying on EINTR; `path` names the file in errors.
Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path);
// Content type (<= 256 bytes, no control characters), storage class and user metadata of a put.
Status ValidatePutOptions(const ObjectPutOptions& o);
// The ObjectInfo fields a put sets from its options (defaults filled in).
ObjectInfo InfoFromOptions(const ObjectPutOptions& o);
// A pending multipart upload's options, as stored in its upload directory.
nlohmann::json OptionsToJson(std::string_view key, const ObjectPutOptions& o);
// Reads `rel` relative to the directory `dirfd` (AT_FDCWD: `path` itself); `path` names it in errors.
Result<std::string> ReadSmallFile(const std::filesystem::path& path, int dirfd = AT_FDCWD, const char* rel = nullptr);
// Upload ids are 32 lowercase hex digits.
bool IsValidUploadId(std::string_view id);
}  // namespace internal

}  // namespace dotdo
