// A namespace's presigned-URL key file: read when present (refused when others may read it), made
// when absent with mode 0600 in a 0700 directory. Creation is atomic across processes: the key is
// written and synced under a temporary name and hard-linked into place, so two processes racing
// on first use agree on one key and nobody reads a half-written file.
#include "host/signing_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/sha256.h"

namespace dotdo::internal {

namespace {

constexpr size_t kKeyHexChars = 64;

Status IoError(const std::string& what, const std::filesystem::path& path, int err) {
  const std::string msg = what + " '" + path.string() + "': " + std::strerror(err);
  if (err == EACCES || err == EPERM) return PermissionDeniedError(msg);
  if (err == ENOSPC || err == EDQUOT) return ResourceExhaustedError(msg);
  return UnavailableError(msg);
}

Result<std::string> ReadKey(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError("no signing key file '" + path.string() + "'");
    return IoError("cannot open signing key file", path, errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return IoError("cannot stat signing key file", path, err);
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
    ::close(fd);
    return FailedPreconditionError("signing key file '" + path.string() +
                                   "' must be a regular file readable by its owner only: chmod 600 it");
  }
  char buf[kKeyHexChars + 2];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  const int err = errno;
  ::close(fd);
  if (n < 0) return IoError("cannot read signing key file", path, err);
  std::string key(buf, static_cast<size_t>(n));
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (key.size() != kKeyHexChars || !IsSha256Hex(key))
    return DataLossError("signing key file '" + path.string() + "' does not hold 64 hex characters");
  return key;
}

Status SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? OkStatus() : IoError("cannot sync directory", dir, err);
}

Status WriteNewKey(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.parent_path();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return IoError("cannot create key directory", dir, errno);
  const std::filesystem::path tmp = dir / ("." + path.filename().string() + "." + RandomHex(8) + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create signing key file", tmp, errno);
  const std::string key = RandomHex(kKeyHexChars / 2) + "\n";
  const bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return IoError("cannot write signing key file", tmp, err);
  }
  // link() never replaces: when another process made the key first, keep theirs.
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int link_err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && link_err != EEXIST) return IoError("cannot install signing key file", path, link_err);
  return SyncDirectory(dir);
}

}  // namespace

Result<std::string> LoadOrCreateSigningKey(const std::filesystem::path& path, bool create) {
  auto key = ReadKey(path);
  if (key.ok() || key.status().code() != StatusCode::kNotFound || !create) return key;
  DOTDO_RETURN_IF_ERROR(WriteNewKey(path));
  return ReadKey(path);
}

}  // namespace dotdo::internal
