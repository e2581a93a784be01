// VectorStore writes and reads: validation (nothing is written for bad input), the records with
// their binary code, LSH bucket and PQ code, the FTS5 text, the change log the index replays, and the
// CDC events (metadata only, never vectors); Get/GetPrefix; PQ training; index save and compaction.
#include <algorithm>
#include <functional>
#include <set>

#include "core/json.h"
#include "core/names.h"
#include "vector/vector_internal.h"

namespace dotdo {

using internal::Connection;
using internal::Statement;
using internal::DatabaseInternals;
using internal::VectorConfig;

namespace {

enum WriteMode { kInsertOne = 0, kUpsertOne = 1, kBatch = 2 };

struct PreparedRecord {
  VectorRecord r;
  std::string metadata_json;
};

Json Image(const VectorConfig& c, const std::string& type, bool has_content, const Json& metadata) {
  return Json{{"$type", type}, {"dimension", c.dimension}, {"matryoshkaDims", c.dims},
              {"hasContent", has_content}, {"metadata", metadata}};
}

Status ValidateId(std::string_view id) { return internal::ValidateRecordId(id, "vector id"); }

Result<PreparedRecord> Prepare(VectorRecord r, const VectorConfig& c) {
  DOTDO_RETURN_IF_ERROR(ValidateId(r.id));
  if (r.type.empty()) r.type = "Embedding";
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypeName(r.type, "$type"));
  if (r.content.size() > internal::kMaxVectorContentBytes) return InvalidArgumentError("content is larger than 1 MiB");
  DOTDO_RETURN_IF_ERROR(internal::ValidateUtf8(r.content, "content"));
  DOTDO_RETURN_IF_ERROR(internal::PrepareEmbedding(r.embedding, c, "embedding of " + internal::Quote(r.id)));
  if (r.metadata.is_null()) r.metadata = Json::object();
  if (!r.metadata.is_object())
    return InvalidArgumentError(std::string("metadata must be a JSON object, got ") + r.metadata.type_name());
  DOTDO_ASSIGN_OR_RETURN(std::string meta, internal::SerializeStoredJson(r.metadata, "metadata", internal::kMaxVectorMetadataBytes));
  return PreparedRecord{std::move(r), std::move(meta)};
}

struct Existing {
  int64_t label = 0;
  std::string type;
  bool has_content = false;
  std::string metadata;
  int64_t created_at = 0;
};

Result<std::optional<Existing>> FindExisting(Connection& conn, std::string_view id) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "SELECT label, type, content <> '', json(metadata), created_at FROM vec_records WHERE id = ?1"));
  st.Bind(1, id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Existing>();
  return std::optional<Existing>(Existing{st.ColumnInt64(0), st.ColumnString(1), st.ColumnInt64(2) != 0,
                                          st.ColumnString(3), st.ColumnInt64(4)});
}

Status AppendLog(Connection& conn, int64_t label) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT INTO vec_log(label) VALUES (?1)"));
  st.Bind(1, label);
  return st.Run();
}

Status SetText(Connection& conn, int64_t label, bool had_text, const std::string& content) {
  if (had_text) {
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM vec_fts WHERE rowid = ?1"));
    del.Bind(1, label);
    DOTDO_RETURN_IF_ERROR(del.Run());
  }
  if (content.empty()) return OkStatus();
  DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare("INSERT INTO vec_fts(rowid, content) VALUES (?1, ?2)"));
  ins.Bind(1, label).Bind(2, content);
  return ins.Run();
}

Result<int64_t> CountRecords(Connection& conn) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT COUNT(*) FROM vec_records"));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

// Current codebook, cached in the state by generation. REQUIRES: inside a transaction.
Result<const internal::PqCodebook*> CurrentPq(Database& db, internal::VectorState& state) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT generation FROM vec_pq"));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return static_cast<const internal::PqCodebook*>(nullptr);
  if (!state.pq || state.pq->generation != st.ColumnInt64(0)) {
    DOTDO_ASSIGN_OR_RETURN(state.pq, internal::ReadPq(db));
  }
  return &*state.pq;
}

