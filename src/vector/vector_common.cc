// VectorStore foundations: the schema and its stored configuration, option checks, the filter
// fields, vector maths (normalization, Matryoshka truncation, metric scores), binary codes and
// Hamming distance, LSH buckets, and the FAISS product-quantization adapter.
#include <faiss/impl/ProductQuantizer.h>

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <random>

#include "core/json.h"
#include "core/names.h"
#include "vector/vector_internal.h"

namespace dotdo {

Result<VectorMetric> ParseVectorMetric(std::string_view name) {
  if (name == "cosine") return VectorMetric::kCosine;
  if (name == "dot") return VectorMetric::kDot;
  if (name == "l2") return VectorMetric::kL2;
  (void)name;  // not echoed: it is unvalidated user text
  return InvalidArgumentError("unknown metric; valid metrics: cosine, dot, l2");
}

std::string_view VectorMetricName(VectorMetric metric) {
  switch (metric) {
    case VectorMetric::kDot: return "dot";
    case VectorMetric::kL2: return "l2";
    case VectorMetric::kCosine: break;
  }
  return "cosine";
}

std::string_view SearchStageName(SearchStage stage) {
  switch (stage) {
    case SearchStage::kHnsw: return "hnsw";
    case SearchStage::kExact: return "exact";
    case SearchStage::kBinary: return "binary";
    case SearchStage::kPrefix64: return "prefix64";
    case SearchStage::kPrefix256: return "prefix256";
    case SearchStage::kRerank: return "rerank";
  }
  return "hnsw";
}

Json VectorRecordToJson(const VectorRecord& r, bool with_embedding) {
  Json j{{"id", r.id}, {"$type", r.type}, {"content", r.content}, {"metadata", r.metadata},
         {"createdAt", FormatIso8601(r.created_at)}, {"updatedAt", FormatIso8601(r.updated_at)}};
  if (with_embedding) j["embedding"] = r.embedding;
  return j;
}

Json VectorSearchResultToJson(const VectorSearchResult& r) {
  Json j{{"id", r.id}, {"$type", r.type}, {"score", r.score}, {"stage", SearchStageName(r.stage)}};
  if (r.content) j["content"] = *r.content;
  if (r.metadata) j["metadata"] = *r.metadata;
  return j;
}

Json VectorStatsToJson(const VectorStats& s) {
  return Json{{"dimension", s.dimension},
              {"metric", VectorMetricName(s.metric)},
              {"matryoshkaDims", s.matryoshka_dims},
              {"count", s.count},
              {"indexElements", s.index_elements},
              {"indexDeleted", s.index_deleted},
              {"indexBytes", s.index_bytes},
              {"rawVectorBytes", s.raw_vector_bytes},
              {"pqTrained", s.pq_trained},
              {"pqSubquantizers", s.pq_subquantizers},
              {"indexSeq", s.index_seq},
              {"storage", s.storage}};
}

std::vector<float> TruncateEmbedding(const std::vector<float>& v, int dim) {
  const size_t n = dim <= 0 ? v.size() : std::min(v.size(), static_cast<size_t>(dim));
  std::vector<float> out(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
  internal::Normalize(out);
  return out;
}

std::vector<uint8_t> BinaryCode(const std::vector<float>& v) {
  std::vector<uint8_t> out((v.size() + 7) / 8, 0);
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] > 0) out[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  return out;
}

int HammingDistance(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int d = 0;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) d += std::popcount(static_cast<unsigned>(a[i] ^ b[i]));
  for (size_t i = n; i < a.size(); ++i) d += std::popcount(static_cast<unsigned>(a[i]));
  for (size_t i = n; i < b.size(); ++i) d += std::popcount(static_cast<unsigned>(b[i]));
  return d;
}

