// IcebergEventSink: change events archived into an Iceberg table, one append per batch. What the
// table durably holds is in the table: each snapshot's summary carries "dotdo.namespace" and
// "dotdo.last-lsn", so Recover() needs nothing but the table (see include/dotdo/tiering.h).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "core/sha256.h"
#include "dotdo/tiering.h"
#include "dotdo/ulid.h"
#include "tiering/cold.h"
#include "tiering/duck_session.h"
#include "tiering/iceberg_table.h"

namespace dotdo {

using tiering::DuckSession;
using tiering::IcebergDataFile;
using tiering::IcebergTable;

namespace {

constexpr std::string_view kLastLsn = "dotdo.last-lsn";
constexpr std::string_view kNamespace = "dotdo.namespace";

tiering::IcebergSchema EventSchema() {
  return {0,
          {{1, "lsn", "long", true},
           {2, "id", "string", true},
           {3, "type", "string", true},
           {4, "ts", "timestamp", true},
           {5, "ns", "string", true},
           {6, "store", "string", false},
           {7, "table", "string", false},
           {8, "key", "string", false},
           {9, "op", "string", false},
           {10, "event", "string", true}}};
}

std::string DayOf(int64_t ms) { return FormatIso8601(ms).substr(0, 10); }

int64_t DaysOf(int64_t ms) {
  int64_t d = ms / 86'400'000;
  if (ms % 86'400'000 < 0) --d;
  return d;
}

void OptionalText(DuckSession::Appender& app, const std::optional<std::string>& v) {
  if (v) {
    app.Text(*v);
  } else {
    app.Null();
  }
}

}  // namespace

class IcebergEventSink::Impl {
 public:
  Impl(ObjectStore& objects, IcebergEventSinkOptions options, IcebergTable table, std::unique_ptr<DuckSession> duck)
      : objects_(objects), options_(std::move(options)), table_(std::move(table)), duck_(std::move(duck)) {}

  // The current snapshot's value of a summary key, if any.
  std::optional<std::string> Summary(std::string_view key) const {
    const auto current = table_.CurrentSnapshotId();
    if (!current) return std::nullopt;
    for (const auto& s : table_.Snapshots()) {
      if (s.snapshot_id != *current) continue;
      auto it = s.summary.find(std::string(key));
      if (it != s.summary.end()) return it->second;
    }
    return std::nullopt;
  }

  // Data files under <prefix>/data/ that no snapshot references: appends that never committed.
  Status RemoveUncommittedFiles() {
    std::set<std::string> referenced;
    for (const auto& s : table_.Snapshots()) {
      DOTDO_ASSIGN_OR_RETURN(std::vector<IcebergDataFile> files, table_.Files(s.snapshot_id));
      for (const auto& f : files) referenced.insert(f.key);
    }
    ObjectListOptions list{.prefix = options_.prefix + "/data/", .limit = 1000};
    std::vector<std::string> orphans;
    do {
      DOTDO_ASSIGN_OR_RETURN(ObjectListResult page, objects_.List(list));
      for (const ObjectInfo& o : page.objects)
        if (referenced.count(o.key) == 0) orphans.push_back(o.key);
      list.continuation = page.next_continuation;
    } while (!list.continuation.empty());
    for (const std::string& key : orphans) {
      Status st = objects_.Delete(key);
      if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
    }
    return OkStatus();
  }

