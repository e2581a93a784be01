// ColumnarStore writes: InsertBatch (validation of the whole batch first, then per type the path
// statistics and per partition the chunks, and one cdc.batch_insert, in one transaction), Delete
// and Update through tombstones, and Compact.
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "cdc/outbox.h"
#include "columnar/columnar_internal.h"
#include "columnar/columnar_rows.h"
#include "core/json.h"
#include "core/names.h"
#include "dotdo/clock.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::Outbox;
using internal::PreparedRecord;

namespace {

constexpr int64_t kMaxCreatedAt = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z

Status CheckFinite(const Json& v, const std::string& where) {
  std::vector<const Json*> stack{&v};
  while (!stack.empty()) {
    const Json* cur = stack.back();
    stack.pop_back();
    if (cur->is_number_float() && !std::isfinite(cur->get<double>()))
      return InvalidArgumentError(where + " holds NaN or an infinity, which JSON cannot carry");
    if (cur->is_structured())
      for (const Json& child : *cur) stack.push_back(&child);
  }
  return OkStatus();
}

}  // namespace

namespace internal {

Status ValidateColumnarData(const Json& data, const ColumnarOptions& options, const std::string& what, size_t* bytes) {
  if (!data.is_object()) return InvalidArgumentError(what + ": data must be a JSON object");
  DOTDO_RETURN_IF_ERROR(CheckJsonDepth(data, kMaxJsonDepth, what));
  DOTDO_RETURN_IF_ERROR(CheckFinite(data, what));
  DOTDO_ASSIGN_OR_RETURN(std::string text, DumpJsonChecked(data, what));
  if (static_cast<int64_t>(text.size()) > options.max_record_bytes)
    return InvalidArgumentError(what + ": data is " + std::to_string(text.size()) + " bytes, more than max_record_bytes (" +
                                std::to_string(options.max_record_bytes) + ")");
  *bytes = text.size();
  return OkStatus();
}

Status WritePartitioned(Database& db, const std::vector<PreparedRecord>& records, const ColumnarOptions& options,
                        Json* partitions) {
  Connection& conn = DatabaseInternals::Conn(db);
  // Types and partitions in order of first appearance; records keep their input order inside.
  std::vector<std::string> types;
  std::map<std::string, std::vector<PreparedRecord>> by_type;
  for (const PreparedRecord& r : records) {
    auto [it, fresh] = by_type.try_emplace(r.type);
    if (fresh) types.push_back(r.type);
    it->second.push_back(r);
  }
  for (const std::string& type : types) {
    const std::vector<PreparedRecord>& of_type = by_type[type];
    DOTDO_ASSIGN_OR_RETURN(std::vector<SubColumn> schema, UpdateTypePaths(conn, type, of_type, options));
    std::vector<std::string> days;
    std::map<std::string, std::vector<PreparedRecord>> by_day;
    for (const PreparedRecord& r : of_type) {
      auto [it, fresh] = by_day.try_emplace(DayOf(r.created_at));
      if (fresh) days.push_back(it->first);
      it->second.push_back(r);
    }
    for (const std::string& day : days) {
      const std::vector<PreparedRecord>& part = by_day[day];
      std::vector<PreparedRecord> chunk;
      int64_t bytes = 0;
      for (size_t i = 0; i <= part.size(); ++i) {
        const bool full = !chunk.empty() && (static_cast<int64_t>(chunk.size()) >= options.max_chunk_rows ||
                                             (i < part.size() && bytes + static_cast<int64_t>(part[i].bytes) > options.max_chunk_bytes));
        if (i == part.size() || full) {
          if (!chunk.empty()) DOTDO_RETURN_IF_ERROR(WriteChunk(conn, chunk, schema, options).status());
          chunk.clear();
          bytes = 0;
          if (i == part.size()) break;
        }
        chunk.push_back(part[i]);
        bytes += static_cast<int64_t>(part[i].bytes);
      }
      if (partitions != nullptr)
        partitions->push_back({{"partition", type + "/" + day}, {"count", part.size()}});
    }
  }
  return OkStatus();
}

}  // namespace internal

Result<ColumnarStore> ColumnarStore::Open(Database& db, ColumnarOptions options) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateColumnarOptions(options));
  DOTDO_RETURN_IF_ERROR(internal::StoreSchemaPresent(db, internal::kColumnarSpec).status());
  return ColumnarStore(db, std::move(options));
}

ColumnarStore::ColumnarStore(Database& db, ColumnarOptions options) : db_(db), options_(std::move(options)) {}

