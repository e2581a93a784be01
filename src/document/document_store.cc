// DocumentStore writes (create, replace, partial updates, merge patch, JSON patch, upsert, delete)
// and point reads (get, history, time travel, history pruning). Each write runs in one
// transaction: the superseded version moves to doc_history, the new version replaces the current
// row, the stats of configured paths widen, and the change event goes to the outbox.
#include <algorithm>

#include "cdc/outbox.h"
#include "core/json.h"
#include "document/document_internal.h"
#include "document/document_reads.h"
#include "document/document_stats.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::DocumentState;
using internal::JsonPath;
using internal::StoredRow;

namespace {


Status CheckSize(const std::string& text, size_t limit, std::string_view id) {
  if (text.size() > limit)
    return ResourceExhaustedError("document '" + std::string(id) + "' is " + std::to_string(text.size()) +
                                  " bytes, over the limit of " + std::to_string(limit) +
                                  " bytes (DocumentStoreOptions::max_document_bytes)");
  return OkStatus();
}

Status CheckVersion(const std::optional<int64_t>& expected, const StoredRow& row, std::string_view id) {
  if (expected && *expected != row.version)
    return AbortedError("version conflict on document '" + std::string(id) + "': expected version " +
                        std::to_string(*expected) + " but it is at version " + std::to_string(row.version) +
                        "; re-read the document and retry");
  return OkStatus();
}

// Copies the current row of `seq` into doc_history, valid until `valid_to`.
Status ArchiveCurrent(Connection& conn, int64_t seq, int64_t valid_to) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT INTO doc_history(id, version, valid_from, valid_to, deleted, data) "
                                               "SELECT id, version, updated_at, ?2, deleted, data FROM doc_documents WHERE seq = ?1"));
  st.Bind(1, seq).Bind(2, valid_to);
  return st.Run();
}

Result<std::string> DumpDoc(const Json& doc) { return internal::DumpJsonChecked(doc, "document"); }

}  // namespace

DocumentStore::DocumentStore(Database& db, DocumentStoreOptions options) : db_(db), options_(std::move(options)) {}

Result<DocumentStore> DocumentStore::Open(Database& db, DocumentStoreOptions options) {
  if (options.max_document_bytes == 0) return InvalidArgumentError("max_document_bytes must be > 0");
  if (options.history_retention_millis < -1)
    return InvalidArgumentError("history_retention_millis must be -1 (keep forever) or >= 0");
  if (options.bloom_blocks < 1 || options.bloom_blocks > (1 << 20))
    return InvalidArgumentError("bloom_blocks must be between 1 and 1048576");
  // Existing tables are checked (a newer schema is refused); missing ones are made by the first
  // write, so a store opened only to read changes nothing.
  DOTDO_RETURN_IF_ERROR(DocumentState::ForRead(db).status());
  return DocumentStore(db, std::move(options));
}

namespace {

// A new document checked outside any transaction: its `$type` and its `$id` (empty = generate).
struct NewDoc {
  Json doc;
  std::string type;
  std::string id;
};

Result<NewDoc> CheckNew(Json doc) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateBody(doc));
  auto type_it = doc.find("$type");
  if (type_it == doc.end() || !type_it->is_string())
    return InvalidArgumentError("a new document needs a string \"$type\" (e.g. \"Customer\")");
  NewDoc out;
  out.type = type_it->get<std::string>();
  DOTDO_RETURN_IF_ERROR(internal::ValidateType(out.type));
  if (auto it = doc.find("$id"); it != doc.end()) {
    if (!it->is_string()) return InvalidArgumentError("\"$id\" must be a string");
    out.id = it->get<std::string>();
    DOTDO_RETURN_IF_ERROR(internal::ValidateId(out.id));
  }
  out.doc = std::move(doc);
  return out;
}

