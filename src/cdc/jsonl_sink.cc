// JsonlFileSink: appends events as JSON lines to a local file and makes them durable with fsync.
// The file itself is the sink's durable position: Recover() drops a torn last line (a crash in the
// middle of a write) and returns the lsn of the last complete line, which the pipeline reconciles
// with its checkpoint so a crash between "file written" and "checkpoint saved" never duplicates.
//
// Invariants:
//   1. Every complete line is one compact JSON event ending in '\n'; lsns strictly increase.
//   2. After Recover() the file ends with '\n' (or is empty).
//   3. While the sink is open it holds an exclusive flock on the file.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/json.h"
#include "dotdo/cdc.h"

namespace dotdo {
namespace {

std::string Errno(const std::string& what, const std::filesystem::path& path) {
  return what + " '" + path.string() + "': " + std::strerror(errno);
}

Status WriteAll(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == ENOSPC ? ResourceExhaustedError(Errno("disk full while appending to", path))
                             : UnavailableError(Errno("cannot append to", path));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status PreadAll(int fd, char* buf, size_t len, off_t offset, const std::filesystem::path& path) {
  while (len > 0) {
    const ssize_t n = ::pread(fd, buf, len, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return UnavailableError(Errno("cannot read", path));
    }
    if (n == 0) return DataLossError("'" + path.string() + "' shrank while being read");
    buf += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
  return OkStatus();
}

// Offset just past the last '\n' in [0, end), or 0 when there is none.
Result<off_t> EndOfLastLine(int fd, off_t end, const std::filesystem::path& path) {
  constexpr off_t kChunk = 64 * 1024;
  std::string buf;
  while (end > 0) {
    const off_t start = end > kChunk ? end - kChunk : 0;
    buf.resize(static_cast<size_t>(end - start));
    DOTDO_RETURN_IF_ERROR(PreadAll(fd, buf.data(), buf.size(), start, path));
    const size_t pos = buf.rfind('\n');
    if (pos != std::string::npos) return start + static_cast<off_t>(pos) + 1;
    end = start;
  }
  return static_cast<off_t>(0);
}

Status FsyncDir(const std::filesystem::path& dir) {
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return UnavailableError(Errno("cannot open directory", dir));
  const int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return UnavailableError(Errno("cannot fsync directory", dir));
  return OkStatus();
}

}  // namespace

CdcSink::~CdcSink() = default;

Result<std::unique_ptr<JsonlFileSink>> JsonlFileSink::Open(const std::filesystem::path& path,
                                                           JsonlFileSinkOptions options) {
  if (path.empty()) return InvalidArgumentError("sink file path is empty");
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return InvalidArgumentError("cannot resolve sink path '" + path.string() + "': " + ec.message());
  if (std::filesystem::is_directory(abs, ec))
    return InvalidArgumentError("sink path '" + abs.string() + "' is a directory; give a file name");
  const std::filesystem::path dir = abs.parent_path();
  if (!std::filesystem::is_directory(dir, ec))
    return NotFoundError("directory '" + dir.string() + "' of the sink file does not exist; create it first");
  // The canonical path, so the same file reached through a symlink or "..", keeps one checkpoint.
  std::filesystem::path canonical = std::filesystem::weakly_canonical(abs, ec);
  if (ec) canonical = abs.lexically_normal();
  std::string name = options.name.empty() ? "jsonl:" + canonical.string() : options.name;
  // Name rules live with the checkpoint table; checked here so a bad name fails at Open.
  if (name.empty() || name.size() > 512) return InvalidArgumentError("sink name must be 1..512 bytes long");
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return InvalidArgumentError("sink name must not contain control characters");
  }

  const bool existed = std::filesystem::exists(abs, ec);
  const int fd = ::open(abs.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return errno == EACCES ? PermissionDeniedError(Errno("cannot open sink file", abs))
                           : UnavailableError(Errno("cannot open sink file", abs));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    Status s = busy ? UnavailableError("sink file '" + abs.string() +
                                       "' is in use by another pipeline; stop it or use another file")
                    : UnavailableError(Errno("cannot lock sink file", abs));
    ::close(fd);
    return s;
  }
  struct stat sb;
  if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("sink path '" + abs.string() + "' is not a regular file");
  }
  if (!existed && options.fsync) {
    Status s = FsyncDir(dir);
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
  }
  return std::unique_ptr<JsonlFileSink>(new JsonlFileSink(abs, fd, std::move(options), std::move(name)));
}

JsonlFileSink::JsonlFileSink(std::filesystem::path path, int fd, JsonlFileSinkOptions options, std::string name)
    : path_(std::move(path)), fd_(fd), options_(std::move(options)), name_(std::move(name)) {}

JsonlFileSink::~JsonlFileSink() { ::close(fd_); }  // closing releases the flock

Result<std::optional<int64_t>> JsonlFileSink::Recover() {
  struct stat sb;
  if (::fstat(fd_, &sb) != 0) return UnavailableError(Errno("cannot stat", path_));
  const off_t size = sb.st_size;
  DOTDO_ASSIGN_OR_RETURN(const off_t complete, EndOfLastLine(fd_, size, path_));
  if (complete < size) {
    // A torn last line: the write that produced it never returned OK, so its events were not
    // checkpointed and the outbox still has them.
    if (::ftruncate(fd_, complete) != 0) return UnavailableError(Errno("cannot truncate torn line of", path_));
    if (options_.fsync && ::fsync(fd_) != 0) return UnavailableError(Errno("cannot fsync", path_));
  }
  if (complete == 0) return std::optional<int64_t>(0);
  DOTDO_ASSIGN_OR_RETURN(const off_t line_start, EndOfLastLine(fd_, complete - 1, path_));
  std::string line(static_cast<size_t>(complete - 1 - line_start), '\0');
  DOTDO_RETURN_IF_ERROR(PreadAll(fd_, line.data(), line.size(), line_start, path_));
  const std::string where = "last line of '" + path_.string() + "' (byte " + std::to_string(line_start) + ")";
  auto parsed = internal::ParseJson(line, "it", {.max_depth = internal::kNoDepthCheck});
  if (!parsed.ok()) {
    if (parsed.status().code() != StatusCode::kInvalidArgument) return parsed.status();
    return DataLossError(where + " is not JSON (" + parsed.status().message() + "); the file was modified outside dotdo");
  }
  const Json& j = *parsed;
  auto lsn = j.is_object() ? j.find("lsn") : j.end();
  if (!j.is_object() || lsn == j.end() || !lsn->is_number_integer() || lsn->get<int64_t>() < 1)
    return DataLossError(where + " has no positive integer \"lsn\"; the file was modified outside dotdo");
  return std::optional<int64_t>(lsn->get<int64_t>());
}

Status JsonlFileSink::Write(const std::vector<UnifiedEvent>& events) {
  if (events.empty()) return OkStatus();
  std::string buf;
  for (const auto& e : events) {
    if (!e.lsn) return InvalidArgumentError("event " + e.id + " has no lsn; only outbox events can be written");
    // Invalid UTF-8 in a stored string becomes U+FFFD rather than blocking the pipeline forever.
    buf += internal::DumpJson(EventToJson(e));
    buf.push_back('\n');
  }
  // One write per batch: a crash leaves some complete lines (reconciled by lsn) and at most one
  // torn line, which Recover() drops.
  DOTDO_RETURN_IF_ERROR(WriteAll(fd_, buf, path_));
  if (options_.fsync && ::fdatasync(fd_) != 0) return UnavailableError(Errno("cannot fsync", path_));
  return OkStatus();
}

}  // namespace dotdo
