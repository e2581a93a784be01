// IcebergTable: table metadata (JSON), the commit protocol and the snapshot operations. Manifests
// are encoded in iceberg_avro.cc, expiry and orphan removal are in iceberg_expire.cc.
#include "tiering/iceberg_table.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>
#include <thread>

#include "tiering/iceberg_internal.h"

namespace dotdo::tiering {

using internal::RandomId;
using internal::RandomUuid;
using json = nlohmann::json;

namespace {

constexpr size_t kMaxMetadataLog = 100;  // Iceberg's write.metadata.previous-versions-max default

bool IsPreconditionFailure(const Status& s) {
  return s.code() == StatusCode::kFailedPrecondition && s.message().find("(412)") != std::string::npos;
}

std::optional<int> ParseVersion(std::string_view name) {  // "v<N>.metadata.json"
  constexpr std::string_view kSuffix = ".metadata.json";
  if (name.size() <= kSuffix.size() + 1 || name[0] != 'v' || !name.ends_with(kSuffix)) return std::nullopt;
  std::string_view digits = name.substr(1, name.size() - 1 - kSuffix.size());
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size() || v < 1) return std::nullopt;
  return v;
}

// Adds the snapshot-summary counters of the spec ("Optional Snapshot Summary Fields").
void AddTotals(std::map<std::string, std::string>* summary, const std::vector<IcebergTable::Entry>& live) {
  int64_t records = 0, bytes = 0;
  for (const auto& e : live) records += e.file.record_count, bytes += e.file.file_size_bytes;
  (*summary)["total-data-files"] = std::to_string(live.size());
  (*summary)["total-records"] = std::to_string(records);
  (*summary)["total-files-size"] = std::to_string(bytes);
  (*summary)["total-delete-files"] = "0";
  (*summary)["total-position-deletes"] = "0";
  (*summary)["total-equality-deletes"] = "0";
}

Status ValidateFiles(const std::vector<IcebergDataFile>& files, const IcebergTable& t, std::set<std::string>* keys) {
  for (const auto& f : files) {
    DOTDO_RETURN_IF_ERROR(internal::ValidateDataFile(f, t.schema(), t.spec()));
    if (f.key.starts_with(t.prefix() + "/metadata/"))
      return InvalidArgumentError("data file '" + f.key + "' is inside the table's metadata directory");
    if (!keys->insert(f.key).second) return InvalidArgumentError("data file '" + f.key + "' given twice");
  }
  return OkStatus();
}

// ADDED entries of snapshot `id` for `files`, with their total records and bytes.
std::vector<IcebergTable::Entry> AddedEntries(const std::vector<IcebergDataFile>& files, int64_t id,
                                              int64_t* records, int64_t* bytes) {
  std::vector<IcebergTable::Entry> entries;
  for (const auto& f : files) {
    entries.push_back(IcebergTable::Entry{1, id, 0, 0, f});
    *records += f.record_count, *bytes += f.file_size_bytes;
  }
  return entries;
}

// A manifest written by the snapshot with sequence number `seq`: min_sequence_number is the lowest
// data sequence number of its live entries (`seq` when it has none).
void SetSequenceNumbers(IcebergTable::ManifestRef* ref, int64_t seq, const std::vector<IcebergTable::Entry>& entries) {
  ref->sequence_number = ref->min_sequence_number = seq;
  for (const auto& e : entries)
    if (e.status != 2) ref->min_sequence_number = std::min(ref->min_sequence_number, e.sequence_number);
}

}  // namespace

std::string IcebergTable::MetadataKey(int version) const {
  return prefix_ + "/metadata/v" + std::to_string(version) + ".metadata.json";
}

int64_t IcebergTable::NowMs() const { return (clock_ ? clock_ : SystemClock::Default())->NowMillis(); }

Result<std::string> IcebergTable::PathToKey(std::string_view path) const {
  if (!path.starts_with(root_)) return DataLossError("path '" + std::string(path) + "' is outside the table's store");
  std::string key(path.substr(root_.size()));
  Status st = ValidateObjectKey(key);
  if (!st.ok()) return DataLossError("path '" + std::string(path) + "': " + st.message());
  return key;
}

