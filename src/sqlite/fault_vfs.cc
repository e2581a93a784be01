// The fault-injecting VFS: the sqlite3_vfs and sqlite3_io_methods shims over the default VFS, the
// armed faults, the per-file undo logs and the power-loss restore (invariants in fault_vfs.h).
#include "sqlite/fault_vfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace dotdo::internal {
namespace {

// One write or truncate since the file's last sync: the bytes it replaced and the size before it.
struct UndoEntry {
  int64_t offset = 0;
  std::string old_bytes;
  int64_t size_before = 0;
};

struct TrackedFile {
  std::string path;
  FileKind kind = FileKind::kOther;
  std::vector<UndoEntry> undo;  // oldest first
};

struct ArmedFault {
  FaultSpec spec;
  int64_t remaining = 1;  // matching calls until (and including) the failing one
};

// An open file: our header, then the default VFS's file object.
struct FaultFile {
  sqlite3_file base;  // first, so a sqlite3_file* is a FaultFile*
  sqlite3_file* real;
  FileKind kind;
  std::shared_ptr<TrackedFile> tracked;  // null for files without a name (temp files)
};

constexpr int RoundUp8(size_t n) { return static_cast<int>((n + 7) & ~size_t{7}); }

FaultFile* Self(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Self(f)->real; }

int ErrorCode(FaultOp op, FaultError error) {
  if (error == FaultError::kNoSpace) return SQLITE_FULL;
  switch (op) {
    case FaultOp::kWrite: return SQLITE_IOERR_WRITE;
    case FaultOp::kSync: return SQLITE_IOERR_FSYNC;
    case FaultOp::kTruncate: return SQLITE_IOERR_TRUNCATE;
  }
  return SQLITE_IOERR;
}

Status PosixError(const std::string& what, const std::string& path) {
  return DataLossError("cannot restore '" + path + "' after simulated power loss: " + what + ": " +
                       std::strerror(errno));
}

}  // namespace

class FaultInjectionVfs::State {
 public:
  sqlite3_vfs vfs{};
  sqlite3_vfs* base = nullptr;
  sqlite3_io_methods methods{};

  mutable std::mutex mu;
  std::vector<ArmedFault> faults;                                  // GUARDED_BY(mu)
  std::map<std::string, std::shared_ptr<TrackedFile>> files;      // GUARDED_BY(mu)
  int64_t injected = 0;                                            // GUARDED_BY(mu)
  int64_t calls[3] = {0, 0, 0};                                    // GUARDED_BY(mu)
  int64_t open_files = 0;                                          // GUARDED_BY(mu)
  bool powered = true;                                             // GUARDED_BY(mu)

  // Counts the call and decides whether it fails; 0 = go ahead. REQUIRES: mu held.
  int Decide(FaultOp op, FileKind kind) {
    ++calls[static_cast<int>(op)];
    if (!powered) return ErrorCode(op, FaultError::kIoError);
    int rc = 0;
    for (size_t i = 0; i < faults.size();) {
      ArmedFault& f = faults[i];
      if (f.spec.op != op || (f.spec.only && *f.spec.only != kind)) {
        ++i;
        continue;
      }
      if (--f.remaining > 0) {
        ++i;
        continue;
      }
      if (rc == 0) rc = ErrorCode(op, f.spec.error);
      if (f.spec.repeat) {
        f.remaining = 1;
        ++i;
      } else {
        faults.erase(faults.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    if (rc != 0) ++injected;
    return rc;
  }
};

namespace {

FaultInjectionVfs::State& StateOf(sqlite3_vfs* vfs) {
  return *static_cast<FaultInjectionVfs::State*>(vfs->pAppData);
}

// The State of an open file (the VFS's pAppData is reachable only through the VFS, so files keep
// it in a global set once by Instance()).
FaultInjectionVfs::State* g_state = nullptr;

int64_t FileSize(sqlite3_file* real) {
  sqlite3_int64 size = 0;
  if (real->pMethods->xFileSize(real, &size) != SQLITE_OK) return -1;
  return size;
}

// Records the bytes [offset, offset + n) currently hold (clipped at the end of the file).
int RecordUndo(sqlite3_file* real, TrackedFile& t, int64_t offset, int64_t n) {
  const int64_t size = FileSize(real);
  if (size < 0) return SQLITE_IOERR_FSTAT;
  UndoEntry e;
  e.offset = offset;
  e.size_before = size;
  const int64_t end = std::min(size, offset + n);
  if (end > offset) {
    e.old_bytes.resize(static_cast<size_t>(end - offset));
    const int rc = real->pMethods->xRead(real, e.old_bytes.data(), static_cast<int>(e.old_bytes.size()), offset);
    if (rc != SQLITE_OK) return rc;
  }
  t.undo.push_back(std::move(e));
  return SQLITE_OK;
}

int FaultClose(sqlite3_file* f) {
  FaultFile* self = Self(f);
  const int rc = self->real->pMethods ? self->real->pMethods->xClose(self->real) : SQLITE_OK;
  {
    std::lock_guard<std::mutex> lock(g_state->mu);
    --g_state->open_files;
  }
  self->~FaultFile();
  return rc;
}

int FaultRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, offset);
}

int FaultWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 offset) {
  FaultFile* self = Self(f);
  std::lock_guard<std::mutex> lock(g_state->mu);
  if (const int rc = g_state->Decide(FaultOp::kWrite, self->kind)) return rc;
  if (self->tracked) {
    if (const int rc = RecordUndo(self->real, *self->tracked, offset, n)) return rc;
  }
  const int rc = self->real->pMethods->xWrite(self->real, buf, n, offset);
  // A write that failed for real may have changed part of the range: keep its undo entry.
  return rc;
}

int FaultTruncate(sqlite3_file* f, sqlite3_int64 size) {
  FaultFile* self = Self(f);
  std::lock_guard<std::mutex> lock(g_state->mu);
  if (const int rc = g_state->Decide(FaultOp::kTruncate, self->kind)) return rc;
  if (self->tracked) {
    const int64_t cur = FileSize(self->real);
    if (cur < 0) return SQLITE_IOERR_FSTAT;
    if (const int rc = RecordUndo(self->real, *self->tracked, size, std::max<int64_t>(cur - size, 0))) return rc;
  }
  return self->real->pMethods->xTruncate(self->real, size);
}

int FaultSync(sqlite3_file* f, int flags) {
  FaultFile* self = Self(f);
  std::lock_guard<std::mutex> lock(g_state->mu);
  if (const int rc = g_state->Decide(FaultOp::kSync, self->kind)) return rc;
  const int rc = self->real->pMethods->xSync(self->real, flags);
  if (rc == SQLITE_OK && self->tracked) self->tracked->undo.clear();
  return rc;
}

int FaultFileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
int FaultLock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int FaultUnlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int FaultCheckReservedLock(sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); }
int FaultFileControl(sqlite3_file* f, int op, void* arg) {
  // Size hints and chunk sizes would let the default VFS grow the file behind xTruncate's back.
  if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE) return SQLITE_NOTFOUND;
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int FaultSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int FaultDeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }
int FaultShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, page_size, extend, out);
}
int FaultShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void FaultShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int FaultShmUnmap(sqlite3_file* f, int delete_flag) { return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag); }
// Memory-mapped reads are declined (SQLite falls back to xRead): a mapping of a file that
// DropUnsyncedData rewrites underneath would serve stale pages. (dotdo runs with mmap_size 0 anyway.)
int FaultFetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int FaultUnfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

