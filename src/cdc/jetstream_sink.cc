// JetStreamSink: CDC events into a NATS JetStream stream, exactly once (see include/dotdo/cdc.h).
//
// Invariants:
//   1. A connection is used until its first failure, then destroyed; it never reconnects, so no
//      buffered publish is replayed behind the sink's back after events it already gave up on.
//   2. Within a batch, publishes go out in lsn order on one connection; JetStream stores a prefix of
//      them (the server processes one connection's messages in order).
//   3. After any failure the next publish starts after the namespace's last stored lsn
//      (LastStoredLsn), so nothing is stored twice and nothing is skipped; messages of the dropped
//      connection that land late carry the same Nats-Msg-Id and are deduplicated.
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "dotdo/cdc.h"

namespace dotdo {
namespace {

constexpr char kLsnHeader[] = "Dotdo-Lsn";

Status NatsError(natsStatus s, std::string_view what, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string msg = std::string(what) + ": " + natsStatus_GetText(s);
  if (jerr != 0) msg += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  if (s == NATS_NOT_FOUND) return NotFoundError(msg);
  if (s == NATS_TIMEOUT) return Status(StatusCode::kDeadlineExceeded, msg);
  if (s == NATS_INVALID_ARG) return InvalidArgumentError(msg);
  if (s == NATS_NOT_PERMITTED) return PermissionDeniedError(msg);
  return UnavailableError(msg);
}

bool ValidStreamName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

}  // namespace

std::string JetStreamSubjectToken(std::string_view s) {
  if (s.empty()) return "-";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '_' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string JetStreamSubject(const UnifiedEvent& e) {
  return "dotdo." + JetStreamSubjectToken(e.ns) + "." + JetStreamSubjectToken(e.store.value_or("")) + "." +
         JetStreamSubjectToken(e.table.value_or(""));
}

class JetStreamSink::Impl {
 public:
  explicit Impl(JetStreamSinkOptions o) : options_(std::move(o)) {}
  ~Impl() { Disconnect(); }

  Status Connect() {
    if (js_ != nullptr) return OkStatus();
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetServers(opts, servers_.data(), static_cast<int>(servers_.size()));
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);  // invariant 1
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options_.ack_timeout_ms);
    if (s == NATS_OK && !options_.credentials_file.empty())
      s = natsOptions_SetUserCredentialsFromFiles(opts, options_.credentials_file.c_str(), nullptr);
    if (s == NATS_OK) s = natsConnection_Connect(&nc_, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
      Disconnect();
      return NatsError(s, "cannot connect to NATS at " + options_.url);
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = options_.ack_timeout_ms;
    jo.PublishAsync.MaxPending = options_.max_in_flight;
    jo.PublishAsync.StallWait = options_.ack_timeout_ms;
    jo.PublishAsync.AckHandler = &Impl::OnAck;
    jo.PublishAsync.AckHandlerClosure = this;
    s = natsConnection_JetStream(&js_, nc_, &jo);
    if (s != NATS_OK) {
      Disconnect();
      return NatsError(s, "cannot open a JetStream context");
    }
    return EnsureStream();
  }

  void Disconnect() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
    js_ = nullptr;
    nc_ = nullptr;
  }

