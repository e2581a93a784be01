// NamespaceHost and Namespace: on-demand opening, LRU / idle closing of namespaces nobody holds,
// the per-namespace layout, and the stores handed out per namespace.
//
// Invariants:
//   1. open_ holds at most one entry per namespace name; an entry's Namespace is the only open
//      Database of that namespace in this host.
//   2. An entry is closed (erased) only when the host's shared_ptr is the last one (use_count 1),
//      so a caller holding a Namespace never sees its Database closed underneath.
//   3. After Get() returns, open_.size() <= max_open_namespaces unless every other entry is held.
#include "dotdo/host.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <system_error>
#include <utility>

#include "core/database_internals.h"
#include "host/delivery.h"
#include "host/signing_key.h"

namespace dotdo {

std::string HostSinkOptions::Name() const {
  if (type == HostSinkType::kIceberg) return iceberg.name.empty() ? "iceberg:" + iceberg.prefix : iceberg.name;
  return jetstream.name.empty() ? "jetstream:" + jetstream.stream : jetstream.name;
}

// ---------------------------------------------------------------------------------------------
// Namespace
// ---------------------------------------------------------------------------------------------

class Namespace::Impl {
 public:
  Impl(NamespaceLayout layout, std::unique_ptr<Database> db, const NamespaceHostOptions& host, std::function<void()> wake)
      : layout_(std::move(layout)), db_(std::move(db)), host_(host) {
    if (!host_.sinks.empty() && !host_.database.read_only)
      delivery_ = std::make_unique<internal::NamespaceDelivery>(*db_, host_.sinks, std::move(wake),
                                                                [this] { return Objects(); });
  }

  NamespaceLayout layout_;
  std::unique_ptr<Database> db_;
  const NamespaceHostOptions& host_;
  std::mutex mu_;  // guards the lazily opened stores below
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<Tiering> tiering_;  // declared after objects_: destroyed before it
  std::unique_ptr<internal::NamespaceDelivery> delivery_;  // null without configured sinks
  int64_t last_used_ms_ = 0;  // GUARDED_BY(the host's mutex)

  Result<ObjectStore*> Objects() {
    std::lock_guard<std::mutex> lock(mu_);
    return ObjectsLocked();
  }

  Result<ObjectStore*> ObjectsLocked() {
    if (!objects_ && host_.object_store_factory) {
      DOTDO_ASSIGN_OR_RETURN(objects_, host_.object_store_factory(layout_));
      if (!objects_) return InternalError("the object store factory returned no store");
    } else if (!objects_) {
      // Blob metadata lives in SQLite, so object sidecars only need to heal, not to be synced.
      DOTDO_ASSIGN_OR_RETURN(objects_, LocalObjectStore::Open(layout_.object_root, {.sync = true, .sync_sidecar = false}));
    }
    return objects_.get();
  }

  // Fills what the caller left empty from the host's configuration.
  Status Complete(BlobOptions& options) {
    if (options.signing_secret.empty()) options.signing_secret = host_.blob_signing_secret;
    if (options.signing_secret.empty()) {
      const bool create = host_.create_signing_keys && !host_.database.read_only;
      auto key = internal::LoadOrCreateSigningKey(layout_.signing_key_file, create);
      if (key.ok()) {
        options.signing_secret = std::move(key).value();
      } else if (key.status().code() != StatusCode::kNotFound) {
        return key.status();
      }
    }
    if (options.url_base.empty() && !host_.blob_url_base.empty()) {
      std::string base = host_.blob_url_base;
      for (size_t at = base.find("{ns}"); at != std::string::npos; at = base.find("{ns}", at + layout_.ns.size()))
        base.replace(at, 4, layout_.ns);
      options.url_base = std::move(base);
    }
    return OkStatus();
  }

