// CdcPipeline: moves committed outbox events into a sink, exactly once across crashes.
//
// One delivery step: read events with lsn > position from the outbox, transform them (local ids ->
// global URLs), Write them to the sink (durable when it returns), then save the sink's checkpoint.
// A crash can happen between any two of these steps; the reconciliation at start (and after any
// failure) makes every case safe:
//   - crash before the sink write became durable: the checkpoint did not move and the outbox still
//     has the events (retention never passes a registered sink's checkpoint): they are re-sent;
//   - crash after the sink write, before the checkpoint: Recover() reports the sink's last lsn,
//     which is ahead of the checkpoint; the checkpoint is moved there and nothing is re-sent.
//
// Invariants:
//   1. position_ == max(checkpoint, sink's durable lsn) whenever recovered_ is true.
//   2. The checkpoint of a sink is never ahead of what the sink holds durably.
//   3. Events reach the sink in lsn order, without gaps above its checkpoint.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cdc/outbox.h"

namespace dotdo {

using internal::Outbox;

class CdcPipeline::Impl {
 public:
  Impl(Database& db, CdcSink& sink, CdcPipelineOptions options) : db_(db), sink_(sink), options_(options) {}

  Result<int64_t> RunOnce();
  Result<int64_t> Checkpoint() { return internal::RegisterSink(db_, sink_.Name()); }
  Status Start(int64_t poll_interval_ms);
  Status Stop();

 private:
  Status Reconcile(Outbox& outbox, const std::string& name);
  void BackgroundLoop(int64_t poll_interval_ms);

  Database& db_;
  CdcSink& sink_;
  const CdcPipelineOptions options_;

  std::mutex run_mu_;          // serializes RunOnce
  bool recovered_ = false;     // GUARDED_BY(run_mu_)
  int64_t position_ = 0;       // GUARDED_BY(run_mu_)