double CrossDimensionSimilarity(const std::vector<float>& a, const std::vector<float>& b, int dim) {
  const int n = static_cast<int>(std::min(a.size(), b.size()));
  const int d = dim <= 0 ? n : std::min(dim, n);
  const double ab = internal::Dot(a.data(), b.data(), d), aa = internal::Dot(a.data(), a.data(), d),
               bb = internal::Dot(b.data(), b.data(), d);
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

double RrfScore(std::optional<int64_t> fts_rank, std::optional<int64_t> vector_rank, double fts_weight,
                double vector_weight, int64_t rrf_k) {
  double s = 0;
  if (fts_rank) s += fts_weight / static_cast<double>(rrf_k + *fts_rank);
  if (vector_rank) s += vector_weight / static_cast<double>(rrf_k + *vector_rank);
  return s;
}

namespace internal {

// Only for names already validated against their grammar (short, printable ASCII).
std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

namespace {
constexpr std::string_view kMigrationV1 = R"sql(
CREATE TABLE vec_config (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE vec_records (
  label      INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  type       TEXT NOT NULL,
  content    TEXT NOT NULL,
  metadata   BLOB NOT NULL,
  embedding  BLOB NOT NULL,
  binary     BLOB NOT NULL,
  lsh        INTEGER NOT NULL,
  pq         BLOB,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX vec_records_type ON vec_records(type);
CREATE INDEX vec_records_lsh ON vec_records(lsh);
CREATE TABLE vec_log (
  seq   INTEGER PRIMARY KEY AUTOINCREMENT,
  label INTEGER NOT NULL
);
CREATE TABLE vec_pq (
  one           INTEGER PRIMARY KEY CHECK (one = 1),
  m             INTEGER NOT NULL,
  nbits         INTEGER NOT NULL,
  centroids     BLOB NOT NULL,
  generation    INTEGER NOT NULL,
  trained_count INTEGER NOT NULL,
  trained_at    INTEGER NOT NULL
);
CREATE VIRTUAL TABLE vec_fts USING fts5(content, content='', contentless_delete=1, tokenize='porter unicode61');
)sql";
// v2: the vectors and their codes move to their own narrow table, so a filter scanning vec_records
// reads only ids, types, text and metadata, not every vector page. Copies then drops the columns, in
// the migration's transaction (labels and sqlite_sequence are kept).
constexpr std::string_view kMigrationV2 = R"sql(
CREATE TABLE vec_vectors (
  label     INTEGER PRIMARY KEY,
  embedding BLOB NOT NULL,
  binary    BLOB NOT NULL,
  pq        BLOB
);
INSERT INTO vec_vectors(label, embedding, binary, pq) SELECT label, embedding, binary, pq FROM vec_records ORDER BY label;
ALTER TABLE vec_records DROP COLUMN embedding;
ALTER TABLE vec_records DROP COLUMN binary;
ALTER TABLE vec_records DROP COLUMN pq;
)sql";
// v3: the registry of metadata path indexes (vector_metadata_index.cc).
constexpr std::string_view kMigrationV3 = R"sql(
CREATE TABLE vec_indexes (
  path       TEXT NOT NULL UNIQUE,
  name       TEXT NOT NULL,
  multikey   INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
)sql";
constexpr std::array<std::string_view, 3> kMigrations = {kMigrationV1, kMigrationV2, kMigrationV3};

std::vector<int> DefaultDims(int dimension) {
  std::vector<int> out;
  for (int d : {64, 128, 256})
    if (d < dimension) out.push_back(d);
  return out;
}

Result<std::string> ConfigValue(Connection& conn, std::string_view key) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT value FROM vec_config WHERE key = ?1"));
  st.Bind(1, key);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFoundError("no vector configuration value " + std::string(key));
  return st.ColumnString(0);
}
}  // namespace

const StoreSpec kVectorSpec{.name = "vector", .table_prefix = "vec_", .migrations = kMigrations};
std::span<const std::string_view> VectorMigrations() { return kMigrations; }

Status ValidateStoreOptions(const VectorStoreOptions& o) {
  if (o.dimension < 0 || o.dimension > kMaxVectorDimension)
    return InvalidArgumentError("dimension must be 1.." + std::to_string(kMaxVectorDimension));
  if (o.hnsw_m < 2 || o.hnsw_m > 128) return InvalidArgumentError("hnsw_m must be 2..128");
  if (o.hnsw_ef_construction < 1 || o.hnsw_ef_construction > 4096)
    return InvalidArgumentError("hnsw_ef_construction must be 1..4096");
  if (o.hnsw_ef_search < 1 || o.hnsw_ef_search > 100000) return InvalidArgumentError("hnsw_ef_search must be 1..100000");
  if (o.pq_train_threshold < 256) return InvalidArgumentError("pq_train_threshold must be at least 256");
  if (o.lsh_bits < 1 || o.lsh_bits > 30) return InvalidArgumentError("lsh_bits must be 1..30");
  if (o.exact_filter_rows < 0) return InvalidArgumentError("exact_filter_rows must be >= 0");
  if (!(o.exact_filter_fraction >= 0 && o.exact_filter_fraction <= 1))
    return InvalidArgumentError("exact_filter_fraction must be in [0, 1]");
  if (o.autosave_changes < 0) return InvalidArgumentError("autosave_changes must be >= 0");
  return OkStatus();
}

Result<std::optional<VectorConfig>> ReadVectorConfig(Database& db) {
  DOTDO_ASSIGN_OR_RETURN(bool present, StoreSchemaPresent(db, kVectorSpec));
  if (!present) return std::optional<VectorConfig>();
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  VectorState& state = DatabaseInternals::Extension<VectorState>(db);
  if (state.config) return state.config;
  auto dim = ConfigValue(conn, "dimension");
  if (!dim.ok()) {
    if (dim.status().code() == StatusCode::kNotFound) return std::optional<VectorConfig>();
    return dim.status();
  }
  VectorConfig c;
  DOTDO_ASSIGN_OR_RETURN(auto metric, ConfigValue(conn, "metric"));
  DOTDO_ASSIGN_OR_RETURN(auto dims, ConfigValue(conn, "matryoshka_dims"));
  DOTDO_ASSIGN_OR_RETURN(auto lsh, ConfigValue(conn, "lsh_bits"));
  return CatchAll("the stored vector configuration", [&]() -> Result<std::optional<VectorConfig>> {
    c.dimension = std::stoi(*dim);
    DOTDO_ASSIGN_OR_RETURN(c.metric, ParseVectorMetric(metric));
    c.dims = Json::parse(dims).get<std::vector<int>>();
    c.lsh_bits = std::stoi(lsh);
    if (!db.InTransaction()) state.config = c;
    return std::optional<VectorConfig>(c);
  }, StatusCode::kDataLoss);
}

Result<VectorConfig> ResolveConfig(const VectorStoreOptions& o, const std::optional<VectorConfig>& stored) {
  DOTDO_RETURN_IF_ERROR(ValidateStoreOptions(o));
  if (stored) {
    if (o.dimension != 0 && o.dimension != stored->dimension)
      return FailedPreconditionError("the namespace stores " + std::to_string(stored->dimension) +
                                     "-d vectors; dimension " + std::to_string(o.dimension) + " does not match");
    if (o.metric != stored->metric && o.dimension != 0)
      return FailedPreconditionError("the namespace's vectors use the " + std::string(VectorMetricName(stored->metric)) +
                                     " metric, not " + std::string(VectorMetricName(o.metric)));
    if (o.matryoshka_dims && *o.matryoshka_dims != stored->dims)
      return FailedPreconditionError("matryoshka_dims differ from the dimensions stored with the namespace");
    return *stored;
  }
  if (o.dimension == 0)
    return FailedPreconditionError("the namespace has no vectors yet: give the dimension of its embeddings");
  VectorConfig c;
  c.dimension = o.dimension;
  c.metric = o.metric;
  c.lsh_bits = o.lsh_bits;
  c.dims = o.matryoshka_dims ? *o.matryoshka_dims : DefaultDims(o.dimension);
  for (size_t i = 0; i < c.dims.size(); ++i) {
    if (c.dims[i] < 1 || c.dims[i] >= c.dimension || (i > 0 && c.dims[i] <= c.dims[i - 1]))
      return InvalidArgumentError("matryoshka_dims must ascend strictly, each in 1..dimension-1");
  }
  return c;
}

Status StoreConfigIfMissing(Database& db, const VectorConfig& c) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT OR IGNORE INTO vec_config(key, value) VALUES (?1, ?2)"));
  const std::pair<std::string_view, std::string> values[] = {
      {"dimension", std::to_string(c.dimension)},
      {"metric", std::string(VectorMetricName(c.metric))},
      {"matryoshka_dims", Json(c.dims).dump()},
      {"lsh_bits", std::to_string(c.lsh_bits)}};
  for (const auto& [k, v] : values) {
    st.Reset();
    st.Bind(1, k).Bind(2, v);
    DOTDO_RETURN_IF_ERROR(st.Run());
  }
  return OkStatus();
}