const IcebergSnapshot* IcebergTable::FindSnapshot(int64_t id) const {
  for (const auto& s : snapshots_) if (s.snapshot_id == id) return &s;
  return nullptr;
}

std::string IcebergTable::MetadataJson() const {
  json snapshots = json::array();
  for (const auto& s : snapshots_) {
    json summary = s.summary;
    summary["operation"] = s.operation;
    json j = {{"snapshot-id", s.snapshot_id}, {"sequence-number", s.sequence_number},
              {"timestamp-ms", s.timestamp_ms}, {"manifest-list", KeyToPath(s.manifest_list)},
              {"summary", summary}, {"schema-id", schema_.schema_id}};
    if (s.parent_snapshot_id >= 0) j["parent-snapshot-id"] = s.parent_snapshot_id;
    snapshots.push_back(std::move(j));
  }
  json snapshot_log = json::array(), metadata_log = json::array();
  for (const auto& [ts, id] : snapshot_log_) snapshot_log.push_back({{"timestamp-ms", ts}, {"snapshot-id", id}});
  for (const auto& [ts, file] : metadata_log_) metadata_log.push_back({{"timestamp-ms", ts}, {"metadata-file", file}});
  int last_column_id = 0, last_partition_id = 999;
  for (const auto& f : schema_.fields) last_column_id = std::max(last_column_id, f.id);
  for (const auto& p : spec_) last_partition_id = std::max(last_partition_id, p.field_id);
  json j = {{"format-version", 2},
            {"table-uuid", uuid_},
            {"location", location_},
            {"last-sequence-number", last_sequence_number_},
            {"last-updated-ms", last_updated_ms_},
            {"last-column-id", last_column_id},
            {"current-schema-id", schema_.schema_id},
            {"schemas", json::array({internal::SchemaToJson(schema_)})},
            {"default-spec-id", 0},
            {"partition-specs", json::array({{{"spec-id", 0}, {"fields", internal::SpecToJson(spec_)}}})},
            {"last-partition-id", last_partition_id},
            {"default-sort-order-id", 0},
            {"sort-orders", json::array({{{"order-id", 0}, {"fields", json::array()}}})},
            {"properties", properties_},
            {"current-snapshot-id", current_snapshot_id_.value_or(-1)},
            {"refs", json::object()},
            {"snapshots", snapshots},
            {"snapshot-log", snapshot_log},
            {"metadata-log", metadata_log}};
  if (current_snapshot_id_) j["refs"]["main"] = {{"snapshot-id", *current_snapshot_id_}, {"type", "branch"}};
  return j.dump(2);
}