// Trains PQ on (a sample of) every stored vector and re-encodes every record, inside the caller's
// transaction, with one event.
Status TrainPqLocked(Database& db, const VectorConfig& c) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(int64_t count, CountRecords(conn));
  if (count < 256)
    return FailedPreconditionError("product quantization needs at least 256 vectors; the store has " + std::to_string(count));
  constexpr int64_t kMaxTrain = 65536;
  const int64_t step = (count + kMaxTrain - 1) / kMaxTrain;
  std::vector<float> sample;
  int64_t n = 0, i = 0;
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT embedding FROM vec_vectors ORDER BY label"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (i++ % step != 0) continue;
      DOTDO_ASSIGN_OR_RETURN(auto v, internal::BlobToFloats(st.ColumnBlob(0), c.dimension));
      sample.insert(sample.end(), v.begin(), v.end());
      ++n;
    }
  }
  DOTDO_ASSIGN_OR_RETURN(internal::PqCodebook pq, internal::PqTrain(c.dimension, sample, n));
  pq.generation = static_cast<int64_t>(std::hash<std::string>{}(db.NewId()) >> 1);
  DOTDO_ASSIGN_OR_RETURN(auto put, conn.Prepare(
      "INSERT OR REPLACE INTO vec_pq(one, m, nbits, centroids, generation, trained_count, trained_at) "
      "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)"));
  put.Bind(1, pq.m).Bind(2, pq.nbits).BindBlob(3, internal::FloatsToBlob(pq.centroids)).Bind(4, pq.generation);
  put.Bind(5, count).Bind(6, db.NowMillis());
  DOTDO_RETURN_IF_ERROR(put.Run());
  std::vector<std::pair<int64_t, std::string>> codes;
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT label, embedding FROM vec_vectors"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      DOTDO_ASSIGN_OR_RETURN(auto v, internal::BlobToFloats(st.ColumnBlob(1), c.dimension));
      DOTDO_ASSIGN_OR_RETURN(auto code, internal::PqEncode(pq, c.dimension, v));
      codes.emplace_back(st.ColumnInt64(0), std::move(code));
    }
  }
  DOTDO_ASSIGN_OR_RETURN(auto upd, conn.Prepare("UPDATE vec_vectors SET pq = ?1 WHERE label = ?2"));
  for (const auto& [label, code] : codes) {
    upd.Reset();
    upd.BindBlob(1, code).Bind(2, label);
    DOTDO_RETURN_IF_ERROR(upd.Run());
  }
  DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db));
  return outbox->AppendChange(ChangeOp::kUpdate, internal::kVectorSpec.name, "pq", "codebook", std::nullopt,
                              Json{{"m", pq.m}, {"nbits", pq.nbits}, {"trainedCount", count}});
}

// The resolved configuration for a write or read.
Result<VectorConfig> ConfigFor(Database& db, const VectorStoreOptions& o) {
  DOTDO_ASSIGN_OR_RETURN(auto stored, internal::ReadVectorConfig(db));
  return internal::ResolveConfig(o, stored);
}

}  // namespace

namespace internal {
Result<VectorState*> VectorStateOf(Database& db) { return StoreStateOf<VectorState>(db, kVectorSpec); }
}  // namespace internal

Result<VectorStore> VectorStore::Open(Database& db, VectorStoreOptions options) {
  // Checked once here (options are fixed for the handle's life), not on every call.
  DOTDO_RETURN_IF_ERROR(internal::ValidateIndexedPaths(options.indexed_metadata_paths));
  DOTDO_ASSIGN_OR_RETURN(auto config, ConfigFor(db, options));
  options.dimension = config.dimension;
  options.metric = config.metric;
  options.matryoshka_dims = config.dims;
  if (!options.indexed_metadata_paths.empty()) {
    DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db, internal::kVectorSpec));
    bool indexed = !present;
    if (present) {
      DOTDO_ASSIGN_OR_RETURN(indexed, internal::MetadataIndexesPresent(db, options.indexed_metadata_paths));
    }
    // Only a missing index costs a write transaction (so a read-only namespace opens when its
    // indexes exist).
    if (!indexed) {
      DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
        DOTDO_RETURN_IF_ERROR(internal::VectorStateOf(db).status());
        return internal::EnsureMetadataIndexes(db, options.indexed_metadata_paths);
      }));
    }
  }
  return VectorStore(db, std::move(options));
}

Status VectorStore::Insert(VectorRecord record) {
  std::vector<VectorRecord> one;
  one.push_back(std::move(record));
  return Write(std::move(one), kInsertOne);
}

Status VectorStore::Upsert(VectorRecord record) {
  std::vector<VectorRecord> one;
  one.push_back(std::move(record));
  return Write(std::move(one), kUpsertOne);
}