const FieldResolver& VectorFields() {
  static const JsonColumnFields fields({{"$type", "type", ValueKind::kText}, {"$id", "id", ValueKind::kText}},
                                       "metadata");
  return fields;
}

double Dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void Normalize(std::vector<float>& v) {
  const double n = std::sqrt(Dot(v.data(), v.data(), static_cast<int>(v.size())));
  if (n > 0)
    for (float& x : v) x = static_cast<float>(x / n);
}

double MetricScore(VectorMetric metric, const float* a, const float* b, int n) {
  if (metric != VectorMetric::kL2) return Dot(a, b, n);
  float s = 0;
  for (int i = 0; i < n; ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return -std::sqrt(static_cast<double>(s));
}

std::string FloatsToBlob(const std::vector<float>& v) {
  static_assert(std::endian::native == std::endian::little, "stored vectors are little-endian float32");
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

Result<std::vector<float>> BlobToFloats(std::string_view blob, int dimension) {
  if (blob.size() != static_cast<size_t>(dimension) * sizeof(float))
    return DataLossError("a stored vector has " + std::to_string(blob.size()) + " bytes, expected " +
                         std::to_string(dimension * 4));
  std::vector<float> v(static_cast<size_t>(dimension));
  std::memcpy(v.data(), blob.data(), blob.size());
  return v;
}

Status PrepareEmbedding(std::vector<float>& v, const VectorConfig& c, std::string_view what) {
  if (v.size() != static_cast<size_t>(c.dimension))
    return InvalidArgumentError(std::string(what) + " has " + std::to_string(v.size()) + " dimensions, expected " +
                                std::to_string(c.dimension));
  bool nonzero = false;
  for (float x : v) {
    if (!std::isfinite(x)) return InvalidArgumentError(std::string(what) + " contains NaN or infinity");
    nonzero = nonzero || x != 0;
  }
  if (!nonzero && c.metric == VectorMetric::kCosine)
    return InvalidArgumentError(std::string(what) + " is all zeros, which has no direction under the cosine metric");
  if (c.metric == VectorMetric::kCosine) Normalize(v);
  return OkStatus();
}

int64_t LshBucket(const std::vector<float>& v, int bits) {
  // The hyperplanes come from a fixed generator and our own Box-Muller transform, so buckets are
  // the same on every platform; they are made once per (dimension, bits).
  static std::mutex mu;
  static std::map<std::pair<size_t, int>, std::vector<float>> planes_by_shape;
  const std::vector<float>* planes;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto [it, fresh] = planes_by_shape.try_emplace({v.size(), bits});
    if (fresh) {
      std::mt19937_64 rng(0x9e3779b97f4a7c15ULL ^ v.size());
      auto uniform = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
      it->second.resize(v.size() * static_cast<size_t>(bits));
      for (float& x : it->second) x = static_cast<float>(std::sqrt(-2 * std::log(uniform())) * std::cos(2 * M_PI * uniform()));
    }
    planes = &it->second;
  }
  int64_t bucket = 0;
  for (int b = 0; b < bits; ++b)
    if (Dot(planes->data() + static_cast<size_t>(b) * v.size(), v.data(), static_cast<int>(v.size())) > 0)
      bucket |= int64_t{1} << b;
  return bucket;
}

int DefaultPqSubquantizers(int dimension) {
  for (int dsub : {8, 4, 2, 1})
    if (dimension % dsub == 0) return dimension / dsub;
  return dimension;
}

Result<std::optional<PqCodebook>> ReadPq(Database& db) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT m, nbits, centroids, generation FROM vec_pq"));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<PqCodebook>();
  PqCodebook pq;
  pq.m = static_cast<int>(st.ColumnInt64(0));
  pq.nbits = static_cast<int>(st.ColumnInt64(1));
  std::string_view blob = st.ColumnBlob(2);
  pq.centroids.resize(blob.size() / sizeof(float));
  std::memcpy(pq.centroids.data(), blob.data(), pq.centroids.size() * sizeof(float));
  pq.generation = st.ColumnInt64(3);
  return std::optional<PqCodebook>(std::move(pq));
}

