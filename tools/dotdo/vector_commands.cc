// `dotdo vec ...`: the VectorStore and HybridSearch from the shell. Embeddings are JSON arrays
// (literal, `@file` or `-`); batches come as a JSON array of records or as a float32 matrix file:
// `.f32` (raw little-endian float32, row-major, --dimension per row) or `.npy` (NumPy format 1.0-3.0,
// dtype '<f4', C order, shape (n, d)). Every result is JSON on stdout; validation is the store's.
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "dotdo/vector.h"

namespace dotdo::cli {
namespace {

struct VecArgs {
  std::string id, type, content, metadata, embedding, records, batch, id_prefix = "v";
  std::string filter, query, mode = "any", metric = "cosine";
  int dimension = 0, dim = 0, ef = 0;
  int64_t limit = 10, rrf_k = 60;
  double fts_weight = 1.0, vector_weight = 1.0;
  bool upsert = false, progressive = false, no_embedding = false;
};

Result<Json> JsonArg(std::string_view what, const std::string& arg) {
  DOTDO_ASSIGN_OR_RETURN(std::string text, ReadArgText(arg));
  return ParseJsonArg(what, text);
}

Result<std::vector<float>> EmbeddingArg(const std::string& arg) {
  DOTDO_ASSIGN_OR_RETURN(Json j, JsonArg("embedding", arg));
  if (!j.is_array()) return InvalidArgumentError("the embedding must be a JSON array of numbers");
  std::vector<float> v;
  for (const Json& x : j) {
    if (!x.is_number()) return InvalidArgumentError("the embedding must be a JSON array of numbers");
    v.push_back(x.get<float>());
  }
  return v;
}

Result<VectorStore> Open(Context& ctx, const VecArgs& a, bool create) {
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(create));
  DOTDO_ASSIGN_OR_RETURN(VectorMetric metric, ParseVectorMetric(a.metric));
  auto vs = n->Vectors({.dimension = a.dimension, .metric = metric});
  // A read (no --dimension) of a namespace that never stored a vector finds nothing; the store's
  // "give the dimension" applies to the first write only.
  if (!create && !vs.ok() && vs.status().code() == StatusCode::kFailedPrecondition && a.dimension == 0)
    return NotFoundError("namespace '" + ctx.ns + "' has no vectors yet");
  return vs;
}

// Rows of a float32 matrix file (.f32 with `dimension` columns, or .npy).
Result<std::vector<std::vector<float>>> ReadMatrix(const std::string& path, int dimension) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read file '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t offset = 0, cols = 0;
  if (path.size() > 4 && path.substr(path.size() - 4) == ".npy") {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return InvalidArgumentError("not a .npy file");
    const auto major = static_cast<unsigned char>(bytes[6]);
    size_t header_len = 0, start = 0;
    if (major == 1) {
      header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
      start = 10;
    } else if ((major == 2 || major == 3) && bytes.size() >= 12) {
      for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + static_cast<size_t>(i)])) << (8 * i);
      start = 12;
    } else {
      return InvalidArgumentError("unsupported .npy version");
    }
    if (start + header_len > bytes.size()) return InvalidArgumentError("truncated .npy header");
    const std::string header = bytes.substr(start, header_len);
    if (header.find("'<f4'") == std::string::npos) return InvalidArgumentError(".npy dtype must be '<f4' (float32)");
    if (header.find("'fortran_order': False") == std::string::npos) return InvalidArgumentError(".npy must be C order");
    const size_t shape = header.find("'shape': (");
    if (shape == std::string::npos) return InvalidArgumentError(".npy header has no shape");
    size_t rows = 0;
    if (std::sscanf(header.c_str() + shape + 10, "%zu, %zu)", &rows, &cols) != 2 || cols == 0)
      return InvalidArgumentError(".npy shape must be (n, d)");
    offset = start + header_len;
    if (bytes.size() - offset != rows * cols * 4) return InvalidArgumentError(".npy data size does not match its shape");
  } else {
    if (dimension <= 0) return InvalidArgumentError("a .f32 file needs --dimension");
    cols = static_cast<size_t>(dimension);
    if (bytes.size() % (cols * 4) != 0) return InvalidArgumentError(".f32 file size is not a multiple of 4 * dimension");
  }
  std::vector<std::vector<float>> out;
  for (size_t pos = offset; pos < bytes.size(); pos += cols * 4) {
    std::vector<float> row(cols);
    std::memcpy(row.data(), bytes.data() + pos, cols * 4);
    out.push_back(std::move(row));
  }
  return out;
}