FileKind KindOf(int flags) {
  if (flags & SQLITE_OPEN_MAIN_DB) return FileKind::kMainDb;
  if (flags & SQLITE_OPEN_WAL) return FileKind::kWal;
  if (flags & SQLITE_OPEN_MAIN_JOURNAL) return FileKind::kJournal;
  return FileKind::kOther;
}

int FaultOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  FaultInjectionVfs::State& s = StateOf(vfs);
  FaultFile* self = new (f) FaultFile{};
  self->base.pMethods = nullptr;
  self->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + RoundUp8(sizeof(FaultFile)));
  self->kind = KindOf(flags);
  const int rc = s.base->xOpen(s.base, name, self->real, flags, out_flags);
  if (rc != SQLITE_OK || self->real->pMethods == nullptr) {
    // SQLite calls xClose only when pMethods is set; the real file cleaned up after itself.
    self->~FaultFile();
    f->pMethods = nullptr;
    return rc;
  }
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.open_files;
    if (name != nullptr && (flags & SQLITE_OPEN_DELETEONCLOSE) == 0) {
      auto& slot = s.files[name];
      if (!slot) {
        slot = std::make_shared<TrackedFile>();
        slot->path = name;
        slot->kind = self->kind;
      }
      self->tracked = slot;
    }
  }
  self->base.pMethods = &s.methods;
  return SQLITE_OK;
}

int FaultDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  FaultInjectionVfs::State& s = StateOf(vfs);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.powered) return SQLITE_IOERR_DELETE;
    // Directory entries count as durable at once (fault_vfs.h): the file is gone for good.
    s.files.erase(name);
  }
  return s.base->xDelete(s.base, name, sync_dir);
}

int FaultAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xAccess(b, name, flags, out);
}
int FaultFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xFullPathname(b, name, n, out);
}
void* FaultDlOpen(sqlite3_vfs* vfs, const char* name) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xDlOpen(b, name);
}
void FaultDlError(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* b = StateOf(vfs).base;
  b->xDlError(b, n, out);
}
void (*FaultDlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xDlSym(b, handle, symbol);
}
void FaultDlClose(sqlite3_vfs* vfs, void* handle) {
  sqlite3_vfs* b = StateOf(vfs).base;
  b->xDlClose(b, handle);
}
int FaultRandomness(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xRandomness(b, n, out);
}
int FaultSleep(sqlite3_vfs* vfs, int us) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xSleep(b, us);
}
int FaultCurrentTime(sqlite3_vfs* vfs, double* out) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xCurrentTime(b, out);
}
int FaultGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xGetLastError(b, n, out);
}
int FaultCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  sqlite3_vfs* b = StateOf(vfs).base;
  return b->xCurrentTimeInt64(b, out);
}

