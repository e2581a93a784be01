// The HNSW index of a namespace (hnswlib): built from vec_records or loaded from the file saved
// beside the namespace, caught up from vec_log, saved with the change sequence it reflects, and
// rebuilt without deleted elements on compaction. See the invariants in vector_internal.h.
#include <fcntl.h>
#include <sys/mman.h>
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

#include <cmath>
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

// Every record with what the index keeps of it: (label, embedding, id, $type), or, with a label
// bound to ?1, that record alone.
constexpr std::string_view kRowsSql =
    "SELECT v.label, v.embedding, r.id, r.type FROM vec_vectors AS v JOIN vec_records AS r ON r.label = v.label";

Status ReadRow(Statement& st, int dimension, int64_t* label, VectorIndex::Row* row) {
  *label = st.ColumnInt64(0);
  DOTDO_ASSIGN_OR_RETURN(row->v, BlobToFloats(st.ColumnBlob(1), dimension));
  row->id = st.ColumnString(2);
  row->type = st.ColumnString(3);
  return OkStatus();
}

// The space the graph is walked in: int8 scalar quantization with one scale per vector. An element
// is [float scale][float squared norm of the dequantized vector][int8 code, padded with zeros to a
// multiple of 32]; code[i] = round(127 * v[i] / max|v|), scale = max|v| / 127, so v ~ scale * code.
// Inner product ~ scale_a * scale_b * <code_a, code_b>, squared L2 ~ n_a + n_b - 2 * that. A code is a
// quarter of the float32 vector (fewer cache lines per visited element, and an integer dot product
// that does 32 multiply-adds per AVX2 instruction); the candidates the walk keeps are re-ranked on
// the float32 vectors, so the returned order and scores are exact.
struct Int8Param {
  size_t bytes;  // padded code length
};

constexpr size_t kCodeHeader = 2 * sizeof(float);

size_t PaddedCodeBytes(size_t dim) { return (dim + 31) / 32 * 32; }

int32_t DotI8Sse2(const int8_t* a, const int8_t* b, size_t n) {
  __m128i acc = _mm_setzero_si128();
  for (size_t i = 0; i < n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    const __m128i xl = _mm_srai_epi16(_mm_unpacklo_epi8(x, x), 8), xh = _mm_srai_epi16(_mm_unpackhi_epi8(x, x), 8);
    const __m128i yl = _mm_srai_epi16(_mm_unpacklo_epi8(y, y), 8), yh = _mm_srai_epi16(_mm_unpackhi_epi8(y, y), 8);
    acc = _mm_add_epi32(acc, _mm_add_epi32(_mm_madd_epi16(xl, yl), _mm_madd_epi16(xh, yh)));
  }
  acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0x4e));
  acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0xb1));
  return _mm_cvtsi128_si32(acc);
}

