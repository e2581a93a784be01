// VectorStore and HybridSearch: embeddings with their text and metadata in one namespace, searched
// by approximate nearest neighbours (an HNSW graph from hnswlib), by the seed's progressive pipeline
// (binary Hamming -> 64-d prefix -> 256-d prefix -> exact rerank), and together with FTS5 full-text
// search through weighted Reciprocal Rank Fusion.
//
//   auto vs = dotdo::VectorStore::Open(*db, {.dimension = 768});
//   vs->Insert({.id = "doc1", .type = "Doc", .content = "machine learning", .embedding = e});
//   auto hits = vs->Search({.embedding = q, .limit = 10, .filter = {{"$type", "Doc"}}});
//   auto fused = dotdo::HybridSearch(*db).Query({.query = "machine learning", .embedding = q});
//
// Truth and derived state: the float32 vectors live in SQLite (`vec_records`) and are the truth.
// The HNSW index, the in-memory binary codes and the FTS5 postings are derived: the HNSW index is
// saved beside the namespace file with the change sequence it reflects, and a reopen loads it and
// replays only the later changes. A search first makes sure the index reflects every committed
// change (a counter and PRAGMA data_version when nothing changed, else a replay of the log), so a
// deleted record is never served and a committed one never missed; the index keeps each record's id
// and $type beside its vector, so a result reads its row only for content or metadata. See
// docs/formats/vector.md.
//
// Grammar (anything else is kInvalidArgument and nothing is written):
//   id          a record id: [A-Za-z0-9_.:@~+=-]{1,128}
//   $type       a type name: [A-Za-z_][A-Za-z0-9_]{0,127}; default "Embedding"
//   embedding   exactly `dimension` finite floats; not all zero under the cosine metric
//   metadata    a JSON object (null means {}), at most 1 MiB serialized
//   content     valid UTF-8 text, at most 1 MiB (indexed by FTS5 when non-empty)
//
// Thread-safety: a VectorStore is a light handle over a Database (held by reference; the Database
// must outlive it) and follows the Database's rules: calls serialize on the Database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

enum class VectorMetric { kCosine, kDot, kL2 };
// "cosine" | "dot" | "l2"; anything else is kInvalidArgument.
DOTDO_EXPORT Result<VectorMetric> ParseVectorMetric(std::string_view name);
DOTDO_EXPORT std::string_view VectorMetricName(VectorMetric metric);

inline constexpr int kMaxVectorDimension = 4096;
inline constexpr int64_t kMaxVectorSearchLimit = 10000;
inline constexpr size_t kMaxVectorBatch = 100000;

struct VectorStoreOptions {
  // Dimension of every embedding, 1..kMaxVectorDimension. Required on the first open of a namespace;
  // 0 = use the dimension stored in the namespace (kFailedPrecondition when there is none). A value
  // different from the stored one is kFailedPrecondition.
  int dimension = 0;
  // Matryoshka prefix dimensions, ascending, each < dimension. Default: unset = those of {64, 128,
  // 256} below the dimension. Stored with the namespace on first write.
  std::optional<std::vector<int>> matryoshka_dims;
  // Similarity. Default cosine (vectors are normalized on insert; scores are cosine similarities).
  VectorMetric metric = VectorMetric::kCosine;
  // HNSW graph degree and construction beam (hnswlib M / ef_construction). Default 16 / 200.
  int hnsw_m = 16;
  int hnsw_ef_construction = 200;
  // Search beam when a query does not give one: max(limit, hnsw_ef_search). Default 64.
  int hnsw_ef_search = 64;
  // Product quantization: trained automatically once this many records exist. Default 10000.
  int64_t pq_train_threshold = 10000;
  // Bits of the LSH bucket (random-hyperplane signature), 1..30. Default 16.
  int lsh_bits = 16;
  // A filter matching at most this many records, or at most exact_filter_fraction of them, is
  // answered by exact search over the matching records (see Search). Defaults 20000 / 0.05.
  int64_t exact_filter_rows = 20000;
  double exact_filter_fraction = 0.05;
  // Metadata paths (as filters name them: "rare", "a.b") given an expression index, so a filter
  // term on one of them is an index range instead of a scan of every record (see Search). Created
  // by Open when the namespace has vector tables, else by the first write; an index is kept once
  // created (never dropped by a later handle that omits it). At most 32 paths. Default none.
  std::vector<std::string> indexed_metadata_paths;
  // Save the HNSW index file automatically after this many changes were applied to it since the last
  // save (file namespaces only). Default 50000; 0 = only SaveIndex() saves.
  int64_t autosave_changes = 50000;
};