// Restores one file (invariant 1), keeping its first `keep` undo entries' writes.
Status Restore(const TrackedFile& t, size_t keep) {
  if (t.undo.size() <= keep) return OkStatus();
  const int fd = ::open(t.path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return OkStatus();  // deleted meanwhile (by a process outside the VFS)
    return PosixError("open", t.path);
  }
  Status st;
  for (size_t i = t.undo.size(); i-- > keep && st.ok();) {
    const UndoEntry& e = t.undo[i];
    size_t done = 0;
    while (done < e.old_bytes.size()) {
      const ssize_t w = ::pwrite(fd, e.old_bytes.data() + done, e.old_bytes.size() - done,
                                 static_cast<off_t>(e.offset) + static_cast<off_t>(done));
      if (w < 0) {
        if (errno == EINTR) continue;
        st = PosixError("pwrite", t.path);
        break;
      }
      done += static_cast<size_t>(w);
    }
  }
  if (st.ok() && ::ftruncate(fd, static_cast<off_t>(t.undo[keep].size_before)) != 0) st = PosixError("ftruncate", t.path);
  if (st.ok() && ::fsync(fd) != 0) st = PosixError("fsync", t.path);
  ::close(fd);
  return st;
}

}  // namespace

FaultInjectionVfs::FaultInjectionVfs() : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.base = sqlite3_vfs_find(nullptr);
  s.methods = sqlite3_io_methods{
      3,           FaultClose,          FaultRead,
      FaultWrite,  FaultTruncate,       FaultSync,
      FaultFileSize, FaultLock,         FaultUnlock,
      FaultCheckReservedLock, FaultFileControl, FaultSectorSize,
      FaultDeviceCharacteristics, FaultShmMap, FaultShmLock,
      FaultShmBarrier, FaultShmUnmap,   FaultFetch,
      FaultUnfetch};
  s.vfs.iVersion = 3;
  s.vfs.szOsFile = RoundUp8(sizeof(FaultFile)) + s.base->szOsFile;
  s.vfs.mxPathname = s.base->mxPathname;
  s.vfs.zName = kName;
  s.vfs.pAppData = &s;
  s.vfs.xOpen = FaultOpen;
  s.vfs.xDelete = FaultDelete;
  s.vfs.xAccess = FaultAccess;
  s.vfs.xFullPathname = FaultFullPathname;
  s.vfs.xDlOpen = FaultDlOpen;
  s.vfs.xDlError = FaultDlError;
  s.vfs.xDlSym = FaultDlSym;
  s.vfs.xDlClose = FaultDlClose;
  s.vfs.xRandomness = FaultRandomness;
  s.vfs.xSleep = FaultSleep;
  s.vfs.xCurrentTime = FaultCurrentTime;
  s.vfs.xGetLastError = FaultGetLastError;
  s.vfs.xCurrentTimeInt64 = FaultCurrentTimeInt64;
}

FaultInjectionVfs& FaultInjectionVfs::Instance() {
  static FaultInjectionVfs* instance = [] {
    sqlite3_initialize();
    auto* v = new FaultInjectionVfs();
    g_state = v->state_.get();
    sqlite3_vfs_register(&v->state_->vfs, /*makeDflt=*/0);
    return v;
  }();
  return *instance;
}

void FaultInjectionVfs::Arm(const FaultSpec& spec) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.push_back(ArmedFault{spec, std::max<int64_t>(spec.nth, 1)});
}

void FaultInjectionVfs::Disarm() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.clear();
}

void FaultInjectionVfs::Reset() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.clear();
  state_->injected = 0;
  for (int64_t& c : state_->calls) c = 0;
  state_->powered = true;
  // Files no longer open are forgotten (a test's scratch directory is gone); open ones start over.
  for (auto it = state_->files.begin(); it != state_->files.end();) {
    if (it->second.use_count() == 1) {
      it = state_->files.erase(it);
    } else {
      it->second->undo.clear();
      ++it;
    }
  }
}

int64_t FaultInjectionVfs::injected() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->injected;
}

int64_t FaultInjectionVfs::calls(FaultOp op) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->calls[static_cast<int>(op)];
}

size_t FaultInjectionVfs::unsynced_operations() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  size_t n = 0;
  for (const auto& [path, t] : state_->files) n += t->undo.size();
  return n;
}

void FaultInjectionVfs::CutPower() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->powered = false;
}

Status FaultInjectionVfs::DropUnsyncedData(size_t keep_writes) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->open_files > 0)
    return FailedPreconditionError(std::to_string(state_->open_files) +
                                   " file(s) still open through the fault VFS: close every Database first");
  Status first_error;
  for (auto& [path, t] : state_->files) {
    Status st = Restore(*t, keep_writes);
    if (!st.ok() && first_error.ok()) first_error = st;
    t->undo.clear();
    if (t->kind == FileKind::kMainDb) {
      const std::string shm = path + "-shm";
      if (::unlink(shm.c_str()) != 0 && errno != ENOENT && first_error.ok()) first_error = PosixError("unlink", shm);
    }
  }
  state_->powered = true;
  return first_error;
}

}  // namespace dotdo::internal
