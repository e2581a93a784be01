// NamespaceDelivery: see delivery.h. A failed sink is dropped whole (sink and pipeline), so the
// next attempt opens a fresh connection and the pipeline reconciles it with the checkpoint through
// Recover(): exactly once is the pipeline's and the sink's contract, nothing here changes it.
#include "host/delivery.h"

#include <algorithm>

namespace dotdo::internal {

namespace {
constexpr int64_t kFirstRetryMs = 1000;
constexpr int64_t kMaxRetryMs = 60000;
}  // namespace

NamespaceDelivery::NamespaceDelivery(Database& db, const std::vector<HostSinkOptions>& sinks, std::function<void()> wake,
                                     std::function<Result<ObjectStore*>()> objects)
    : db_(db), objects_(std::move(objects)) {
  for (const HostSinkOptions& s : sinks) slots_.push_back(Slot{.options = &s});
  if (wake) subscription_ = ChangeFeed(db_).Subscribe([wake](const std::vector<UnifiedEvent>&) { wake(); });
}

NamespaceDelivery::~NamespaceDelivery() {
  if (subscription_ != 0) ChangeFeed(db_).Unsubscribe(subscription_);
  std::lock_guard<std::mutex> lock(mu_);
  for (Slot& s : slots_) {
    s.pipeline.reset();  // before its sink
    s.sink.reset();
  }
}

Result<std::unique_ptr<CdcSink>> NamespaceDelivery::OpenSink(const HostSinkOptions& options) {
  if (options.type == HostSinkType::kIceberg) {
    DOTDO_ASSIGN_OR_RETURN(ObjectStore * objects, objects_());
    DOTDO_ASSIGN_OR_RETURN(auto sink, IcebergEventSink::Open(*objects, options.iceberg));
    return std::unique_ptr<CdcSink>(std::move(sink));
  }
  DOTDO_ASSIGN_OR_RETURN(auto sink, JetStreamSink::Open(options.jetstream));
  return std::unique_ptr<CdcSink>(std::move(sink));
}

Status NamespaceDelivery::RunSlot(Slot& slot, int64_t now_ms, int64_t& delivered) {
  Status st = [&]() -> Status {
    if (!slot.sink) {
      DOTDO_ASSIGN_OR_RETURN(slot.sink, OpenSink(*slot.options));
      slot.pipeline = std::make_unique<CdcPipeline>(db_, *slot.sink, slot.options->pipeline);
    }
    DOTDO_ASSIGN_OR_RETURN(delivered, slot.pipeline->RunOnce());
    return OkStatus();
  }();
  if (st.ok()) {
    slot.delivered += delivered;
    slot.last_error.clear();
    slot.backoff_ms = 0;
    slot.retry_at_ms = 0;
    return st;
  }
  slot.pipeline.reset();
  slot.sink.reset();
  slot.last_error = std::string(StatusCodeName(st.code())) + ": " + std::string(st.message());
  slot.backoff_ms = slot.backoff_ms == 0 ? kFirstRetryMs : std::min(kMaxRetryMs, slot.backoff_ms * 2);
  slot.retry_at_ms = now_ms + slot.backoff_ms;
  return st.WithContext("sink '" + slot.options->Name() + "' of namespace '" + db_.ns() + "'");
}

Result<std::vector<SinkDelivery>> NamespaceDelivery::Deliver(bool background, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Status first = OkStatus();
  std::vector<int64_t> delivered(slots_.size(), 0);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    if (background && !slot.sink && now_ms < slot.retry_at_ms) continue;
    Status st = RunSlot(slot, now_ms, delivered[i]);
    if (!st.ok() && first.ok()) first = st;
  }
  if (!background) DOTDO_RETURN_IF_ERROR(first);
  return Describe(delivered);
}

Result<std::vector<SinkDelivery>> NamespaceDelivery::State() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> delivered;
  for (const Slot& s : slots_) delivered.push_back(s.delivered);
  return Describe(delivered);
}

Result<std::vector<SinkDelivery>> NamespaceDelivery::Describe(const std::vector<int64_t>& delivered) {
  DOTDO_ASSIGN_OR_RETURN(int64_t last, ChangeFeed(db_).LastLsn());
  DOTDO_ASSIGN_OR_RETURN(std::vector<SinkCheckpoint> checkpoints, CdcCheckpoints(db_).List());
  std::vector<SinkDelivery> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    SinkDelivery d;
    d.sink = s.options->Name();
    d.delivered = delivered[i];
    for (const SinkCheckpoint& c : checkpoints)
      if (c.sink == d.sink) d.checkpoint = c.lsn;
    d.lag = std::max<int64_t>(0, last - d.checkpoint);
    d.connected = s.sink != nullptr;
    d.last_error = s.last_error;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace dotdo::internal