  Result<std::unique_ptr<BlobStore>> OpenBlobsLocked(BlobOptions options) {
    DOTDO_RETURN_IF_ERROR(Complete(options));
    DOTDO_ASSIGN_OR_RETURN(ObjectStore * objects, ObjectsLocked());
    return BlobStore::Open(*db_, *objects, std::move(options));
  }
};

Namespace::Namespace(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Namespace::~Namespace() {
  // Delivery and stores before the object store, everything before the Database.
  impl_->delivery_.reset();
  impl_->blobs_.reset();
  impl_->objects_.reset();
}

const std::string& Namespace::name() const { return impl_->layout_.ns; }
const NamespaceLayout& Namespace::layout() const { return impl_->layout_; }
Database& Namespace::db() { return *impl_->db_; }

Result<DocumentStore> Namespace::Documents(DocumentStoreOptions options) {
  DOTDO_ASSIGN_OR_RETURN(DocumentStore store, DocumentStore::Open(*impl_->db_, std::move(options)));
  // Rows moved by any process are read through the namespace's tier.
  // (A schema lookup, not a query: no rows are read, or billed, on namespaces that never tiered.)
  internal::Connection& conn = internal::DatabaseInternals::Conn(*impl_->db_);
  bool tiered = false;
  {
    auto lock = conn.Lock();
    tiered = conn.TableExists("tier_files");
  }
  if (tiered) DOTDO_RETURN_IF_ERROR(Tiers().status());
  return store;
}

Result<Tiering*> Namespace::Tiers(TieringOptions options) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  if (!impl_->tiering_) {
    DOTDO_ASSIGN_OR_RETURN(ObjectStore * objects, impl_->ObjectsLocked());
    DOTDO_ASSIGN_OR_RETURN(impl_->tiering_, Tiering::Attach(*impl_->db_, *objects, std::move(options)));
  }
  return impl_->tiering_.get();
}

Result<GraphStore> Namespace::Graph(GraphOptions options) { return GraphStore::Open(*impl_->db_, options); }
Result<VectorStore> Namespace::Vectors(VectorStoreOptions options) { return VectorStore::Open(*impl_->db_, std::move(options)); }
Result<TimeSeriesStore> Namespace::TimeSeries(TimeSeriesOptions options) {
  return TimeSeriesStore::Open(*impl_->db_, options);
}

Result<StreamStore> Namespace::Stream() { return StreamStore::Open(*impl_->db_); }

Result<ObjectStore*> Namespace::Objects() { return impl_->Objects(); }

Result<std::vector<SinkDelivery>> Namespace::Deliver() {
  if (impl_->host_.database.read_only) return FailedPreconditionError("a read-only host does not deliver events");
  if (!impl_->delivery_) return std::vector<SinkDelivery>{};
  return impl_->delivery_->Deliver(/*background=*/false, impl_->db_->NowMillis());
}

Result<std::vector<SinkDelivery>> Namespace::Deliveries() {
  if (!impl_->delivery_) return std::vector<SinkDelivery>{};
  return impl_->delivery_->State();
}

Result<BlobStore*> Namespace::Blobs() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  if (!impl_->blobs_) {
    DOTDO_ASSIGN_OR_RETURN(impl_->blobs_, impl_->OpenBlobsLocked(BlobOptions{}));
  }
  return impl_->blobs_.get();
}

Result<std::unique_ptr<BlobStore>> Namespace::OpenBlobs(BlobOptions options) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->OpenBlobsLocked(std::move(options));
}

// ---------------------------------------------------------------------------------------------
// NamespaceHost
// ---------------------------------------------------------------------------------------------

class NamespaceHost::Impl {
 public:
  explicit Impl(NamespaceHostOptions options) : options_(std::move(options)) {
    clock_ = options_.database.clock ? options_.database.clock : SystemClock::Default();
  }

  NamespaceHostOptions options_;
  Clock* clock_;
  // The background delivery thread (deliver_in_background with sinks): woken by commits.
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;  // GUARDED_BY(wake_mu_)
  bool stop_ = false;  // GUARDED_BY(wake_mu_)
  std::thread delivery_thread_;
  mutable std::mutex mu_;
  // Most recently used first. GUARDED_BY(mu_)
  std::vector<std::shared_ptr<Namespace>> open_;
  NamespaceHostStats stats_;  // GUARDED_BY(mu_)

  NamespaceLayout LayoutOf(std::string_view ns) const {
    NamespaceLayout l;
    l.ns = std::string(ns);
    l.database_file = options_.data_dir / (l.ns + ".sqlite");
    l.object_root = options_.data_dir / "objects" / l.ns;
    l.signing_key_file = options_.data_dir / "keys" / (l.ns + ".blob-signing");
    return l;
  }

  void Wake() {
    {
      std::lock_guard<std::mutex> l(wake_mu_);
      wake_ = true;
    }
    wake_cv_.notify_one();
  }

  // Every poll interval, or when woken by a commit: one delivery round over the open namespaces.
  // Each is held (a lease) only for its round, so closing it waits at most one round.
  void DeliveryLoop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> l(wake_mu_);
        wake_cv_.wait_for(l, std::chrono::milliseconds(options_.delivery_poll_ms), [&] { return stop_ || wake_; });
        if (stop_) return;
        wake_ = false;
      }
      std::vector<std::shared_ptr<Namespace>> open;
      {
        std::lock_guard<std::mutex> l(mu_);
        open = open_;
      }
      for (auto& ns : open) {
        if (ns->impl_->delivery_) ns->impl_->delivery_->Deliver(/*background=*/true, clock_->NowMillis()).status().IgnoreError();
        std::lock_guard<std::mutex> l(wake_mu_);
        if (stop_) return;
      }
    }
  }

  void StopDelivery() {
    {
      std::lock_guard<std::mutex> l(wake_mu_);
      stop_ = true;
    }
    wake_cv_.notify_one();
    if (delivery_thread_.joinable()) delivery_thread_.join();
  }

  // Closes unheld namespaces from the least recently used end while `keep_closing` says so.
  template <typename Pred>
  size_t CloseUnheld(Pred keep_closing) {
    size_t closed = 0;
    for (size_t i = open_.size(); i-- > 0;) {
      if (open_[i].use_count() == 1 && keep_closing(*open_[i])) {
        open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(i));
        ++closed;
      }
    }
    stats_.closed += static_cast<int64_t>(closed);
    stats_.open = open_.size();
    return closed;
  }
};

