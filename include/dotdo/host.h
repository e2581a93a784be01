// NamespaceHost: one object for a data directory that opens namespaces on demand, closes idle ones
// (bounded open count, least recently used first), hands out each namespace's stores, and owns the
// per-namespace layout — the shape of a Durable Object host. The CLI and the server both reach
// data through it, so where a namespace keeps its files and secrets is decided in one place:
//
//   <data>/<ns>.sqlite              the namespace's database (documents, graph, blob metadata, CDC)
//   <data>/objects/<ns>/            its object store (blob bytes; later warm/cold tier files)
//   <data>/keys/<ns>.blob-signing   its presigned-URL key (64 hex characters, mode 0600), made on
//                                   first use unless a secret is configured
//
// Thread-safety: a NamespaceHost may be shared between threads. A Namespace handed out by Get()
// stays open while any caller holds its shared_ptr (a lease); Close/CloseIdle/the open-count bound
// only close namespaces nobody holds. A Namespace's stores follow the Database's rules.
// Ownership: the host must outlive the namespaces it handed out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/blob.h"
#include "dotdo/cdc.h"
#include "dotdo/database.h"
#include "dotdo/document.h"
#include "dotdo/export.h"
#include "dotdo/graph.h"
#include "dotdo/tiering.h"
#include "dotdo/timeseries.h"
#include "dotdo/vector.h"
#include "dotdo/stream.h"
#include "dotdo/object_store.h"
#include "dotdo/status.h"

namespace dotdo {

struct NamespaceLayout;

// A CDC sink every namespace of the host delivers to, one per namespace, checkpointed in that
// namespace's outbox under the sink's name:
//   kJetStream  a JetStreamSink (subjects carry the namespace) with `jetstream`;
//   kIceberg    an IcebergEventSink on the namespace's own object store with `iceberg`.
enum class HostSinkType { kJetStream, kIceberg };
struct HostSinkOptions {
  HostSinkType type = HostSinkType::kJetStream;
  JetStreamSinkOptions jetstream;
  IcebergEventSinkOptions iceberg;
  CdcPipelineOptions pipeline;
  // The checkpoint name: jetstream.name ("jetstream:<stream>") or iceberg.name ("iceberg:<prefix>").
  std::string Name() const;
};

struct NamespaceHostOptions {
  // The data directory. Required; created when missing unless read_only.
  std::filesystem::path data_dir;
  // Most namespaces kept open at once; opening one more closes the least recently used one that
  // nobody holds. Default 64. Must be >= 1.
  size_t max_open_namespaces = 64;
  // CloseIdle() closes namespaces unused for at least this long. Default 5 minutes.
  int64_t idle_timeout_ms = 5 * 60 * 1000;
  // Options of every namespace's Database (clock, busy timeout, read_only, ...). Default: defaults.
  // database.create_if_missing is decided per Get() call.
  DatabaseOptions database;
  // Presigned-URL secret for every namespace (at least 32 bytes). Default empty: each namespace
  // uses its key file, made on first use (see create_signing_keys).
  std::string blob_signing_secret;
  // Make a namespace's key file when it has none (mode 0600, 32 random bytes as hex). Default true.
  // When false (and no secret is configured) a namespace without a key file cannot sign URLs.
  bool create_signing_keys = true;
  // BlobInfo::url prefix; "{ns}" is replaced by the namespace name. Default empty (bare paths).
  std::string blob_url_base;
  // Opens a namespace's object store (e.g. OpenS3ObjectStore with a per-namespace bucket), called
  // once per open namespace on first use. Default empty: a LocalObjectStore at layout.object_root.
  std::function<Result<std::unique_ptr<ObjectStore>>(const NamespaceLayout& layout)> object_store_factory;
  // CDC sinks of every namespace (see HostSinkOptions). Namespace::Deliver() runs them; with
  // deliver_in_background the host also delivers from every open namespace on its own thread: on
  // each commit, and every delivery_poll_ms for writes made by other processes. A sink that cannot
  // be opened (server down) is retried with backoff (1 s doubling to 60 s). Default: none, off, 1000.
  std::vector<HostSinkOptions> sinks;
  bool deliver_in_background = false;
  int64_t delivery_poll_ms = 1000;
};

// The host's configuration file (docs/formats/config.md): where the namespaces' objects live (the
// local directory, or an S3-compatible bucket with a per-namespace key prefix) and the CDC sinks
// they deliver to. ParseHostConfig fills `options` from the JSON (data_dir and anything the file
// does not name are kept); every field is checked and an unknown one is kInvalidArgument.
// LoadHostConfig reads the file: kNotFound when missing; kFailedPrecondition when it holds a secret
// (secretAccessKey, sessionToken) and is readable by group or others.
DOTDO_EXPORT Status ParseHostConfig(const Json& config, NamespaceHostOptions& options);
DOTDO_EXPORT Status LoadHostConfig(const std::filesystem::path& file, NamespaceHostOptions& options);
// The configuration as JSON with secrets replaced by "***" (what `dotdo config show` prints).
DOTDO_EXPORT Result<Json> DescribeHostConfig(const std::filesystem::path& file);

// One configured sink of one namespace: how far it is, and its last delivery error.
struct SinkDelivery {
  std::string sink;           // checkpoint name
  int64_t delivered = 0;      // events delivered by this call (Deliver) or since open (Deliveries)
  int64_t checkpoint = 0;     // highest lsn the sink acknowledged
  int64_t lag = 0;            // committed events after the checkpoint
  bool connected = false;     // the sink is open
  std::string last_error;     // empty when the last attempt succeeded
};

// Where one namespace keeps its files (see the layout above).
struct NamespaceLayout {
  std::string ns;
  std::filesystem::path database_file;
  std::filesystem::path object_root;
  std::filesystem::path signing_key_file;
};

class NamespaceHost;

// One open namespace: its Database and its stores.
class DOTDO_EXPORT Namespace {
 public:
  ~Namespace();
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  const std::string& name() const;
  const NamespaceLayout& layout() const;
  Database& db();

