// IcebergTable: an Apache Iceberg format v2 table kept in an ObjectStore, the cold tier's catalog.
// Layout, what is written and the commit protocol are in docs/formats/iceberg.md; in short:
//
//   <prefix>/metadata/v<N>.metadata.json     table metadata (schemas, partition spec, snapshots, logs)
//   <prefix>/metadata/version-hint.text      "<N>", written after each commit (a hint only)
//   <prefix>/metadata/snap-<id>-<uuid>.avro  manifest list of one snapshot (Avro, libavro)
//   <prefix>/metadata/<uuid>-m<i>.avro       manifests (Avro, libavro)
//
// Data files (Parquet) are written by the caller into the same ObjectStore under any key; the table
// records them as file_path = location root + key, where the location root is `location` without
// its trailing `prefix` (for a LocalObjectStore rooted at /abs/objects, whose bytes are
// /abs/objects/data/<key>, the location is "file:///abs/objects/data/" + prefix). Independent Iceberg
// readers open every path in the metadata directly.
//
// A commit writes new manifests and a manifest list, then Puts v<N+1>.metadata.json with
// if_none_match; losing that race (412) reloads the head and redoes the operation on top of it, up to
// kMaxCommitAttempts times. A failure at any step leaves the table at its previous snapshot; the
// manifests such a commit wrote are orphans that RemoveOrphanMetadata deletes.
//
// Values (IcebergValue) by Iceberg type: long, int, date (days), timestamptz and timestamp (µs since the epoch)
// → int64_t; double → double; boolean → bool; string, binary → std::string; null → monostate.
// Partition values: identity → the source column's type; day → int64_t days since 1970-01-01.
//
// Thread-safety: one IcebergTable is not safe for concurrent use; several handles (in one process or
// many) on the same table are, through the commit protocol. The ObjectStore is not owned and must
// outlive every handle (handles are values: copies share the store).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dotdo/clock.h"
#include "dotdo/object_store.h"
#include "dotdo/status.h"

namespace dotdo::tiering {

// Iceberg primitive types understood here: "long", "int", "double", "boolean", "string",
// "timestamptz" (µs, UTC), "timestamp" (µs, without zone), "date", "binary".
struct IcebergField {
  int id = 0;              // >= 1, unique in the schema
  std::string name;        // [A-Za-z_$][A-Za-z0-9_$]{0,127}, unique
  std::string type;
  bool required = false;
};

struct IcebergSchema {
  int schema_id = 0;
  std::vector<IcebergField> fields;
};

struct IcebergPartitionField {
  int source_id = 0;       // an IcebergField::id
  int field_id = 0;        // >= 1000, unique in the spec
  std::string name;        // an Avro name: [A-Za-z_][A-Za-z0-9_]{0,127}, unique
  std::string transform;   // "identity" or "day" (date / timestamp / timestamptz sources)
};

using IcebergValue = std::variant<std::monostate, int64_t, double, bool, std::string>;

struct IcebergDataFile {
  std::string key;                                      // object key of the Parquet file
  int64_t file_size_bytes = 0, record_count = 0;
  std::vector<IcebergValue> partition;                  // one per partition field, spec order
  std::map<int, IcebergValue> lower_bounds, upper_bounds;  // by field id
  std::map<int, int64_t> value_counts, null_value_counts;  // by field id
  friend bool operator==(const IcebergDataFile&, const IcebergDataFile&) = default;
};

struct IcebergSnapshot {
  int64_t snapshot_id = 0;
  int64_t parent_snapshot_id = -1;   // -1: none
  int64_t sequence_number = 0;
  int64_t timestamp_ms = 0;
  std::string operation;             // "append", "replace", "overwrite" or "delete"
  std::string manifest_list;         // object key of the snapshot's manifest list
  std::map<std::string, std::string> summary;  // without "operation"
};

// One partition field's summary over a manifest (manifest list field 507).
struct IcebergPartitionSummary {
  bool contains_null = false;
  std::optional<bool> contains_nan;
  IcebergValue lower, upper;         // monostate when the manifest has no non-null value
};

// Scan pruning: a callback that returns false skips the manifest (seen first, with its partition
// summaries in spec order) or the file. An unset callback keeps everything.
struct IcebergPruner {
  std::function<bool(const std::vector<IcebergPartitionSummary>&)> keep_manifest;
  std::function<bool(const IcebergDataFile&)> keep_file;
};

struct IcebergScanStats {
  int64_t manifests_read = 0, manifests_skipped = 0;
  int64_t files_kept = 0, files_skipped = 0;
};

struct IcebergExpireResult {
  std::vector<int64_t> expired_snapshot_ids;
  std::vector<std::string> deleted_manifest_lists, deleted_manifests, deleted_data_files;  // object keys
};

class IcebergTable {
 public:
  static constexpr int kMaxCommitAttempts = 16;
  // Table property: an append that would leave a snapshot with more manifests than this merges the
  // older ones into one (Iceberg's name and default; an integer >= 2).
  static constexpr std::string_view kMergeProperty = "commit.manifest.min-count-to-merge";
  static constexpr int64_t kDefaultMergeThreshold = 100;

  // Creates the table (v1.metadata.json, no snapshot). prefix: the table's key prefix, a valid
  // object key; location: a URI that ends with "/" + prefix. kAlreadyExists when a table is there;
  // kInvalidArgument for a bad schema, spec, property or location.
  static Result<IcebergTable> Create(ObjectStore& store, std::string prefix, std::string location,
                                     IcebergSchema schema, std::vector<IcebergPartitionField> spec,
                                     std::map<std::string, std::string> properties = {});
  // kNotFound when there is no table under prefix.
  static Result<IcebergTable> Load(ObjectStore& store, std::string prefix);

