// Named sync points: places in the code where a test can inject a failure or force an ordering
// (after RocksDB's test_util/sync_point.h). `DOTDO_SYNC_POINT("blob.after_object_write")` is an
// expression of type Status: OK unless a test registered a callback under that name, in which case
// the callback runs and its Status is the value (a non-OK one typically simulates a crash at that
// point). With the CMake option DOTDO_SYNC_POINTS off (Release builds) the macro is the constant
// OkStatus(), so `DOTDO_RETURN_IF_ERROR(DOTDO_SYNC_POINT(...))` compiles to nothing.
//
// Names are "<component>.<where>", lower case, and each one is listed in docs/architecture.md
// ("Fault injection") so tests and code agree on them.
//
// Thread-safety: Set/Clear/ClearAll and the points themselves may be used from any thread. A
// callback runs on the thread that reached the point, without the registry lock held, so it may
// itself Set or Clear points. Ownership: the registry copies the callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "dotdo/status.h"

namespace dotdo::internal {

class SyncPoints {
 public:
  using Callback = std::function<Status()>;

  // True when the build has sync points (DOTDO_SYNC_POINTS); tests that need them GTEST_SKIP()
  // otherwise.
  static constexpr bool Enabled() {
#if DOTDO_SYNC_POINTS
    return true;
#else
    return false;
#endif
  }

  // Registers (or replaces) the callback run at `name`.
  static void Set(std::string_view name, Callback fn);
  static void Clear(std::string_view name);
  static void ClearAll();
  // How often `name` was reached since it was last Set (0 when it is not set).
  static int64_t Hits(std::string_view name);

  // What DOTDO_SYNC_POINT expands to: the callback's Status, OK when none is set.
  static Status Process(std::string_view name);
};

// Sets a sync point for the lifetime of the object; the destructor clears it.
class ScopedSyncPoint {
 public:
  ScopedSyncPoint(std::string name, SyncPoints::Callback fn) : name_(std::move(name)) {
    SyncPoints::Set(name_, std::move(fn));
  }
  ~ScopedSyncPoint() { SyncPoints::Clear(name_); }
  ScopedSyncPoint(const ScopedSyncPoint&) = delete;
  ScopedSyncPoint& operator=(const ScopedSyncPoint&) = delete;

 private:
  std::string name_;
};

}  // namespace dotdo::internal

#if DOTDO_SYNC_POINTS
#define DOTDO_SYNC_POINT(name) ::dotdo::internal::SyncPoints::Process(name)
#else
#define DOTDO_SYNC_POINT(name) ::dotdo::OkStatus()
#endif
