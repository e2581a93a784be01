// HybridSearch: FTS5 (porter tokenizer, BM25) and vector search over the same records, fused by
// weighted Reciprocal Rank Fusion (Cormack, Clarke and Buettcher, "Reciprocal Rank Fusion outperforms
// Condorcet and individual rank learning methods", SIGIR 2009): score = sum over the sides that
// ranked a record of weight / (rrf_k + rank).
//
// User text never reaches FTS5 as query syntax unless the caller asks for kRaw: in the plain modes
// every whitespace-separated word becomes a quoted FTS5 string (inner quotes doubled), words without
// a letter or digit are dropped, and the strings are joined by OR (kAnyTerm) or AND (kAllTerms). In
// kRaw mode an FTS5 syntax error is kInvalidArgument with a fixed message (no SQL, no echo).
#include <algorithm>
#include <map>

#include "core/json.h"
#include "vector/vector_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;

Json HybridResultToJson(const HybridResult& r) {
  Json j{{"id", r.id}, {"$type", r.type}, {"content", r.content}, {"metadata", r.metadata}, {"score", r.score}};
  j["ftsRank"] = r.fts_rank ? Json(*r.fts_rank) : Json();
  j["vectorRank"] = r.vector_rank ? Json(*r.vector_rank) : Json();
  j["bm25"] = r.bm25 ? Json(*r.bm25) : Json();
  j["vectorScore"] = r.vector_score ? Json(*r.vector_score) : Json();
  return j;
}

namespace {

constexpr size_t kMaxQueryBytes = 4096;

// The FTS5 expression for plain words, or empty when no word is searchable.
std::string PlainFtsQuery(std::string_view text, bool all) {
  std::string out, word;
  auto flush = [&] {
    const bool searchable = std::any_of(word.begin(), word.end(), [](char ch) {
      auto c = static_cast<unsigned char>(ch);
      return c >= 0x80 || std::isalnum(c);
    });
    if (searchable) {
      if (!out.empty()) out += all ? " AND " : " OR ";
      out += '"';
      for (char ch : word) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      out += '"';
    }
    word.clear();
  };
  for (char ch : text) {
    if (std::isspace(static_cast<unsigned char>(ch))) flush();
    else word += ch;
  }
  flush();
  return out;
}

struct Candidate {
  HybridResult result;
};

}  // namespace

