// LocalObjectStore: objects in a directory, written temp file + fsync + rename (+ directory fsync),
// with a JSON sidecar per object. Invariants in local_object_store_impl.h; file layout in
// docs/formats/object_store.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <vector>

#include "objectstore/local_object_store_impl.h"
#include "core/json.h"
#include "core/sha256.h"

namespace dotdo {

namespace fs = std::filesystem;
using internal::Cleanup;
using internal::ErrnoStatus;
using internal::Fd;
using internal::InfoFromOptions;
using internal::kChunk;
using internal::ReadSmallFile;
using internal::ValidatePutOptions;
using internal::WriteAll;

namespace internal {

Status ErrnoStatus(int err, const std::string& what) {
  const std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return NotFoundError(msg);
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE: return ResourceExhaustedError(msg + " (free space or file handles, then retry)");
    case EACCES:
    case EPERM:
    case EROFS: return PermissionDeniedError(msg + " (check the store directory's permissions)");
    default: return UnavailableError(msg);
  }
}

int64_t WallClockMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace internal

namespace internal {

Status WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write '" + path.string() + "'");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status ValidatePutOptions(const ObjectPutOptions& o) {
  if (o.content_type.size() > 256) return InvalidArgumentError("content type is longer than 256 bytes");
  for (char c : o.content_type) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return InvalidArgumentError("content type contains a control character");
  }
  // The sidecar is JSON: refuse what it cannot hold before any byte is written.
  DOTDO_RETURN_IF_ERROR(ValidateUtf8(o.content_type, "content type"));
  for (const auto& [name, value] : o.metadata)
    DOTDO_RETURN_IF_ERROR(ValidateUtf8(value, "user metadata value of '" + name + "'"));
  if (!o.storage_class.empty()) DOTDO_RETURN_IF_ERROR(ValidateStorageClass(o.storage_class));
  return ValidateObjectMetadata(o.metadata);
}

ObjectInfo InfoFromOptions(const ObjectPutOptions& o) {
  ObjectInfo info;
  info.content_type = o.content_type.empty() ? "application/octet-stream" : o.content_type;
  info.metadata = o.metadata;
  info.storage_class = o.storage_class.empty() ? std::string(kStorageClassStandard) : o.storage_class;
  return info;
}

nlohmann::json OptionsToJson(std::string_view key, const ObjectPutOptions& o) {
  return {{"key", key},           {"content_type", o.content_type}, {"metadata", o.metadata},
          {"storage_class", o.storage_class}, {"if_match", o.if_match}, {"if_none_match", o.if_none_match}};
}