// Writes one new document (row, stats, event) and returns it as stored.
// REQUIRES: inside db.Transaction, with the connection lock held.
Result<Json> InsertNew(Database& db, Connection& conn, internal::Outbox* outbox, size_t max_bytes, NewDoc nd) {
  Json& doc = nd.doc;
  const std::string& type = nd.type;
  DOTDO_ASSIGN_OR_RETURN(internal::DocumentTier * tier, internal::TierOf(db));
  int64_t seq_floor = 0;
  if (tier != nullptr) {
    // A caller's id may name a moved document; generated ids are new by construction.
    if (!nd.id.empty()) DOTDO_RETURN_IF_ERROR(tier->BringBack(nd.id));
    DOTDO_ASSIGN_OR_RETURN(seq_floor, tier->SeqFloor());
  }
  if (nd.id.empty()) nd.id = db.NewId();
  const std::string& id = nd.id;
  const int64_t now = db.NowMillis();
  internal::SetSystemFields(doc, id, type, 1, now, now);
  DOTDO_ASSIGN_OR_RETURN(std::string text, DumpDoc(doc));
  DOTDO_RETURN_IF_ERROR(CheckSize(text, max_bytes, id));
  // seq: SQLite's next rowid, unless moved rows hold larger ones (their seqs are never reused).
  DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare(
                                       seq_floor == 0
                                           ? "INSERT INTO doc_documents(id, type, version, created_at, updated_at, deleted, data) "
                                             "VALUES (?1, ?2, 1, ?3, ?3, 0, jsonb(?4)) ON CONFLICT(id) DO NOTHING"
                                           : "INSERT INTO doc_documents(seq, id, type, version, created_at, updated_at, deleted, data) "
                                             "VALUES (max(?5, coalesce((SELECT max(seq) FROM doc_documents), 0)) + 1, "
                                             "?1, ?2, 1, ?3, ?3, 0, jsonb(?4)) ON CONFLICT(id) DO NOTHING"));
  ins.Bind(1, id).Bind(2, type).Bind(3, now).Bind(4, text);
  if (seq_floor != 0) ins.Bind(5, seq_floor);
  DOTDO_RETURN_IF_ERROR(ins.Run());
  if (conn.Changes() == 0) {
    // The id is taken: by a live document (conflict) or a tombstone (the id lives again).
    DOTDO_ASSIGN_OR_RETURN(auto row, internal::LoadRow(conn, id));
    if (!row) return InternalError("document '" + id + "' conflicts but cannot be read");
    if (!row->deleted)
      return AlreadyExistsError("document '" + id + "' already exists (type " + row->type +
                                "); use Replace/Update/Upsert to change it");
    const int64_t at = std::max(now, row->updated_at);
    const int64_t version = row->version + 1;
    internal::SetSystemFields(doc, id, type, version, at, at);
    DOTDO_ASSIGN_OR_RETURN(text, DumpDoc(doc));
    DOTDO_RETURN_IF_ERROR(CheckSize(text, max_bytes, id));
    DOTDO_RETURN_IF_ERROR(ArchiveCurrent(conn, row->seq, at));
    DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE doc_documents SET type = ?2, version = ?3, created_at = ?4, "
                                                 "updated_at = ?4, deleted = 0, data = jsonb(?5) WHERE seq = ?1"));
    up.Bind(1, row->seq).Bind(2, type).Bind(3, version).Bind(4, at).Bind(5, text);
    DOTDO_RETURN_IF_ERROR(up.Run());
  }
  DOTDO_RETURN_IF_ERROR(internal::RecordStats(db, type, doc));
  DOTDO_RETURN_IF_ERROR(internal::NoteIndexArrays(db, type, doc));
  // The event's `after` is the stored document: its text is the one just written.
  DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kInsert, internal::kDocumentSpec.name, type, id, std::nullopt, doc, text));
  return std::move(doc);
}

}  // namespace

Result<Json> DocumentStore::Create(Json doc) {
  DOTDO_ASSIGN_OR_RETURN(NewDoc nd, CheckNew(std::move(doc)));
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db_));
  (void)state;
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  Json result;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(result, InsertNew(db_, conn, outbox, options_.max_document_bytes, std::move(nd)));
    return OkStatus();
  }));
  return result;
}