  // Background mode. Lock order: the Database mutex may be held when taking bg_mu_ (the commit
  // subscriber does), never the other way round.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;       // GUARDED_BY(bg_mu_)
  bool bg_wake_ = false;       // GUARDED_BY(bg_mu_)
  Status bg_status_;           // GUARDED_BY(bg_mu_)
  std::thread bg_thread_;
  int64_t bg_subscription_ = 0;
};

Status CdcPipeline::Impl::Reconcile(Outbox& outbox, const std::string& name) {
  DOTDO_RETURN_IF_ERROR(sink_.Claim(db_.ns()));
  DOTDO_ASSIGN_OR_RETURN(const int64_t checkpoint, internal::RegisterSink(db_, name));
  DOTDO_ASSIGN_OR_RETURN(const std::optional<int64_t> held, sink_.Recover());
  int64_t position = checkpoint;
  if (held && *held < checkpoint) {
    return FailedPreconditionError(
        "sink '" + name + "' holds events only up to lsn " + std::to_string(*held) + " but its checkpoint is " +
        std::to_string(checkpoint) +
        ": the sink lost events it had confirmed (replaced, truncated or restored from an older copy); "
        "restore it, or unregister the sink to deliver again from the oldest retained event");
  }
  if (held && *held > checkpoint) {
    DOTDO_ASSIGN_OR_RETURN(const int64_t last, outbox.LastLsn());
    if (*held > last) {
      return FailedPreconditionError("sink '" + name + "' already holds lsn " + std::to_string(*held) +
                                     " but namespace '" + db_.ns() + "' has committed only up to lsn " +
                                     std::to_string(last) +
                                     ": the sink belongs to another namespace or database; use another sink");
    }
    // The sink made these durable but the checkpoint update did not happen (crash in between).
    DOTDO_RETURN_IF_ERROR(internal::SaveCheckpoint(db_, name, *held));
    position = *held;
  }
  position_ = position;
  recovered_ = true;
  return OkStatus();
}

Result<int64_t> CdcPipeline::Impl::RunOnce() {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  if (options_.batch_size < 1 || options_.batch_size > 10000)
    return InvalidArgumentError("pipeline batch_size must be between 1 and 10000");
  if (db_.InTransaction()) {
    return FailedPreconditionError(
        "CdcPipeline::RunOnce called inside a transaction; run it after the transaction commits");
  }
  const std::string name = sink_.Name();
  DOTDO_RETURN_IF_ERROR(internal::ValidateSinkName(name));
  DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
  if (!recovered_) DOTDO_RETURN_IF_ERROR(Reconcile(*outbox, name));
  int64_t delivered = 0;
  // The batch submitted to the sink and not yet complete: the next one is read and prepared while
  // the sink makes it durable (for JetStream, while its acks arrive). The checkpoint moves only
  // once Complete says the batch is durable.
  std::vector<UnifiedEvent> in_flight;
  auto complete = [&]() -> Status {
    Status done = sink_.Complete(in_flight);
    if (!done.ok()) {
      recovered_ = false;  // the sink may hold part of the batch: reconcile before the next write
      return done.WithContext("sink '" + name + "'");
    }
    const int64_t last = *in_flight.back().lsn;
    Status saved = internal::SaveCheckpoint(db_, name, last);
    if (!saved.ok()) {
      recovered_ = false;
      return saved.WithContext("saving the checkpoint of sink '" + name + "'");
    }
    position_ = last;
    delivered += static_cast<int64_t>(in_flight.size());
    in_flight.clear();
    return OkStatus();
  };
  int64_t read_from = position_;
  for (;;) {
    Result<std::vector<UnifiedEvent>> next = outbox->Read(read_from, options_.batch_size);
    if (!next.ok()) {
      if (!in_flight.empty()) (void)complete();  // what is durable stays delivered
      return next.status();
    }
    std::vector<UnifiedEvent> batch = *std::move(next);
    if (!batch.empty() && read_from > 0 && *batch.front().lsn != read_from + 1) {
      if (!in_flight.empty()) DOTDO_RETURN_IF_ERROR(complete());
      return DataLossError("the outbox has no event " + std::to_string(read_from + 1) + " for sink '" + name +
                           "' (next is " + std::to_string(*batch.front().lsn) +
                           "): events were deleted before this sink received them");
    }
    if (options_.global_ids) {
      for (auto& e : batch) e = ToGlobalEvent(e);
    }
    if (!in_flight.empty()) DOTDO_RETURN_IF_ERROR(complete());
    if (batch.empty()) break;
    Status submitted = sink_.Submit(batch);
    if (!submitted.ok()) {
      recovered_ = false;
      return submitted.WithContext("sink '" + name + "'");
    }
    read_from = *batch.back().lsn;
    in_flight = std::move(batch);
  }
  return delivered;
}

Status CdcPipeline::Impl::Start(int64_t poll_interval_ms) {
  if (poll_interval_ms < 1 || poll_interval_ms > 3'600'000)
    return InvalidArgumentError("poll_interval_ms must be between 1 and 3600000");
  DOTDO_RETURN_IF_ERROR(Outbox::Of(db_).status());
  std::lock_guard<std::mutex> lock(bg_mu_);
  if (bg_thread_.joinable()) return FailedPreconditionError("the pipeline is already running; Stop() it first");
  bg_stop_ = false;
  bg_wake_ = true;  // deliver what is already there right away
  bg_status_ = OkStatus();
  bg_subscription_ = ChangeFeed(db_).Subscribe([this](const std::vector<UnifiedEvent>&) {
    {
      std::lock_guard<std::mutex> l(bg_mu_);
      bg_wake_ = true;
    }
    bg_cv_.notify_one();
  });
  bg_thread_ = std::thread([this, poll_interval_ms] { BackgroundLoop(poll_interval_ms); });
  return OkStatus();
}

void CdcPipeline::Impl::BackgroundLoop(int64_t poll_interval_ms) {
  for (;;) {
    {
      std::unique_lock<std::mutex> l(bg_mu_);
      bg_cv_.wait_for(l, std::chrono::milliseconds(poll_interval_ms), [&] { return bg_stop_ || bg_wake_; });
      if (bg_stop_) return;
      bg_wake_ = false;
    }
    Result<int64_t> r = RunOnce();
    std::lock_guard<std::mutex> l(bg_mu_);
    if (!r.ok()) bg_status_ = r.status();
  }
}

Status CdcPipeline::Impl::Stop() {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    if (!bg_thread_.joinable()) return bg_status_;
    bg_stop_ = true;
  }
  bg_cv_.notify_one();
  bg_thread_.join();
  ChangeFeed(db_).Unsubscribe(bg_subscription_);
  bg_subscription_ = 0;
  std::lock_guard<std::mutex> lock(bg_mu_);
  return bg_status_;
}

CdcPipeline::CdcPipeline(Database& db, CdcSink& sink, CdcPipelineOptions options)
    : impl_(std::make_unique<Impl>(db, sink, options)) {}

CdcPipeline::~CdcPipeline() { impl_->Stop().IgnoreError(); }

Result<int64_t> CdcPipeline::RunOnce() { return impl_->RunOnce(); }
Result<int64_t> CdcPipeline::Checkpoint() { return impl_->Checkpoint(); }
Status CdcPipeline::Start(int64_t poll_interval_ms) { return impl_->Start(poll_interval_ms); }
Status CdcPipeline::Stop() { return impl_->Stop(); }

}  // namespace dotdo