// |x| * (y * sign x) in unsigned-by-signed byte pairs: exact because codes are in [-127, 127], so a
// pair sum is at most 2 * 127 * 127 < 32768.
__attribute__((target("avx2"))) int32_t DotI8Avx2(const int8_t* a, const int8_t* b, size_t n) {
  __m256i acc = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  for (size_t i = 0; i < n; i += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

template <int32_t (*Kernel)(const int8_t*, const int8_t*, size_t)>
float ScaledDot(const void* a, const void* b, const void* param) {
  const auto* fa = static_cast<const float*>(a);
  const auto* fb = static_cast<const float*>(b);
  const auto* ca = static_cast<const int8_t*>(a) + kCodeHeader;
  const auto* cb = static_cast<const int8_t*>(b) + kCodeHeader;
  return fa[0] * fb[0] * static_cast<float>(Kernel(ca, cb, static_cast<const Int8Param*>(param)->bytes));
}
template <int32_t (*Kernel)(const int8_t*, const int8_t*, size_t)>
float Int8IpDistance(const void* a, const void* b, const void* param) {
  return 1.0f - ScaledDot<Kernel>(a, b, param);
}
template <int32_t (*Kernel)(const int8_t*, const int8_t*, size_t)>
float Int8L2Distance(const void* a, const void* b, const void* param) {
  return static_cast<const float*>(a)[1] + static_cast<const float*>(b)[1] - 2.0f * ScaledDot<Kernel>(a, b, param);
}

class Int8Space final : public hnswlib::SpaceInterface<float> {
 public:
  Int8Space(size_t dim, bool l2) : param_{PaddedCodeBytes(dim)} {
    const bool avx2 = __builtin_cpu_supports("avx2");
    if (l2)
      fn_ = avx2 ? Int8L2Distance<DotI8Avx2> : Int8L2Distance<DotI8Sse2>;
    else
      fn_ = avx2 ? Int8IpDistance<DotI8Avx2> : Int8IpDistance<DotI8Sse2>;
  }
  size_t get_data_size() override { return kCodeHeader + param_.bytes; }
  hnswlib::DISTFUNC<float> get_dist_func() override { return fn_; }
  void* get_dist_func_param() override { return &param_; }

 private:
  Int8Param param_;
  hnswlib::DISTFUNC<float> fn_;
};

// Writes the element of `v` (dim floats) to out (get_data_size() bytes).
void EncodeInt8(const float* v, size_t dim, size_t bytes, char* out) {
  float max_abs = 0;
  for (size_t i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(v[i]));
  auto* code = reinterpret_cast<int8_t*>(out + kCodeHeader);
  std::fill(code, code + bytes, int8_t{0});
  const float inv = max_abs > 0 ? 127.0f / max_abs : 0.0f;
  int64_t sq = 0;
  for (size_t i = 0; i < dim; ++i) {
    // Round to nearest with one SSE conversion (std::lround is a library call per value).
    const auto c = static_cast<int8_t>(std::clamp(_mm_cvtss_si32(_mm_set_ss(v[i] * inv)), -127, 127));
    code[i] = c;
    sq += int64_t{c} * c;
  }
  const float scale = max_abs / 127.0f;
  const float header[2] = {scale, scale * scale * static_cast<float>(sq)};
  std::memcpy(out, header, sizeof header);
}

constexpr size_t kHugePage = size_t{2} << 20;

// Places the graph's level-0 block (links, codes and labels of every element: what a walk reads at
// random) on huge pages. hnswlib allocates it with malloc in the constructor, loadIndex and
// resizeIndex; this runs after each.
void PlaceGraphOnHugePages(hnswlib::HierarchicalNSW<float>& h) {
  MoveToHugePages(h.data_level0_memory_, h.cur_element_count * h.size_data_per_element_,
                  h.max_elements_ * h.size_data_per_element_);
}

}  // namespace

void* AllocateHugePageBacked(size_t bytes) {
  if (bytes < kHugePage) return std::malloc(bytes);
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p != nullptr) (void)::madvise(p, rounded, MADV_HUGEPAGE);
  return p;
}

void MoveToHugePages(char*& block, size_t used, size_t capacity) {
  if (block == nullptr || capacity < kHugePage) return;
  auto* fresh = static_cast<char*>(AllocateHugePageBacked(capacity));
  if (fresh == nullptr) return;
  std::memcpy(fresh, block, used);
  std::free(block);
  block = fresh;
}

VectorIndex::VectorIndex(Database& db) : db_(db) {}
VectorIndex::~VectorIndex() = default;

std::string VectorIndex::FilePath(int64_t seq) const {
  return db_.path().string() + ".vec-" + std::to_string(seq) + ".i8.hnsw";
}

void VectorIndex::Reset(const VectorConfig& config, const VectorStoreOptions& options, size_t capacity) {
  hnsw_.reset();
  config_ = config;
  const auto dim = static_cast<size_t>(config.dimension);
  const bool l2 = config.metric == VectorMetric::kL2;
  space_ = std::make_unique<Int8Space>(dim, l2);
  if (l2)
    float_space_ = std::make_unique<hnswlib::L2Space>(dim);
  else
    float_space_ = std::make_unique<hnswlib::InnerProductSpace>(dim);
  words_ = (dim + 63) / 64;
  if (capacity > 0)
    hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), capacity, static_cast<size_t>(options.hnsw_m),
                                                              static_cast<size_t>(options.hnsw_ef_construction));
  if (hnsw_) PlaceGraphOnHugePages(*hnsw_);
  codes_.clear();
  floats_.clear();
  ids_.clear();
  types_.clear();
  type_names_.clear();
  type_numbers_.clear();
  Grow(capacity);
  changes_since_save_ = 0;
}

