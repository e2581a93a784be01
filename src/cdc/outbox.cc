// The transactional outbox (cdc_events), the change feed and the domain-event emitter.
#include "cdc/outbox.h"

#include <array>
#include <limits>

#include "core/json.h"

namespace dotdo::internal {
namespace {

constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE cdc_events (
  lsn            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL,
  type           TEXT NOT NULL,
  ts             INTEGER NOT NULL,
  txid           INTEGER,
  op             TEXT,
  store          TEXT,
  tbl            TEXT,
  key            TEXT,
  before         TEXT,
  after          TEXT,
  correlation_id TEXT,
  actor          TEXT,
  data           TEXT,
  visibility     TEXT,
  meta           TEXT
);
CREATE TABLE cdc_checkpoints (
  sink       TEXT PRIMARY KEY NOT NULL,
  lsn        INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
)sql"};

std::optional<std::string> OptText(const Statement& st, int i) { return st.ColumnOptionalText(i); }

Result<std::optional<Json>> OptJson(const Statement& st, int i, const char* what) {
  if (st.IsNull(i)) return std::optional<Json>();
  // Images nest as deep as the stores allow; the parser does not recurse, so no limit here.
  auto j = ParseJson(st.ColumnText(i), std::string("cdc_events.") + what,
                     {.max_depth = internal::kNoDepthCheck});
  if (!j.ok()) {
    if (j.status().code() != StatusCode::kInvalidArgument) return j.status();
    return DataLossError("corrupt JSON in " + j.status().message());
  }
  return std::optional<Json>(std::move(*j));
}

}  // namespace

const char* const kOutboxColumns =
    "lsn, id, type, ts, COALESCE(txid, lsn), op, store, tbl, key, before, after, correlation_id, actor, data, "
    "visibility, meta";

Result<UnifiedEvent> EventFromRow(const Statement& st, const std::string& ns) {
  UnifiedEvent e;
  e.lsn = st.ColumnInt64(0);
  e.id = st.ColumnString(1);
  e.type = st.ColumnString(2);
  e.timestamp = st.ColumnInt64(3);
  e.txid = st.ColumnInt64(4);
  e.ns = ns;
  e.op = OptText(st, 5);
  e.store = OptText(st, 6);
  e.table = OptText(st, 7);
  e.key = OptText(st, 8);
  DOTDO_ASSIGN_OR_RETURN(e.before, OptJson(st, 9, "before"));
  DOTDO_ASSIGN_OR_RETURN(e.after, OptJson(st, 10, "after"));
  e.correlation_id = OptText(st, 11);
  e.actor = OptText(st, 12);
  DOTDO_ASSIGN_OR_RETURN(e.data, OptJson(st, 13, "data"));
  e.visibility = OptText(st, 14);
  DOTDO_ASSIGN_OR_RETURN(e.meta, OptJson(st, 15, "meta"));
  return e;
}

Outbox::Outbox(Database& db) : db_(db) { DatabaseInternals::AddObserver(db_, this); }
Outbox::~Outbox() { DatabaseInternals::RemoveObserver(db_, this); }

Result<Outbox*> Outbox::Of(Database& db) {
  Outbox& o = DatabaseInternals::Extension<Outbox>(db);
  DOTDO_RETURN_IF_ERROR(o.EnsureTable());
  return &o;
}

Status Outbox::EnsureTable() {
  // Not cached here: EnsureSchema forgets a schema whose creating transaction rolled back.
  return DatabaseInternals::EnsureSchema(db_, "cdc", kMigrations);
}

Status Outbox::Append(UnifiedEvent& e) {
  DOTDO_RETURN_IF_ERROR(Write(e, std::nullopt));
  pending_.push_back(e);
  return OkStatus();
}

Status Outbox::Write(UnifiedEvent& e, std::optional<std::string_view> after_json) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  if (!db_.InTransaction()) return InternalError("Outbox::Append called outside a transaction");
  if (e.id.empty()) e.id = db_.NewId();
  if (e.timestamp == 0) e.timestamp = db_.NowMillis();
  e.ns = db_.ns();
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "INSERT INTO cdc_events(id, type, ts, txid, op, store, tbl, key, before, after, correlation_id, actor, "
      "data, visibility, meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
  // Invalid UTF-8 in an image (a key, a content type) refuses the change: an event that cannot be
  // written as JSON would break invariant 1.
  auto dump = [](const std::optional<Json>& j, const char* what) -> Result<std::optional<std::string>> {
    if (!j) return std::optional<std::string>();
    DOTDO_ASSIGN_OR_RETURN(std::string text, DumpJsonChecked(*j, std::string("the event's ") + what));
    return std::optional<std::string>(std::move(text));
  };
  DOTDO_ASSIGN_OR_RETURN(auto before, dump(e.before, "before image"));
  std::optional<std::string> after(after_json);
  if (!after_json) {
    DOTDO_ASSIGN_OR_RETURN(after, dump(e.after, "after image"));
  }
  DOTDO_ASSIGN_OR_RETURN(auto data, dump(e.data, "data"));
  DOTDO_ASSIGN_OR_RETURN(auto meta, dump(e.meta, "meta"));
  st.Bind(1, e.id).Bind(2, e.type).Bind(3, e.timestamp).Bind(4, current_txid_);
  st.Bind(5, e.op).Bind(6, e.store).Bind(7, e.table).Bind(8, e.key);
  st.Bind(9, before).Bind(10, after);
  st.Bind(11, e.correlation_id).Bind(12, e.actor);
  st.Bind(13, data).Bind(14, e.visibility).Bind(15, meta);
  DOTDO_RETURN_IF_ERROR(st.Run());
  const int64_t lsn = conn.LastInsertRowId();
  if (!current_txid_) current_txid_ = lsn;
  e.lsn = lsn;
  e.txid = *current_txid_;
  return OkStatus();
}

