// The HNSW index of a namespace (hnswlib): built from vec_records or loaded from the file saved
// beside the namespace, caught up from vec_log, saved with the change sequence it reflects, and
// rebuilt without deleted elements on compaction. See the invariants in vector_internal.h.
#include <fcntl.h>
#include <unistd.h>

// hnswlib 0.6.2 defines non-inline functions and variables in its headers, so a second translation
// unit including it (an application's, or the benchmark's baseline) would fail to link against us.
// The library is therefore compiled into a private namespace here; the standard and intrinsic headers
// it includes come first, outside that namespace (their include guards keep them out of it).
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>
namespace dotdo_hnsw {
#include <hnswlib/hnswlib.h>  // NOLINT(build/include): deliberately inside the namespace
}  // namespace dotdo_hnsw

#include <cstdio>
#include <filesystem>
#include <map>
#include <system_error>

#include "core/json.h"
#include "vector/vector_internal.h"

namespace dotdo::internal {

namespace hnswlib = ::dotdo_hnsw::hnswlib;

namespace {

// A deferred read transaction (one WAL snapshot) unless the caller is in one already.
class Snapshot {
 public:
  explicit Snapshot(Connection& conn) : conn_(conn) {
    if (conn_.InTransaction()) return;
    status_ = conn_.Exec("BEGIN");
    began_ = status_.ok();
  }
  ~Snapshot() {
    if (began_) conn_.Exec("COMMIT").IgnoreError();
  }
  const Status& status() const { return status_; }

 private:
  Connection& conn_;
  bool began_ = false;
  Status status_;
};

Result<int64_t> ScalarInt(Connection& conn, std::string_view sql) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row && !st.IsNull(0) ? st.ColumnInt64(0) : 0;
}

Result<int64_t> MaxLogSeq(Connection& conn) {
  return ScalarInt(conn, "SELECT seq FROM sqlite_sequence WHERE name = 'vec_log'");
}
Result<int64_t> SavedIndexSeq(Connection& conn) {
  return ScalarInt(conn, "SELECT CAST(value AS INTEGER) FROM vec_config WHERE key = 'index_seq'");
}

Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return UnavailableError("cannot open " + path + " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? OkStatus() : UnavailableError("fsync of " + path + " failed");
}

}  // namespace

VectorIndex::VectorIndex(Database& db) : db_(db) {}
VectorIndex::~VectorIndex() = default;

std::string VectorIndex::FilePath(int64_t seq) const {
  return db_.path().string() + ".vec-" + std::to_string(seq) + ".hnsw";
}

void VectorIndex::Reset(const VectorConfig& config, const VectorStoreOptions& options, size_t capacity) {
  hnsw_.reset();
  config_ = config;
  const auto dim = static_cast<size_t>(config.dimension);
  if (config.metric == VectorMetric::kL2)
    space_ = std::make_unique<hnswlib::L2Space>(dim);
  else
    space_ = std::make_unique<hnswlib::InnerProductSpace>(dim);
  words_ = (dim + 63) / 64;
  if (capacity > 0)
    hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), capacity, static_cast<size_t>(options.hnsw_m),
                                                              static_cast<size_t>(options.hnsw_ef_construction));
  codes_.assign(capacity * words_, 0);
  changes_since_save_ = 0;
}

Status VectorIndex::Apply(int64_t label, const std::vector<float>* v) {
  auto lbl = static_cast<hnswlib::labeltype>(label);
  auto found = hnsw_->label_lookup_.find(lbl);
  ++changes_since_save_;
  if (v == nullptr) {
    if (found != hnsw_->label_lookup_.end() && !hnsw_->isMarkedDeleted(found->second)) hnsw_->markDelete(lbl);
    return OkStatus();
  }
  return CatchAll("the HNSW index", [&]() -> Status {
    if (found == hnsw_->label_lookup_.end() && hnsw_->cur_element_count >= hnsw_->max_elements_) {
      const size_t grown = hnsw_->max_elements_ * 2 + 1024;
      hnsw_->resizeIndex(grown);
      codes_.resize(grown * words_, 0);
    }
    hnsw_->addPoint(v->data(), lbl);
    const size_t id = hnsw_->label_lookup_.at(lbl);
    uint64_t* code = codes_.data() + id * words_;
    std::fill(code, code + words_, 0);
    for (size_t i = 0; i < v->size(); ++i)
      if ((*v)[i] > 0) code[i / 64] |= uint64_t{1} << (i % 64);
    return OkStatus();
  }, StatusCode::kInternal);
}