Status IcebergTable::ParseMetadata(std::string_view text) {
  try {
    json j = json::parse(text);
    if (j.at("format-version").get<int>() != 2) return FailedPreconditionError("only Iceberg format version 2 tables are supported");
    uuid_ = j.at("table-uuid").get<std::string>();
    location_ = j.at("location").get<std::string>();
    if (!location_.ends_with("/" + prefix_)) return DataLossError("table location '" + location_ + "' does not end with the prefix");
    root_ = location_.substr(0, location_.size() - prefix_.size());
    last_sequence_number_ = j.at("last-sequence-number").get<int64_t>();
    last_updated_ms_ = j.at("last-updated-ms").get<int64_t>();
    int schema_id = j.at("current-schema-id").get<int>();
    bool found = false;
    for (const auto& s : j.at("schemas")) {
      if (s.at("schema-id").get<int>() != schema_id) continue;
      DOTDO_ASSIGN_OR_RETURN(schema_, internal::SchemaFromJson(s));
      found = true;
    }
    if (!found) return DataLossError("table metadata: current schema missing");
    int spec_id = j.at("default-spec-id").get<int>();
    if (spec_id != 0) return UnimplementedError("partition spec evolution is not supported");
    found = false;
    for (const auto& s : j.at("partition-specs")) {
      if (s.at("spec-id").get<int>() != spec_id) continue;
      DOTDO_ASSIGN_OR_RETURN(spec_, internal::SpecFromJson(s.at("fields"), schema_));
      found = true;
    }
    if (!found) return DataLossError("table metadata: default partition spec missing");
    properties_ = j.value("properties", std::map<std::string, std::string>{});
    current_snapshot_id_.reset();
    if (j.contains("current-snapshot-id") && !j["current-snapshot-id"].is_null() && j["current-snapshot-id"].get<int64_t>() >= 0)
      current_snapshot_id_ = j["current-snapshot-id"].get<int64_t>();
    snapshots_.clear();
    for (const auto& s : j.value("snapshots", json::array())) {
      IcebergSnapshot snap;
      snap.snapshot_id = s.at("snapshot-id").get<int64_t>();
      snap.parent_snapshot_id = s.value("parent-snapshot-id", int64_t{-1});
      snap.sequence_number = s.at("sequence-number").get<int64_t>();
      snap.timestamp_ms = s.at("timestamp-ms").get<int64_t>();
      DOTDO_ASSIGN_OR_RETURN(snap.manifest_list, PathToKey(s.at("manifest-list").get<std::string>()));
      snap.summary = s.at("summary").get<std::map<std::string, std::string>>();
      snap.operation = snap.summary["operation"];
      snap.summary.erase("operation");
      snapshots_.push_back(std::move(snap));
    }
    snapshot_log_.clear();
    for (const auto& e : j.value("snapshot-log", json::array()))
      snapshot_log_.emplace_back(e.at("timestamp-ms").get<int64_t>(), e.at("snapshot-id").get<int64_t>());
    metadata_log_.clear();
    for (const auto& e : j.value("metadata-log", json::array()))
      metadata_log_.emplace_back(e.at("timestamp-ms").get<int64_t>(), e.at("metadata-file").get<std::string>());
  } catch (const json::exception& e) {
    return DataLossError(std::string("table metadata: ") + e.what());
  }
  if (current_snapshot_id_ && !FindSnapshot(*current_snapshot_id_))
    return DataLossError("table metadata: current snapshot missing");
  return OkStatus();
}

// Finds the newest metadata version >= at_least: the version hint (or a listing when there is no
// usable hint), then probing v<N+1>, v<N+2>, ... since the hint may lag behind the last commit.
Status IcebergTable::LoadLatest(int at_least) {
  int v = at_least;
  auto exists = [&](int n) -> Result<bool> {
    auto h = store_->Head(MetadataKey(n));
    if (h.ok()) return true;
    if (h.status().code() == StatusCode::kNotFound) return false;
    return h.status();
  };
  auto hint = store_->Get(prefix_ + "/metadata/version-hint.text");
  if (hint.ok()) {
    int h = 0;
    auto [p, ec] = std::from_chars(hint->data(), hint->data() + hint->size(), h);
    if (ec == std::errc() && h > v) {
      DOTDO_ASSIGN_OR_RETURN(bool there, exists(h));
      if (there) v = h;
    }
  }
  if (v == 0) {
    ObjectListOptions opts;
    opts.prefix = prefix_ + "/metadata/";
    do {
      DOTDO_ASSIGN_OR_RETURN(auto page, store_->List(opts));
      for (const auto& o : page.objects)
        if (auto n = ParseVersion(std::string_view(o.key).substr(opts.prefix.size()))) v = std::max(v, *n);
      opts.continuation = page.next_continuation;
    } while (!opts.continuation.empty());
    if (v == 0) return NotFoundError("no Iceberg table under '" + prefix_ + "'");
  }
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool there, exists(v + 1));
    if (!there) break;
    ++v;
  }
  DOTDO_ASSIGN_OR_RETURN(std::string text, store_->Get(MetadataKey(v)));
  IcebergTable loaded = *this;
  DOTDO_RETURN_IF_ERROR(loaded.ParseMetadata(text));
  loaded.version_ = v;
  *this = std::move(loaded);
  return OkStatus();
}

