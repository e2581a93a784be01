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

#include <algorithm>
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

constexpr std::string_view kSidecarSuffix = ".dotdo-sink";
constexpr std::string_view kSidecarFormat = "dotdo.cdc.jsonl";

// The lsn of one line if it is an exported event (a JSON object with a positive integer "lsn"),
// else nullopt.
std::optional<int64_t> EventLsn(std::string_view line) {
  auto parsed = internal::ParseJson(line, "line", {.max_depth = internal::kNoDepthCheck});
  if (!parsed.ok() || !parsed->is_object()) return std::nullopt;
  auto lsn = parsed->find("lsn");
  if (lsn == parsed->end() || !lsn->is_number_integer() || lsn->get<int64_t>() < 1) return std::nullopt;
  return lsn->get<int64_t>();
}

// An existing export file without a sidecar: its first and its last complete line are events.
Result<bool> LooksLikeExportFile(int fd, off_t size, const std::filesystem::path& path) {
  DOTDO_ASSIGN_OR_RETURN(const off_t complete, EndOfLastLine(fd, size, path));
  if (complete == 0) return false;
  constexpr off_t kMaxLine = 16 << 20;
  std::string first(static_cast<size_t>(std::min(complete, kMaxLine)), '\0');
  DOTDO_RETURN_IF_ERROR(PreadAll(fd, first.data(), first.size(), 0, path));
  const size_t nl = first.find('\n');
  if (nl == std::string::npos || !EventLsn(std::string_view(first).substr(0, nl))) return false;
  DOTDO_ASSIGN_OR_RETURN(const off_t line_start, EndOfLastLine(fd, complete - 1, path));
  if (complete - 1 - line_start > kMaxLine) return false;
  std::string last(static_cast<size_t>(complete - 1 - line_start), '\0');
  DOTDO_RETURN_IF_ERROR(PreadAll(fd, last.data(), last.size(), line_start, path));
  return EventLsn(last).has_value();
}

// The namespace a sidecar names ("" for none); kFailedPrecondition when it is not ours.
Result<std::optional<std::string>> ReadSidecar(const std::filesystem::path& sidecar) {
  const int fd = ::open(sidecar.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return UnavailableError(Errno("cannot open sink sidecar", sidecar));
  }
  std::string text(4096, '\0');
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n < 0) return UnavailableError(Errno("cannot read sink sidecar", sidecar));
  text.resize(static_cast<size_t>(n));
  auto j = internal::ParseJson(text, "sink sidecar");
  if (!j.ok() || !j->is_object() || j->value("format", "") != kSidecarFormat || !j->contains("namespace") ||
      !(*j)["namespace"].is_string())
    return FailedPreconditionError("'" + sidecar.string() + "' is not a dotdo sink sidecar; refusing to use the sink");
  return std::optional<std::string>((*j)["namespace"].get<std::string>());
}

Status WriteSidecar(const std::filesystem::path& sidecar, std::string_view ns, bool sync) {
  const std::filesystem::path tmp = sidecar.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return UnavailableError(Errno("cannot create sink sidecar", tmp));
  const std::string body =
      internal::DumpJson(Json{{"format", kSidecarFormat}, {"version", 1}, {"namespace", std::string(ns)}}) + "\n";
  Status st = WriteAll(fd, body, tmp);
  if (st.ok() && sync && ::fsync(fd) != 0) st = UnavailableError(Errno("cannot fsync", tmp));
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), sidecar.c_str()) != 0) st = UnavailableError(Errno("cannot rename", tmp));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return sync ? FsyncDir(sidecar.parent_path()) : OkStatus();
}

}  // namespace

// The canonical path, so the same file reached through a symlink or "..", keeps one checkpoint.
std::filesystem::path CanonicalPath(const std::filesystem::path& abs) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : canonical;
}

CdcSink::~CdcSink() = default;

Result<std::string> JsonlFileSink::DefaultName(const std::filesystem::path& path) {
  if (path.empty()) return InvalidArgumentError("sink file path is empty");
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return InvalidArgumentError("cannot resolve sink path '" + path.string() + "': " + ec.message());
  return "jsonl:" + CanonicalPath(abs).string();
}
Status CdcSink::Claim(std::string_view) { return OkStatus(); }
Status CdcSink::Submit(const std::vector<UnifiedEvent>& events) { return Write(events); }
Status CdcSink::Complete(const std::vector<UnifiedEvent>&) { return OkStatus(); }

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
  const std::filesystem::path canonical = CanonicalPath(abs);
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
  auto fail = [fd](Status st) {
    ::close(fd);
    return st;
  };
  struct stat sb;
  if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
    return fail(InvalidArgumentError("sink path '" + abs.string() + "' is not a regular file"));
  // Recognise the file before anything (Recover) may change it.
  const std::filesystem::path sidecar = canonical.string() + std::string(kSidecarSuffix);
  auto owner = ReadSidecar(sidecar);
  if (!owner.ok()) return fail(owner.status());
  if (!*owner && sb.st_size > 0) {
    auto recognised = LooksLikeExportFile(fd, sb.st_size, abs);
    if (!recognised.ok()) return fail(recognised.status());
    if (!*recognised)
      return fail(FailedPreconditionError("'" + abs.string() + "' is not a dotdo export file (it has no sidecar '" +
                                          sidecar.string() + "' and does not hold events); refusing to write to it"));
  }
  if (!existed && options.fsync) {
    Status s = FsyncDir(dir);
    if (!s.ok()) return fail(s);
  }
  return std::unique_ptr<JsonlFileSink>(new JsonlFileSink(abs, canonical, fd, std::move(options), std::move(name),
                                                          owner->value_or("")));
}

JsonlFileSink::JsonlFileSink(std::filesystem::path path, std::filesystem::path canonical, int fd,
                             JsonlFileSinkOptions options, std::string name, std::string owner)
    : path_(std::move(path)), canonical_(std::move(canonical)), fd_(fd), options_(std::move(options)),
      name_(std::move(name)), owner_(std::move(owner)) {}

std::filesystem::path JsonlFileSink::SidecarPath() const { return canonical_.string() + std::string(kSidecarSuffix); }

Status JsonlFileSink::Claim(std::string_view ns) {
  if (ns.empty()) return InvalidArgumentError("a sink is claimed for a namespace; the name is empty");
  if (!owner_.empty()) {
    if (owner_ == ns) return OkStatus();
    return FailedPreconditionError("sink file '" + path_.string() + "' holds the events of namespace '" + owner_ +
                                   "' (its sidecar says so); export namespace '" + std::string(ns) +
                                   "' to another file");
  }
  DOTDO_RETURN_IF_ERROR(WriteSidecar(SidecarPath(), ns, options_.fsync));
  owner_ = std::string(ns);
  return OkStatus();
}

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