Result<std::string> ReadSmallFile(const fs::path& path, int dirfd, const char* rel) {
  Fd f(::openat(dirfd, rel != nullptr ? rel : path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) return ErrnoStatus(errno, "cannot open '" + path.string() + "'");
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read '" + path.string() + "'");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool IsValidUploadId(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace internal

namespace {

Status PreconditionFailed(const std::string& why) { return FailedPreconditionError("precondition failed (412): " + why); }

Status ClashError(std::string_view key) {
  return FailedPreconditionError("key '" + std::string(key) +
                                 "' conflicts with an existing object or prefix: in a LocalObjectStore a key cannot be "
                                 "both an object and a prefix of other objects ('a' and 'a/b'); choose another key");
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Impl

LocalObjectStore::Impl::Impl(fs::path root, LocalObjectStoreOptions options)
    : root_(std::move(root)),
      data_(root_ / "data"),
      meta_(root_ / "meta"),
      tmp_(root_ / "tmp"),
      uploads_(root_ / "uploads"),
      options_(options) {}

LocalObjectStore::Impl::~Impl() {
  for (int fd : {data_fd_, meta_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

Status LocalObjectStore::Impl::OpenRootDirs() {
  data_fd_ = ::open(data_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (data_fd_ < 0) return ErrnoStatus(errno, "cannot open object store directory '" + data_.string() + "'");
  meta_fd_ = ::open(meta_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (meta_fd_ < 0) return ErrnoStatus(errno, "cannot open object store directory '" + meta_.string() + "'");
  return OkStatus();
}

std::mutex& LocalObjectStore::Impl::LockFor(std::string_view key) {
  return stripes_[std::hash<std::string_view>{}(key) % stripes_.size()];
}

fs::path LocalObjectStore::Impl::NewTmpPath() {
  static std::atomic<uint64_t> counter{0};
  return tmp_ / (std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" + internal::RandomHex(6));
}

Status LocalObjectStore::Impl::SyncDir(const fs::path& dir) {
  if (!options_.sync) return OkStatus();
  Fd f(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (f.fd < 0) return ErrnoStatus(errno, "cannot open directory '" + dir.string() + "' to sync it");
  if (::fsync(f.fd) != 0) return ErrnoStatus(errno, "cannot sync directory '" + dir.string() + "'");
  return OkStatus();
}

Result<LocalObjectStore::Impl::TmpObject> LocalObjectStore::Impl::WriteTmp(const ObjectReader& reader) {
  TmpObject t;
  t.path = NewTmpPath();
  Cleanup cleanup{t.path};
  Fd f(::open(t.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (f.fd < 0) return ErrnoStatus(errno, "cannot create temp file '" + t.path.string() + "'");
  internal::Sha256 sha;
  std::vector<char> buf(kChunk);
  for (;;) {
    Result<size_t> n = size_t{0};
    try {
      n = reader(buf.data(), buf.size());
    } catch (...) {
      return internal::StatusFromCurrentException("the upload's reader threw");
    }
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    if (*n > buf.size()) return InvalidArgumentError("the upload's reader returned more bytes than its buffer holds");
    std::string_view chunk(buf.data(), *n);
    sha.Update(chunk);
    DOTDO_RETURN_IF_ERROR(WriteAll(f.fd, chunk, t.path));
    t.size += *n;
  }
  if (options_.sync && ::fsync(f.fd) != 0) return ErrnoStatus(errno, "cannot sync '" + t.path.string() + "'");
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return ErrnoStatus(errno, "cannot stat '" + t.path.string() + "'");
  t.ino = static_cast<uint64_t>(st.st_ino);
  t.etag = sha.FinishHex();
  cleanup.path.clear();
  return t;
}

void LocalObjectStore::Impl::RemoveDeadTmpFiles() {
  std::error_code ec;
  for (auto it = fs::directory_iterator(tmp_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    // Names are "<pid>-<counter>-<random>" (NewTmpPath); only files of processes that are gone are garbage.
    const std::string name = it->path().filename().string();
    const size_t dash = name.find('-');
    if (dash == 0 || dash == std::string::npos || name.find_first_not_of("0123456789") != dash) continue;
    const long pid = std::strtol(name.c_str(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    ::unlink(it->path().c_str());
  }
}

Status LocalObjectStore::Impl::MakeDirs(const fs::path& dir, std::string_view key, bool sync, int attempt) {
  // Collect the missing ancestors, then create them top-down.
  std::vector<fs::path> missing;
  fs::path p = dir;
  struct stat st;
  while (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOTDIR) return ClashError(key);
    if (errno != ENOENT) return ErrnoStatus(errno, "cannot stat '" + p.string() + "'");
    missing.push_back(p);
    p = p.parent_path();
  }
  if (!S_ISDIR(st.st_mode)) return ClashError(key);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0) {
      const int err = errno;
      if (err == ENOTDIR) return ClashError(key);
      // A concurrent delete pruned an ancestor we saw: start again from the top.
      if (err == ENOENT && attempt < 3) return MakeDirs(dir, key, sync, attempt + 1);
      if (err != EEXIST) return ErrnoStatus(err, "cannot create the directory '" + it->string() + "'");
      // Created meanwhile by a writer of another key; its parent may not be synced yet, so sync it too.
      if (::stat(it->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return ClashError(key);
    }
    // The new entry lives in the parent directory: sync it, or the object below may vanish on power loss.
    if (sync) DOTDO_RETURN_IF_ERROR(SyncDir(it->parent_path()));
  }
  return OkStatus();
}

Result<LocalObjectStore::Impl::Meta> LocalObjectStore::Impl::ReadSidecar(std::string_view key, const struct stat& st) {
  auto text = ReadSmallFile(MetaPath(key), meta_fd_, std::string(key).c_str());
  if (!text.ok()) return text.status();
  const std::string unreadable = "sidecar of '" + std::string(key) + "' is unreadable";
  auto parsed = internal::ParseJson(*text, "it");
  if (!parsed.ok()) return DataLossError(unreadable + ": " + parsed.status().message());
  const Json& j = *parsed;
  return internal::CatchAll(unreadable, [&]() -> Result<Meta> {
    Meta m;
    m.ino = j.at("ino").get<uint64_t>();
    m.info.key = std::string(key);
    m.info.size = j.at("size").get<uint64_t>();
    m.info.etag = j.at("etag").get<std::string>();
    m.info.content_type = j.at("content_type").get<std::string>();
    m.info.metadata = j.at("metadata").get<std::map<std::string, std::string>>();
    m.info.storage_class = j.at("storage_class").get<std::string>();
    m.info.last_modified_ms = j.at("last_modified_ms").get<int64_t>();
    if (m.ino != static_cast<uint64_t>(st.st_ino) || m.info.size != static_cast<uint64_t>(st.st_size))
      return DataLossError("sidecar of '" + std::string(key) + "' describes another version of the object");
    return m;
  }, StatusCode::kDataLoss);
}

Status LocalObjectStore::Impl::WriteSidecarLocked(std::string_view key, const Meta& m) {
  nlohmann::json j = {{"format", 1},
                      {"key", m.info.key},
                      {"size", m.info.size},
                      {"etag", m.info.etag},
                      {"content_type", m.info.content_type},
                      {"metadata", m.info.metadata},
                      {"storage_class", m.info.storage_class},
                      {"last_modified_ms", m.info.last_modified_ms},
                      {"ino", m.ino}};
  const fs::path tmp = NewTmpPath();
  Cleanup cleanup{tmp};
  {
    Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (f.fd < 0) return ErrnoStatus(errno, "cannot create temp file '" + tmp.string() + "'");
    DOTDO_ASSIGN_OR_RETURN(std::string text, internal::DumpJsonChecked(j, "object key, content type or metadata"));
    DOTDO_RETURN_IF_ERROR(WriteAll(f.fd, text, tmp));
    if (options_.sync && options_.sync_sidecar && ::fsync(f.fd) != 0)
      return ErrnoStatus(errno, "cannot sync '" + tmp.string() + "'");
  }
  const fs::path dest = MetaPath(key);
  for (int attempt = 0;; ++attempt) {
    DOTDO_RETURN_IF_ERROR(MakeDirs(dest.parent_path(), key, options_.sync && options_.sync_sidecar));
    if (::rename(tmp.c_str(), dest.c_str()) == 0) break;
    const int err = errno;
    if (attempt < 3 && err == ENOENT) continue;  // a concurrent delete pruned the parent directory
    if (attempt < 3 && (err == EISDIR || err == ENOTEMPTY || err == EEXIST) && ::rmdir(dest.c_str()) == 0) continue;
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST || err == ENOTDIR) return ClashError(key);
    return ErrnoStatus(err, "cannot rename sidecar into '" + dest.string() + "'");
  }
  cleanup.path.clear();
  return options_.sync_sidecar ? SyncDir(dest.parent_path()) : OkStatus();
}

Result<LocalObjectStore::Impl::Meta> LocalObjectStore::Impl::HeadImpl(std::string_view key, bool locked) {
  const std::string rel(key);  // valid keys are relative paths that stay below data/
  struct stat st;
  if (::fstatat(data_fd_, rel.c_str(), &st, 0) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFoundError("object '" + rel + "' not found");
    return ErrnoStatus(errno, "cannot stat '" + DataPath(key).string() + "'");
  }
  if (S_ISDIR(st.st_mode)) return NotFoundError("object '" + std::string(key) + "' not found");
  auto m = ReadSidecar(key, st);
  if (m.ok()) return m;
  if (!locked) {
    std::lock_guard<std::mutex> lock(LockFor(key));
    return HeadImpl(key, true);
  }
  // Invariant 2: rebuild the sidecar from the data file.
  const fs::path path = DataPath(key);
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) return ErrnoStatus(errno, "cannot open '" + path.string() + "'");
  if (::fstat(f.fd, &st) != 0) return ErrnoStatus(errno, "cannot stat '" + path.string() + "'");
  internal::Sha256 sha;
  std::vector<char> buf(kChunk);
  for (;;) {
    ssize_t n = ::read(f.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read '" + path.string() + "'");
    }
    if (n == 0) break;
    sha.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  Meta rebuilt;
  rebuilt.ino = static_cast<uint64_t>(st.st_ino);
  rebuilt.info = InfoFromOptions(ObjectPutOptions{});
  rebuilt.info.key = std::string(key);
  rebuilt.info.size = static_cast<uint64_t>(st.st_size);
  rebuilt.info.etag = sha.FinishHex();
  rebuilt.info.last_modified_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  DOTDO_RETURN_IF_ERROR(WriteSidecarLocked(key, rebuilt));
  return rebuilt;
}

Result<ObjectInfo> LocalObjectStore::Impl::CommitLocked(std::string_view key, const TmpObject& tmp, ObjectInfo info,
                                                        const std::string& if_match, bool if_none_match) {
  auto current = HeadImpl(key, /*locked=*/true);
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) return current.status();
  const bool exists = current.ok();
  if (if_none_match && exists) return PreconditionFailed("object '" + std::string(key) + "' already exists (if-none-match: *)");
  if (!if_match.empty()) {
    if (!exists) return PreconditionFailed("object '" + std::string(key) + "' does not exist (if-match '" + if_match + "')");
    if (current->info.etag != if_match)
      return PreconditionFailed("if-match '" + if_match + "' does not match the current ETag '" + current->info.etag +
                                "' of '" + std::string(key) + "'");
  }
  info.key = std::string(key);
  info.size = tmp.size;
  info.etag = tmp.etag;
  info.last_modified_ms = internal::WallClockMillis();

  const fs::path dest = DataPath(key);
  for (int attempt = 0;; ++attempt) {
    DOTDO_RETURN_IF_ERROR(MakeDirs(dest.parent_path(), key, options_.sync));
    if (::rename(tmp.path.c_str(), dest.c_str()) == 0) break;
    const int err = errno;
    if (attempt < 3 && err == ENOENT) continue;  // a concurrent delete pruned the parent directory
    // An empty directory left where the object goes (all objects under "key/" deleted) is removed.
    if (attempt < 3 && (err == EISDIR || err == ENOTEMPTY || err == EEXIST) && ::rmdir(dest.c_str()) == 0) continue;
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST || err == ENOTDIR) return ClashError(key);
    return ErrnoStatus(err, "cannot rename the object into '" + dest.string() + "'");
  }
  // rename() of two links to the same file (copy onto itself) does nothing: drop the temp link.
  ::unlink(tmp.path.c_str());
  DOTDO_RETURN_IF_ERROR(SyncDir(dest.parent_path()));
  Meta m{info, tmp.ino};
  DOTDO_RETURN_IF_ERROR(WriteSidecarLocked(key, m));
  return info;
}

void LocalObjectStore::Impl::PruneEmptyDirs(fs::path dir, const fs::path& stop) {
  while (dir != stop && dir.string().size() > stop.string().size()) {
    if (::rmdir(dir.c_str()) != 0) break;
    dir = dir.parent_path();
  }
}

// ---------------------------------------------------------------------------------------------------
// LocalObjectStore

LocalObjectStore::LocalObjectStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalObjectStore::~LocalObjectStore() = default;

Result<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Open(const fs::path& root, LocalObjectStoreOptions options) {
  if (root.empty()) return InvalidArgumentError("the object store root directory is empty");
  auto impl = std::make_unique<Impl>(fs::absolute(root), options);
  for (const fs::path& dir : {impl->data_, impl->meta_, impl->tmp_, impl->uploads_}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return ErrnoStatus(ec.value(), "cannot create object store directory '" + dir.string() + "'");
  }
  DOTDO_RETURN_IF_ERROR(impl->OpenRootDirs());
  impl->RemoveDeadTmpFiles();
  return std::unique_ptr<LocalObjectStore>(new LocalObjectStore(std::move(impl)));
}

const fs::path& LocalObjectStore::root() const { return impl_->root_; }
fs::path LocalObjectStore::DataPath(std::string_view key) const { return impl_->DataPath(key); }

Result<LocalObjectStore::Impl::TmpObject> LocalObjectStore::Impl::WriteTmpBytes(std::string_view data) {
  // One write() for in-memory data; the reader path would copy it through a buffer.
  TmpObject t;
  t.path = NewTmpPath();
  Cleanup cleanup{t.path};
  // Large objects are hashed on a second thread while this one writes and fsyncs, so the ETag costs
  // no extra latency; small ones are hashed inline (a thread costs more than the hash).
  std::future<std::string> etag;
  if (data.size() >= (1u << 20)) etag = std::async(std::launch::async, [data] { return internal::Sha256::Hex(data); });
  {
    Fd f(::open(t.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (f.fd < 0) return ErrnoStatus(errno, "cannot create temp file '" + t.path.string() + "'");
    DOTDO_RETURN_IF_ERROR(WriteAll(f.fd, data, t.path));
    if (options_.sync && ::fsync(f.fd) != 0) return ErrnoStatus(errno, "cannot sync '" + t.path.string() + "'");
    struct stat st;
    if (::fstat(f.fd, &st) != 0) return ErrnoStatus(errno, "cannot stat '" + t.path.string() + "'");
    t.ino = static_cast<uint64_t>(st.st_ino);
  }
  t.size = data.size();
  t.etag = etag.valid() ? etag.get() : internal::Sha256::Hex(data);
  cleanup.path.clear();
  return t;
}

Result<ObjectInfo> LocalObjectStore::Put(std::string_view key, std::string_view data, const ObjectPutOptions& options) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
  DOTDO_RETURN_IF_ERROR(ValidatePutOptions(options));
  DOTDO_ASSIGN_OR_RETURN(Impl::TmpObject t, impl_->WriteTmpBytes(data));
  Cleanup cleanup{t.path};
  std::lock_guard<std::mutex> lock(impl_->LockFor(key));
  return impl_->CommitLocked(key, t, InfoFromOptions(options), options.if_match, options.if_none_match);
}

Result<ObjectInfo> LocalObjectStore::PutAddressed(const AddressFn& key_for, std::string_view data,
                                                  const ObjectPutOptions& options) {
  if (!key_for) return InvalidArgumentError("PutAddressed needs a key function");
  DOTDO_RETURN_IF_ERROR(ValidatePutOptions(options));
  // The key is known once the bytes are hashed, which happens while they are written and synced.
  DOTDO_ASSIGN_OR_RETURN(Impl::TmpObject t, impl_->WriteTmpBytes(data));
  Cleanup cleanup{t.path};
  const std::string key = key_for(t.etag);
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::lock_guard<std::mutex> lock(impl_->LockFor(key));
  return impl_->CommitLocked(key, t, InfoFromOptions(options), options.if_match, options.if_none_match);
}

Result<ObjectInfo> LocalObjectStore::PutStream(std::string_view key, const ObjectReader& reader, const ObjectPutOptions& options) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
  DOTDO_RETURN_IF_ERROR(ValidatePutOptions(options));
  if (!reader) return InvalidArgumentError("PutStream needs a reader");
  DOTDO_ASSIGN_OR_RETURN(Impl::TmpObject t, impl_->WriteTmp(reader));
  Cleanup cleanup{t.path};
  std::lock_guard<std::mutex> lock(impl_->LockFor(key));
  return impl_->CommitLocked(key, t, InfoFromOptions(options), options.if_match, options.if_none_match);
}

namespace {
// An open data file together with the metadata that describes exactly that file.
struct OpenObject {
  std::unique_ptr<Fd> fd;
  uint64_t size = 0;
  std::optional<ObjectInfo> info;
};
}  // namespace

static Result<OpenObject> OpenForRead(LocalObjectStore::Impl& impl, std::string_view key, bool want_info) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
  const std::string rel(key);  // opened relative to data/: a shorter path walk than the absolute path
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::optional<LocalObjectStore::Impl::Meta> meta;
    if (want_info) {
      DOTDO_ASSIGN_OR_RETURN(auto m, impl.HeadImpl(key, false));
      meta = std::move(m);
    }
    auto fd = std::make_unique<Fd>(::openat(impl.data_fd_, rel.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd->fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) return NotFoundError("object '" + rel + "' not found");
      return ErrnoStatus(errno, "cannot open '" + impl.DataPath(key).string() + "'");
    }
    struct stat st;
    if (::fstat(fd->fd, &st) != 0) return ErrnoStatus(errno, "cannot stat '" + impl.DataPath(key).string() + "'");
    if (S_ISDIR(st.st_mode)) return NotFoundError("object '" + std::string(key) + "' not found");
    if (meta && meta->ino != static_cast<uint64_t>(st.st_ino)) continue;  // replaced between head and open
    OpenObject o;
    o.fd = std::move(fd);
    o.size = static_cast<uint64_t>(st.st_size);
    if (meta) o.info = std::move(meta->info);
    return o;
  }
  return AbortedError("object '" + std::string(key) + "' kept changing while being read; retry");
}

static Result<std::pair<uint64_t, uint64_t>> ResolveRange(std::string_view key, uint64_t size, const ObjectGetOptions& o) {
  if (o.offset > 0 && o.offset >= size)
    return OutOfRangeError("range start " + std::to_string(o.offset) + " is past the end of '" + std::string(key) +
                           "' (" + std::to_string(size) + " bytes)");
  uint64_t len = size - o.offset;
  if (o.length && *o.length < len) len = *o.length;
  return std::make_pair(o.offset, len);
}

Result<std::string> LocalObjectStore::Get(std::string_view key, const ObjectGetOptions& options) {
  DOTDO_ASSIGN_OR_RETURN(OpenObject o, OpenForRead(*impl_, key, !options.if_match.empty()));
  if (o.info && o.info->etag != options.if_match)
    return PreconditionFailed("if-match '" + options.if_match + "' does not match the current ETag '" + o.info->etag +
                              "' of '" + std::string(key) + "'");
  DOTDO_ASSIGN_OR_RETURN(auto range, ResolveRange(key, o.size, options));
  std::string out(range.second, '\0');
  uint64_t done = 0;
  while (done < range.second) {
    ssize_t n = ::pread(o.fd->fd, out.data() + done, range.second - done, static_cast<off_t>(range.first + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read object '" + std::string(key) + "'");
    }
    if (n == 0) return DataLossError("object '" + std::string(key) + "' is shorter than its recorded size");
    done += static_cast<uint64_t>(n);
  }
  return out;
}

Result<ObjectInfo> LocalObjectStore::GetStream(std::string_view key, const ObjectWriter& writer, const ObjectGetOptions& options) {
  if (!writer) return InvalidArgumentError("GetStream needs a writer");
  DOTDO_ASSIGN_OR_RETURN(OpenObject o, OpenForRead(*impl_, key, true));
  if (!options.if_match.empty() && o.info->etag != options.if_match)
    return PreconditionFailed("if-match '" + options.if_match + "' does not match the current ETag '" + o.info->etag +
                              "' of '" + std::string(key) + "'");
  DOTDO_ASSIGN_OR_RETURN(auto range, ResolveRange(key, o.size, options));
  std::vector<char> buf(std::min<uint64_t>(kChunk, std::max<uint64_t>(range.second, 1)));
  uint64_t done = 0;
  while (done < range.second) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), range.second - done));
    ssize_t n = ::pread(o.fd->fd, buf.data(), want, static_cast<off_t>(range.first + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read object '" + std::string(key) + "'");
    }
    if (n == 0) return DataLossError("object '" + std::string(key) + "' is shorter than its recorded size");
    DOTDO_RETURN_IF_ERROR(writer(std::string_view(buf.data(), static_cast<size_t>(n))));
    done += static_cast<uint64_t>(n);
  }
  return *o.info;
}

Result<ObjectInfo> LocalObjectStore::Head(std::string_view key) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
  DOTDO_ASSIGN_OR_RETURN(auto m, impl_->HeadImpl(key, false));
  return m.info;
}

Status LocalObjectStore::Delete(std::string_view key, const ObjectDeleteOptions& options) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::lock_guard<std::mutex> lock(impl_->LockFor(key));
  if (!options.if_match.empty()) {
    DOTDO_ASSIGN_OR_RETURN(auto m, impl_->HeadImpl(key, true));
    if (m.info.etag != options.if_match)
      return PreconditionFailed("if-match '" + options.if_match + "' does not match the current ETag '" + m.info.etag +
                                "' of '" + std::string(key) + "'");
  }
  const fs::path data = impl_->DataPath(key), meta = impl_->MetaPath(key);
  struct stat st;
  if (::stat(data.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return OkStatus();  // a prefix, not an object
  if (::unlink(data.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR)
    return ErrnoStatus(errno, "cannot delete '" + data.string() + "'");
  if (::unlink(meta.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
    return ErrnoStatus(errno, "cannot delete '" + meta.string() + "'");
  std::error_code ec;
  if (fs::is_directory(data.parent_path(), ec)) DOTDO_RETURN_IF_ERROR(impl_->SyncDir(data.parent_path()));
  impl_->PruneEmptyDirs(data.parent_path(), impl_->data_);
  impl_->PruneEmptyDirs(meta.parent_path(), impl_->meta_);
  return OkStatus();
}

Result<ObjectInfo> LocalObjectStore::Copy(std::string_view source_key, std::string_view dest_key, const ObjectCopyOptions& options) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(source_key));
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(dest_key));
  ObjectPutOptions check;
  if (options.content_type) check.content_type = *options.content_type;
  if (options.metadata) check.metadata = *options.metadata;
  if (options.storage_class) {
    if (options.storage_class->empty()) return InvalidArgumentError("storage class must not be empty when given");
    check.storage_class = *options.storage_class;
  }
  DOTDO_RETURN_IF_ERROR(ValidatePutOptions(check));

  std::mutex& a = impl_->LockFor(source_key);
  std::mutex& b = impl_->LockFor(dest_key);
  std::unique_lock<std::mutex> la(a, std::defer_lock), lb(b, std::defer_lock);
  if (&a == &b) la.lock();
  else std::lock(la, lb);

  auto src = impl_->HeadImpl(source_key, true);
  if (!src.ok()) {
    if (src.status().code() == StatusCode::kNotFound)
      return NotFoundError("copy source '" + std::string(source_key) + "' not found");
    return src.status();
  }
  if (!options.if_source_match.empty() && src->info.etag != options.if_source_match)
    return PreconditionFailed("if-source-match '" + options.if_source_match + "' does not match the ETag '" +
                              src->info.etag + "' of '" + std::string(source_key) + "'");
  Impl::TmpObject t;
  t.path = impl_->NewTmpPath();
  t.size = src->info.size;
  t.etag = src->info.etag;
  t.ino = src->ino;
  Cleanup cleanup{t.path};
  // Objects are never modified in place (invariant 1), so a hard link is a copy.
  if (::link(impl_->DataPath(source_key).c_str(), t.path.c_str()) != 0) {
    const int err = errno;
    if (err != EXDEV && err != EPERM && err != EMLINK && err != ENOTSUP)
      return ErrnoStatus(err, "cannot link '" + std::string(source_key) + "'");
    auto data = Get(source_key);
    if (!data.ok()) return data.status();
    Fd f(::open(t.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (f.fd < 0) return ErrnoStatus(errno, "cannot create temp file '" + t.path.string() + "'");
    DOTDO_RETURN_IF_ERROR(WriteAll(f.fd, *data, t.path));
    if (impl_->options_.sync && ::fsync(f.fd) != 0) return ErrnoStatus(errno, "cannot sync '" + t.path.string() + "'");
    struct stat st;
    if (::fstat(f.fd, &st) != 0) return ErrnoStatus(errno, "cannot stat '" + t.path.string() + "'");
    t.ino = static_cast<uint64_t>(st.st_ino);
  }
  ObjectInfo info = src->info;
  if (options.content_type) info.content_type = options.content_type->empty() ? "application/octet-stream" : *options.content_type;
  if (options.metadata) info.metadata = *options.metadata;
  if (options.storage_class) info.storage_class = *options.storage_class;
  return impl_->CommitLocked(dest_key, t, std::move(info), "", options.if_none_match);
}

// ---------------------------------------------------------------------------------------------------
// Multipart uploads: uploads/<id>/upload.json + part-NNNNN files.

}  // namespace dotdo