namespace {
Result<std::unique_ptr<faiss::ProductQuantizer>> MakePq(const PqCodebook& pq, int dimension) {
  return CatchAll("product quantizer", [&]() -> Result<std::unique_ptr<faiss::ProductQuantizer>> {
    auto q = std::make_unique<faiss::ProductQuantizer>(dimension, pq.m, pq.nbits);
    if (q->centroids.size() != pq.centroids.size()) return DataLossError("the stored PQ codebook has the wrong size");
    q->centroids = pq.centroids;
    return q;
  }, StatusCode::kInternal);
}
}  // namespace

Result<std::string> PqEncode(const PqCodebook& pq, int dimension, const std::vector<float>& v) {
  DOTDO_ASSIGN_OR_RETURN(auto q, MakePq(pq, dimension));
  std::string code(q->code_size, '\0');
  return CatchAll("PQ encoding", [&]() -> Result<std::string> {
    q->compute_code(v.data(), reinterpret_cast<uint8_t*>(code.data()));
    return code;
  }, StatusCode::kInternal);
}

Result<std::vector<float>> PqDecode(const PqCodebook& pq, int dimension, std::string_view code) {
  DOTDO_ASSIGN_OR_RETURN(auto q, MakePq(pq, dimension));
  if (code.size() != q->code_size) return DataLossError("a stored PQ code has the wrong size");
  std::vector<float> out(static_cast<size_t>(dimension));
  return CatchAll("PQ decoding", [&]() -> Result<std::vector<float>> {
    q->decode(reinterpret_cast<const uint8_t*>(code.data()), out.data());
    return out;
  }, StatusCode::kInternal);
}