Result<int64_t> VectorStore::InsertBatch(std::vector<VectorRecord> records) {
  const auto n = static_cast<int64_t>(records.size());
  if (records.empty()) return InvalidArgumentError("a batch needs at least one record");
  if (records.size() > kMaxVectorBatch)
    return InvalidArgumentError("a batch holds at most " + std::to_string(kMaxVectorBatch) + " records");
  DOTDO_RETURN_IF_ERROR(Write(std::move(records), kBatch));
  return n;
}

Status VectorStore::Write(std::vector<VectorRecord> records, int mode) {
  DOTDO_ASSIGN_OR_RETURN(VectorConfig c, ConfigFor(*db_, options_));
  std::vector<PreparedRecord> prepared;
  prepared.reserve(records.size());
  std::set<std::string_view> ids;
  for (VectorRecord& r : records) {
    DOTDO_ASSIGN_OR_RETURN(auto p, Prepare(std::move(r), c));
    prepared.push_back(std::move(p));
  }
  for (const auto& p : prepared)
    if (!ids.insert(p.r.id).second) return InvalidArgumentError("the batch holds id " + internal::Quote(p.r.id) + " twice");
  return db_->Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(internal::VectorState * state, internal::VectorStateOf(*db_));
    state->index.NoteWrite();
    DOTDO_RETURN_IF_ERROR(internal::StoreConfigIfMissing(*db_, c));
    DOTDO_RETURN_IF_ERROR(internal::EnsureMetadataIndexes(*db_, options_.indexed_metadata_paths));
    DOTDO_ASSIGN_OR_RETURN(auto arrays, internal::MetadataArrayTracker::Load(*db_));
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(*db_));
    DOTDO_ASSIGN_OR_RETURN(const internal::PqCodebook* pq, CurrentPq(*db_, *state));
    Connection& conn = DatabaseInternals::Conn(*db_);
    const int64_t now = db_->NowMillis();
    int64_t with_content = 0;
    for (const PreparedRecord& p : prepared) {
      const VectorRecord& r = p.r;
      DOTDO_ASSIGN_OR_RETURN(auto existing, FindExisting(conn, r.id));
      if (existing && mode != kUpsertOne) return AlreadyExistsError("vector " + internal::Quote(r.id) + " already exists");
      const std::string blob = internal::FloatsToBlob(r.embedding);
      const std::vector<uint8_t> bits = BinaryCode(r.embedding);
      std::optional<std::string> code;
      if (pq) {
        DOTDO_ASSIGN_OR_RETURN(code, internal::PqEncode(*pq, c.dimension, r.embedding));
      }
      // ?1 is the label (update) or the id (insert); ?2..?6 are the same for both.
      auto bind_values = [&](Statement& st) {
        st.Bind(2, r.type).Bind(3, r.content).Bind(4, p.metadata_json);
        st.Bind(5, internal::LshBucket(r.embedding, c.lsh_bits)).Bind(6, now);
      };
      int64_t label;
      if (existing) {
        label = existing->label;
        DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
            "UPDATE vec_records SET type = ?2, content = ?3, metadata = jsonb(?4), lsh = ?5, updated_at = ?6 WHERE label = ?1"));
        st.Bind(1, label);
        bind_values(st);
        DOTDO_RETURN_IF_ERROR(st.Run());
      } else {
        DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
            "INSERT INTO vec_records(id, type, content, metadata, lsh, created_at, updated_at) "
            "VALUES (?1, ?2, ?3, jsonb(?4), ?5, ?6, ?6)"));
        st.Bind(1, r.id);
        bind_values(st);
        DOTDO_RETURN_IF_ERROR(st.Run());
        label = conn.LastInsertRowId();
      }
      {
        DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
            "INSERT OR REPLACE INTO vec_vectors(label, embedding, binary, pq) VALUES (?1, ?2, ?3, ?4)"));
        st.Bind(1, label).BindBlob(2, blob);
        st.BindBlob(3, std::string_view(reinterpret_cast<const char*>(bits.data()), bits.size()));
        if (code) st.BindBlob(4, *code); else st.BindNull(4);
        DOTDO_RETURN_IF_ERROR(st.Run());
      }
      DOTDO_RETURN_IF_ERROR(SetText(conn, label, existing && existing->has_content, r.content));
      DOTDO_RETURN_IF_ERROR(AppendLog(conn, label));
      arrays.Note(r.metadata);
      with_content += r.content.empty() ? 0 : 1;
      if (mode == kBatch) continue;
      std::optional<Json> before;
      if (existing) {
        DOTDO_ASSIGN_OR_RETURN(Json meta, internal::ParseMetadata(existing->metadata));
        before = Image(c, existing->type, existing->has_content, meta);
      }
      DOTDO_RETURN_IF_ERROR(outbox->AppendChange(existing ? ChangeOp::kUpdate : ChangeOp::kInsert, internal::kVectorSpec.name,
                                                 internal::kRecordsTable, r.id, std::move(before),
                                                 Image(c, r.type, !r.content.empty(), r.metadata)));
    }
    DOTDO_RETURN_IF_ERROR(arrays.Flush(*db_));
    if (mode == kBatch) {
      UnifiedEvent e;
      e.type = "cdc.batch_insert";
      e.op = std::string(ChangeOpCode(ChangeOp::kInsert));
      e.store = std::string(internal::kVectorSpec.name);
      e.table = std::string(internal::kRecordsTable);
      e.after = Json{{"count", prepared.size()}, {"dimension", c.dimension}, {"matryoshkaDims", c.dims},
                     {"withContent", with_content}, {"first", prepared.front().r.id}, {"last", prepared.back().r.id}};
      DOTDO_RETURN_IF_ERROR(outbox->Append(e));
    }
    if (!pq) {
      DOTDO_ASSIGN_OR_RETURN(int64_t count, CountRecords(conn));
      if (count >= options_.pq_train_threshold) DOTDO_RETURN_IF_ERROR(TrainPqLocked(*db_, c));
    }
    return OkStatus();
  });
}