  // Source of snapshot and log timestamps; default SystemClock. Not owned; must outlive the table.
  void SetClock(Clock* clock) { clock_ = clock; }

  // Reloads the newest committed metadata.
  Status Refresh();

  // Adds files (at least one) in a snapshot with operation "append". A key already live in the
  // table is kAlreadyExists (so a retried append after an ambiguous failure is recognisable);
  // invalid files (see docs; also keys under <prefix>/metadata/) are kInvalidArgument. The
  // summary's keys are added to the snapshot summary ("operation" is reserved).
  Result<IcebergSnapshot> Append(const std::vector<IcebergDataFile>& files,
                                 std::map<std::string, std::string> summary = {});
  // Removes the live files remove_keys and adds `add` in one snapshot: "delete" when add is empty,
  // "replace" when the record count is unchanged (compaction), else "overwrite". A key not live in
  // the current snapshot is kFailedPrecondition.
  Result<IcebergSnapshot> Rewrite(const std::vector<std::string>& remove_keys,
                                  const std::vector<IcebergDataFile>& add);

  const std::vector<IcebergSnapshot>& Snapshots() const { return snapshots_; }
  std::optional<int64_t> CurrentSnapshotId() const { return current_snapshot_id_; }
  // The snapshot current at timestamp_ms (from the snapshot log); kNotFound before the first.
  Result<int64_t> SnapshotAsOf(int64_t timestamp_ms) const;

  // Live data files of a snapshot (default: current; none yet → empty). Unknown id: kNotFound.
  Result<std::vector<IcebergDataFile>> Files(std::optional<int64_t> snapshot_id = {},
                                             const IcebergPruner* pruner = nullptr,
                                             IcebergScanStats* stats = nullptr) const;

  // Drops snapshots older than older_than_ms, keeping the current one and at least the newest
  // retain_last (>= 1), then deletes the manifest lists, manifests and data files that no remaining
  // snapshot references.
  Result<IcebergExpireResult> ExpireSnapshots(int64_t older_than_ms, int retain_last);
  // Deletes Avro files under <prefix>/metadata/ that no snapshot references and that were written
  // before older_than_ms (leftovers of failed commits). Returns their keys.
  Result<std::vector<std::string>> RemoveOrphanMetadata(int64_t older_than_ms);

  const IcebergSchema& schema() const { return schema_; }
  const std::vector<IcebergPartitionField>& spec() const { return spec_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& location() const { return location_; }
  const std::string& table_uuid() const { return uuid_; }
  int metadata_version() const { return version_; }
  // Object key <-> URI written in the metadata.
  std::string KeyToPath(std::string_view key) const { return root_ + std::string(key); }
  Result<std::string> PathToKey(std::string_view path) const;

  // Internal: one manifest as listed in a manifest list (public for the Avro helpers).
  struct ManifestRef {
    std::string key;
    int64_t length = 0, sequence_number = 0, min_sequence_number = 0, added_snapshot_id = 0;
    int32_t added_files = 0, existing_files = 0, deleted_files = 0;
    int64_t added_rows = 0, existing_rows = 0, deleted_rows = 0;
    std::vector<IcebergPartitionSummary> partitions;
  };
  // Internal: one manifest entry. status 0 EXISTING, 1 ADDED, 2 DELETED.
  struct Entry {
    int status = 1;
    int64_t snapshot_id = 0, sequence_number = 0, file_sequence_number = 0;
    IcebergDataFile file;
  };

 private:
  IcebergTable() = default;

  std::string MetadataKey(int version) const;
  std::string MetadataJson() const;
  Status ParseMetadata(std::string_view json);
  Status LoadLatest(int at_least);
  const IcebergSnapshot* FindSnapshot(int64_t id) const;
  Result<std::vector<ManifestRef>> ManifestsOf(std::optional<int64_t> snapshot_id) const;
  Result<std::vector<Entry>> ReadManifest(const ManifestRef& ref) const;
  // Writes a manifest of `entries`; the ref's sequence numbers are filled in at commit.
  Result<ManifestRef> WriteManifest(const std::vector<Entry>& entries, int64_t snapshot_id) const;
  Result<std::string> WriteManifestList(int64_t snapshot_id, int64_t sequence_number,
                                        const std::vector<ManifestRef>& manifests) const;
  // Commit loop: `change` edits a copy of the current state (it is re-run on the new head after a
  // lost race) and returns whether there is anything to commit; the result is put as the next
  // metadata version with if_none_match.
  using ChangeFn = std::function<Result<bool>(IcebergTable& next)>;
  Status Commit(const ChangeFn& change);
  // A Commit that adds snapshot `snapshot_id` built by `build` on top of `base`.
  using BuildFn = std::function<Result<IcebergSnapshot>(const IcebergTable& base, int64_t sequence_number)>;
  Result<IcebergSnapshot> CommitSnapshot(int64_t snapshot_id, const BuildFn& build);
  int64_t NowMs() const;
  int64_t MergeThreshold() const;

  ObjectStore* store_ = nullptr;
  Clock* clock_ = nullptr;
  std::string prefix_, location_, root_, uuid_;
  int version_ = 0;
  IcebergSchema schema_;
  std::vector<IcebergPartitionField> spec_;
  std::map<std::string, std::string> properties_;
  int64_t last_sequence_number_ = 0, last_updated_ms_ = 0;
  std::optional<int64_t> current_snapshot_id_;
  std::vector<IcebergSnapshot> snapshots_;
  std::vector<std::pair<int64_t, int64_t>> snapshot_log_;     // (timestamp_ms, snapshot_id)
  std::vector<std::pair<int64_t, std::string>> metadata_log_;  // (timestamp_ms, metadata file URI)
};

}  // namespace dotdo::tiering