Result<std::vector<Json>> DocumentStore::CreateMany(std::vector<Json> docs) {
  std::vector<NewDoc> checked;
  checked.reserve(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    auto nd = CheckNew(std::move(docs[i]));
    if (!nd.ok()) return nd.status().WithContext("document " + std::to_string(i) + " of the batch");
    checked.push_back(std::move(nd).value());
  }
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db_));
  (void)state;
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::vector<Json> stored;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    stored.clear();
    stored.reserve(checked.size());
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    for (size_t i = 0; i < checked.size(); ++i) {
      auto one = InsertNew(db_, conn, outbox, options_.max_document_bytes, std::move(checked[i]));
      if (!one.ok()) return one.status().WithContext("document " + std::to_string(i) + " of the batch");
      stored.push_back(std::move(one).value());
    }
    return OkStatus();
  }));
  return stored;
}

Result<Json> DocumentStore::Get(std::string_view id) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateId(id));
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db_));
  if (state == nullptr) return NotFoundError("document '" + std::string(id) + "' does not exist");
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare(
                                      "SELECT json(data) FROM doc_documents WHERE id = ?1 AND deleted = 0"));
  st.Bind(1, id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) {
    auto doc = internal::ParseStoredDocument(st.ColumnText(0), "stored document '" + std::string(id) + "'");
    st.Reset();  // the read ends before a due flush
    if (doc.ok()) {
      internal::DocumentReadLog& reads = internal::ReadLogOf(db_);
      if (reads.Record(id)) reads.FlushIfDue();
    }
    return doc;
  }
  st.Reset();
  DOTDO_ASSIGN_OR_RETURN(internal::DocumentTier * tier, internal::TierOf(db_));
  if (tier != nullptr) {
    DOTDO_ASSIGN_OR_RETURN(std::optional<StoredRow> moved, tier->Current(id));
    if (moved && !moved->deleted) return std::move(moved->doc);
  }
  return NotFoundError("document '" + std::string(id) + "' does not exist");
}

// Shared read-modify-write of a live document: `mutate` turns the current body (the document
// without system fields) into the new one.
Result<Json> DocumentStore::WriteVersion(std::string_view id, const std::optional<int64_t>& expected_version,
                                         const std::function<Status(const StoredRowView&, Json&)>& mutate) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateId(id));
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db_));
  (void)state;
  Connection& conn = DatabaseInternals::Conn(db_);
  Json result;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(auto row, internal::LoadRowForWrite(db_, conn, id));
    if (!row || row->deleted) return NotFoundError("document '" + std::string(id) + "' does not exist");
    DOTDO_RETURN_IF_ERROR(CheckVersion(expected_version, *row, id));
    Json body = internal::BodyOf(row->doc);
    DOTDO_RETURN_IF_ERROR(mutate(StoredRowView{row->type, row->version}, body));
    DOTDO_RETURN_IF_ERROR(internal::ValidateBody(body));
    body = internal::BodyOf(body);
    const int64_t now = std::max(db_.NowMillis(), row->updated_at);
    const int64_t version = row->version + 1;
    internal::SetSystemFields(body, id, row->type, version, row->created_at, now);
    DOTDO_ASSIGN_OR_RETURN(std::string text, DumpDoc(body));
    DOTDO_RETURN_IF_ERROR(CheckSize(text, options_.max_document_bytes, id));
    DOTDO_RETURN_IF_ERROR(ArchiveCurrent(conn, row->seq, now));
    DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE doc_documents SET version = ?2, updated_at = ?3, "
                                                 "data = jsonb(?4) WHERE seq = ?1"));
    up.Bind(1, row->seq).Bind(2, version).Bind(3, now).Bind(4, text);
    DOTDO_RETURN_IF_ERROR(up.Run());
    DOTDO_RETURN_IF_ERROR(internal::RecordStats(db_, row->type, body));
    DOTDO_RETURN_IF_ERROR(internal::NoteIndexArrays(db_, row->type, body));
    Json before = Json::object(), after = Json::object();
    internal::DiffObjects(row->doc, body, before, after);
    DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kUpdate, internal::kDocumentSpec.name, row->type, id, std::move(before), std::move(after)));
    result = std::move(body);
    return OkStatus();
  }));
  return result;
}

