// VectorStore::Search: plain HNSW, the progressive pipeline (binary Hamming -> 64-d prefix ->
// 256-d prefix -> exact rerank), Matryoshka prefix search, and exact search over filtered rows.
//
// How a filtered search is answered: one pass over the rows matching the filter scores them; when at
// most options.exact_filter_rows rows match, or at most options.exact_filter_fraction of all rows,
// that exact scan is the answer (complete and exact however selective the filter).
// Otherwise HNSW is asked for limit * total / matches * 2 + 10 candidates (enough to hold `limit`
// matches at that selectivity with margin), which are filtered in SQL; if fewer than min(limit,
// matches) survive, the exact scan answers instead.
//
// Where a result comes from: a search first has the index caught up (invariants 4 and 5 of
// vector_internal.h); then an unfiltered search without content or metadata is answered from the
// index's memory alone (id, $type, exact score), reading no row. Anything that needs a row (a filter
// checked in SQL, content, metadata) runs its reads in one read transaction in which the index was
// seen current, and a label without a row there is skipped, never served.
// A term on an indexed metadata path (VectorStoreOptions::indexed_metadata_paths) compiles to the
// plain scalar form its expression index serves, so a selective filter reads only its matching rows.
#include <algorithm>
#include <cmath>
#include <optional>
#include <queue>
#include <unordered_set>

#include "core/json.h"
#include "core/read_snapshot.h"
#include "vector/vector_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::VectorConfig;

namespace internal {

namespace {

using Scored = std::pair<double, int64_t>;  // (score, label)

// Keeps the k best (score, label) pairs.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) {}
  void Add(double score, int64_t label) {
    if (heap_.size() < k_) {
      heap_.emplace(score, label);
    } else if (k_ > 0 && score > heap_.top().first) {
      heap_.pop();
      heap_.emplace(score, label);
    }
  }
  std::vector<Scored> Sorted() {
    std::vector<Scored> out;
    for (; !heap_.empty(); heap_.pop()) out.push_back(heap_.top());
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  size_t k_;
  std::priority_queue<Scored, std::vector<Scored>, std::greater<>> heap_;
};

double PrefixCosine(const float* q, const float* v, int d) {
  double qv = 0, vv = 0, qq = 0;
  for (int i = 0; i < d; ++i) {
    qv += q[i] * v[i];
    vv += v[i] * v[i];
    qq += q[i] * q[i];
  }
  return qq > 0 && vv > 0 ? qv / std::sqrt(qq * vv) : 0.0;
}

struct Query {
  const VectorConfig& config;
  const std::vector<float>& v;  // dimension floats (or vector_dim floats for a prefix search)
  int dim;                      // dimensions compared
  int64_t limit;
  const CompiledFilter* filter;  // null when none
  SearchStage stage;
  bool with_content;
  bool with_metadata;
};

double Score(const Query& q, const float* stored) {
  if (q.dim < q.config.dimension) return PrefixCosine(q.v.data(), stored, q.dim);
  return MetricScore(q.config.metric, q.v.data(), stored, q.dim);
}

// The slow path of DecodeJsonb: SQLite renders the blob as text, the parser reads it.
Result<Json> MetadataText(Connection& conn, std::string_view jsonb) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT json(?1)"));
  st.BindBlob(1, jsonb);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return InternalError("json() returned no row");
  return ParseMetadata(st.ColumnText(0));
}

// The row statement of a query: id and $type, the asked-for columns, the filter.
std::string RowSql(const Query& q) {
  std::string sql = "SELECT id, type";
  if (q.with_content) sql += ", content";
  if (q.with_metadata) sql += ", metadata";
  sql += " FROM vec_records WHERE label = ?1";
  // The filter's "?" parameters number on from ?1.
  if (q.filter) sql += " AND (" + q.filter->sql + ")";
  return sql;
}

// Fetches the rows of `scored` (labels, best first) and returns the first q.limit that still exist
// (and match the filter) in that order. One cached statement, stepped once per label: a label whose
// row is gone or filtered out is never served, and the lookups stop as soon as `limit` rows are found.
Result<std::vector<VectorSearchResult>> Materialize(Database& db, const std::vector<Scored>& scored, const Query& q) {
  std::vector<VectorSearchResult> out;
  if (scored.empty()) return out;
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(RowSql(q)));
  if (q.filter)
    for (size_t i = 0; i < q.filter->params.size(); ++i) st.Bind(static_cast<int>(i + 2), q.filter->params[i]);
  out.reserve(std::min(scored.size(), static_cast<size_t>(q.limit)));
  for (const auto& [score, label] : scored) {
    if (static_cast<int64_t>(out.size()) >= q.limit) break;
    st.Reset();
    st.Bind(1, label);
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) continue;
    VectorSearchResult& r = out.emplace_back();
    r.id = st.ColumnString(0);
    r.type = st.ColumnString(1);
    int col = 2;
    if (q.with_content) r.content = st.ColumnString(col++);
    if (q.with_metadata) {
      const std::string_view blob = st.ColumnBlob(col);
      std::optional<Json> metadata = DecodeJsonb(blob);
      if (metadata) {
        r.metadata = std::move(*metadata);
      } else {
        DOTDO_ASSIGN_OR_RETURN(r.metadata, MetadataText(conn, blob));
      }
    }
    r.score = score;
    r.stage = q.stage;
  }
  return out;
}

