// Tiering::Sql: read-only SQL over the warm files of several namespaces (the seed's "R2 SQL"). A
// fresh DuckDB database per call: one schema per namespace with views over its files, the masks as
// a table, then file access locked to those files' directories before the user's statement runs.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <filesystem>
#include <set>

#include "core/names.h"
#include "tiering/cold.h"
#include "tiering/tiering_internal.h"

namespace dotdo {

using tiering::DuckSession;

namespace {

Json CellJson(const tiering::DuckValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return nullptr;
}

struct SqlFile {
  std::string path;
  int64_t file_id = -1;  // -1: masks do not apply (a cold file as of an older snapshot)
};

// The files the views cover: warm files and the cold table's files (current: through the
// accelerator, with masks; as of a time: the Iceberg snapshot's file list, as committed).
// REQUIRES: the connection lock held.
Result<std::vector<SqlFile>> FilesFor(Tiering::Impl& impl, bool warm, bool cold, std::optional<int64_t> cold_as_of) {
  tiering::TierState& ts = impl.state;
  DOTDO_ASSIGN_OR_RETURN(const std::vector<tiering::FileEntry>* files, ts.Files());
  std::vector<SqlFile> out;
  std::map<std::string, const tiering::FileEntry*> by_key;
  for (const auto& f : *files) {
    if (f.info.store != "document") continue;
    by_key[f.info.key] = &f;
    const bool is_cold = f.info.tier == tiering::kTierCold;
    if ((is_cold && cold && !cold_as_of) || (!is_cold && warm)) {
      DOTDO_ASSIGN_OR_RETURN(std::string path, ts.LocalFile(f.info));
      out.push_back({path, f.file_id});
    }
  }
  if (!cold || !cold_as_of) return out;
  Result<tiering::IcebergTable> table = tiering::IcebergTable::Load(ts.objects(), std::string(tiering::kColdDocumentsPrefix));
  if (!table.ok() && table.status().code() == StatusCode::kNotFound) return out;
  DOTDO_RETURN_IF_ERROR(table.status());
  Result<int64_t> snapshot = table->SnapshotAsOf(*cold_as_of);
  if (!snapshot.ok() && snapshot.status().code() == StatusCode::kNotFound) return out;  // before the first
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  DOTDO_ASSIGN_OR_RETURN(std::vector<tiering::IcebergDataFile> data, table->Files(*snapshot));
  for (const tiering::IcebergDataFile& d : data) {
    // A file a cold rewrite replaced since is no longer in the accelerator; it stays in the store
    // for the older snapshots until they expire.
    auto it = by_key.find(d.key);
    TierFileInfo replaced;
    replaced.key = d.key;
    DOTDO_ASSIGN_OR_RETURN(std::string path, ts.LocalFile(it == by_key.end() ? replaced : it->second->info));
    out.push_back({path, -1});
  }
  return out;
}

}  // namespace

Result<Json> Tiering::Sql(const std::vector<std::pair<std::string, Tiering*>>& namespaces, std::string_view sql,
                          const WarmSqlOptions& options) {
  if (options.max_rows < 0) return InvalidArgumentError("max_rows must be >= 0");
  if (options.timeout_ms < 1) return InvalidArgumentError("timeout_ms must be >= 1");
  bool warm = false, cold = false;
  for (const std::string& t : options.tiers) {
    bool& flag = t == tiering::kTierWarm ? warm : cold;
    if (t != tiering::kTierWarm && t != tiering::kTierCold)
      return InvalidArgumentError("unknown tier '" + t.substr(0, 32) + "': use warm and/or cold");
    if (flag) return InvalidArgumentError("tier '" + t + "' is named twice");
    flag = true;
  }
  if (!warm && !cold) return InvalidArgumentError("name at least one tier: warm and/or cold");
  if (options.cold_as_of_ms && !cold) return InvalidArgumentError("cold_as_of_ms needs the cold tier");
  DOTDO_ASSIGN_OR_RETURN(std::unique_ptr<DuckSession> duck, DuckSession::Open());
  std::set<std::string> dirs;
  for (const auto& [ns, tiering] : namespaces) {
    DOTDO_RETURN_IF_ERROR(internal::ValidateNamespaceName(ns));
    const std::string schema = DuckSession::Ident(ns);
    DOTDO_RETURN_IF_ERROR(duck->Exec("CREATE SCHEMA " + schema));
    DOTDO_RETURN_IF_ERROR(duck->Exec("CREATE TABLE " + schema + "._masks (filename VARCHAR, id VARCHAR, all_rows BOOLEAN)"));
    std::string list;
    {
      internal::Connection& conn = internal::DatabaseInternals::Conn(tiering->impl_->db);
      auto lock = conn.Lock();
      DOTDO_ASSIGN_OR_RETURN(std::vector<SqlFile> files, FilesFor(*tiering->impl_, warm, cold, options.cold_as_of_ms));
      std::map<int64_t, std::string> paths;
      for (const SqlFile& f : files) {
        list += (list.empty() ? "" : ", ") + DuckSession::Literal(f.path);
        dirs.insert(std::filesystem::path(f.path).parent_path().string());
        if (f.file_id >= 0) paths[f.file_id] = f.path;
      }
      DOTDO_ASSIGN_OR_RETURN(DuckSession::Appender app, duck->Append("_masks", ns));
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT file_id, id, all_rows FROM tier_masks"));
      for (;;) {
        DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        auto p = paths.find(st.ColumnInt64(0));
        if (p == paths.end()) continue;
        app.Text(p->second);
        app.Text(st.ColumnText(1));
        app.Bool(st.ColumnInt64(2) != 0);
        app.EndRow();
      }
      DOTDO_RETURN_IF_ERROR(app.Close());
    }
    const std::string masks = schema + "._masks";
    if (list.empty()) {
      // No warm file yet: empty views with the system columns.
      DOTDO_RETURN_IF_ERROR(duck->Exec("CREATE TABLE " + schema + "._empty (" + tiering::ColumnsDdl(tiering::DocumentSystemColumns()) + ")"));
      DOTDO_RETURN_IF_ERROR(duck->Exec("CREATE VIEW " + schema + ".documents AS SELECT * EXCLUDE (_current, _valid_to) FROM " +
                                       schema + "._empty"));
      DOTDO_RETURN_IF_ERROR(duck->Exec("CREATE VIEW " + schema + ".document_versions AS SELECT * FROM " + schema + "._empty"));
      continue;
    }
    const std::string files = "read_parquet([" + list + "], union_by_name = true, filename = true)";
    DOTDO_RETURN_IF_ERROR(duck->Exec(
        "CREATE VIEW " + schema + ".documents AS SELECT * EXCLUDE (filename, _current, _valid_to) FROM " + files +
        " p WHERE _current AND NOT _deleted AND NOT EXISTS (SELECT 1 FROM " + masks +
        " m WHERE m.filename = p.filename AND m.id = p.\"$id\")"));
    DOTDO_RETURN_IF_ERROR(duck->Exec(
        "CREATE VIEW " + schema + ".document_versions AS SELECT * EXCLUDE (filename) FROM " + files +
        " p WHERE NOT EXISTS (SELECT 1 FROM " + masks +
        " m WHERE m.filename = p.filename AND m.id = p.\"$id\" AND (m.all_rows OR p._current))"));
  }
  // From here on DuckDB may read the warm files only, and the settings cannot be changed back.
  std::string allowed;
  for (const std::string& d : dirs) allowed += (allowed.empty() ? "" : ", ") + DuckSession::Literal(d + "/");
  DOTDO_RETURN_IF_ERROR(duck->Exec("SET allowed_directories = [" + allowed + "]"));
  DOTDO_RETURN_IF_ERROR(duck->Exec("SET enable_external_access = false"));
  DOTDO_RETURN_IF_ERROR(duck->Exec("SET lock_configuration = true"));

  std::mutex mu;
  std::condition_variable cv;
  bool done = false, interrupted = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::milliseconds(options.timeout_ms), [&] { return done; })) {
      interrupted = true;
      duck->Interrupt();
    }
  });
  auto result = duck->QuerySelect(std::string(sql), options.max_rows);
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  if (interrupted) return Status(StatusCode::kDeadlineExceeded, "the statement ran longer than " + std::to_string(options.timeout_ms) + " ms");
  DOTDO_RETURN_IF_ERROR(result.status());
  Json rows = Json::array();
  for (size_t r = 0; r < result->rows(); ++r) {
    Json row = Json::object();
    for (size_t c = 0; c < result->columns(); ++c) row[result->ColumnName(c)] = CellJson(result->At(r, c));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace dotdo