  Result<DocumentStore> Documents(DocumentStoreOptions options = {});
  Result<GraphStore> Graph(GraphOptions options = {});
  Result<TimeSeriesStore> TimeSeries(TimeSeriesOptions options = {});
  Result<StreamStore> Stream();
  // The namespace's VectorStore (options.dimension 0 = the stored dimension).
  Result<VectorStore> Vectors(VectorStoreOptions options = {});
  // The namespace's Tiering over its object store, attached on first use with `options` (later
  // calls return the same one). Documents() attaches it by itself once anything was moved, so
  // reads always fall through to the warm tier.
  Result<Tiering*> Tiers(TieringOptions options = {});
  // Runs every configured sink once: delivers what is committed (opening the sinks when needed).
  // The first error is returned after every sink was tried; per-sink results otherwise.
  Result<std::vector<SinkDelivery>> Deliver();
  // The configured sinks' state (connected, checkpoint, lag, last error) without delivering.
  Result<std::vector<SinkDelivery>> Deliveries();
  // The namespace's object store (a LocalObjectStore under layout().object_root), opened on first use.
  Result<ObjectStore*> Objects();
  // The BlobStore with the host's options (signing secret, URL base), opened on first use.
  Result<BlobStore*> Blobs();
  // A BlobStore with other options over the same object store. Empty signing_secret / url_base are
  // filled from the host's configuration.
  Result<std::unique_ptr<BlobStore>> OpenBlobs(BlobOptions options);

  // Implementation detail, defined in src/host.
  class Impl;

 private:
  friend class NamespaceHost;
  explicit Namespace(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct NamespaceHostStats {
  size_t open = 0;       // namespaces open now
  int64_t opened = 0;    // opens since the host started
  int64_t closed = 0;    // closes (explicit, idle, or to respect max_open_namespaces)
};

class DOTDO_EXPORT NamespaceHost {
 public:
  // Checks the options and the data directory (created when missing unless read-only).
  static Result<std::unique_ptr<NamespaceHost>> Open(NamespaceHostOptions options);
  ~NamespaceHost();
  NamespaceHost(const NamespaceHost&) = delete;
  NamespaceHost& operator=(const NamespaceHost&) = delete;

  // The open namespace `ns`, opening it when needed (creating it when create is true; otherwise a
  // missing namespace is kNotFound). Invalid names are kInvalidArgument. Hold the result while
  // using it; drop it when done.
  Result<std::shared_ptr<Namespace>> Get(std::string_view ns, bool create = true);
  // Names of the namespaces in the data directory, sorted.
  Result<std::vector<std::string>> List() const;
  // Where `ns` keeps its files. kInvalidArgument for invalid names.
  Result<NamespaceLayout> Layout(std::string_view ns) const;

  // Closes `ns` when nobody holds it: true when it was closed, false when it was not open or held.
  bool Close(std::string_view ns);
  // Closes every namespace unused for idle_timeout_ms that nobody holds; returns how many.
  size_t CloseIdle();
  // Names of the namespaces open now, most recently used first.
  std::vector<std::string> OpenNamespaces() const;
  NamespaceHostStats stats() const;
  const NamespaceHostOptions& options() const;

  // Implementation detail, defined in src/host.
  class Impl;

 private:
  explicit NamespaceHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dotdo