  Status EnsureStream() {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      return OkStatus();
    }
    if (s != NATS_NOT_FOUND) return NatsError(s, "cannot read stream '" + options_.stream + "'", jerr);
    if (!options_.create_stream) return NotFoundError("JetStream stream '" + options_.stream + "' does not exist");
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {"dotdo.>"};
    cfg.Name = options_.stream.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = options_.duplicate_window_ms * 1000000;  // ns
    s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    if (s != NATS_OK) return NatsError(s, "cannot create stream '" + options_.stream + "'", jerr);
    jsStreamInfo_Destroy(si);
    return OkStatus();
  }

  // The lsn of the claimed namespace's last message in the stream; nullopt when it has none.
  Result<std::optional<int64_t>> LastStoredLsn() {
    DOTDO_RETURN_IF_ERROR(Connect());
    natsMsg* msg = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const std::string subject = "dotdo." + JetStreamSubjectToken(ns_) + ".>";
    natsStatus s = js_GetLastMsg(&msg, js_, options_.stream.c_str(), subject.c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND) return std::optional<int64_t>();
    if (s != NATS_OK) {
      Disconnect();
      return NatsError(s, "cannot read the last message of " + subject, jerr);
    }
    const char* value = nullptr;
    s = natsMsgHeader_Get(msg, kLsnHeader, &value);
    std::optional<int64_t> lsn;
    if (s == NATS_OK && value != nullptr) lsn = std::strtoll(value, nullptr, 10);
    natsMsg_Destroy(msg);
    if (!lsn) return DataLossError("the last message of " + subject + " in stream '" + options_.stream + "' has no " + kLsnHeader + " header");
    return lsn;
  }

  // Publishes `events` asynchronously (at most max_in_flight unacknowledged) without waiting.
  Status PublishAll(const std::vector<UnifiedEvent>& events) {
    DOTDO_RETURN_IF_ERROR(Connect());
    failed_.store(0);
    for (const UnifiedEvent& e : events) {
      const std::string subject = JetStreamSubject(e);
      const std::string payload = EventToJson(e).dump();
      const std::string lsn = std::to_string(e.lsn.value_or(0));
      natsMsg* msg = nullptr;
      natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, payload.data(), static_cast<int>(payload.size()));
      if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", e.id.c_str());
      if (s == NATS_OK) s = natsMsgHeader_Set(msg, kLsnHeader, lsn.c_str());
      if (s == NATS_OK) s = js_PublishMsgAsync(js_, &msg, nullptr);  // takes the message on success
      if (msg != nullptr) natsMsg_Destroy(msg);
      if (s != NATS_OK) {
        Disconnect();
        return NatsError(s, "cannot publish to " + subject);
      }
    }
    return OkStatus();
  }

  // Waits for the ack of every publish since PublishAll.
  Status AwaitAcks() {
    if (js_ == nullptr) return UnavailableError("not connected to NATS");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = options_.ack_timeout_ms;
    const natsStatus s = js_PublishAsyncComplete(js_, &po);
    if (s != NATS_OK || failed_.load() != 0) {
      Disconnect();
      return s != NATS_OK ? NatsError(s, "publish acks did not arrive")
                          : UnavailableError(std::to_string(failed_.load()) + " publishes were not acknowledged");
    }
    return OkStatus();
  }

  // One attempt: publishes `events` and waits for every ack.
  Status PublishOnce(const std::vector<UnifiedEvent>& events) {
    DOTDO_RETURN_IF_ERROR(PublishAll(events));
    return AwaitAcks();
  }

  Status Write(const std::vector<UnifiedEvent>& events) {
    if (ns_.empty()) return FailedPreconditionError("JetStreamSink::Write before Claim");
    return Retry(events, PublishOnce(events));
  }

  Status Submit(const std::vector<UnifiedEvent>& events) {
    if (ns_.empty()) return FailedPreconditionError("JetStreamSink::Submit before Claim");
    // A failed publish is retried by Complete, like a failed first attempt of Write.
    submitted_ = PublishAll(events);
    return OkStatus();
  }

  Status Complete(const std::vector<UnifiedEvent>& events) {
    Status first = submitted_.ok() ? AwaitAcks() : submitted_;
    submitted_ = OkStatus();
    return Retry(events, std::move(first));
  }

  // After a first attempt that ended with `first`: retries with backoff, each time continuing after
  // what the stream already holds (invariant 3), until max_attempts attempts in all.
  Status Retry(const std::vector<UnifiedEvent>& events, Status first) {
    if (first.ok()) return first;
    std::vector<UnifiedEvent> rest = events;
    int64_t backoff = options_.initial_backoff_ms;
    std::optional<std::mt19937_64> rng;  // seeded on the first retry only
    Status s = std::move(first);
    for (int attempt = 1; attempt < options_.max_attempts; ++attempt) {
      if (!rng) rng.emplace(std::random_device{}());
      std::this_thread::sleep_for(
          std::chrono::milliseconds(backoff / 2 + static_cast<int64_t>((*rng)() % static_cast<uint64_t>(backoff / 2 + 1))));
      backoff = std::min(backoff * 2, options_.max_backoff_ms);
      auto held = LastStoredLsn();  // unknown: publish all of rest again (the stream deduplicates)
      if (held.ok() && held->has_value()) {
        const int64_t last = **held;
        std::erase_if(rest, [&](const UnifiedEvent& e) { return e.lsn.value_or(0) <= last; });
        if (rest.empty()) return OkStatus();
      }
      s = PublishOnce(rest);
      if (s.ok()) return s;
    }
    return s;
  }

  static void OnAck(jsCtx*, natsMsg* msg, jsPubAck*, jsPubAckErr* pae, void* closure) {
    if (pae != nullptr) static_cast<Impl*>(closure)->failed_.fetch_add(1);
    natsMsg_Destroy(msg);
  }

  JetStreamSinkOptions options_;
  std::vector<std::string> server_urls_;
  std::vector<const char*> servers_;
  std::string ns_;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::atomic<int64_t> failed_{0};
  Status submitted_;  // how the last Submit's publishing went
};