Result<bool> VectorStore::Delete(std::string_view id) {
  DOTDO_RETURN_IF_ERROR(ValidateId(id));
  DOTDO_ASSIGN_OR_RETURN(VectorConfig c, ConfigFor(*db_, options_));
  bool deleted = false;
  DOTDO_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
    deleted = false;
    DOTDO_ASSIGN_OR_RETURN(internal::VectorState * state, internal::VectorStateOf(*db_));
    state->index.NoteWrite();
    Connection& conn = DatabaseInternals::Conn(*db_);
    DOTDO_ASSIGN_OR_RETURN(auto existing, FindExisting(conn, id));
    if (!existing) return OkStatus();
    for (const char* sql : {"DELETE FROM vec_records WHERE label = ?1", "DELETE FROM vec_vectors WHERE label = ?1"}) {
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
      st.Bind(1, existing->label);
      DOTDO_RETURN_IF_ERROR(st.Run());
    }
    DOTDO_RETURN_IF_ERROR(SetText(conn, existing->label, existing->has_content, ""));
    DOTDO_RETURN_IF_ERROR(AppendLog(conn, existing->label));
    DOTDO_ASSIGN_OR_RETURN(Json meta, internal::ParseMetadata(existing->metadata));
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(*db_));
    deleted = true;
    return outbox->AppendChange(ChangeOp::kDelete, internal::kVectorSpec.name, internal::kRecordsTable, id,
                                Image(c, existing->type, existing->has_content, meta), std::nullopt);
  }));
  return deleted;
}

Result<VectorRecord> VectorStore::Get(std::string_view id) {
  DOTDO_RETURN_IF_ERROR(ValidateId(id));
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(*db_, internal::kVectorSpec));
  auto missing = [&] { return NotFoundError("no vector " + internal::Quote(id)); };
  if (!present) return missing();
  Connection& conn = DatabaseInternals::Conn(*db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "SELECT r.id, r.type, r.content, json(r.metadata), v.embedding, r.created_at, r.updated_at FROM vec_records AS r "
      "JOIN vec_vectors AS v ON v.label = r.label WHERE r.id = ?1"));
  st.Bind(1, id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return missing();
  VectorRecord r;
  r.id = st.ColumnString(0);
  r.type = st.ColumnString(1);
  r.content = st.ColumnString(2);
  DOTDO_ASSIGN_OR_RETURN(r.metadata, internal::ParseMetadata(st.ColumnString(3)));
  DOTDO_ASSIGN_OR_RETURN(r.embedding, internal::BlobToFloats(st.ColumnBlob(4), options_.dimension));
  r.created_at = st.ColumnInt64(5);
  r.updated_at = st.ColumnInt64(6);
  return r;
}

Result<std::vector<float>> VectorStore::GetPrefix(std::string_view id, int dim) {
  if (dim < 1 || dim > options_.dimension)
    return InvalidArgumentError("prefix dimension must be 1.." + std::to_string(options_.dimension));
  DOTDO_ASSIGN_OR_RETURN(VectorRecord r, Get(id));
  return TruncateEmbedding(r.embedding, dim);
}