Result<std::vector<VectorRecord>> BatchRecords(const VecArgs& a) {
  std::vector<VectorRecord> out;
  if (!a.batch.empty()) {
    DOTDO_ASSIGN_OR_RETURN(auto rows, ReadMatrix(a.batch, a.dimension));
    for (size_t i = 0; i < rows.size(); ++i) {
      VectorRecord r;
      r.id = a.id_prefix + std::to_string(i);
      if (!a.type.empty()) r.type = a.type;
      r.embedding = std::move(rows[i]);
      out.push_back(std::move(r));
    }
    return out;
  }
  DOTDO_ASSIGN_OR_RETURN(Json j, JsonArg("records", a.records));
  if (!j.is_array()) return InvalidArgumentError("--records must be a JSON array of records");
  for (const Json& x : j) {
    if (!x.is_object() || !x.contains("id") || !x["id"].is_string() || !x.contains("embedding"))
      return InvalidArgumentError("each record needs a string id and an embedding");
    VectorRecord r;
    r.id = x["id"];
    if (x.contains("$type") && x["$type"].is_string()) r.type = x["$type"];
    if (x.contains("content") && x["content"].is_string()) r.content = x["content"];
    if (x.contains("metadata")) r.metadata = x["metadata"];
    DOTDO_ASSIGN_OR_RETURN(r.embedding, EmbeddingArg(x["embedding"].dump()));
    out.push_back(std::move(r));
  }
  return out;
}

// For writes: the stored dimension, else --dimension, else (first write) the embeddings' own size.
Result<VectorStore> OpenForWrite(Context& ctx, const VecArgs& a, size_t embedding_size) {
  auto vs = Open(ctx, a, true);
  if (vs.ok() || vs.status().code() != StatusCode::kFailedPrecondition || a.dimension != 0) return vs;
  VecArgs sized = a;
  sized.dimension = static_cast<int>(embedding_size);
  return Open(ctx, sized, true);
}

Result<Json> RunInsert(Context& ctx, const VecArgs& a) {
  const int sources = !a.id.empty() + !a.records.empty() + !a.batch.empty();
  if (sources != 1) return InvalidArgumentError("give exactly one of --id (with --embedding), --records or --batch");
  if (!a.id.empty()) {
    VectorRecord r;
    r.id = a.id;
    if (!a.type.empty()) r.type = a.type;
    r.content = a.content;
    if (!a.metadata.empty()) {
      DOTDO_ASSIGN_OR_RETURN(r.metadata, JsonArg("metadata", a.metadata));
    }
    DOTDO_ASSIGN_OR_RETURN(r.embedding, EmbeddingArg(a.embedding));
    DOTDO_ASSIGN_OR_RETURN(VectorStore vs, OpenForWrite(ctx, a, r.embedding.size()));
    DOTDO_RETURN_IF_ERROR(a.upsert ? vs.Upsert(std::move(r)) : vs.Insert(std::move(r)));
    return Json{{"id", a.id}, {"written", 1}};
  }
  DOTDO_ASSIGN_OR_RETURN(auto records, BatchRecords(a));
  DOTDO_ASSIGN_OR_RETURN(VectorStore vs, OpenForWrite(ctx, a, records.empty() ? 0 : records[0].embedding.size()));
  DOTDO_ASSIGN_OR_RETURN(int64_t n, vs.InsertBatch(std::move(records)));
  // The next command loads the saved index instead of rebuilding it.
  DOTDO_RETURN_IF_ERROR(vs.SaveIndex());
  return Json{{"written", n}};
}

Result<Json> RunSearch(Context& ctx, const VecArgs& a) {
  VectorSearchOptions o;
  DOTDO_ASSIGN_OR_RETURN(o.embedding, EmbeddingArg(a.embedding));
  o.limit = a.limit;
  o.vector_dim = a.dim;
  o.ef = a.ef;
  if (a.progressive) o.stages = VectorSearchStages{};
  o.with_content = o.with_metadata = true;
  if (!a.filter.empty()) {
    DOTDO_ASSIGN_OR_RETURN(o.filter, JsonArg("filter", a.filter));
  }
  DOTDO_ASSIGN_OR_RETURN(VectorStore vs, Open(ctx, a, false));
  DOTDO_ASSIGN_OR_RETURN(auto hits, vs.Search(o));
  Json items = Json::array();
  for (const auto& h : hits) items.push_back(VectorSearchResultToJson(h));
  return Json{{"results", std::move(items)}};
}

Result<Json> RunHybrid(Context& ctx, const VecArgs& a) {
  HybridQuery q;
  q.query = a.query;
  if (!a.embedding.empty()) {
    DOTDO_ASSIGN_OR_RETURN(q.embedding, EmbeddingArg(a.embedding));
  }
  q.limit = a.limit;
  q.fts_weight = a.fts_weight;
  q.vector_weight = a.vector_weight;
  q.vector_dim = a.dim;
  q.rrf_k = a.rrf_k;
  if (a.mode == "any") q.mode = FtsQueryMode::kAnyTerm;
  else if (a.mode == "all") q.mode = FtsQueryMode::kAllTerms;
  else if (a.mode == "raw") q.mode = FtsQueryMode::kRaw;
  else return InvalidArgumentError("--mode must be any, all or raw");
  if (!a.filter.empty()) {
    DOTDO_ASSIGN_OR_RETURN(q.where, JsonArg("where", a.filter));
  }
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(false));
  DOTDO_ASSIGN_OR_RETURN(auto hits, HybridSearch(n->db()).Query(q));
  Json items = Json::array();
  for (const auto& h : hits) items.push_back(HybridResultToJson(h));
  return Json{{"results", std::move(items)}};
}