Result<std::vector<HybridResult>> HybridSearch::Query(const HybridQuery& q) {
  if (q.limit < 1 || q.limit > kMaxVectorSearchLimit)
    return InvalidArgumentError("limit must be 1.." + std::to_string(kMaxVectorSearchLimit));
  if (q.rrf_k < 1 || q.rrf_k > 1000000) return InvalidArgumentError("rrf_k must be 1..1000000");
  if (!(q.fts_weight >= 0 && q.fts_weight <= 1e6) || !(q.vector_weight >= 0 && q.vector_weight <= 1e6))
    return InvalidArgumentError("fts_weight and vector_weight must be finite and >= 0");
  if (q.candidates < 0 || q.candidates > kMaxVectorSearchLimit)
    return InvalidArgumentError("candidates must be 0.." + std::to_string(kMaxVectorSearchLimit));
  if (q.query.size() > kMaxQueryBytes) return InvalidArgumentError("the text query is longer than 4096 bytes");
  DOTDO_RETURN_IF_ERROR(internal::ValidateUtf8(q.query, "the text query"));
  if (q.query.empty() && q.embedding.empty())
    return InvalidArgumentError("give a text query, an embedding, or both");
  const int64_t n = q.candidates > 0 ? q.candidates : std::max<int64_t>(4 * q.limit, 50);
  DOTDO_ASSIGN_OR_RETURN(internal::CompiledFilter filter, internal::CompileVectorFilter(db_, q.where));
  const std::string fts = q.mode == FtsQueryMode::kRaw ? q.query : PlainFtsQuery(q.query, q.mode == FtsQueryMode::kAllTerms);
  if (q.mode == FtsQueryMode::kRaw && !q.query.empty() && fts.find_first_not_of(" \t\r\n") == std::string::npos)
    return InvalidArgumentError("the full-text query is empty");

  DOTDO_ASSIGN_OR_RETURN(auto stored, internal::ReadVectorConfig(db_));
  if (!stored) return std::vector<HybridResult>();  // nothing written yet
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::map<std::string, Candidate> by_id;

  if (!q.embedding.empty()) {
    VectorStoreOptions options;
    options.dimension = stored->dimension;
    options.metric = stored->metric;
    VectorSearchOptions vq;
    vq.embedding = q.embedding;
    vq.limit = n;
    vq.filter = q.where;
    vq.vector_dim = q.vector_dim;
    vq.with_content = vq.with_metadata = true;
    DOTDO_ASSIGN_OR_RETURN(auto hits, internal::SearchImpl(db_, *stored, options, vq));
    int64_t rank = 0;
    for (auto& h : hits) {
      Candidate& c = by_id[h.id];
      c.result.id = h.id;
      c.result.type = h.type;
      c.result.content = std::move(h.content).value_or("");
      c.result.metadata = std::move(h.metadata).value_or(Json::object());
      c.result.vector_rank = ++rank;
      c.result.vector_score = h.score;
    }
  }
  if (!fts.empty()) {
    // Without a filter the best n postings are picked inside FTS5 (ORDER BY rank, i.e. bm25) before
    // the join; with one, every match is joined to its row first so the filter can drop it.
    std::string sql;
    if (filter.sql == "1") {
      sql = "SELECT r.id, r.type, r.content, json(r.metadata), f.s FROM (SELECT rowid, rank AS s FROM vec_fts "
            "WHERE vec_fts MATCH ?1 ORDER BY rank" + internal::LimitClause(n) +
            ") AS f JOIN vec_records AS r ON r.label = f.rowid ORDER BY f.s";
    } else {
      sql = "SELECT r.id, r.type, r.content, json(r.metadata), bm25(vec_fts) AS s FROM vec_fts JOIN vec_records AS r "
            "ON r.label = vec_fts.rowid WHERE vec_fts MATCH ?1 AND (" + filter.sql + ") ORDER BY s" + internal::LimitClause(n);
    }
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
    st.Bind(1, fts);
    for (size_t i = 0; i < filter.params.size(); ++i) st.Bind(static_cast<int>(i + 2), filter.params[i]);
    int64_t rank = 0;
    for (;;) {
      auto row = st.Step();
      if (!row.ok()) {
        if (row.status().code() == StatusCode::kInvalidArgument)
          return InvalidArgumentError(q.mode == FtsQueryMode::kRaw
                                          ? "the full-text query is not valid FTS5 syntax (use a plain mode to search for the words as typed)"
                                          : "the full-text query could not be run");
        return row.status();
      }
      if (!*row) break;
      const std::string id = st.ColumnString(0);
      Candidate& c = by_id[id];
      if (!c.result.vector_rank) {
        c.result.id = id;
        c.result.type = st.ColumnString(1);
        c.result.content = st.ColumnString(2);
        DOTDO_ASSIGN_OR_RETURN(c.result.metadata, internal::ParseMetadata(st.ColumnString(3)));
      }
      c.result.fts_rank = ++rank;
      c.result.bm25 = st.ColumnDouble(4);
    }
  }
  std::vector<HybridResult> out;
  for (auto& [id, c] : by_id) {
    c.result.score = RrfScore(c.result.fts_rank, c.result.vector_rank, q.fts_weight, q.vector_weight, q.rrf_k);
    out.push_back(std::move(c.result));
  }
  std::sort(out.begin(), out.end(), [](const HybridResult& a, const HybridResult& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  if (static_cast<int64_t>(out.size()) > q.limit) out.resize(static_cast<size_t>(q.limit));
  return out;
}

}  // namespace dotdo