namespace {
UnifiedEvent ChangeEvent(ChangeOp op, std::string_view store, std::string_view table, std::string_view key,
                         std::optional<Json> before, std::optional<Json> after) {
  UnifiedEvent e;
  e.op = std::string(ChangeOpCode(op));
  e.type = std::string(ChangeOpEventType(op));
  e.store = std::string(store);
  e.table = std::string(table);
  e.key = std::string(key);
  e.before = std::move(before);
  e.after = std::move(after);
  return e;
}
}  // namespace

Status Outbox::AppendChange(ChangeOp op, std::string_view store, std::string_view table, std::string_view key,
                            std::optional<Json> before, std::optional<Json> after) {
  UnifiedEvent e = ChangeEvent(op, store, table, key, std::move(before), std::move(after));
  // The event is not shown to the caller: move it to the pending list instead of copying it.
  DOTDO_RETURN_IF_ERROR(Write(e, std::nullopt));
  pending_.push_back(std::move(e));
  return OkStatus();
}

Status Outbox::AppendChange(ChangeOp op, std::string_view store, std::string_view table, std::string_view key,
                            std::optional<Json> before, const Json& after, std::string_view after_json) {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  // Without subscribers the pending event keeps `after` as text, parsed only if someone subscribes
  // before the commit: copying the document would cost more than writing its row.
  const bool keep = !subscribers_.empty();
  UnifiedEvent e = ChangeEvent(op, store, table, key, std::move(before), keep ? std::optional<Json>(after) : std::nullopt);
  DOTDO_RETURN_IF_ERROR(Write(e, after_json));
  if (!keep) deferred_after_.push_back({pending_.size(), std::string(after_json)});
  pending_.push_back(std::move(e));
  return OkStatus();
}

Result<std::vector<UnifiedEvent>> Outbox::Read(int64_t after_lsn, int64_t limit) {
  if (limit < 1 || limit > 10000) return InvalidArgumentError("limit must be between 1 and 10000");
  if (after_lsn < 0) return InvalidArgumentError("after_lsn must be >= 0");
  Connection& conn = DatabaseInternals::Conn(db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(std::string("SELECT ") + kOutboxColumns +
                                               " FROM cdc_events WHERE lsn > ?1 ORDER BY lsn" + LimitClause(limit)));
  st.Bind(1, after_lsn);
  std::vector<UnifiedEvent> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DOTDO_ASSIGN_OR_RETURN(auto e, EventFromRow(st, db_.ns()));
    out.push_back(std::move(e));
  }
  return out;
}