CommandGroup kVectorCommands(65, [](CLI::App& app, Context& ctx) {
  auto a = std::make_shared<VecArgs>();
  auto* vec = app.add_subcommand("vec", "VectorStore: embeddings, nearest-neighbour and hybrid (FTS5 + vector) search");
  vec->require_subcommand(1);
  auto store_opts = [a](CLI::App* cmd) {
    cmd->add_option("--dimension", a->dimension, "Embedding dimension (first write; default: the stored one)");
    cmd->add_option("--metric", a->metric, "cosine, dot or l2 (first write; default cosine)");
  };

  auto* insert = vec->add_subcommand("insert", "Insert one record (--id, --embedding) or a batch (--records, --batch)");
  insert->add_option("--id", a->id, "Record id");
  insert->add_option("--type", a->type, "$type (default Embedding)");
  insert->add_option("--content", a->content, "Text, indexed for full-text search");
  insert->add_option("--metadata", a->metadata, "JSON object (literal, @file or -)");
  insert->add_option("--embedding", a->embedding, "JSON array of numbers (literal, @file or -)");
  insert->add_option("--records", a->records, "JSON array of {id, $type, content, metadata, embedding} (@file or -)");
  insert->add_option("--batch", a->batch, "Float32 matrix file: .f32 (with --dimension) or .npy; ids are <prefix><row>");
  insert->add_option("--id-prefix", a->id_prefix, "Id prefix for --batch rows (default v)");
  insert->add_flag("--upsert", a->upsert, "Replace an existing record instead of failing");
  store_opts(insert);
  insert->callback([&ctx, a] { ctx.Finish(RunInsert(ctx, *a)); });

  auto* search = vec->add_subcommand("search", "Nearest records to an embedding");
  search->add_option("--embedding", a->embedding, "JSON array of numbers (literal, @file or -)")->required();
  search->add_option("--limit", a->limit, "Results, 1..10000 (default 10)");
  search->add_option("--filter", a->filter, "Filter on $type, $id and metadata paths (JSON)");
  search->add_option("--dim", a->dim, "Matryoshka prefix dimension to search on (default: full)");
  search->add_option("--ef", a->ef, "HNSW beam (default: the store's)");
  search->add_flag("--progressive", a->progressive, "Binary -> 64-d -> 256-d -> exact rerank pipeline");
  search->callback([&ctx, a] { ctx.Finish(RunSearch(ctx, *a)); });

  auto* hybrid = vec->add_subcommand("hybrid", "Full-text (BM25) and vector search fused by Reciprocal Rank Fusion");
  hybrid->add_option("--query", a->query, "Text query");
  hybrid->add_option("--embedding", a->embedding, "JSON array of numbers (literal, @file or -)");
  hybrid->add_option("--limit", a->limit, "Results, 1..10000 (default 10)");
  hybrid->add_option("--fts-weight", a->fts_weight, "RRF weight of the text rank (default 1)");
  hybrid->add_option("--vector-weight", a->vector_weight, "RRF weight of the vector rank (default 1)");
  hybrid->add_option("--dim", a->dim, "Matryoshka prefix dimension of the vector side (default: full)");
  hybrid->add_option("--where", a->filter, "Filter on $type, $id and metadata paths (JSON)");
  hybrid->add_option("--rrf-k", a->rrf_k, "RRF constant (default 60)");
  hybrid->add_option("--mode", a->mode, "any (default), all (every word) or raw (FTS5 syntax)");
  hybrid->callback([&ctx, a] { ctx.Finish(RunHybrid(ctx, *a)); });

  auto* get = vec->add_subcommand("get", "A record by id");
  get->add_option("id", a->id, "Record id")->required();
  get->add_flag("--no-embedding", a->no_embedding, "Leave the embedding out");
  get->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(VectorStore vs, Open(ctx, *a, false));
      DOTDO_ASSIGN_OR_RETURN(VectorRecord r, vs.Get(a->id));
      return VectorRecordToJson(r, !a->no_embedding);
    }());
  });

  auto* rm = vec->add_subcommand("rm", "Delete a record");
  rm->add_option("id", a->id, "Record id")->required();
  rm->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(VectorStore vs, Open(ctx, *a, false));
      DOTDO_ASSIGN_OR_RETURN(bool removed, vs.Delete(a->id));
      return Json{{"id", a->id}, {"removed", removed}};
    }());
  });

  auto* stats = vec->add_subcommand("stats", "Counts, index size and the Matryoshka/binary/PQ storage report");
  stats->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(VectorStore vs, Open(ctx, *a, false));
      DOTDO_ASSIGN_OR_RETURN(VectorStats s, vs.Stats());
      return VectorStatsToJson(s);
    }());
  });
});

}  // namespace
}  // namespace dotdo::cli
