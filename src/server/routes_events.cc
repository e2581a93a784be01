// Change-event routes: one page of the namespace's outbox from an lsn (GET .../events), and a live
// tail over Server-Sent Events (GET .../events/stream). Each SSE message is one UnifiedEvent with
// `id: <lsn>`, so a client that reconnects with Last-Event-ID (what EventSource does) resumes right
// after the last event it received: the tail always reads the outbox in lsn order from its
// position, and a commit only wakes it (ChangeFeed::Subscribe), so nothing is lost or repeated.
#include <condition_variable>
#include <mutex>

#include "core/json.h"
#include "dotdo/cdc.h"
#include "server/server_internal.h"

namespace dotdo::internal {
namespace {

const std::string kEvents = std::string(kNsPrefix) + "/events";
constexpr int64_t kBatch = 500;
constexpr auto kWait = std::chrono::milliseconds(500);
// An idle stream writes a comment this often: cheap, and a client that hung up is noticed at the
// second write after it left (the first draws the RST), so its worker thread is freed quickly.
constexpr auto kKeepalive = std::chrono::seconds(1);

Result<int64_t> NonNegative(std::optional<int64_t> v, std::string_view what) {
  if (v && *v < 0) return InvalidArgumentError(std::string(what) + " must be an lsn >= 0");
  return v.value_or(0);
}

Result<Json> Read(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(auto after_param, r.OptionalIntParam("after"));
  DOTDO_ASSIGN_OR_RETURN(int64_t after, NonNegative(after_param, "after"));
  DOTDO_ASSIGN_OR_RETURN(int64_t limit, r.IntParam("limit", 100));
  if (limit < 1 || limit > 10000) return InvalidArgumentError("limit must be 1..10000");
  DOTDO_ASSIGN_OR_RETURN(bool global, r.BoolParam("global", false));
  ChangeFeed feed(r.ns->db());
  DOTDO_ASSIGN_OR_RETURN(auto events, feed.Read(after, limit));
  DOTDO_ASSIGN_OR_RETURN(int64_t last, feed.LastLsn());
  Json items = Json::array();
  for (const auto& e : events) items.push_back(EventToJson(global ? ToGlobalEvent(e) : e));
  return Json{{"events", std::move(items)}, {"last_lsn", last}};
}

// One live tail: its position, the lease on its namespace, and the wake-up from commits.
class Tail {
 public:
  Tail(ApiRequest& r, int64_t after, bool global)
      : lease_(r.ns), server_(r.server), after_(after), global_(global) {
    handle_ = ChangeFeed(lease_->db()).Subscribe([this](const std::vector<UnifiedEvent>&) {
      std::lock_guard lock(mu_);
      woken_ = true;
      cv_.notify_all();
    });
  }
  ~Tail() {
    ChangeFeed(lease_->db()).Unsubscribe(handle_);
    server_.ReleaseEventStream();
  }

  // One step of the response: sends what is new, or waits a little; false ends the connection.
  bool Step(httplib::DataSink& sink) {
    if (first_) {
      first_ = false;
      const std::string hello = "retry: 1000\n: tail after " + std::to_string(after_) + "\n\n";
      if (!sink.write(hello.data(), hello.size())) return false;
      last_write_ = std::chrono::steady_clock::now();
    }
    if (server_.stopping()) {
      sink.done();
      return true;
    }
    auto events = ChangeFeed(lease_->db()).Read(after_, kBatch);
    if (!events.ok()) {
      const std::string msg = "event: error\ndata: " + ErrorBody(StatusCodeName(events.status().code()), events.status().message()) + "\n\n";
      sink.write(msg.data(), msg.size());
      return false;
    }
    if (!events->empty()) {
      std::string out;
      for (const auto& e : *events) {
        out += "id: " + std::to_string(*e.lsn) + "\nevent: change\ndata: " +
               DumpJson(EventToJson(global_ ? ToGlobalEvent(e) : e)) + "\n\n";
      }
      after_ = *events->back().lsn;
      last_write_ = std::chrono::steady_clock::now();
      return sink.write(out.data(), out.size());
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kWait, [this] { return woken_; });
    woken_ = false;
    lock.unlock();
    if (std::chrono::steady_clock::now() - last_write_ > kKeepalive) {
      last_write_ = std::chrono::steady_clock::now();
      return sink.write(": keepalive\n\n", 13);  // also finds out when the client went away
    }
    return true;
  }

 private:
  std::shared_ptr<Namespace> lease_;
  ServerCore& server_;
  int64_t after_;
  bool global_;
  bool first_ = true;
  int64_t handle_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_write_;
};

Result<Json> Stream(ApiRequest& r) {
  std::optional<int64_t> after;
  if (r.http.has_header("Last-Event-ID")) {
    const std::string v = r.http.get_header_value("Last-Event-ID");
    char* end = nullptr;
    after = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || *after < 0) return InvalidArgumentError("Last-Event-ID must be an lsn, got '" + v + "'");
  } else {
    DOTDO_ASSIGN_OR_RETURN(after, r.OptionalIntParam("after"));
  }
  DOTDO_ASSIGN_OR_RETURN(bool global, r.BoolParam("global", false));
  if (!after) {  // default: only what commits from now on
    DOTDO_ASSIGN_OR_RETURN(after, ChangeFeed(r.ns->db()).LastLsn());
  }
  DOTDO_RETURN_IF_ERROR(NonNegative(after, "after").status());
  if (!r.server.AcquireEventStream())
    return UnavailableError("too many live event streams (max_event_streams " +
                            std::to_string(r.server.options().max_event_streams) + ")");
  auto tail = std::make_shared<Tail>(r, *after, global);
  r.res.set_header("Cache-Control", "no-cache");
  r.res.set_header("X-Accel-Buffering", "no");
  r.res.set_chunked_content_provider("text/event-stream",
                                     [tail](size_t, httplib::DataSink& sink) { return tail->Step(sink); });
  r.responded = true;
  return Json();
}

}  // namespace

void InstallEventRoutes(RouteTable& t) {
  t.Add({.method = "GET", .pattern = kEvents, .handler = Read});
  t.Add({.method = "GET", .pattern = kEvents + "/stream", .event_stream = true, .handler = Stream});
}

}  // namespace dotdo::internal