// Results of `scored` ((score, internal id) of live elements, best first). Served from the index's
// memory when nothing needs a row and the index is known to reflect the committed state
// (`current`); otherwise their rows are read by label (Materialize, which also applies q.filter).
Result<std::vector<VectorSearchResult>> Output(Database& db, const VectorIndex& index, const std::vector<Scored>& scored,
                                               const Query& q, bool current) {
  if (current && !q.filter && !q.with_content && !q.with_metadata) {
    std::vector<VectorSearchResult> out;
    out.reserve(std::min(scored.size(), static_cast<size_t>(q.limit)));
    for (const auto& [score, id] : scored) {
      if (static_cast<int64_t>(out.size()) >= q.limit) break;
      const auto internal_id = static_cast<size_t>(id);
      VectorSearchResult& r = out.emplace_back();
      r.id = index.IdOf(internal_id);
      r.type = index.TypeOf(internal_id);
      r.score = score;
      r.stage = q.stage;
    }
    return out;
  }
  std::vector<Scored> labels;
  labels.reserve(scored.size());
  for (const auto& [score, id] : scored) labels.emplace_back(score, index.LabelOf(static_cast<size_t>(id)));
  return Materialize(db, labels, q);
}

// Exact scan of the rows matching the filter, read from SQLite (the truth). With max_rows >= 0,
// gives up (nullopt) as soon as more rows than that match.
Result<std::optional<std::vector<VectorSearchResult>>> ExactSqlBounded(Database& db, Query q, int64_t max_rows) {
  q.stage = SearchStage::kExact;
  Connection& conn = DatabaseInternals::Conn(db);
  // The filter reads the narrow vec_records rows (CROSS JOIN keeps them the outer loop); only the
  // matching rows' vectors are fetched.
  std::string sql = q.filter ? "SELECT r.label, v.embedding FROM vec_records AS r CROSS JOIN vec_vectors AS v ON v.label = r.label "
                               "WHERE " + q.filter->sql
                             : std::string("SELECT label, embedding FROM vec_vectors");
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
  if (q.filter) st.BindValues(q.filter->params);
  TopK top(static_cast<size_t>(q.limit));
  for (int64_t rows = 0;; ++rows) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (max_rows >= 0 && rows >= max_rows) return std::optional<std::vector<VectorSearchResult>>();
    std::string_view blob = st.ColumnBlob(1);
    if (blob.size() != static_cast<size_t>(q.config.dimension) * sizeof(float))
      return DataLossError("a stored vector has the wrong size");
    std::vector<float> v(static_cast<size_t>(q.config.dimension));
    std::memcpy(v.data(), blob.data(), blob.size());
    top.Add(Score(q, v.data()), st.ColumnInt64(0));
  }
  st = Statement();
  DOTDO_ASSIGN_OR_RETURN(auto results, Materialize(db, top.Sorted(), q));
  return std::optional<std::vector<VectorSearchResult>>(std::move(results));
}