Result<PqCodebook> PqTrain(int dimension, const std::vector<float>& data, int64_t n) {
  PqCodebook pq;
  pq.m = DefaultPqSubquantizers(dimension);
  pq.nbits = 8;
  return CatchAll("PQ training", [&]() -> Result<PqCodebook> {
    faiss::ProductQuantizer q(dimension, pq.m, pq.nbits);
    q.cp.verbose = false;
    q.verbose = false;
    q.train(n, data.data());
    pq.centroids = q.centroids;
    return pq;
  }, StatusCode::kInternal);
}

namespace {

// SQLite's JSONB (https://sqlite.org/jsonb.html): each element is a header byte (low nibble the
// type, high nibble the payload size, or 12/13/14/15 for a 1/2/4/8-byte big-endian size after it)
// and its payload. Containers hold their elements back to back; an object alternates keys and values.
enum JsonbType : uint8_t {
  kJNull = 0, kJTrue = 1, kJFalse = 2, kJInt = 3, kJInt5 = 4, kJFloat = 5, kJFloat5 = 6,
  kJText = 7, kJTextJ = 8, kJText5 = 9, kJTextRaw = 10, kJArray = 11, kJObject = 12,
};
constexpr int kMaxJsonbDepth = 32;

class JsonbReader {
 public:
  explicit JsonbReader(std::string_view b) : b_(b) {}
  // The element at pos_ (advancing past it); nullopt for what the fast path leaves to the parser.
  std::optional<Json> Element(int depth) {
    uint8_t type = 0;
    size_t size = 0;
    if (!Header(type, size)) return std::nullopt;
    const std::string_view payload = b_.substr(pos_, size);
    pos_ += size;
    switch (type) {
      case kJNull: return Json(nullptr);
      case kJTrue: return Json(true);
      case kJFalse: return Json(false);
      case kJInt: {
        int64_t v = 0;
        auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), v);
        // Non-negative integers as the parser makes them (unsigned), so both paths give equal types.
        if (ec == std::errc() && end == payload.data() + payload.size())
          return v >= 0 ? Json(static_cast<uint64_t>(v)) : Json(v);
        return Number(payload);  // beyond int64: as the parser reads it
      }
      case kJFloat: return Number(payload);
      case kJText:
      case kJTextRaw: return Json(std::string(payload));
      case kJTextJ: {
        Json s = Json::parse("\"" + std::string(payload) + "\"", nullptr, false);
        if (s.is_discarded() || !s.is_string()) return std::nullopt;
        return s;
      }
      case kJArray:
      case kJObject: {
        if (depth >= kMaxJsonbDepth) return std::nullopt;
        JsonbReader inner(payload);
        Json out = type == kJArray ? Json::array() : Json::object();
        while (inner.pos_ < payload.size()) {
          std::optional<Json> first = inner.Element(depth + 1);
          if (!first) return std::nullopt;
          if (type == kJArray) {
            out.push_back(std::move(*first));
            continue;
          }
          if (!first->is_string()) return std::nullopt;
          std::optional<Json> value = inner.Element(depth + 1);
          if (!value) return std::nullopt;
          out[first->get<std::string>()] = std::move(*value);
        }
        return out;
      }
      default: return std::nullopt;  // INT5, FLOAT5, TEXT5 (JSON5 forms) and reserved types
    }
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  bool Header(uint8_t& type, size_t& size) {
    if (pos_ >= b_.size()) return false;
    const auto h = static_cast<uint8_t>(b_[pos_++]);
    type = h & 0x0f;
    size = h >> 4;
    if (size >= 12) {
      const size_t n = size_t{1} << (size - 12);
      if (b_.size() - pos_ < n) return false;
      size = 0;
      for (size_t i = 0; i < n; ++i) size = (size << 8) | static_cast<uint8_t>(b_[pos_++]);
    }
    return size <= b_.size() - pos_;
  }
  static std::optional<Json> Number(std::string_view text) {
    Json v = Json::parse(text, nullptr, false);
    if (v.is_discarded() || !v.is_number()) return std::nullopt;
    return v;
  }
  std::string_view b_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<Json> DecodeJsonb(std::string_view blob) {
  JsonbReader reader(blob);
  std::optional<Json> out = reader.Element(0);
  if (!out || !reader.done()) return std::nullopt;
  return out;
}

Result<Json> ParseMetadata(std::string_view text) {
  if (text == "{}") return Json::object();  // the common case, without the parser
  auto j = ParseJson(text, "stored metadata", {.max_depth = kNoDepthCheck});
  if (!j.ok() && j.status().code() == StatusCode::kInvalidArgument)
    return DataLossError("a record has unreadable metadata: " + j.status().message());
  return j;
}

}  // namespace internal
}  // namespace dotdo