struct VectorRecord {
  std::string id;
  std::string type = "Embedding";  // $type
  std::string content;
  std::vector<float> embedding;    // as stored: normalized under cosine
  Json metadata = Json::object();
  int64_t created_at = 0;  // ms since epoch
  int64_t updated_at = 0;
};

DOTDO_EXPORT Json VectorRecordToJson(const VectorRecord& record, bool with_embedding = true);

enum class SearchStage { kHnsw, kExact, kBinary, kPrefix64, kPrefix256, kRerank };
DOTDO_EXPORT std::string_view SearchStageName(SearchStage stage);

struct VectorSearchStages {
  // Candidates kept after each stage of the progressive pipeline. Defaults 1000 / 200 / 50.
  int64_t binary = 1000;
  int64_t prefix64 = 200;
  int64_t prefix256 = 50;
};

struct VectorSearchOptions {
  std::vector<float> embedding;  // dimension floats (or vector_dim floats when vector_dim is set)
  int64_t limit = 10;            // 1..kMaxVectorSearchLimit
  // Filter on "$type", "$id" and metadata paths (the filter language of every store). Default null.
  Json filter;
  // Search on the first vector_dim dimensions of query and records, re-normalized (exact scan).
  // Default 0 = full dimension.
  int vector_dim = 0;
  // Set: the progressive pipeline with these candidate counts instead of HNSW. Default unset.
  std::optional<VectorSearchStages> stages;
  // HNSW beam. Default 0 = max(limit, options.hnsw_ef_search).
  int ef = 0;
  // Also return each result's content / metadata, read from its row. Default false: a result is
  // id, $type, score and stage, which the index holds in memory, so an unfiltered search reads no
  // row at all.
  bool with_content = false;
  bool with_metadata = false;
};

struct VectorSearchResult {
  std::string id;
  std::string type;
  std::optional<std::string> content;  // set when the search asked with_content
  std::optional<Json> metadata;        // set when the search asked with_metadata
  // Higher is better: cosine similarity, dot product, or minus the Euclidean distance.
  double score = 0;
  SearchStage stage = SearchStage::kHnsw;
};

DOTDO_EXPORT Json VectorSearchResultToJson(const VectorSearchResult& result);

struct VectorStats {
  int dimension = 0;
  VectorMetric metric = VectorMetric::kCosine;
  std::vector<int> matryoshka_dims;
  int64_t count = 0;
  int64_t index_elements = 0;    // in the HNSW graph, deleted ones included until compaction
  int64_t index_deleted = 0;
  int64_t index_bytes = 0;       // index memory: graph (int8 codes + links), float32 copies, ids and types
  int64_t raw_vector_bytes = 0;  // count * dimension * 4
  bool pq_trained = false;
  int pq_subquantizers = 0;
  int64_t index_seq = 0;         // change sequence the saved index file reflects (0 = none)
  // The seed's storage-savings report: bytes per vector for each representation.
  Json storage;
};

DOTDO_EXPORT Json VectorStatsToJson(const VectorStats& stats);

class DOTDO_EXPORT VectorStore {
 public:
  // Checks the options against the namespace (a stored dimension/metric must match) and returns the
  // handle. Never creates tables (the first write does); on a namespace that has them, creates the
  // indexes of options.indexed_metadata_paths that are missing. REQUIRES: db outlives the store.
  static Result<VectorStore> Open(Database& db, VectorStoreOptions options);

  // Inserts a new record (cdc.insert); kAlreadyExists when the id is taken.
  Status Insert(VectorRecord record);
  // Inserts or replaces (cdc.insert or cdc.update).
  Status Upsert(VectorRecord record);
  // Inserts new records in one transaction, all or nothing, with ONE cdc.batch_insert event.
  Result<int64_t> InsertBatch(std::vector<VectorRecord> records);
  // false when there was no such record (nothing written).
  Result<bool> Delete(std::string_view id);
  Result<VectorRecord> Get(std::string_view id);
  // The first `dim` dimensions of the stored vector, re-normalized (dim must be <= dimension).
  Result<std::vector<float>> GetPrefix(std::string_view id, int dim);