Result<IcebergTable> IcebergTable::Create(ObjectStore& store, std::string prefix, std::string location,
                                          IcebergSchema schema, std::vector<IcebergPartitionField> spec,
                                          std::map<std::string, std::string> properties) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(prefix).WithContext("table prefix"));
  if (!location.ends_with("/" + prefix) || location.find("://") == std::string::npos)
    return InvalidArgumentError("table location '" + location + "' must be a URI ending with '/" + prefix + "'");
  DOTDO_RETURN_IF_ERROR(internal::ValidateSchema(schema));
  DOTDO_RETURN_IF_ERROR(internal::ValidateSpec(spec, schema));
  for (const auto& [k, v] : properties)
    if (k.empty()) return InvalidArgumentError("empty table property name");
  if (auto it = properties.find(std::string(kMergeProperty)); it != properties.end()) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    if (ec != std::errc() || p != it->second.data() + it->second.size() || n < 2)
      return InvalidArgumentError(std::string(kMergeProperty) + " must be an integer >= 2");
  }
  IcebergTable t;
  t.store_ = &store;
  t.prefix_ = std::move(prefix);
  t.location_ = std::move(location);
  t.root_ = t.location_.substr(0, t.location_.size() - t.prefix_.size());
  t.uuid_ = RandomUuid();
  t.schema_ = std::move(schema);
  t.spec_ = std::move(spec);
  t.properties_ = std::move(properties);
  t.last_updated_ms_ = t.NowMs();
  t.version_ = 1;
  ObjectPutOptions opts;
  opts.content_type = "application/json";
  opts.if_none_match = true;
  auto put = store.Put(t.MetadataKey(1), t.MetadataJson(), opts);
  if (!put.ok()) {
    if (IsPreconditionFailure(put.status())) return AlreadyExistsError("an Iceberg table exists under '" + t.prefix_ + "'");
    return put.status();
  }
  store.Put(t.prefix_ + "/metadata/version-hint.text", "1").status().IgnoreError();
  return t;
}

Result<IcebergTable> IcebergTable::Load(ObjectStore& store, std::string prefix) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(prefix).WithContext("table prefix"));
  IcebergTable t;
  t.store_ = &store;
  t.prefix_ = std::move(prefix);
  DOTDO_RETURN_IF_ERROR(t.LoadLatest(0));
  return t;
}

Status IcebergTable::Refresh() { return LoadLatest(version_); }

Status IcebergTable::Commit(const ChangeFn& change) {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    const auto started = std::chrono::steady_clock::now();
    IcebergTable next = *this;
    DOTDO_ASSIGN_OR_RETURN(bool changed, change(next));
    if (!changed) return OkStatus();
    next.metadata_log_.emplace_back(last_updated_ms_, KeyToPath(MetadataKey(version_)));
    if (next.metadata_log_.size() > kMaxMetadataLog)
      next.metadata_log_.erase(next.metadata_log_.begin(), next.metadata_log_.end() - kMaxMetadataLog);
    next.last_updated_ms_ = std::max(next.last_updated_ms_, std::max(NowMs(), last_updated_ms_));
    next.version_ = version_ + 1;
    ObjectPutOptions opts;
    opts.content_type = "application/json";
    opts.if_none_match = true;
    auto put = store_->Put(MetadataKey(next.version_), next.MetadataJson(), opts);
    if (put.ok()) {
      *this = std::move(next);
      store_->Put(prefix_ + "/metadata/version-hint.text", std::to_string(version_)).status().IgnoreError();
      return OkStatus();
    }
    if (!IsPreconditionFailure(put.status())) return put.status();
    // Lost the race for v<N+1>: redo the change on top of the new head after a random pause of up
    // to 2^attempt times this attempt's duration (capped at 1 s), so that writers whose attempts
    // are slow are not starved by faster ones.
    const int64_t took_us = std::max<int64_t>(
        1000, std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
    const int64_t cap_us = std::min<int64_t>(1'000'000, took_us << std::min(attempt, 10));
    std::this_thread::sleep_for(std::chrono::microseconds(RandomId() % cap_us));
    DOTDO_RETURN_IF_ERROR(Refresh());
  }
  return AbortedError("commit lost the race " + std::to_string(kMaxCommitAttempts) + " times; try again");
}