Status VectorIndex::Rebuild(const VectorConfig& config, const VectorStoreOptions& options) {
  Connection& conn = DatabaseInternals::Conn(db_);
  Snapshot snap(conn);
  DOTDO_RETURN_IF_ERROR(snap.status());
  DOTDO_ASSIGN_OR_RETURN(int64_t max_seq, MaxLogSeq(conn));
  DOTDO_ASSIGN_OR_RETURN(int64_t saved, SavedIndexSeq(conn));
  DOTDO_ASSIGN_OR_RETURN(int64_t count, ScalarInt(conn, "SELECT COUNT(*) FROM vec_records"));
  Reset(config, options, static_cast<size_t>(count + count / 4 + 1024));
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT label, embedding FROM vec_records ORDER BY label"));
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DOTDO_ASSIGN_OR_RETURN(auto v, BlobToFloats(st.ColumnBlob(1), config.dimension));
    DOTDO_RETURN_IF_ERROR(Apply(st.ColumnInt64(0), &v));
  }
  applied_seq_ = max_seq;
  saved_seq_ = saved;
  changes_since_save_ = count;
  return OkStatus();
}

Status VectorIndex::Load(const VectorConfig& config, const VectorStoreOptions& options) {
  Connection& conn = DatabaseInternals::Conn(db_);
  int64_t saved = 0, max_seq = 0, count = 0;
  {
    Snapshot snap(conn);
    DOTDO_RETURN_IF_ERROR(snap.status());
    DOTDO_ASSIGN_OR_RETURN(saved, SavedIndexSeq(conn));
    DOTDO_ASSIGN_OR_RETURN(max_seq, MaxLogSeq(conn));
    DOTDO_ASSIGN_OR_RETURN(count, ScalarInt(conn, "SELECT COUNT(*) FROM vec_records"));
  }
  std::error_code ec;
  // A file whose seq is above every committed change reflects commits a power loss took away.
  if (db_.path().empty() || saved <= 0 || saved > max_seq || !std::filesystem::exists(FilePath(saved), ec))
    return Rebuild(config, options);
  Reset(config, options, 0);
  const auto capacity = static_cast<size_t>(count + count / 4 + 1024);
  try {
    hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), FilePath(saved), false, capacity);
  } catch (...) {
    hnsw_.reset();
  }
  const size_t expected = space_->get_data_size() + sizeof(hnswlib::labeltype) + (hnsw_ ? hnsw_->size_links_level0_ : 0);
  if (!hnsw_ || hnsw_->size_data_per_element_ != expected) return Rebuild(config, options);
  codes_.assign(hnsw_->max_elements_ * words_, 0);
  for (size_t id = 0; id < hnsw_->cur_element_count; ++id) {
    const float* v = VectorOf(id);
    uint64_t* code = codes_.data() + id * words_;
    for (int i = 0; i < config.dimension; ++i)
      if (v[i] > 0) code[i / 64] |= uint64_t{1} << (i % 64);
  }
  applied_seq_ = saved_seq_ = saved;
  changes_since_save_ = 0;
  return OkStatus();
}

Status VectorIndex::CatchUp(const VectorConfig& config, const VectorStoreOptions& options) {
  Connection& conn = DatabaseInternals::Conn(db_);
  if (hnsw_) {
    // Nothing committed since: the common case of a search, one indexed read.
    DOTDO_ASSIGN_OR_RETURN(int64_t max_seq, MaxLogSeq(conn));
    if (max_seq <= applied_seq_) return OkStatus();
    // Another process saved a newer index and pruned the log this index still needed: reload.
    DOTDO_ASSIGN_OR_RETURN(int64_t saved, SavedIndexSeq(conn));
    if (saved > applied_seq_) hnsw_.reset();
  }
  if (!hnsw_) DOTDO_RETURN_IF_ERROR(Load(config, options));
  {
    Snapshot snap(conn);
    DOTDO_RETURN_IF_ERROR(snap.status());
    std::map<int64_t, bool> labels;
    int64_t last = applied_seq_;
    {
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT seq, label FROM vec_log WHERE seq > ?1 ORDER BY seq"));
      st.Bind(1, applied_seq_);
      for (;;) {
        DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        last = st.ColumnInt64(0);
        labels[st.ColumnInt64(1)] = true;
      }
    }
    if (labels.empty()) {
      applied_seq_ = last;
    } else {
      DOTDO_ASSIGN_OR_RETURN(auto get, conn.Prepare("SELECT embedding FROM vec_records WHERE label = ?1"));
      for (const auto& [label, unused] : labels) {
        get.Reset();
        get.Bind(1, label);
        DOTDO_ASSIGN_OR_RETURN(bool row, get.Step());
        if (row) {
          DOTDO_ASSIGN_OR_RETURN(auto v, BlobToFloats(get.ColumnBlob(0), config.dimension));
          DOTDO_RETURN_IF_ERROR(Apply(label, &v));
        } else {
          DOTDO_RETURN_IF_ERROR(Apply(label, nullptr));
        }
      }
      applied_seq_ = last;
    }
  }
  if (options.autosave_changes > 0 && changes_since_save_ >= options.autosave_changes && !db_.path().empty()) {
    // A failed automatic save leaves the in-memory index correct; the next save retries.
    Save().IgnoreError();
  }
  return OkStatus();
}