void VectorIndex::Grow(size_t capacity) {
  codes_.resize(capacity * words_, 0);
  floats_.resize(capacity * static_cast<size_t>(config_.dimension), 0.0f);
  ids_.resize(capacity);
  types_.resize(capacity, 0);
}

Status VectorIndex::Apply(int64_t label, const Row* row) {
  auto lbl = static_cast<hnswlib::labeltype>(label);
  auto found = hnsw_->label_lookup_.find(lbl);
  ++changes_since_save_;
  if (row == nullptr) {
    if (found != hnsw_->label_lookup_.end() && !hnsw_->isMarkedDeleted(found->second)) hnsw_->markDelete(lbl);
    return OkStatus();
  }
  return CatchAll("the HNSW index", [&]() -> Status {
    if (found == hnsw_->label_lookup_.end() && hnsw_->cur_element_count >= hnsw_->max_elements_) {
      const size_t grown = hnsw_->max_elements_ * 2 + 1024;
      hnsw_->resizeIndex(grown);
      PlaceGraphOnHugePages(*hnsw_);
      Grow(grown);
    }
    std::vector<char> element(space_->get_data_size());
    EncodeInt8(row->v.data(), row->v.size(), PaddedCodeBytes(row->v.size()), element.data());
    hnsw_->addPoint(element.data(), lbl);
    SetElement(hnsw_->label_lookup_.at(lbl), *row);
    return OkStatus();
  }, StatusCode::kInternal);
}

void VectorIndex::SetElement(size_t id, const Row& row) {
  const auto dim = static_cast<size_t>(config_.dimension);
  std::copy(row.v.begin(), row.v.begin() + static_cast<std::ptrdiff_t>(dim), floats_.data() + id * dim);
  uint64_t* code = codes_.data() + id * words_;
  std::fill(code, code + words_, 0);
  for (size_t i = 0; i < dim; ++i)
    if (row.v[i] > 0) code[i / 64] |= uint64_t{1} << (i % 64);
  ids_[id] = row.id;
  auto type = type_numbers_.find(row.type);
  if (type == type_numbers_.end()) {
    type = type_numbers_.emplace(row.type, static_cast<uint32_t>(type_names_.size())).first;
    type_names_.push_back(row.type);
  }
  types_[id] = type->second;
}

Status VectorIndex::Rebuild(const VectorConfig& config, const VectorStoreOptions& options) {
  checked_writes_ = ~uint64_t{0};
  Status built = [&]() -> Status {
    Connection& conn = DatabaseInternals::Conn(db_);
    Snapshot snap(conn);
    DOTDO_RETURN_IF_ERROR(snap.status());
    DOTDO_ASSIGN_OR_RETURN(int64_t max_seq, MaxLogSeq(conn));
    DOTDO_ASSIGN_OR_RETURN(int64_t saved, SavedIndexSeq(conn));
    DOTDO_ASSIGN_OR_RETURN(int64_t count, ScalarInt(conn, "SELECT COUNT(*) FROM vec_records"));
    Reset(config, options, static_cast<size_t>(count + count / 4 + 1024));
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(std::string(kRowsSql) + " ORDER BY v.label"));
    Row row;
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool more, st.Step());
      if (!more) break;
      int64_t label = 0;
      DOTDO_RETURN_IF_ERROR(ReadRow(st, config.dimension, &label, &row));
      DOTDO_RETURN_IF_ERROR(Apply(label, &row));
    }
    applied_seq_ = max_seq;
    saved_seq_ = saved;
    changes_since_save_ = count;
    return OkStatus();
  }();
  // A partly rebuilt graph is never searched: the next catch-up starts over.
  if (!built.ok()) hnsw_.reset();
  return built;
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
  PlaceGraphOnHugePages(*hnsw_);
  Grow(hnsw_->max_elements_);
  {
    // The float32 vectors, ids and types come from the truth. A row changed after the file's seq is
    // replayed from the log below, a label the file holds but SQLite no longer does is marked
    // deleted there.
    Snapshot snap(conn);
    DOTDO_RETURN_IF_ERROR(snap.status());
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(kRowsSql));
    Row row;
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool more, st.Step());
      if (!more) break;
      auto found = hnsw_->label_lookup_.find(static_cast<hnswlib::labeltype>(st.ColumnInt64(0)));
      if (found == hnsw_->label_lookup_.end()) continue;
      int64_t label = 0;
      DOTDO_RETURN_IF_ERROR(ReadRow(st, config.dimension, &label, &row));
      SetElement(found->second, row);
    }
  }
  applied_seq_ = saved_seq_ = saved;
  changes_since_save_ = 0;
  return OkStatus();
}