  Result<std::vector<VectorSearchResult>> Search(const VectorSearchOptions& options);

  // Trains product quantization on the stored vectors (FAISS) and re-encodes every record.
  // kFailedPrecondition with fewer than 256 records.
  Status TrainPq();
  // The PQ reconstruction of a record's vector. kFailedPrecondition before training.
  Result<std::vector<float>> PqReconstruct(std::string_view id);
  // Rebuilds the HNSW graph without deleted elements, then saves it.
  Status Compact();
  // Brings the index up to date and saves it beside the namespace file (no-op in memory).
  Status SaveIndex();
  Result<VectorStats> Stats();

  const VectorStoreOptions& options() const { return options_; }

 private:
  VectorStore(Database& db, VectorStoreOptions options) : db_(&db), options_(std::move(options)) {}
  Status Write(std::vector<VectorRecord> records, int mode);
  Database* db_;
  VectorStoreOptions options_;
};

// Pure helpers (exposed for tests and tools).
// The first `dim` values re-normalized to unit length (a zero prefix stays zero).
DOTDO_EXPORT std::vector<float> TruncateEmbedding(const std::vector<float>& v, int dim);
// Sign bit per dimension (bit i of byte i/8 set when v[i] > 0).
DOTDO_EXPORT std::vector<uint8_t> BinaryCode(const std::vector<float>& v);
DOTDO_EXPORT int HammingDistance(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);
// Cosine similarity of the first `dim` dimensions of a and b (0 = min of both sizes).
DOTDO_EXPORT double CrossDimensionSimilarity(const std::vector<float>& a, const std::vector<float>& b, int dim = 0);

enum class FtsQueryMode {
  kAnyTerm,  // the query is plain words; a record matching any of them qualifies (BM25 ranks)
  kAllTerms, // plain words, every one must match
  kRaw,      // FTS5 query syntax; a syntax error is kInvalidArgument
};

struct HybridQuery {
  std::string query;             // text (empty = vector-only)
  std::vector<float> embedding;  // empty = text-only
  int64_t limit = 10;            // 1..kMaxVectorSearchLimit
  double fts_weight = 1.0;       // RRF weight of the full-text rank. Default 1.0
  double vector_weight = 1.0;    // RRF weight of the vector rank. Default 1.0
  int vector_dim = 0;            // Matryoshka truncation of the vector side. Default 0 = full
  Json where;                    // filter on $type / $id / metadata paths, both sides. Default null
  int64_t rrf_k = 60;            // RRF constant, >= 1. Default 60
  FtsQueryMode mode = FtsQueryMode::kAnyTerm;
  // Candidates taken from each side before fusion. Default 0 = max(4 * limit, 50).
  int64_t candidates = 0;
};

struct HybridResult {
  std::string id;
  std::string type;
  std::string content;
  Json metadata;
  std::optional<int64_t> fts_rank;     // 1-based; unset when the text side did not return it
  std::optional<int64_t> vector_rank;  // 1-based
  std::optional<double> bm25;          // FTS5 bm25() (lower is better)
  std::optional<double> vector_score;
  double score = 0;                    // fused: sum of weight / (rrf_k + rank)
};

DOTDO_EXPORT Json HybridResultToJson(const HybridResult& result);
// weight / (rrf_k + rank) summed over the sides that ranked the record.
DOTDO_EXPORT double RrfScore(std::optional<int64_t> fts_rank, std::optional<int64_t> vector_rank, double fts_weight,
                             double vector_weight, int64_t rrf_k);

// Hybrid search over the namespace's VectorStore (options as stored). Same thread-safety as
// VectorStore.
class DOTDO_EXPORT HybridSearch {
 public:
  explicit HybridSearch(Database& db) : db_(db) {}
  Result<std::vector<HybridResult>> Query(const HybridQuery& query);

 private:
  Database& db_;
};

}  // namespace dotdo