Result<std::vector<VectorSearchResult>> ExactSql(Database& db, const Query& q) {
  DOTDO_ASSIGN_OR_RETURN(auto results, ExactSqlBounded(db, q, -1));
  if (!results.has_value()) return InternalError("an unbounded exact scan returned no answer");
  std::vector<VectorSearchResult> out = std::move(results.value());
  return out;
}

// Labels matching the filter (for in-memory scans restricted by a filter).
Result<std::unordered_set<int64_t>> MatchingLabels(Database& db, const CompiledFilter& filter) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT label FROM vec_records WHERE " + filter.sql));
  st.BindValues(filter.params);
  std::unordered_set<int64_t> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.insert(st.ColumnInt64(0));
  }
  return out;
}

// Candidates (internal ids) of the live elements, restricted to `allowed` when given.
std::vector<size_t> LiveIds(const VectorIndex& index, const std::unordered_set<int64_t>* allowed) {
  std::vector<size_t> ids;
  ids.reserve(index.capacity());
  for (size_t id = 0; id < index.capacity(); ++id)
    if (index.Live(id) && (!allowed || allowed->count(index.LabelOf(id)))) ids.push_back(id);
  return ids;
}

// Keeps the `keep` best of `ids` by `score` (higher is better).
template <typename F>
void KeepBest(std::vector<size_t>& ids, int64_t keep, F score) {
  if (static_cast<int64_t>(ids.size()) <= keep) return;
  std::vector<std::pair<double, size_t>> s;
  s.reserve(ids.size());
  for (size_t id : ids) s.emplace_back(score(id), id);
  std::nth_element(s.begin(), s.begin() + keep, s.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  ids.clear();
  for (int64_t i = 0; i < keep; ++i) ids.push_back(s[static_cast<size_t>(i)].second);
}

// `allowed` (when given) holds the labels matching the filter, read in the search's snapshot; the
// results then need no filter check (q.filter is left unset).
Result<std::vector<VectorSearchResult>> Progressive(Database& db, const VectorIndex& index, Query q,
                                                    const VectorSearchStages& stages,
                                                    const std::unordered_set<int64_t>* allowed, bool current) {
  std::vector<size_t> ids = LiveIds(index, allowed);
  const size_t words = index.words();
  std::vector<uint64_t> qcode(words, 0);
  for (int i = 0; i < q.config.dimension; ++i)
    if (q.v[static_cast<size_t>(i)] > 0) qcode[static_cast<size_t>(i) / 64] |= uint64_t{1} << (i % 64);
  KeepBest(ids, stages.binary, [&](size_t id) {
    const uint64_t* c = index.CodeOf(id);
    int d = 0;
    for (size_t w = 0; w < words; ++w) d += std::popcount(c[w] ^ qcode[w]);
    return -static_cast<double>(d);
  });
  if (64 < q.config.dimension)
    KeepBest(ids, stages.prefix64, [&](size_t id) { return PrefixCosine(q.v.data(), index.VectorOf(id), 64); });
  if (256 < q.config.dimension)
    KeepBest(ids, stages.prefix256, [&](size_t id) { return PrefixCosine(q.v.data(), index.VectorOf(id), 256); });
  TopK top(static_cast<size_t>(q.limit));
  for (size_t id : ids) top.Add(Score(q, index.VectorOf(id)), static_cast<int64_t>(id));
  q.stage = SearchStage::kRerank;
  return Output(db, index, top.Sorted(), q, current);
}

Result<std::vector<VectorSearchResult>> ExactIndex(Database& db, const VectorIndex& index, Query q,
                                                   const std::unordered_set<int64_t>* allowed, bool current) {
  q.stage = SearchStage::kExact;
  TopK top(static_cast<size_t>(q.limit));
  for (size_t id = 0; id < index.capacity(); ++id) {
    if (!index.Live(id)) continue;
    if (allowed && !allowed->count(index.LabelOf(id))) continue;
    top.Add(Score(q, index.VectorOf(id)), static_cast<int64_t>(id));
  }
  return Output(db, index, top.Sorted(), q, current);
}

Result<int64_t> Count(Database& db, const CompiledFilter* filter) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(std::string("SELECT COUNT(*) FROM vec_records") +
                                               (filter ? " WHERE " + filter->sql : "")));
  if (filter) st.BindValues(filter->params);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