Status VectorIndex::Save() {
  if (db_.path().empty() || !hnsw_) return OkStatus();
  std::error_code ec;
  const int64_t seq = applied_seq_;
  const std::string path = FilePath(seq);
  if (seq != saved_seq_ || !std::filesystem::exists(path, ec)) {
    const std::string tmp = path + ".tmp";
    DOTDO_RETURN_IF_ERROR(CatchAll("saving the vector index", [&]() -> Status {
      hnsw_->saveIndex(tmp);
      return OkStatus();
    }, StatusCode::kUnavailable));
    DOTDO_RETURN_IF_ERROR(SyncPath(tmp, O_RDONLY));
    std::filesystem::rename(tmp, path, ec);
    if (ec) return UnavailableError("cannot rename the vector index file: " + ec.message());
    DOTDO_RETURN_IF_ERROR(SyncPath(db_.path().parent_path().string(), O_RDONLY | O_DIRECTORY));
    DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
      Connection& conn = DatabaseInternals::Conn(db_);
      DOTDO_ASSIGN_OR_RETURN(auto put, conn.Prepare("INSERT OR REPLACE INTO vec_config(key, value) VALUES ('index_seq', ?1)"));
      put.Bind(1, std::to_string(seq));
      DOTDO_RETURN_IF_ERROR(put.Run());
      DOTDO_ASSIGN_OR_RETURN(auto prune, conn.Prepare("DELETE FROM vec_log WHERE seq <= ?1"));
      prune.Bind(1, seq);
      return prune.Run();
    }));
    saved_seq_ = seq;
  }
  changes_since_save_ = 0;
  // Older files (and temporaries of failed saves) are no longer named by vec_config.
  const std::string prefix = db_.path().filename().string() + ".vec-";
  for (const auto& entry : std::filesystem::directory_iterator(db_.path().parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.path() != path) std::filesystem::remove(entry.path(), ec);
  }
  return OkStatus();
}

std::vector<std::pair<int64_t, double>> VectorIndex::SearchHnsw(const std::vector<float>& query, size_t k,
                                                                size_t ef) const {
  std::vector<std::pair<int64_t, double>> out;
  if (!hnsw_ || hnsw_->cur_element_count == 0) return out;
  hnsw_->setEf(std::max(ef, k));
  auto pq = hnsw_->searchKnn(query.data(), k);
  out.resize(pq.size());
  for (size_t i = pq.size(); i-- > 0; pq.pop()) {
    const double d = pq.top().first;
    const double score = config_.metric == VectorMetric::kL2 ? -std::sqrt(std::max(0.0, d)) : 1.0 - d;
    out[i] = {static_cast<int64_t>(pq.top().second), score};
  }
  return out;
}

size_t VectorIndex::capacity() const { return hnsw_ ? hnsw_->cur_element_count : 0; }
bool VectorIndex::Live(size_t id) const { return !hnsw_->isMarkedDeleted(static_cast<hnswlib::tableint>(id)); }
int64_t VectorIndex::LabelOf(size_t id) const {
  return static_cast<int64_t>(hnsw_->getExternalLabel(static_cast<hnswlib::tableint>(id)));
}
const float* VectorIndex::VectorOf(size_t id) const {
  return reinterpret_cast<const float*>(hnsw_->getDataByInternalId(static_cast<hnswlib::tableint>(id)));
}
int64_t VectorIndex::elements() const { return static_cast<int64_t>(capacity()); }
int64_t VectorIndex::deleted() const { return hnsw_ ? static_cast<int64_t>(hnsw_->num_deleted_) : 0; }
int64_t VectorIndex::memory_bytes() const {
  if (!hnsw_) return 0;
  int64_t bytes = static_cast<int64_t>(hnsw_->cur_element_count * hnsw_->size_data_per_element_);
  for (size_t i = 0; i < hnsw_->cur_element_count; ++i)
    bytes += static_cast<int64_t>(hnsw_->element_levels_[i] * hnsw_->size_links_per_element_);
  return bytes;
}

Result<std::vector<int64_t>> VectorIndex::PendingLabels() {
  Connection& conn = DatabaseInternals::Conn(db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT DISTINCT label FROM vec_log WHERE seq > ?1"));
  st.Bind(1, applied_seq_);
  std::vector<int64_t> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.ColumnInt64(0));
  }
  return out;
}

}  // namespace dotdo::internal
