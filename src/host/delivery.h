// Delivery of one namespace's change events to the host's configured sinks: a slot per sink with
// its JetStreamSink and CdcPipeline, opened on first use and dropped after a failure (the next
// attempt reconnects, waiting 1 s doubling to 60 s between attempts in the background).
//
// Thread-safety: Deliver/State may be called from any thread; calls serialize on the object's mutex.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "dotdo/host.h"

namespace dotdo::internal {

class NamespaceDelivery {
 public:
  // `wake` is called after each commit of `db` that produced events (with the Database lock held:
  // it must only signal). `sinks` must outlive the object.
  // `objects` opens the namespace's object store (for sinks that write there).
  NamespaceDelivery(Database& db, const std::vector<HostSinkOptions>& sinks, std::function<void()> wake,
                    std::function<Result<ObjectStore*>()> objects);
  ~NamespaceDelivery();
  NamespaceDelivery(const NamespaceDelivery&) = delete;
  NamespaceDelivery& operator=(const NamespaceDelivery&) = delete;

  // Runs every sink once. background: a sink in its retry wait is skipped, and errors are only
  // recorded (the result is then OK); otherwise a sink is tried now and the first error returned.
  Result<std::vector<SinkDelivery>> Deliver(bool background, int64_t now_ms);
  Result<std::vector<SinkDelivery>> State();

 private:
  struct Slot {
    const HostSinkOptions* options = nullptr;
    std::unique_ptr<CdcSink> sink;
    std::unique_ptr<CdcPipeline> pipeline;
    int64_t delivered = 0;
    std::string last_error;
    int64_t retry_at_ms = 0;
    int64_t backoff_ms = 0;
  };
  Status RunSlot(Slot& slot, int64_t now_ms, int64_t& delivered);
  Result<std::vector<SinkDelivery>> Describe(const std::vector<int64_t>& delivered);

  Result<std::unique_ptr<CdcSink>> OpenSink(const HostSinkOptions& options);

  Database& db_;
  std::function<Result<ObjectStore*>()> objects_;
  std::mutex mu_;
  std::vector<Slot> slots_;  // GUARDED_BY(mu_)
  int64_t subscription_ = 0;
};

}  // namespace dotdo::internal