Result<Json> DocumentStore::Replace(std::string_view id, Json doc, DocumentUpdateOptions options) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateBody(doc));
  return WriteVersion(id, options.expected_version, [&](const StoredRowView& row, Json& body) -> Status {
    if (auto it = doc.find("$id"); it != doc.end() && (!it->is_string() || *it != id))
      return InvalidArgumentError("\"$id\" in the new body (" + internal::DumpJson(*it) + ") differs from the document id '" +
                                  std::string(id) + "'");
    if (auto it = doc.find("$type"); it != doc.end() && (!it->is_string() || *it != row.type))
      return InvalidArgumentError("a document's $type cannot change (stored " + row.type + ", got " + internal::DumpJson(*it) +
                                  "); delete it and create a new one");
    body = std::move(doc);
    return OkStatus();
  });
}

Result<Json> DocumentStore::MergePatch(std::string_view id, const Json& patch, DocumentUpdateOptions options) {
  if (!patch.is_object())
    return InvalidArgumentError(std::string("a merge patch for a document must be an object, got ") + patch.type_name());
  for (auto it = patch.begin(); it != patch.end(); ++it)
    if (!it.key().empty() && it.key()[0] == '$')
      return InvalidArgumentError("a merge patch cannot change '" + it.key().substr(0, 80) + "': keys starting with '$' are system fields");
  return WriteVersion(id, options.expected_version, [&](const StoredRowView&, Json& body) -> Status {
    return internal::CatchAll("merge patch failed", [&] {
      body.merge_patch(patch);
      return OkStatus();
    });
  });
}

Result<Json> DocumentStore::JsonPatch(std::string_view id, const Json& patch, DocumentUpdateOptions options) {
  if (!patch.is_array())
    return InvalidArgumentError(std::string("a JSON Patch must be an array of operations, got ") + patch.type_name());
  if (patch.size() > kMaxJsonPatchOperations)
    return InvalidArgumentError("a JSON Patch has " + std::to_string(patch.size()) + " operations; the limit is " +
                                std::to_string(kMaxJsonPatchOperations));
  for (size_t i = 0; i < patch.size(); ++i) {
    const Json& op = patch[i];
    if (!op.is_object()) return InvalidArgumentError("JSON Patch operation " + std::to_string(i) + " is not an object");
    for (const char* field : {"path", "from"}) {
      auto it = op.find(field);
      if (it != op.end() && it->is_string() && it->get<std::string>().rfind("/$", 0) == 0)
        return InvalidArgumentError("JSON Patch operation " + std::to_string(i) + " targets '" +
                                    it->get<std::string>().substr(0, 80) +
                                    "': keys starting with '$' are system fields maintained by the store");
    }
  }
  return WriteVersion(id, options.expected_version, [&](const StoredRowView&, Json& body) -> Status {
    // One pass over the operations on one working copy (linear in the patch, whatever its "test"s);
    // the body changes only if every operation succeeded.
    Json working = body;
    for (size_t i = 0; i < patch.size(); ++i) {
      const Json& op = patch[i];
      const bool is_test = op.contains("op") && op["op"].is_string() && op["op"] == "test";
      if (!is_test) {
        DOTDO_RETURN_IF_ERROR(internal::CatchAll("JSON Patch operation " + std::to_string(i) + " failed; nothing was changed",
                                                 [&] {
                                                   working.patch_inplace(Json::array({op}));
                                                   return OkStatus();
                                                 }));
        continue;
      }
      // A failing "test" operation is a precondition on the state, not malformed input.
      if (!op.contains("path") || !op["path"].is_string() || !op.contains("value"))
        return InvalidArgumentError("JSON Patch operation " + std::to_string(i) + " ('test') needs \"path\" and \"value\"");
      DOTDO_RETURN_IF_ERROR(internal::CatchAll("JSON Patch failed", [&]() -> Status {
        Json::json_pointer ptr(op["path"].get<std::string>());
        const bool found = working.contains(ptr);
        if (!found || working.at(ptr) != op["value"])
          return FailedPreconditionError("JSON Patch operation " + std::to_string(i) + " failed: 'test' of " +
                                         op["path"].get<std::string>() + " expected " +
                                         internal::DumpJson(op["value"]).substr(0, 80) +
                                         (found ? " but found " + internal::DumpJson(working.at(ptr)).substr(0, 80)
                                                : " but the path does not exist") +
                                         "; nothing was changed");
        return OkStatus();
      }));
    }
    if (!working.is_object()) return InvalidArgumentError("JSON Patch must leave the document an object");
    body = std::move(working);
    return OkStatus();
  });
}