NamespaceHost::NamespaceHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NamespaceHost::~NamespaceHost() { impl_->StopDelivery(); }

Result<std::unique_ptr<NamespaceHost>> NamespaceHost::Open(NamespaceHostOptions options) {
  if (options.data_dir.empty()) return InvalidArgumentError("the namespace host needs a data directory");
  if (options.max_open_namespaces < 1) return InvalidArgumentError("max_open_namespaces must be >= 1");
  if (options.idle_timeout_ms < 0) return InvalidArgumentError("idle_timeout_ms must be >= 0");
  if (!options.blob_signing_secret.empty() && options.blob_signing_secret.size() < 32)
    return InvalidArgumentError("blob_signing_secret must be at least 32 bytes (or empty to use key files)");
  std::error_code ec;
  if (std::filesystem::exists(options.data_dir, ec)) {
    if (!std::filesystem::is_directory(options.data_dir, ec))
      return InvalidArgumentError("data path '" + options.data_dir.string() + "' is not a directory");
  } else if (!options.database.read_only) {
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec)
      return PermissionDeniedError("cannot create data directory '" + options.data_dir.string() + "': " + ec.message());
  }
  if (options.delivery_poll_ms < 1 || options.delivery_poll_ms > 3'600'000)
    return InvalidArgumentError("delivery_poll_ms must be between 1 and 3600000");
  std::set<std::string> sink_names;
  for (const HostSinkOptions& s : options.sinks)
    if (!sink_names.insert(s.Name()).second) return InvalidArgumentError("two sinks are named '" + s.Name() + "'");
  std::unique_ptr<NamespaceHost> host(new NamespaceHost(std::make_unique<Impl>(std::move(options))));
  Impl& im = *host->impl_;
  if (im.options_.deliver_in_background && !im.options_.sinks.empty() && !im.options_.database.read_only)
    im.delivery_thread_ = std::thread([&im] { im.DeliveryLoop(); });
  return host;
}

Result<std::shared_ptr<Namespace>> NamespaceHost::Get(std::string_view ns, bool create) {
  DOTDO_RETURN_IF_ERROR(Database::ValidateNamespace(ns));
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.mu_);
  const int64_t now = im.clock_->NowMillis();
  auto it = std::find_if(im.open_.begin(), im.open_.end(), [&](const auto& n) { return n->name() == ns; });
  if (it != im.open_.end()) {
    std::rotate(im.open_.begin(), it, it + 1);  // to the front: most recently used
    im.open_.front()->impl_->last_used_ms_ = now;
    return im.open_.front();
  }
  DatabaseOptions db_options = im.options_.database;
  db_options.create_if_missing = create && !db_options.read_only;
  DOTDO_ASSIGN_OR_RETURN(auto db, Database::Open(im.options_.data_dir, ns, db_options));
  auto impl = std::make_unique<Namespace::Impl>(im.LayoutOf(ns), std::move(db), im.options_,
                                               im.delivery_thread_.joinable() ? std::function<void()>([&im] { im.Wake(); })
                                                                              : std::function<void()>());
  impl->last_used_ms_ = now;
  std::shared_ptr<Namespace> opened(new Namespace(std::move(impl)));
  im.open_.insert(im.open_.begin(), opened);
  ++im.stats_.opened;
  const size_t bound = im.options_.max_open_namespaces;
  im.CloseUnheld([&](const Namespace&) { return im.open_.size() > bound; });
  return opened;
}

Result<std::vector<std::string>> NamespaceHost::List() const { return Database::ListNamespaces(impl_->options_.data_dir); }

Result<NamespaceLayout> NamespaceHost::Layout(std::string_view ns) const {
  DOTDO_RETURN_IF_ERROR(Database::ValidateNamespace(ns));
  return impl_->LayoutOf(ns);
}

bool NamespaceHost::Close(std::string_view ns) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->CloseUnheld([&](const Namespace& n) { return n.name() == ns; }) > 0;
}

size_t NamespaceHost::CloseIdle() {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.mu_);
  const int64_t now = im.clock_->NowMillis();
  return im.CloseUnheld([&](const Namespace& n) { return now - n.impl_->last_used_ms_ >= im.options_.idle_timeout_ms; });
}

std::vector<std::string> NamespaceHost::OpenNamespaces() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  std::vector<std::string> out;
  for (const auto& n : impl_->open_) out.push_back(n->name());
  return out;
}

NamespaceHostStats NamespaceHost::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->stats_;
}

const NamespaceHostOptions& NamespaceHost::options() const { return impl_->options_; }

}  // namespace dotdo