Status VectorStore::TrainPq() {
  DOTDO_ASSIGN_OR_RETURN(VectorConfig c, ConfigFor(*db_, options_));
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(*db_, internal::kVectorSpec));
  if (!present) return FailedPreconditionError("product quantization needs at least 256 vectors; the store has 0");
  return db_->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(internal::VectorStateOf(*db_).status());
    return TrainPqLocked(*db_, c);
  });
}

Result<std::vector<float>> VectorStore::PqReconstruct(std::string_view id) {
  DOTDO_RETURN_IF_ERROR(ValidateId(id));
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(*db_, internal::kVectorSpec));
  if (!present) return NotFoundError("no vector " + internal::Quote(id));
  Connection& conn = DatabaseInternals::Conn(*db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(auto pq, internal::ReadPq(*db_));
  if (!pq) return FailedPreconditionError("product quantization is not trained yet (TrainPq)");
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT v.pq FROM vec_records AS r JOIN vec_vectors AS v ON v.label = r.label WHERE r.id = ?1"));
  st.Bind(1, id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFoundError("no vector " + internal::Quote(id));
  if (st.IsNull(0)) return FailedPreconditionError("vector " + internal::Quote(id) + " has no PQ code");
  return internal::PqDecode(*pq, options_.dimension, st.ColumnBlob(0));
}

namespace {
// Runs fn(index, config) with the index caught up. REQUIRES: not inside a transaction.
Status WithCaughtUpIndex(Database& db, const VectorStoreOptions& options,
                         const std::function<Status(internal::VectorIndex&, const VectorConfig&)>& fn) {
  if (db.InTransaction()) return FailedPreconditionError("the vector index cannot be saved inside a transaction");
  DOTDO_ASSIGN_OR_RETURN(VectorConfig c, ConfigFor(db, options));
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db, internal::kVectorSpec));
  if (!present) return OkStatus();
  auto lock = DatabaseInternals::Conn(db).Lock();
  DOTDO_ASSIGN_OR_RETURN(internal::VectorState * state, internal::VectorStateOf(db));
  DOTDO_RETURN_IF_ERROR(state->index.CatchUp(c, options));
  return fn(state->index, c);
}
}  // namespace

Status VectorStore::SaveIndex() {
  return WithCaughtUpIndex(*db_, options_, [](internal::VectorIndex& index, const VectorConfig&) { return index.Save(); });
}

Status VectorStore::Compact() {
  return WithCaughtUpIndex(*db_, options_, [&](internal::VectorIndex& index, const VectorConfig& c) {
    DOTDO_RETURN_IF_ERROR(index.Rebuild(c, options_));
    return index.Save();
  });
}

Result<VectorStats> VectorStore::Stats() {
  VectorStats s;
  DOTDO_ASSIGN_OR_RETURN(VectorConfig c, ConfigFor(*db_, options_));
  s.dimension = c.dimension;
  s.metric = c.metric;
  s.matryoshka_dims = c.dims;
  const int pq_m = internal::DefaultPqSubquantizers(c.dimension);
  Json storage{{"fullBytes", c.dimension * 4}, {"binaryBytes", (c.dimension + 7) / 8}, {"pqBytes", pq_m}};
  Json prefixes = Json::array();
  for (int d : c.dims)
    prefixes.push_back({{"dim", d}, {"bytes", d * 4}, {"savings", 1.0 - static_cast<double>(d) / c.dimension}});
  storage["prefixes"] = std::move(prefixes);
  storage["binarySavings"] = 1.0 - ((c.dimension + 7) / 8) / (c.dimension * 4.0);
  storage["pqSavings"] = 1.0 - pq_m / (c.dimension * 4.0);
  s.storage = std::move(storage);
  DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(*db_, internal::kVectorSpec));
  if (!present) return s;
  Connection& conn = DatabaseInternals::Conn(*db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(s.count, CountRecords(conn));
  s.raw_vector_bytes = s.count * c.dimension * 4;
  DOTDO_ASSIGN_OR_RETURN(auto pq, internal::ReadPq(*db_));
  s.pq_trained = pq.has_value();
  s.pq_subquantizers = pq ? pq->m : 0;
  DOTDO_ASSIGN_OR_RETURN(internal::VectorState * state, internal::VectorStateOf(*db_));
  if (!db_->InTransaction()) DOTDO_RETURN_IF_ERROR(state->index.CatchUp(c, options_));
  s.index_elements = state->index.elements();
  s.index_deleted = state->index.deleted();
  s.index_bytes = state->index.memory_bytes();
  s.index_seq = state->index.saved_seq();
  return s;
}

}  // namespace dotdo