Result<Json> DocumentStore::Upsert(Json doc) {
  if (!doc.is_object())
    return InvalidArgumentError(std::string("a document must be a JSON object, got ") + doc.type_name());
  auto it = doc.find("$id");
  if (it == doc.end()) return Create(std::move(doc));
  if (!it->is_string()) return InvalidArgumentError("\"$id\" must be a string");
  const std::string id = it->get<std::string>();
  DOTDO_RETURN_IF_ERROR(internal::ValidateId(id));
  Result<Json> out = NotFoundError("");
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    out = Replace(id, doc);
    if (out.ok() || out.status().code() != StatusCode::kNotFound) return out.status();
    out = Create(doc);
    return out.status();
  }));
  return out;
}

Status DocumentStore::Delete(std::string_view id, DocumentDeleteOptions options) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateId(id));
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db_));
  (void)state;
  Connection& conn = DatabaseInternals::Conn(db_);
  return db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(auto row, internal::LoadRowForWrite(db_, conn, id));
    // A hard delete also purges a soft-deleted document.
    if (!row || (row->deleted && !options.hard))
      return NotFoundError("document '" + std::string(id) + "' does not exist");
    DOTDO_RETURN_IF_ERROR(CheckVersion(options.expected_version, *row, id));
    if (options.hard) {
      DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM doc_documents WHERE seq = ?1"));
      del.Bind(1, row->seq);
      DOTDO_RETURN_IF_ERROR(del.Run());
      DOTDO_ASSIGN_OR_RETURN(auto hist, conn.Prepare("DELETE FROM doc_history WHERE id = ?1"));
      hist.Bind(1, id);
      DOTDO_RETURN_IF_ERROR(hist.Run());
      DOTDO_ASSIGN_OR_RETURN(internal::DocumentTier * tier, internal::TierOf(db_));
      if (tier != nullptr) DOTDO_RETURN_IF_ERROR(tier->Forget(id));
    } else {
      const int64_t now = std::max(db_.NowMillis(), row->updated_at);
      DOTDO_RETURN_IF_ERROR(ArchiveCurrent(conn, row->seq, now));
      // The tombstone keeps the last live body; its version is the delete's.
      DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE doc_documents SET version = version + 1, updated_at = ?2, "
                                                   "deleted = 1 WHERE seq = ?1"));
      up.Bind(1, row->seq).Bind(2, now);
      DOTDO_RETURN_IF_ERROR(up.Run());
    }
    return outbox->AppendChange(ChangeOp::kDelete, internal::kDocumentSpec.name, row->type, id, row->doc, std::nullopt);
  });
}

namespace {

// A history entry as the API shows it: the document, or a delete marker.
Json HistoryEntry(Json doc, bool deleted, int64_t version, int64_t valid_from) {
  if (!deleted) return doc;
  Json marker = Json::object();
  marker["$id"] = doc.value("$id", "");
  marker["$type"] = doc.value("$type", "");
  marker["$version"] = version;
  marker["$deleted"] = true;
  marker["$updatedAt"] = FormatIso8601(valid_from);
  return marker;
}

Result<Json> ParseStored(std::string_view text, std::string_view id) {
  return internal::ParseStoredDocument(text, "stored version of document '" + std::string(id) + "'");
}

}  // namespace