Result<bool> VectorIndex::Fresh() {
  if (!hnsw_ || writes_ != checked_writes_) return false;
  // A private in-memory namespace has no other connection that could commit.
  if (db_.path().empty()) return checked_data_version_ >= 0;
  DOTDO_ASSIGN_OR_RETURN(const int64_t data_version, ScalarInt(DatabaseInternals::Conn(db_), "PRAGMA data_version"));
  return data_version == checked_data_version_;
}

Status VectorIndex::CatchUp(const VectorConfig& config, const VectorStoreOptions& options) {
  Connection& conn = DatabaseInternals::Conn(db_);
  // Read before the log, so a commit of another connection after this point is seen next time.
  DOTDO_ASSIGN_OR_RETURN(const int64_t data_version, ScalarInt(conn, "PRAGMA data_version"));
  const uint64_t writes = writes_;
  if (hnsw_) {
    // Nothing committed since the last catch-up, by this Database or another connection: the
    // common case of a search, no table read.
    if (writes == checked_writes_ && data_version == checked_data_version_) return OkStatus();
    DOTDO_ASSIGN_OR_RETURN(int64_t max_seq, MaxLogSeq(conn));
    if (max_seq <= applied_seq_) {
      checked_writes_ = writes;
      checked_data_version_ = data_version;
      return OkStatus();
    }
    // Another process saved a newer index and pruned the log this index still needed: reload.
    DOTDO_ASSIGN_OR_RETURN(int64_t saved, SavedIndexSeq(conn));
    if (saved > applied_seq_) hnsw_.reset();
  }
  // Until this catch-up completes the index may be partly replayed (a replay of the log from
  // applied_seq_ again is idempotent): no search may take it as fresh. A partly loaded index is
  // dropped, so the next catch-up loads it again.
  checked_writes_ = ~uint64_t{0};
  if (!hnsw_) {
    Status loaded = Load(config, options);
    if (!loaded.ok()) {
      hnsw_.reset();
      return loaded;
    }
  }
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
    if (!labels.empty()) {
      DOTDO_ASSIGN_OR_RETURN(auto get, conn.Prepare(std::string(kRowsSql) + " WHERE v.label = ?1"));
      Row row;
      for (const auto& [label, unused] : labels) {
        get.Reset();
        get.Bind(1, label);
        DOTDO_ASSIGN_OR_RETURN(bool present, get.Step());
        int64_t read_label = 0;
        if (present) DOTDO_RETURN_IF_ERROR(ReadRow(get, config.dimension, &read_label, &row));
        DOTDO_RETURN_IF_ERROR(Apply(label, present ? &row : nullptr));
      }
    }
    applied_seq_ = last;
  }
  checked_writes_ = writes;
  checked_data_version_ = data_version;
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