Result<int64_t> Outbox::LastLsn() {
  Connection& conn = DatabaseInternals::Conn(db_);
  // sqlite_sequence survives retention; MAX(lsn) would not.
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT seq FROM sqlite_sequence WHERE name = 'cdc_events'"));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

int64_t Outbox::Subscribe(ChangeFeed::Callback cb) {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  int64_t h = next_handle_++;
  subscribers_.emplace(h, std::move(cb));
  return h;
}

void Outbox::Unsubscribe(int64_t handle) {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  subscribers_.erase(handle);
}

void Outbox::OnBegin(int depth) {
  if (savepoint_marks_.size() < static_cast<size_t>(depth)) savepoint_marks_.resize(static_cast<size_t>(depth), 0);
  savepoint_marks_[static_cast<size_t>(depth) - 1] = pending_.size();
}

void Outbox::OnRollback(int depth) {
  // A level that began before this Outbox existed had no pending events then: its mark is 0.
  size_t mark = static_cast<size_t>(depth) <= savepoint_marks_.size() ? savepoint_marks_[static_cast<size_t>(depth) - 1] : 0;
  if (pending_.size() > mark) pending_.resize(mark);
  while (!deferred_after_.empty() && deferred_after_.back().index >= mark) deferred_after_.pop_back();
  if (savepoint_marks_.size() >= static_cast<size_t>(depth)) savepoint_marks_.resize(static_cast<size_t>(depth) - 1);
  if (pending_.empty()) current_txid_.reset();
}

void Outbox::OnRelease(int depth) {
  if (savepoint_marks_.size() >= static_cast<size_t>(depth)) savepoint_marks_.resize(static_cast<size_t>(depth) - 1);
}

void Outbox::OnCommit() {
  savepoint_marks_.clear();
  current_txid_.reset();
  std::vector<DeferredAfter> deferred;
  deferred.swap(deferred_after_);
  if (pending_.empty()) return;
  std::vector<UnifiedEvent> events;
  events.swap(pending_);
  if (subscribers_.empty()) return;
  // The text was written by Json::dump, so it parses.
  for (DeferredAfter& d : deferred) events[d.index].after = Json::parse(d.json, nullptr, /*allow_exceptions=*/false);
  // A callback may subscribe or unsubscribe (itself or others): iterate over a snapshot of the
  // handles and skip the ones removed meanwhile, so the map is never modified under an iterator.
  std::vector<int64_t> handles;
  handles.reserve(subscribers_.size());
  for (const auto& [h, cb] : subscribers_) handles.push_back(h);
  for (int64_t h : handles) {
    auto it = subscribers_.find(h);
    if (it == subscribers_.end()) continue;
    ChangeFeed::Callback cb = it->second;  // a copy: the callback may erase its own entry
    try {
      cb(events);
    } catch (...) {
      // A subscriber's failure must not affect the committed transaction or other subscribers.
    }
  }
}

}  // namespace dotdo::internal

namespace dotdo {

using internal::Outbox;

Result<std::vector<UnifiedEvent>> ChangeFeed::Read(int64_t after_lsn, int64_t limit) {
  DOTDO_ASSIGN_OR_RETURN(Outbox * o, Outbox::Of(db_));
  return o->Read(after_lsn, limit);
}

Result<int64_t> ChangeFeed::LastLsn() {
  DOTDO_ASSIGN_OR_RETURN(Outbox * o, Outbox::Of(db_));
  return o->LastLsn();
}

int64_t ChangeFeed::Subscribe(Callback callback) {
  auto o = Outbox::Of(db_);
  if (!o.ok()) return 0;
  return (*o)->Subscribe(std::move(callback));
}

void ChangeFeed::Unsubscribe(int64_t handle) {
  auto o = Outbox::Of(db_);
  if (o.ok()) (*o)->Unsubscribe(handle);
}

namespace {
Status ValidateDomainEvent(const DomainEvent& e) {
  const std::string& t = e.type;
  auto bad = [&](std::string why) {
    return InvalidArgumentError("invalid event type '" + t + "': " + why + " (expected Noun.verb, e.g. Customer.created)");
  };
  if (t.empty() || t.size() > 128) return bad("length must be 1..128");
  if (t.rfind("cdc.", 0) == 0) return bad("'cdc.' is reserved for store events");
  bool seg_start = true;
  int dots = 0;
  for (char c : t) {
    if (c == '.') {
      if (seg_start) return bad("empty segment");
      seg_start = true;
      ++dots;
      continue;
    }
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool ok = alpha || (!seg_start && ((c >= '0' && c <= '9') || c == '_'));
    if (!ok) return bad("segments start with a letter and hold letters, digits or '_'");
    seg_start = false;
  }
  if (seg_start || dots == 0) return bad("needs at least two segments");
  if (!e.data.is_object()) return InvalidArgumentError("event data must be a JSON object");
  if (e.meta && !e.meta->is_object()) return InvalidArgumentError("event _meta must be a JSON object");
  return OkStatus();
}
}  // namespace

Result<std::vector<UnifiedEvent>> CdcEmitter::EmitBatch(const std::vector<DomainEvent>& events) {
  for (const auto& e : events) DOTDO_RETURN_IF_ERROR(ValidateDomainEvent(e));
  DOTDO_ASSIGN_OR_RETURN(Outbox * o, Outbox::Of(db_));
  std::vector<UnifiedEvent> out;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    out.clear();
    for (const auto& d : events) {
      UnifiedEvent e;
      e.type = d.type;
      e.actor = d.actor;
      e.data = d.data;
      e.correlation_id = d.correlation_id;
      e.visibility = d.visibility;
      e.meta = d.meta;
      DOTDO_RETURN_IF_ERROR(o->Append(e));
      out.push_back(std::move(e));
    }
    return OkStatus();
  }));
  return out;
}

Result<UnifiedEvent> CdcEmitter::Emit(const DomainEvent& event) {
  DOTDO_ASSIGN_OR_RETURN(auto v, EmitBatch({event}));
  return std::move(v.front());
}

}  // namespace dotdo