Result<std::unique_ptr<JetStreamSink>> JetStreamSink::Open(JetStreamSinkOptions o) {
  if (o.url.empty()) return InvalidArgumentError("JetStreamSink needs a server url");
  for (char c : o.url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return InvalidArgumentError("NATS url contains whitespace or a control character");
  if (!ValidStreamName(o.stream)) return InvalidArgumentError("JetStream stream name must be 1..64 of [A-Za-z0-9_-]");
  if (o.max_in_flight < 1 || o.max_in_flight > 65536) return InvalidArgumentError("max_in_flight must be 1..65536");
  if (o.ack_timeout_ms < 1) return InvalidArgumentError("ack_timeout_ms must be positive");
  if (o.duplicate_window_ms < 1000) return InvalidArgumentError("duplicate_window_ms must be at least 1000");
  if (o.max_attempts < 1 || o.max_attempts > 100) return InvalidArgumentError("max_attempts must be 1..100");
  if (o.initial_backoff_ms < 1 || o.max_backoff_ms < o.initial_backoff_ms)
    return InvalidArgumentError("backoff must be 1 <= initial_backoff_ms <= max_backoff_ms");
  if (o.name.empty()) o.name = "jetstream:" + o.stream;
  if (o.name.size() > 512) return InvalidArgumentError("sink name is longer than 512 bytes");
  auto impl = std::make_unique<Impl>(std::move(o));
  size_t start = 0;
  const std::string& url = impl->options_.url;
  while (start <= url.size()) {
    size_t end = url.find(',', start);
    if (end == std::string::npos) end = url.size();
    if (end > start) impl->server_urls_.push_back(url.substr(start, end - start));
    start = end + 1;
  }
  for (const std::string& u : impl->server_urls_) impl->servers_.push_back(u.c_str());
  if (impl->servers_.empty()) return InvalidArgumentError("JetStreamSink needs a server url");
  DOTDO_RETURN_IF_ERROR(impl->Connect());
  return std::unique_ptr<JetStreamSink>(new JetStreamSink(std::move(impl)));
}

JetStreamSink::JetStreamSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JetStreamSink::~JetStreamSink() = default;

std::string JetStreamSink::Name() const { return impl_->options_.name; }

Status JetStreamSink::Claim(std::string_view ns) {
  if (ns.empty()) return InvalidArgumentError("namespace is empty");
  if (!impl_->ns_.empty() && impl_->ns_ != ns)
    return FailedPreconditionError("this JetStreamSink delivers namespace '" + impl_->ns_ + "', not '" + std::string(ns) + "'");
  impl_->ns_ = std::string(ns);
  return OkStatus();
}

Result<std::optional<int64_t>> JetStreamSink::Recover() {
  if (impl_->ns_.empty()) return FailedPreconditionError("JetStreamSink::Recover before Claim");
  return impl_->LastStoredLsn();
}

Status JetStreamSink::Write(const std::vector<UnifiedEvent>& events) {
  if (events.empty()) return OkStatus();
  return impl_->Write(events);
}

Status JetStreamSink::Submit(const std::vector<UnifiedEvent>& events) {
  if (events.empty()) return OkStatus();
  return impl_->Submit(events);
}

Status JetStreamSink::Complete(const std::vector<UnifiedEvent>& events) {
  if (events.empty()) return OkStatus();
  return impl_->Complete(events);
}

}  // namespace dotdo