Result<IcebergSnapshot> IcebergTable::CommitSnapshot(int64_t snapshot_id, const BuildFn& build) {
  IcebergSnapshot out;
  DOTDO_RETURN_IF_ERROR(Commit([&](IcebergTable& next) -> Result<bool> {
    if (next.FindSnapshot(snapshot_id)) return AbortedError("snapshot id collision; try again");
    const int64_t seq = next.last_sequence_number_ + 1;
    DOTDO_ASSIGN_OR_RETURN(out, build(next, seq));
    int64_t now = NowMs();
    for (const auto& [ts, id] : next.snapshot_log_) now = std::max(now, ts);  // the log stays ordered
    out.snapshot_id = snapshot_id;
    out.parent_snapshot_id = next.current_snapshot_id_.value_or(-1);
    out.sequence_number = seq;
    out.timestamp_ms = now;
    next.snapshots_.push_back(out);
    next.current_snapshot_id_ = snapshot_id;
    next.last_sequence_number_ = seq;
    next.snapshot_log_.emplace_back(now, snapshot_id);
    next.last_updated_ms_ = now;
    return true;
  }));
  return out;
}

Result<std::vector<IcebergTable::ManifestRef>> IcebergTable::ManifestsOf(std::optional<int64_t> snapshot_id) const {
  if (!snapshot_id) snapshot_id = current_snapshot_id_;
  if (!snapshot_id) return std::vector<ManifestRef>{};
  const IcebergSnapshot* s = FindSnapshot(*snapshot_id);
  if (!s) return NotFoundError("no snapshot " + std::to_string(*snapshot_id));
  DOTDO_ASSIGN_OR_RETURN(std::string bytes, store_->Get(s->manifest_list));
  return internal::DecodeManifestList(bytes, *this);
}

Result<std::vector<IcebergTable::Entry>> IcebergTable::ReadManifest(const ManifestRef& ref) const {
  DOTDO_ASSIGN_OR_RETURN(std::string bytes, store_->Get(ref.key));
  return internal::DecodeManifest(bytes, ref, *this);
}

Result<IcebergTable::ManifestRef> IcebergTable::WriteManifest(const std::vector<Entry>& entries,
                                                              int64_t snapshot_id) const {
  ManifestRef ref;
  ref.key = prefix_ + "/metadata/" + RandomUuid() + "-m0.avro";
  ref.added_snapshot_id = snapshot_id;
  for (const auto& e : entries) {
    int32_t* files = e.status == 1 ? &ref.added_files : e.status == 0 ? &ref.existing_files : &ref.deleted_files;
    int64_t* rows = e.status == 1 ? &ref.added_rows : e.status == 0 ? &ref.existing_rows : &ref.deleted_rows;
    ++*files;
    *rows += e.file.record_count;
  }
  ref.partitions = internal::SummarizePartitions(entries, *this);
  DOTDO_ASSIGN_OR_RETURN(std::string bytes, internal::EncodeManifest(entries, *this));
  ref.length = static_cast<int64_t>(bytes.size());
  ObjectPutOptions opts;
  opts.content_type = "avro/binary";
  DOTDO_RETURN_IF_ERROR(store_->Put(ref.key, bytes, opts).status());
  return ref;
}

Result<std::string> IcebergTable::WriteManifestList(int64_t snapshot_id, int64_t sequence_number,
                                                    const std::vector<ManifestRef>& manifests) const {
  internal::ManifestListHeader h{snapshot_id, current_snapshot_id_.value_or(-1), sequence_number};
  DOTDO_ASSIGN_OR_RETURN(std::string bytes, internal::EncodeManifestList(h, manifests, *this));
  std::string key = prefix_ + "/metadata/snap-" + std::to_string(snapshot_id) + "-" + RandomUuid() + ".avro";
  ObjectPutOptions opts;
  opts.content_type = "avro/binary";
  DOTDO_RETURN_IF_ERROR(store_->Put(key, bytes, opts).status());
  return key;
}

