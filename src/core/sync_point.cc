// The sync point registry: a name -> callback map behind one mutex, with an atomic count of the
// registered points so that code passing a point pays one relaxed load when no test set any.
#include "core/sync_point.h"

#include <atomic>
#include <map>
#include <mutex>

namespace dotdo::internal {
namespace {

struct Entry {
  SyncPoints::Callback fn;
  int64_t hits = 0;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, Entry, std::less<>> points;  // GUARDED_BY(mu)
  std::atomic<size_t> size{0};                       // points.size(), readable without mu
};

Registry& Get() {
  static Registry* registry = new Registry();  // never destroyed: points may be hit during exit
  return *registry;
}

}  // namespace

void SyncPoints::Set(std::string_view name, Callback fn) {
  Registry& r = Get();
  std::lock_guard<std::mutex> lock(r.mu);
  r.points.insert_or_assign(std::string(name), Entry{std::move(fn), 0});
  r.size.store(r.points.size(), std::memory_order_release);
}

void SyncPoints::Clear(std::string_view name) {
  Registry& r = Get();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.points.find(name);
  if (it != r.points.end()) r.points.erase(it);
  r.size.store(r.points.size(), std::memory_order_release);
}

void SyncPoints::ClearAll() {
  Registry& r = Get();
  std::lock_guard<std::mutex> lock(r.mu);
  r.points.clear();
  r.size.store(0, std::memory_order_release);
}

int64_t SyncPoints::Hits(std::string_view name) {
  Registry& r = Get();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.points.find(name);
  return it == r.points.end() ? 0 : it->second.hits;
}

Status SyncPoints::Process(std::string_view name) {
  Registry& r = Get();
  if (r.size.load(std::memory_order_acquire) == 0) return OkStatus();
  Callback fn;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.points.find(name);
    if (it == r.points.end()) return OkStatus();
    ++it->second.hits;
    fn = it->second.fn;
  }
  return fn ? fn() : OkStatus();
}

}  // namespace dotdo::internal