Result<std::vector<std::string>> ColumnarStore::InsertBatch(const std::vector<ColumnarRecord>& records) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateColumnarOptions(options_));
  if (records.size() > kMaxColumnarBatch)
    return InvalidArgumentError("a batch holds at most " + std::to_string(kMaxColumnarBatch) + " records, got " +
                                std::to_string(records.size()) + "; split it");
  std::vector<PreparedRecord> prepared(records.size());
  std::unordered_set<std::string_view> given_ids;
  for (size_t i = 0; i < records.size(); ++i) {
    const ColumnarRecord& r = records[i];
    const std::string what = "record " + std::to_string(i);
    if (r.type.empty()) return InvalidArgumentError(what + " has no $type");
    DOTDO_RETURN_IF_ERROR(internal::ValidateTypeName(r.type, what + " $type"));
    if (r.id) {
      DOTDO_RETURN_IF_ERROR(internal::ValidateRecordId(*r.id, what + " $id"));
      if (!given_ids.insert(*r.id).second)
        return InvalidArgumentError(what + " repeats $id '" + *r.id + "' of an earlier record in the batch");
    }
    if (r.created_at && (*r.created_at < 0 || *r.created_at > kMaxCreatedAt))
      return InvalidArgumentError(what + " $createdAt must be 0.." + std::to_string(kMaxCreatedAt) + " ms");
    DOTDO_RETURN_IF_ERROR(internal::ValidateColumnarData(r.data, options_, what, &prepared[i].bytes));
    prepared[i].type = r.type;
    prepared[i].data = &r.data;
  }
  if (records.empty()) return std::vector<std::string>{};
  std::vector<std::string> ids;
  Status st = db_.Transaction([&]() -> Status {
    ids.clear();
    DOTDO_RETURN_IF_ERROR(internal::StoreStateOf(db_, internal::kColumnarSpec).status());
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    const int64_t now = db_.NowMillis();
    for (size_t i = 0; i < records.size(); ++i) {
      prepared[i].id = records[i].id ? *records[i].id : db_.NewId();
      prepared[i].created_at = records[i].created_at.value_or(now);
      ids.push_back(prepared[i].id);
    }
    Json partitions = Json::array();
    DOTDO_RETURN_IF_ERROR(internal::WritePartitioned(db_, prepared, options_, &partitions));
    UnifiedEvent e;
    e.type = "cdc.batch_insert";
    e.op = std::string(ChangeOpCode(ChangeOp::kInsert));
    e.store = std::string(internal::kColumnarSpec.name);
    e.table = records[0].type;
    e.after = Json{{"count", records.size()}, {"partition", partitions[0]["partition"]}, {"partitions", partitions}};
    return outbox->Append(e);
  });
  DOTDO_RETURN_IF_ERROR(st);
  return ids;
}

Result<int64_t> ColumnarStore::Delete(const std::vector<std::string>& ids) {
  if (ids.size() > kMaxColumnarBatch) return InvalidArgumentError("at most " + std::to_string(kMaxColumnarBatch) + " ids");
  for (const std::string& id : ids) DOTDO_RETURN_IF_ERROR(internal::ValidateRecordId(id, "$id"));
  if (ids.empty()) return int64_t{0};
  int64_t deleted = 0;
  Status st = db_.Transaction([&]() -> Status {
    deleted = 0;
    DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db_, internal::kColumnarSpec));
    if (!present) return OkStatus();
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(auto hits, internal::FindLive(db_, ids));
    for (const internal::RowHit& h : hits) {
      DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kDelete, internal::kColumnarSpec.name, h.row.type, h.row.id,
                                                 internal::RowImage(h.row), std::nullopt));
    }
    DOTDO_RETURN_IF_ERROR(internal::Tombstone(db_, hits));
    deleted = static_cast<int64_t>(hits.size());
    return OkStatus();
  });
  DOTDO_RETURN_IF_ERROR(st);
  return deleted;
}

Status ColumnarStore::Update(const std::string& id, const Json& data) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateColumnarOptions(options_));
  DOTDO_RETURN_IF_ERROR(internal::ValidateRecordId(id, "$id"));
  PreparedRecord rec;
  DOTDO_RETURN_IF_ERROR(internal::ValidateColumnarData(data, options_, "update", &rec.bytes));
  return db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(bool present, internal::StoreSchemaPresent(db_, internal::kColumnarSpec));
    if (!present) return NotFoundError("no columnar record with $id '" + id + "'");
    DOTDO_ASSIGN_OR_RETURN(auto hits, internal::FindLive(db_, {id}));
    if (hits.empty()) return NotFoundError("no columnar record with $id '" + id + "'");
    internal::RowHit latest = internal::Latest(hits);
    DOTDO_RETURN_IF_ERROR(internal::Tombstone(db_, hits));
    rec.id = id;
    rec.type = latest.row.type;
    rec.created_at = latest.row.created_at;
    rec.data = &data;
    DOTDO_RETURN_IF_ERROR(internal::WritePartitioned(db_, {rec}, options_, nullptr));
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    ColumnarRow after = latest.row;
    after.data = data;
    return outbox->AppendChange(ChangeOp::kUpdate, internal::kColumnarSpec.name, rec.type, id,
                                internal::RowImage(latest.row), internal::RowImage(after));
  });
}

}  // namespace dotdo