Result<std::vector<Json>> DocumentStore::History(std::string_view id) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateId(id));
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db_));
  if (state == nullptr) return NotFoundError("document '" + std::string(id) + "' has no history");
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(internal::DocumentTier * tier, internal::TierOf(db_));
  internal::ReadSnapshot snapshot(conn, tier != nullptr);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  std::vector<internal::HistoryRow> versions;
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT version, valid_from, valid_to, deleted, json(data) FROM doc_history "
                                                 "WHERE id = ?1 ORDER BY version"));
    st.Bind(1, id);
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      DOTDO_ASSIGN_OR_RETURN(Json doc, ParseStored(st.ColumnText(4), id));
      versions.push_back({st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3) != 0, std::move(doc)});
    }
  }
  std::optional<StoredRow> current;
  if (tier != nullptr) {
    DOTDO_ASSIGN_OR_RETURN(std::vector<internal::HistoryRow> moved, tier->History(id));
    for (auto& h : moved) versions.push_back(std::move(h));
    std::sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    DOTDO_ASSIGN_OR_RETURN(current, tier->Current(id));
  } else {
    DOTDO_ASSIGN_OR_RETURN(current, internal::LoadRow(conn, id));
  }
  std::vector<Json> out;
  for (auto& h : versions) out.push_back(HistoryEntry(std::move(h.doc), h.deleted, h.version, h.valid_from));
  if (current) out.push_back(HistoryEntry(std::move(current->doc), current->deleted, current->version, current->updated_at));
  if (out.empty()) return NotFoundError("document '" + std::string(id) + "' has no history");
  return out;
}

Result<Json> DocumentStore::GetAsOf(std::string_view id, int64_t unix_millis) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateId(id));
  DOTDO_RETURN_IF_ERROR(ValidateTimestampMillis(unix_millis, "GetAsOf time"));
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db_));
  if (state == nullptr)
    return NotFoundError("document '" + std::string(id) + "' does not exist at " + FormatIso8601(unix_millis));
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  auto missing = [&](const char* why) {
    return NotFoundError("document '" + std::string(id) + "' " + why + " at " + FormatIso8601(unix_millis));
  };
  DOTDO_ASSIGN_OR_RETURN(internal::DocumentTier * tier, internal::TierOf(db_));
  internal::ReadSnapshot snapshot(conn, tier != nullptr);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  std::optional<StoredRow> current;
  if (tier != nullptr) {
    DOTDO_ASSIGN_OR_RETURN(current, tier->Current(id));
  } else {
    DOTDO_ASSIGN_OR_RETURN(current, internal::LoadRow(conn, id));
  }
  if (current && current->updated_at <= unix_millis) {
    if (current->deleted) return missing("was deleted");
    return std::move(current->doc);
  }
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT deleted, json(data) FROM doc_history WHERE id = ?1 AND "
                                                 "valid_from <= ?2 AND ?2 < valid_to ORDER BY version DESC LIMIT 1"));
    st.Bind(1, id).Bind(2, unix_millis);
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      if (st.ColumnInt64(0) != 0) return missing("was deleted");
      return ParseStored(st.ColumnText(1), id);
    }
  }
  if (tier != nullptr) {
    // Moved versions are older than every hot one of the same id.
    DOTDO_ASSIGN_OR_RETURN(std::vector<internal::HistoryRow> moved, tier->History(id));
    const internal::HistoryRow* best = nullptr;
    for (const auto& h : moved)
      if (h.valid_from <= unix_millis && unix_millis < h.valid_to && (best == nullptr || h.version > best->version)) best = &h;
    if (best != nullptr) {
      if (best->deleted) return missing("was deleted");
      return best->doc;
    }
  }
  return missing("did not exist (or that version was pruned)");
}

Result<int64_t> DocumentStore::PruneHistory(int64_t before_unix_millis) {
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db_));
  (void)state;
  Connection& conn = DatabaseInternals::Conn(db_);
  int64_t removed = 0;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("DELETE FROM doc_history WHERE valid_to <= ?1"));
    st.Bind(1, before_unix_millis);
    DOTDO_RETURN_IF_ERROR(st.Run());
    removed = conn.Changes();
    DOTDO_ASSIGN_OR_RETURN(internal::DocumentTier * tier, internal::TierOf(db_));
    if (tier != nullptr) DOTDO_RETURN_IF_ERROR(tier->PruneHistory(before_unix_millis));
    return OkStatus();
  }));
  return removed;
}

Result<int64_t> DocumentStore::PruneHistory() {
  if (options_.history_retention_millis < 0) return int64_t{0};
  return PruneHistory(db_.NowMillis() - options_.history_retention_millis);
}

}  // namespace dotdo