Status ValidateSearch(const VectorConfig& c, const VectorSearchOptions& q) {
  if (q.limit < 1 || q.limit > kMaxVectorSearchLimit)
    return InvalidArgumentError("limit must be 1.." + std::to_string(kMaxVectorSearchLimit));
  if (q.ef < 0 || q.ef > 100000) return InvalidArgumentError("ef must be 0..100000");
  if (q.vector_dim != 0 && q.vector_dim != c.dimension &&
      std::find(c.dims.begin(), c.dims.end(), q.vector_dim) == c.dims.end())
    return InvalidArgumentError("vector_dim must be the dimension or one of the stored prefixes " + Json(c.dims).dump());
  if (q.stages) {
    const auto& s = *q.stages;
    if (s.binary > 1000000 || s.binary < s.prefix64 || s.prefix64 < s.prefix256 || s.prefix256 < q.limit)
      return InvalidArgumentError("stage candidate counts must satisfy 1000000 >= binary >= prefix64 >= prefix256 >= limit");
    if (q.vector_dim != 0 && q.vector_dim != c.dimension)
      return InvalidArgumentError("the progressive pipeline searches the full dimension; leave vector_dim unset");
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<VectorSearchResult>> SearchImpl(Database& db, const VectorConfig& config, const VectorStoreOptions& options,
                                                   const VectorSearchOptions& q) {
  DOTDO_RETURN_IF_ERROR(ValidateSearch(config, q));
  const int dim = q.vector_dim == 0 ? config.dimension : q.vector_dim;
  std::vector<float> query = q.embedding;
  if (dim < config.dimension && query.size() == static_cast<size_t>(config.dimension)) query.resize(static_cast<size_t>(dim));
  const VectorConfig query_config{.dimension = dim,
                                  .metric = dim < config.dimension ? VectorMetric::kCosine : config.metric,
                                  .lsh_bits = config.lsh_bits};
  DOTDO_RETURN_IF_ERROR(PrepareEmbedding(query, query_config, "the query embedding"));
  std::optional<CompiledFilter> compiled;
  const CompiledFilter* filter = nullptr;
  if (!q.filter.is_null() && !(q.filter.is_object() && q.filter.empty())) {
    DOTDO_ASSIGN_OR_RETURN(compiled, CompileVectorFilter(db, q.filter));
    if (compiled->sql != "1") filter = &*compiled;
  }
  DOTDO_ASSIGN_OR_RETURN(bool present, StoreSchemaPresent(db, kVectorSpec));
  if (!present) return std::vector<VectorSearchResult>();

  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(VectorState * state, VectorStateOf(db));
  VectorIndex& index = state->index;
  // Whether the index is known to reflect exactly the state the search's reads see.
  bool current = false;
  std::optional<ReadSnapshot> snapshot;
  if (db.InTransaction()) {
    // The index may lag the caller's own uncommitted changes, or commits its snapshot already sees
    // (invariant 4): then only the truth answers.
    DOTDO_ASSIGN_OR_RETURN(current, index.CurrentInTransaction());
  } else if (!filter && !q.with_content && !q.with_metadata) {
    // Nothing but the index is read: no read transaction, only the freshness check.
    DOTDO_ASSIGN_OR_RETURN(bool fresh, index.Fresh());
    if (!fresh) DOTDO_RETURN_IF_ERROR(index.CatchUp(config, options));
    current = index.loaded();
  } else {
    // The rows read below share one read snapshot (one WAL read lock) in which the index was seen
    // current. Catching up may load, rebuild or save the index (its own transactions): outside it.
    for (int attempt = 0;; ++attempt) {
      snapshot.emplace(conn);
      DOTDO_RETURN_IF_ERROR(snapshot->status());
      DOTDO_ASSIGN_OR_RETURN(current, index.Fresh());
      // A writer of another connection committing between every catch-up and snapshot: go on
      // with rows re-read by label (never serving a row the snapshot lacks).
      if (current || attempt == 2) break;
      snapshot.reset();
      DOTDO_RETURN_IF_ERROR(index.CatchUp(config, options));
    }
  }
  Query base{config, query, dim, q.limit, filter, SearchStage::kHnsw, q.with_content, q.with_metadata};
  if (!index.loaded() || (db.InTransaction() && !current)) return ExactSql(db, base);

  int64_t matches = 0, total = 0;
  std::unordered_set<int64_t> allowed;
  if (filter) {
    // One pass over the matching rows scores them while they are few enough for the exact answer.
    total = index.elements() - index.deleted();
    const auto bound = std::max<int64_t>(options.exact_filter_rows,
                                         static_cast<int64_t>(options.exact_filter_fraction * static_cast<double>(total)));
    DOTDO_ASSIGN_OR_RETURN(auto exact, ExactSqlBounded(db, base, bound));
    if (exact) return std::move(*exact);
    DOTDO_ASSIGN_OR_RETURN(matches, Count(db, filter));
    if (dim < config.dimension || q.stages) {
      DOTDO_ASSIGN_OR_RETURN(allowed, MatchingLabels(db, *filter));
    }
  }
  const std::unordered_set<int64_t>* allowed_ptr = filter ? &allowed : nullptr;
  Query in_memory = base;
  in_memory.filter = nullptr;  // applied through `allowed`
  if (dim < config.dimension) return ExactIndex(db, index, in_memory, allowed_ptr, current);
  if (q.stages) return Progressive(db, index, in_memory, *q.stages, allowed_ptr, current);

  int64_t k = q.limit;
  if (filter) k = std::min<int64_t>(index.elements(), q.limit * total / matches * 2 + 10);
  const size_t ef = static_cast<size_t>(std::max<int64_t>(k, q.ef > 0 ? q.ef : std::max<int64_t>(q.limit, options.hnsw_ef_search)));
  auto hits = index.SearchHnsw(query, static_cast<size_t>(k), ef);
  std::vector<Scored> scored;
  scored.reserve(hits.size());
  for (const auto& [id, score] : hits) scored.emplace_back(score, static_cast<int64_t>(id));
  DOTDO_ASSIGN_OR_RETURN(auto results, Output(db, index, scored, base, current));
  if (filter && static_cast<int64_t>(results.size()) < std::min(q.limit, matches)) return ExactSql(db, base);
  return results;
}

}  // namespace internal

Result<std::vector<VectorSearchResult>> VectorStore::Search(const VectorSearchOptions& options) {
  DOTDO_ASSIGN_OR_RETURN(auto stored, internal::ReadVectorConfig(*db_));
  DOTDO_ASSIGN_OR_RETURN(VectorConfig config, internal::ResolveConfig(options_, stored));
  return internal::SearchImpl(*db_, config, options_, options);
}

}  // namespace dotdo
