// Internals shared by the VectorStore files: the schema, the stored configuration, vector maths and
// codes, and the per-Database index state (the HNSW graph and its binary codes).
//
// Invariants (see docs/formats/vector.md):
//   1. vec_vectors.embedding holds `dimension` little-endian float32 values, unit length under the
//      cosine metric; binary, lsh and (once PQ is trained) pq are derived from it in the same write,
//      and vec_records and vec_vectors hold the same labels.
//   2. Every committed change of a record appends its label to vec_log in the same transaction, so
//      replaying the log after seq S onto an index that reflects S yields the committed state.
//   3. vec_config.index_seq = S is committed only after the index file `<db>.vec-S.hnsw` is durable
//      (fsynced and renamed), and vec_log rows with seq <= S are deleted in that same transaction.
//   4. The in-memory index only ever reflects committed changes: it is caught up outside
//      transactions, and it reflects exactly the changes with seq <= applied_seq(); a search inside
//      a transaction uses it only when the highest seq the transaction sees is applied_seq().
//   5. Beside every element the index holds its record's id and $type, set from the record's row by
//      the same replay that sets its vector; so an index known to be caught up (invariant 4, and
//      Fresh() or a CatchUp in the search's own call) answers id, $type and score without reading a
//      row, and a label deleted in SQLite is marked deleted there, never served. Rows are read only
//      for what memory does not hold: content, metadata, and filters.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <new>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cdc/store_scaffold.h"
#include "core/filter_compiler.h"
#include "dotdo/vector.h"
#include "sqlite/connection.h"

// hnswlib, compiled into a private namespace by vector_index.cc (see there).
namespace dotdo_hnsw::hnswlib {
template <typename T>
class HierarchicalNSW;
template <typename T>
class SpaceInterface;
}  // namespace dotdo_hnsw::hnswlib

namespace dotdo::internal {

extern const StoreSpec kVectorSpec;
// The schema migrations (kVectorSpec.migrations; tests build files of an older version from them).
std::span<const std::string_view> VectorMigrations();
inline constexpr std::string_view kRecordsTable = "records";
inline constexpr size_t kMaxVectorMetadataBytes = 1 << 20;
inline constexpr size_t kMaxVectorContentBytes = 1 << 20;

// The configuration stored in vec_config on the first write.
struct VectorConfig {
  int dimension = 0;
  VectorMetric metric = VectorMetric::kCosine;
  std::vector<int> dims;  // Matryoshka prefixes
  int lsh_bits = 16;
};

// The stored configuration; nullopt when the namespace has none (no tables or never written).
Result<std::optional<VectorConfig>> ReadVectorConfig(Database& db);
// Checks options and resolves the defaults against the stored configuration.
Result<VectorConfig> ResolveConfig(const VectorStoreOptions& options, const std::optional<VectorConfig>& stored);
// Inside a write transaction: stores `config` when the namespace has none.
Status StoreConfigIfMissing(Database& db, const VectorConfig& config);
Status ValidateStoreOptions(const VectorStoreOptions& options);

// The resolver for filters: $type, $id and metadata paths.
const FieldResolver& VectorFields();

// Metadata path indexes (vector_metadata_index.cc).
Status ValidateIndexedPaths(const std::vector<std::string>& paths);
// Whether every path of `paths` has its index (a read; REQUIRES: the vector tables exist).
Result<bool> MetadataIndexesPresent(Database& db, const std::vector<std::string>& paths);
// Inside a write transaction: creates the indexes of `paths` missing from vec_indexes.
Status EnsureMetadataIndexes(Database& db, const std::vector<std::string>& paths);
// Marks indexed paths on which a written record's metadata puts an array as multikey (invariant 1
// of vector_metadata_index.cc). Load and Flush inside the write's transaction.
class MetadataArrayTracker {
 public:
  static Result<MetadataArrayTracker> Load(Database& db);
  void Note(const Json& metadata);
  Status Flush(Database& db);

