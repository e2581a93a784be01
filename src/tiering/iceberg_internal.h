// Internals of IcebergTable: Iceberg types and values (iceberg_values.cc) and the Avro manifest
// lists and manifests written and read with libavro (iceberg_avro.cc).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tiering/iceberg_table.h"

namespace dotdo::tiering::internal {

// --- types and values (iceberg_values.cc) ---
bool IsIcebergType(std::string_view type);
// The type of a partition field's values: the source type (identity) or "date" (day).
std::string PartitionResultType(const IcebergPartitionField& field, const IcebergSchema& schema);
const IcebergField* FindField(const IcebergSchema& schema, int id);
// kInvalidArgument unless value is null or has the variant alternative (and range) of `type`.
Status CheckValue(std::string_view type, const IcebergValue& value, std::string_view what);
// Iceberg single-value binary serialization (spec appendix D). REQUIRES: CheckValue passed, not null.
std::string EncodeSingleValue(std::string_view type, const IcebergValue& value);
Result<IcebergValue> DecodeSingleValue(std::string_view type, std::string_view bytes);
// <0, 0, >0 for values of one type (both non-null).
int CompareValues(const IcebergValue& a, const IcebergValue& b);
// day transform of a date (days) or timestamptz (µs) value.
int64_t DayOf(std::string_view source_type, int64_t value);

Status ValidateSchema(const IcebergSchema& schema);
Status ValidateSpec(const std::vector<IcebergPartitionField>& spec, const IcebergSchema& schema);
Status ValidateDataFile(const IcebergDataFile& file, const IcebergSchema& schema,
                        const std::vector<IcebergPartitionField>& spec);

nlohmann::json SchemaToJson(const IcebergSchema& schema);
Result<IcebergSchema> SchemaFromJson(const nlohmann::json& j);
nlohmann::json SpecToJson(const std::vector<IcebergPartitionField>& spec);
Result<std::vector<IcebergPartitionField>> SpecFromJson(const nlohmann::json& j, const IcebergSchema& schema);

// A random version 4 UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string RandomUuid();
// A random positive 63-bit id.
int64_t RandomId();

// --- Avro (iceberg_avro.cc) ---
struct ManifestListHeader {
  int64_t snapshot_id = 0, parent_snapshot_id = -1, sequence_number = 0;
};
Result<std::string> EncodeManifestList(const ManifestListHeader& header,
                                       const std::vector<IcebergTable::ManifestRef>& manifests,
                                       const IcebergTable& table);
Result<std::vector<IcebergTable::ManifestRef>> DecodeManifestList(std::string_view bytes, const IcebergTable& table);
Result<std::string> EncodeManifest(const std::vector<IcebergTable::Entry>& entries, const IcebergTable& table);
// Entries as stored, with null snapshot ids and sequence numbers inherited from `ref`.
Result<std::vector<IcebergTable::Entry>> DecodeManifest(std::string_view bytes, const IcebergTable::ManifestRef& ref,
                                                        const IcebergTable& table);
// Partition summaries of the entries' partition values (spec order).
std::vector<IcebergPartitionSummary> SummarizePartitions(const std::vector<IcebergTable::Entry>& entries,
                                                         const IcebergTable& table);

}  // namespace dotdo::tiering::internal