std::vector<std::pair<size_t, double>> VectorIndex::SearchHnsw(const std::vector<float>& query, size_t k,
                                                               size_t ef) const {
  std::vector<std::pair<size_t, double>> out;
  if (!hnsw_ || hnsw_->cur_element_count == 0) return out;
  const size_t beam = std::max(ef, k), dim = static_cast<size_t>(config_.dimension);
  std::vector<char> element(space_->get_data_size());
  EncodeInt8(query.data(), dim, PaddedCodeBytes(dim), element.data());
  // hnswlib's searchKnn in its two steps (the greedy descent through the upper levels, then its own
  // beam search of level 0, searchBaseLayerST), without what searchKnn adds around them: two
  // atomic counter increments per expanded node and the turn of internal ids into labels (which
  // the re-rank would turn back through label_lookup_, a hash lookup per candidate).
  const hnswlib::HierarchicalNSW<float>& h = *hnsw_;
  const void* q = element.data();
  hnswlib::tableint entry = h.enterpoint_node_;
  float entry_distance = h.fstdistfunc_(q, h.getDataByInternalId(entry), h.dist_func_param_);
  for (int level = h.maxlevel_; level > 0; --level) {
    for (bool changed = true; changed;) {
      changed = false;
      hnswlib::linklistsizeint* list = h.get_linklist(entry, level);
      const auto* neighbours = reinterpret_cast<const hnswlib::tableint*>(list + 1);
      for (int i = 0, n = h.getListCount(list); i < n; ++i) {
        const float d = h.fstdistfunc_(q, h.getDataByInternalId(neighbours[i]), h.dist_func_param_);
        if (d < entry_distance) {
          entry_distance = d;
          entry = neighbours[i];
          changed = true;
        }
      }
    }
  }
  auto top = h.num_deleted_ ? h.searchBaseLayerST<true, false>(entry, q, beam)
                            : h.searchBaseLayerST<false, false>(entry, q, beam);
  const hnswlib::DISTFUNC<float> exact = float_space_->get_dist_func();
  void* param = float_space_->get_dist_func_param();
  out.reserve(top.size());
  for (; !top.empty(); top.pop()) {
    const size_t id = top.top().second;
    // The best of these become results, whose id and type are read next.
    __builtin_prefetch(&ids_[id]);
    __builtin_prefetch(&types_[id]);
    const double d = exact(query.data(), floats_.data() + id * dim, param);
    const double score = config_.metric == VectorMetric::kL2 ? -std::sqrt(std::max(0.0, d)) : 1.0 - d;
    out.emplace_back(id, score);
  }
  const size_t keep = std::min(k, out.size());
  // Ties broken by label, so equal scores come back in one order whatever the graph's layout.
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(keep), out.end(),
                    [&](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second : LabelOf(a.first) < LabelOf(b.first);
                    });
  out.resize(keep);
  return out;
}

size_t VectorIndex::capacity() const { return hnsw_ ? hnsw_->cur_element_count : 0; }
bool VectorIndex::Live(size_t id) const { return !hnsw_->isMarkedDeleted(static_cast<hnswlib::tableint>(id)); }
int64_t VectorIndex::LabelOf(size_t id) const {
  return static_cast<int64_t>(hnsw_->getExternalLabel(static_cast<hnswlib::tableint>(id)));
}
const float* VectorIndex::VectorOf(size_t id) const { return floats_.data() + id * static_cast<size_t>(config_.dimension); }
int64_t VectorIndex::elements() const { return static_cast<int64_t>(capacity()); }
int64_t VectorIndex::deleted() const { return hnsw_ ? static_cast<int64_t>(hnsw_->num_deleted_) : 0; }
int64_t VectorIndex::memory_bytes() const {
  if (!hnsw_) return 0;
  // Graph elements (links, int8 codes, labels), their upper-level links, and the float32 copies.
  // Then the ids and types kept beside them.
  int64_t bytes = static_cast<int64_t>(hnsw_->cur_element_count *
                                       (hnsw_->size_data_per_element_ + static_cast<size_t>(config_.dimension) * sizeof(float) +
                                        sizeof(std::string) + sizeof(uint32_t)));
  for (size_t i = 0; i < hnsw_->cur_element_count; ++i)
    if (ids_[i].capacity() >= sizeof(std::string)) bytes += static_cast<int64_t>(ids_[i].capacity() + 1);
  for (size_t i = 0; i < hnsw_->cur_element_count; ++i)
    bytes += static_cast<int64_t>(hnsw_->element_levels_[i] * hnsw_->size_links_per_element_);
  return bytes;
}

Result<bool> VectorIndex::CurrentInTransaction() {
  if (!hnsw_) return false;
  DOTDO_ASSIGN_OR_RETURN(int64_t max_seq, MaxLogSeq(DatabaseInternals::Conn(db_)));
  return max_seq == applied_seq_;
}

}  // namespace dotdo::internal