  // One Parquet file of events (all of one type and day), put under its partition's key.
  Result<IcebergDataFile> WriteFile(const std::string& type, int64_t day_ms, const std::vector<const UnifiedEvent*>& events) {
    DOTDO_RETURN_IF_ERROR(duck_->Exec("CREATE OR REPLACE TEMP TABLE events (lsn BIGINT, id VARCHAR, type VARCHAR, "
                                      "ts TIMESTAMP, ns VARCHAR, store VARCHAR, \"table\" VARCHAR, key VARCHAR, "
                                      "op VARCHAR, event JSON)"));
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    {
      DOTDO_ASSIGN_OR_RETURN(DuckSession::Appender app, duck_->Append("events"));
      for (const UnifiedEvent* e : events) {
        const int64_t lsn = e->lsn.value_or(0);
        lo = std::min(lo, lsn);
        hi = std::max(hi, lsn);
        app.Int(lsn);
        app.Text(e->id);
        app.Text(e->type);
        app.TimestampMs(e->timestamp);
        app.Text(e->ns);
        OptionalText(app, e->store);
        OptionalText(app, e->table);
        OptionalText(app, e->key);
        OptionalText(app, e->op);
        app.Text(EventToJson(*e).dump(-1, ' ', false, Json::error_handler_t::replace));
        app.EndRow();
      }
      DOTDO_RETURN_IF_ERROR(app.Close());
    }
    const auto tmp = std::filesystem::temp_directory_path() / ("dotdo-events-" + internal::RandomHex(12) + ".parquet");
    struct Remove {
      std::filesystem::path p;
      ~Remove() {
        std::error_code ec;
        std::filesystem::remove(p, ec);
      }
    } remove{tmp};
    DOTDO_RETURN_IF_ERROR(duck_->Exec("COPY (SELECT * FROM events ORDER BY lsn) TO " + DuckSession::Literal(tmp.string()) +
                                      " (FORMAT parquet, COMPRESSION zstd)"));
    std::ifstream in(tmp, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return InternalError("cannot read the event file written by DuckDB");
    IcebergDataFile f;
    f.key = options_.prefix + "/data/type=" + type + "/dt=" + DayOf(day_ms) + "/part-" + ulids_.Next() + ".parquet";
    f.file_size_bytes = static_cast<int64_t>(bytes.size());
    f.record_count = static_cast<int64_t>(events.size());
    f.partition = {type, DaysOf(day_ms)};
    f.lower_bounds[1] = lo;
    f.upper_bounds[1] = hi;
    f.value_counts[1] = f.record_count;
    f.null_value_counts[1] = 0;
    ObjectPutOptions put;
    put.content_type = "application/vnd.apache.parquet";
    put.storage_class = std::string(kStorageClassInfrequentAccess);
    DOTDO_RETURN_IF_ERROR(objects_.Put(f.key, bytes, put).status());
    return f;
  }

  ObjectStore& objects_;
  IcebergEventSinkOptions options_;
  IcebergTable table_;
  std::unique_ptr<DuckSession> duck_;
  UlidGenerator ulids_{SystemClock::Default()};
  std::string ns_;
};

Result<std::unique_ptr<IcebergEventSink>> IcebergEventSink::Open(ObjectStore& objects, IcebergEventSinkOptions options) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(options.prefix));
  if (options.prefix.find("/data") != std::string::npos || options.prefix.find("/metadata") != std::string::npos)
    return InvalidArgumentError("the event table's prefix must not contain a data/ or metadata/ segment");
  DOTDO_ASSIGN_OR_RETURN(std::string root, tiering::LocationRoot(objects, options.location_root, "location_root"));
  if (options.name.empty()) options.name = "iceberg:" + options.prefix;
  Result<IcebergTable> table = IcebergTable::Load(objects, options.prefix);
  if (!table.ok() && table.status().code() == StatusCode::kNotFound) {
    table = IcebergTable::Create(objects, options.prefix, root + options.prefix, EventSchema(),
                                 {{3, 1000, "type", "identity"}, {4, 1001, "dt", "day"}}, {{"dotdo.table", "cdc-events"}});
    if (!table.ok() && table.status().code() == StatusCode::kAlreadyExists) table = IcebergTable::Load(objects, options.prefix);
  }
  DOTDO_RETURN_IF_ERROR(table.status());
  DOTDO_ASSIGN_OR_RETURN(std::unique_ptr<DuckSession> duck, DuckSession::Open());
  return std::unique_ptr<IcebergEventSink>(
      new IcebergEventSink(std::make_unique<Impl>(objects, std::move(options), std::move(table).value(), std::move(duck))));
}

IcebergEventSink::IcebergEventSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IcebergEventSink::~IcebergEventSink() = default;

std::string IcebergEventSink::Name() const { return impl_->options_.name; }

Status IcebergEventSink::Claim(std::string_view ns) {
  DOTDO_RETURN_IF_ERROR(impl_->table_.Refresh());
  if (auto owner = impl_->Summary(kNamespace); owner && *owner != ns)
    return FailedPreconditionError("the event table '" + impl_->options_.prefix + "' holds the events of namespace '" +
                                   *owner + "', not '" + std::string(ns) + "'");
  impl_->ns_ = std::string(ns);
  return OkStatus();
}

Result<std::optional<int64_t>> IcebergEventSink::Recover() {
  DOTDO_RETURN_IF_ERROR(impl_->table_.Refresh());
  DOTDO_RETURN_IF_ERROR(impl_->RemoveUncommittedFiles());
  auto last = impl_->Summary(kLastLsn);
  if (!last) return std::optional<int64_t>(0);
  return std::optional<int64_t>(std::strtoll(last->c_str(), nullptr, 10));
}

Status IcebergEventSink::Write(const std::vector<UnifiedEvent>& events) {
  if (events.empty()) return OkStatus();
  if (impl_->ns_.empty()) return FailedPreconditionError("IcebergEventSink::Write before Claim");
  std::map<std::pair<std::string, int64_t>, std::vector<const UnifiedEvent*>> groups;  // (type, day start ms)
  int64_t last = 0;
  for (const UnifiedEvent& e : events) {
    groups[{e.type, DaysOf(e.timestamp) * 86'400'000}].push_back(&e);
    last = std::max(last, e.lsn.value_or(0));
  }
  std::vector<IcebergDataFile> files;
  for (const auto& [part, list] : groups) {
    DOTDO_ASSIGN_OR_RETURN(IcebergDataFile f, impl_->WriteFile(part.first, part.second, list));
    files.push_back(std::move(f));
  }
  // The commit is the durability point; files of a failed commit are removed by Recover().
  return impl_->table_.Append(files, {{std::string(kNamespace), impl_->ns_}, {std::string(kLastLsn), std::to_string(last)}})
      .status();
}

}  // namespace dotdo