int64_t IcebergTable::MergeThreshold() const {
  auto it = properties_.find(std::string(kMergeProperty));
  int64_t v = kDefaultMergeThreshold;
  if (it != properties_.end()) std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return std::max<int64_t>(v, 2);
}

Result<IcebergSnapshot> IcebergTable::Append(const std::vector<IcebergDataFile>& files,
                                             std::map<std::string, std::string> summary) {
  if (files.empty()) return InvalidArgumentError("append needs at least one data file");
  if (summary.count("operation")) return InvalidArgumentError("summary key 'operation' is reserved");
  if (summary.count("")) return InvalidArgumentError("empty summary key");
  std::set<std::string> keys;
  DOTDO_RETURN_IF_ERROR(ValidateFiles(files, *this, &keys));
  const int64_t id = RandomId();
  int64_t records = 0, bytes = 0;
  const std::vector<Entry> entries = AddedEntries(files, id, &records, &bytes);
  // ADDED entries inherit their sequence number, so this manifest serves every commit attempt.
  DOTDO_ASSIGN_OR_RETURN(ManifestRef added, WriteManifest(entries, id));
  return CommitSnapshot(id, [&](const IcebergTable& base, int64_t seq) -> Result<IcebergSnapshot> {
    DOTDO_ASSIGN_OR_RETURN(auto manifests, base.ManifestsOf(std::nullopt));
    std::vector<Entry> live;
    for (const auto& m : manifests) {
      DOTDO_ASSIGN_OR_RETURN(auto es, base.ReadManifest(m));
      for (auto& e : es) {
        if (e.status == 2) continue;
        if (keys.count(e.file.key)) return AlreadyExistsError("data file '" + e.file.key + "' is already in the table");
        e.status = 0;  // EXISTING, should the manifests be merged below
        live.push_back(std::move(e));
      }
    }
    // Manifest merging (Iceberg's commit.manifest-merge.enabled): once a snapshot would list more
    // than `min-count-to-merge` manifests, the live entries of the old ones go into one manifest, so
    // scans read a bounded number of manifests however many appends the table has seen.
    if (static_cast<int64_t>(manifests.size()) + 1 > base.MergeThreshold()) {
      DOTDO_ASSIGN_OR_RETURN(ManifestRef merged, base.WriteManifest(live, id));
      SetSequenceNumbers(&merged, seq, live);
      manifests.assign(1, std::move(merged));
    }
    live.insert(live.end(), entries.begin(), entries.end());
    ManifestRef m = added;
    m.sequence_number = m.min_sequence_number = seq;
    manifests.insert(manifests.begin(), m);
    IcebergSnapshot s;
    s.operation = "append";
    s.summary = summary;
    s.summary["added-data-files"] = std::to_string(files.size());
    s.summary["added-records"] = std::to_string(records);
    s.summary["added-files-size"] = std::to_string(bytes);
    AddTotals(&s.summary, live);
    DOTDO_ASSIGN_OR_RETURN(s.manifest_list, base.WriteManifestList(id, seq, manifests));
    return s;
  });
}