 private:
  std::vector<std::pair<std::string, JsonPath>> scalar_;  // non-multikey paths
  std::set<std::string> now_multikey_;
};
// `where` compiled with the non-multikey indexed paths as scalar paths (their terms are plain
// comparisons the indexes serve).
Result<CompiledFilter> CompileVectorFilter(Database& db, const Json& where);

// Maths.
double Dot(const float* a, const float* b, int n);
void Normalize(std::vector<float>& v);
std::string FloatsToBlob(const std::vector<float>& v);
Result<std::vector<float>> BlobToFloats(std::string_view blob, int dimension);
// Validates an embedding (size, finite, non-zero under cosine); normalizes under cosine.
Status PrepareEmbedding(std::vector<float>& v, const VectorConfig& config, std::string_view what);
// Random-hyperplane signature (Charikar, "Similarity estimation techniques from rounding
// algorithms", STOC 2002): bit i = sign(<h_i, v>) with h_i drawn from a fixed seeded Gaussian.
int64_t LshBucket(const std::vector<float>& v, int bits);
// Higher is better: cosine/dot similarity or minus the Euclidean distance.
double MetricScore(VectorMetric metric, const float* a, const float* b, int n);

// Product quantization codebook (FAISS), as stored in vec_pq.
struct PqCodebook {
  int m = 0;
  int nbits = 8;
  std::vector<float> centroids;
  int64_t generation = 0;
};
Result<std::optional<PqCodebook>> ReadPq(Database& db);
Result<std::string> PqEncode(const PqCodebook& pq, int dimension, const std::vector<float>& v);
Result<std::vector<float>> PqDecode(const PqCodebook& pq, int dimension, std::string_view code);
// Trains on `n` vectors (row-major). REQUIRES n >= 256.
Result<PqCodebook> PqTrain(int dimension, const std::vector<float>& data, int64_t n);
int DefaultPqSubquantizers(int dimension);

// Allocations of at least 2 MiB are 2 MiB-aligned and advised for transparent huge pages
// (madvise(MADV_HUGEPAGE); a no-op where the kernel does not allow it); smaller ones are plain
// malloc. Freed with std::free, so hnswlib may realloc/free a block placed there.
void* AllocateHugePageBacked(size_t bytes);
// Moves the first `used` bytes of `block` (malloc'ed, `capacity` bytes) into a huge-page-backed
// block of `capacity` bytes and frees the old one; leaves it unchanged when allocation fails.
void MoveToHugePages(char*& block, size_t used, size_t capacity);
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT(google-explicit-constructor)
  T* allocate(size_t n) {
    void* p = AllocateHugePageBacked(n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

// The HNSW graph of one Database with what it reflects.
class VectorIndex {
 public:
  // What the index keeps of a record's row (Apply with null: the label has no row, it was deleted).
  struct Row {
    std::vector<float> v;
    std::string id;
    std::string type;
  };

  explicit VectorIndex(Database& db);
  ~VectorIndex();

  // Makes the index reflect every committed change (loading the saved file or rebuilding from
  // vec_records first). REQUIRES: the Database lock, outside a transaction.
  Status CatchUp(const VectorConfig& config, const VectorStoreOptions& options);
  bool loaded() const { return hnsw_ != nullptr; }
  // True when the index is loaded and nothing was committed since the last CatchUp (a counter
  // compare and PRAGMA data_version, no table read). REQUIRES: the Database lock.
  Result<bool> Fresh();
  // Saves the caught-up index file and commits its seq (invariant 3). No-op in memory.
  Status Save();
  Status Rebuild(const VectorConfig& config, const VectorStoreOptions& options);

  // (internal id, score) of the k best, best first, deleted elements skipped: the graph is walked on
  // the int8 codes with a beam of max(ef, k), and every candidate of the beam is re-ranked on its
  // float32 vector (exact scores). REQUIRES: loaded().
  std::vector<std::pair<size_t, double>> SearchHnsw(const std::vector<float>& query, size_t k, size_t ef) const;
  // Elements by internal id, 0..capacity(): live or not, label, stored vector (dimension floats),
  // and the record's id and $type (invariant 5).
  size_t capacity() const;
  bool Live(size_t internal_id) const;
  int64_t LabelOf(size_t internal_id) const;
  const float* VectorOf(size_t internal_id) const;
  const std::string& IdOf(size_t internal_id) const { return ids_[internal_id]; }
  const std::string& TypeOf(size_t internal_id) const { return type_names_[types_[internal_id]]; }
  const uint64_t* CodeOf(size_t internal_id) const { return codes_.data() + internal_id * words_; }
  size_t words() const { return words_; }
  int64_t applied_seq() const { return applied_seq_; }
  int64_t saved_seq() const { return saved_seq_; }
  int64_t elements() const;
  int64_t deleted() const;
  int64_t memory_bytes() const;
  // Inside the caller's transaction: whether the index reflects exactly what the transaction sees
  // (the highest vec_log seq it sees is applied_seq(); a read of sqlite_sequence).
  Result<bool> CurrentInTransaction();
  // Called by every vector write of this Database (under its lock): the next CatchUp looks at the
  // log again. Commits of other connections are seen through PRAGMA data_version.
  void NoteWrite() { ++writes_; }

 private:
  Status Load(const VectorConfig& config, const VectorStoreOptions& options);
  Status Apply(int64_t label, const Row* row);
  // Sets what the index holds beside element `internal_id` (vector, codes, id, $type).
  void SetElement(size_t internal_id, const Row& row);
  void Grow(size_t capacity);
  void Reset(const VectorConfig& config, const VectorStoreOptions& options, size_t capacity);
  std::string FilePath(int64_t seq) const;

  Database& db_;
  VectorConfig config_;
  // The graph's space (int8 codes, see vector_index.cc) and the float32 space of the re-rank.
  std::unique_ptr<dotdo_hnsw::hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<dotdo_hnsw::hnswlib::SpaceInterface<float>> float_space_;
  std::unique_ptr<dotdo_hnsw::hnswlib::HierarchicalNSW<float>> hnsw_;
  // The float32 vectors by internal id, dimension floats each, and the binary codes, words_ words
  // each. The graph's level-0 block and these are read at random by every search: huge pages
  // spare most of the TLB misses.
  std::vector<float, HugePageAllocator<float>> floats_;
  std::vector<uint64_t, HugePageAllocator<uint64_t>> codes_;
  size_t words_ = 0;
  // The record's id and interned $type by internal id (invariant 5).
  std::vector<std::string> ids_;
  std::vector<uint32_t> types_;
  std::vector<std::string> type_names_;
  std::map<std::string, uint32_t, std::less<>> type_numbers_;
  int64_t applied_seq_ = 0;
  int64_t saved_seq_ = 0;
  int64_t changes_since_save_ = 0;
  // "No change since": the index was caught up when this Database had made writes_ == checked_writes_
  // vector writes and PRAGMA data_version read checked_data_version_; while both still hold, nothing
  // was committed since and CatchUp reads nothing.
  uint64_t writes_ = 0;
  uint64_t checked_writes_ = ~uint64_t{0};
  int64_t checked_data_version_ = -1;
};

// Per-Database state of the store.
struct VectorState {
  explicit VectorState(Database& db) : index(db) {}
  VectorIndex index;
  std::optional<PqCodebook> pq;  // cached codebook; checked against vec_pq.generation
  // The stored configuration once read outside a transaction (it never changes once committed).
  std::optional<VectorConfig> config;
};
Result<VectorState*> VectorStateOf(Database& db);

Result<Json> ParseMetadata(std::string_view text);
// Decodes stored metadata straight from its SQLite JSONB blob (no json() text, no text parser).
// nullopt for what the fast path does not decode (JSON5 forms, nesting deeper than 32, malformed
// headers): the caller then reads json(metadata) and uses ParseMetadata.
std::optional<Json> DecodeJsonb(std::string_view blob);

// Search without the caller's limits checked again (HybridSearch calls it).
Result<std::vector<VectorSearchResult>> SearchImpl(Database& db, const VectorConfig& config,
                                                   const VectorStoreOptions& options, const VectorSearchOptions& q);

// 'name' for messages. REQUIRES: s was validated against its name grammar.
std::string Quote(std::string_view s);

}  // namespace dotdo::internal