Result<IcebergSnapshot> IcebergTable::Rewrite(const std::vector<std::string>& remove_keys,
                                              const std::vector<IcebergDataFile>& add) {
  if (remove_keys.empty() && add.empty()) return InvalidArgumentError("rewrite needs files to remove or add");
  std::set<std::string> removing, adding;
  for (const auto& k : remove_keys) {
    DOTDO_RETURN_IF_ERROR(ValidateObjectKey(k).WithContext("data file key"));
    if (!removing.insert(k).second) return InvalidArgumentError("data file '" + k + "' given twice");
  }
  DOTDO_RETURN_IF_ERROR(ValidateFiles(add, *this, &adding));
  for (const auto& k : adding)
    if (removing.count(k)) return InvalidArgumentError("data file '" + k + "' is both removed and added");
  const int64_t id = RandomId();
  int64_t added_records = 0, added_bytes = 0;
  const std::vector<Entry> added_entries = AddedEntries(add, id, &added_records, &added_bytes);
  std::optional<ManifestRef> added;
  if (!add.empty()) { DOTDO_ASSIGN_OR_RETURN(added, WriteManifest(added_entries, id)); }
  return CommitSnapshot(id, [&](const IcebergTable& base, int64_t seq) -> Result<IcebergSnapshot> {
    DOTDO_ASSIGN_OR_RETURN(auto manifests, base.ManifestsOf(std::nullopt));
    std::vector<ManifestRef> out;
    std::vector<Entry> live = added_entries;
    std::set<std::string> found;
    int64_t removed_records = 0, removed_bytes = 0;
    for (const auto& m : manifests) {
      DOTDO_ASSIGN_OR_RETURN(auto es, base.ReadManifest(m));
      std::vector<Entry> kept;
      bool touched = false;
      for (auto& e : es) {
        if (e.status == 2) continue;  // deleted in an earlier snapshot: dropped when rewritten
        if (adding.count(e.file.key)) return AlreadyExistsError("data file '" + e.file.key + "' is already in the table");
        if (removing.count(e.file.key)) {
          touched = true;
          found.insert(e.file.key);
          removed_records += e.file.record_count, removed_bytes += e.file.file_size_bytes;
          kept.push_back(Entry{2, id, e.sequence_number, e.file_sequence_number, e.file});
          continue;
        }
        live.push_back(e);
        kept.push_back(Entry{0, e.snapshot_id, e.sequence_number, e.file_sequence_number, e.file});
      }
      if (!touched) { out.push_back(m); continue; }
      DOTDO_ASSIGN_OR_RETURN(ManifestRef r, base.WriteManifest(kept, id));
      SetSequenceNumbers(&r, seq, kept);
      out.push_back(std::move(r));
    }
    for (const auto& k : removing)
      if (!found.count(k)) return FailedPreconditionError("data file '" + k + "' is not in the current snapshot");
    if (added) {
      ManifestRef m = *added;
      m.sequence_number = m.min_sequence_number = seq;
      out.insert(out.begin(), m);
    }
    IcebergSnapshot s;
    s.operation = add.empty() ? "delete" : added_records == removed_records ? "replace" : "overwrite";
    s.summary["added-data-files"] = std::to_string(add.size());
    s.summary["deleted-data-files"] = std::to_string(removing.size());
    s.summary["added-records"] = std::to_string(added_records);
    s.summary["deleted-records"] = std::to_string(removed_records);
    s.summary["added-files-size"] = std::to_string(added_bytes);
    s.summary["removed-files-size"] = std::to_string(removed_bytes);
    AddTotals(&s.summary, live);
    DOTDO_ASSIGN_OR_RETURN(s.manifest_list, base.WriteManifestList(id, seq, out));
    return s;
  });
}

Result<int64_t> IcebergTable::SnapshotAsOf(int64_t timestamp_ms) const {
  std::optional<int64_t> found;
  for (const auto& [ts, id] : snapshot_log_)
    if (ts <= timestamp_ms && FindSnapshot(id)) found = id;
  if (!found) return NotFoundError("no snapshot at or before " + std::to_string(timestamp_ms));
  return *found;
}

Result<std::vector<IcebergDataFile>> IcebergTable::Files(std::optional<int64_t> snapshot_id, const IcebergPruner* pruner,
                                                         IcebergScanStats* stats) const {
  IcebergScanStats local;
  IcebergScanStats& st = stats ? *stats : local;
  DOTDO_ASSIGN_OR_RETURN(auto manifests, ManifestsOf(snapshot_id));
  std::vector<IcebergDataFile> out;
  for (const auto& m : manifests) {
    if (pruner && pruner->keep_manifest && !pruner->keep_manifest(m.partitions)) {
      ++st.manifests_skipped;
      continue;
    }
    ++st.manifests_read;
    DOTDO_ASSIGN_OR_RETURN(auto es, ReadManifest(m));
    for (auto& e : es) {
      if (e.status == 2) continue;
      if (pruner && pruner->keep_file && !pruner->keep_file(e.file)) {
        ++st.files_skipped;
        continue;
      }
      ++st.files_kept;
      out.push_back(std::move(e.file));
    }
  }
  return out;
}

}  // namespace dotdo::tiering
