// Iceberg types, values and their single-value binary serialization (Iceberg table spec,
// "Appendix D: Single-value serialization"), plus validation of schemas, partition specs and data
// files, and the JSON forms of schemas and specs used in table metadata and manifest headers.
#include <openssl/rand.h>

#include <cctype>
#include <climits>
#include <cmath>
#include <cstring>
#include <set>

#include "tiering/iceberg_internal.h"

namespace dotdo::tiering::internal {
namespace {

constexpr const char* kTypes[] = {"long", "int", "double", "boolean", "string", "timestamptz", "timestamp", "date", "binary"};

bool IsIntegral(std::string_view t) { return t == "long" || t == "int" || t == "date" || t == "timestamptz" || t == "timestamp"; }
bool Is32Bit(std::string_view t) { return t == "int" || t == "date"; }

// Column names: [A-Za-z_$][A-Za-z0-9_$]{0,127} (the stores' system columns start with '$').
Status ValidateColumnName(std::string_view name) {
  auto first = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  bool ok = !name.empty() && name.size() <= 128 && first(name[0]);
  for (size_t i = 1; ok && i < name.size(); ++i) ok = first(name[i]) || std::isdigit(static_cast<unsigned char>(name[i]));
  if (!ok) return InvalidArgumentError("invalid column name '" + std::string(name) + "' (grammar [A-Za-z_$][A-Za-z0-9_$]{0,127})");
  return OkStatus();
}

// Partition field names become Avro field names: [A-Za-z_][A-Za-z0-9_]{0,127}.
Status ValidateAvroName(std::string_view name) {
  auto first = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  bool ok = !name.empty() && name.size() <= 128 && first(name[0]);
  for (size_t i = 1; ok && i < name.size(); ++i) ok = first(name[i]) || std::isdigit(static_cast<unsigned char>(name[i]));
  if (!ok) return InvalidArgumentError("invalid partition field name '" + std::string(name) + "' (grammar [A-Za-z_][A-Za-z0-9_]{0,127})");
  return OkStatus();
}

void AppendLittleEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t ReadLittleEndian(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < in.size(); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

}  // namespace

bool IsIcebergType(std::string_view type) {
  for (const char* t : kTypes) if (type == t) return true;
  return false;
}

const IcebergField* FindField(const IcebergSchema& schema, int id) {
  for (const auto& f : schema.fields) if (f.id == id) return &f;
  return nullptr;
}

std::string PartitionResultType(const IcebergPartitionField& field, const IcebergSchema& schema) {
  if (field.transform == "day") return "date";
  const IcebergField* source = FindField(schema, field.source_id);
  return source ? source->type : "";
}

Status CheckValue(std::string_view type, const IcebergValue& value, std::string_view what) {
  if (std::holds_alternative<std::monostate>(value)) return OkStatus();
  bool ok = false;
  if (IsIntegral(type)) {
    ok = std::holds_alternative<int64_t>(value);
    if (ok && Is32Bit(type)) {
      int64_t v = std::get<int64_t>(value);
      if (v < INT32_MIN || v > INT32_MAX) return InvalidArgumentError(std::string(what) + ": value out of range for " + std::string(type));
    }
  } else if (type == "double") {
    ok = std::holds_alternative<double>(value);
  } else if (type == "boolean") {
    ok = std::holds_alternative<bool>(value);
  } else {
    ok = std::holds_alternative<std::string>(value);
  }
  if (!ok) return InvalidArgumentError(std::string(what) + ": value does not have type " + std::string(type));
  return OkStatus();
}

std::string EncodeSingleValue(std::string_view type, const IcebergValue& value) {
  std::string out;
  if (IsIntegral(type)) {
    AppendLittleEndian(&out, static_cast<uint64_t>(std::get<int64_t>(value)), Is32Bit(type) ? 4 : 8);
  } else if (type == "double") {
    uint64_t bits;
    double d = std::get<double>(value);
    std::memcpy(&bits, &d, 8);
    AppendLittleEndian(&out, bits, 8);
  } else if (type == "boolean") {
    out.push_back(std::get<bool>(value) ? 1 : 0);
  } else {
    out = std::get<std::string>(value);
  }
  return out;
}

Result<IcebergValue> DecodeSingleValue(std::string_view type, std::string_view bytes) {
  auto bad = [&] { return DataLossError("bad single-value serialization of a " + std::string(type)); };
  if (IsIntegral(type)) {
    size_t n = Is32Bit(type) ? 4 : 8;
    if (bytes.size() != n) return bad();
    uint64_t v = ReadLittleEndian(bytes);
    if (n == 4) return IcebergValue(static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v))));
    return IcebergValue(static_cast<int64_t>(v));
  }
  if (type == "double") {
    if (bytes.size() != 8) return bad();
    uint64_t bits = ReadLittleEndian(bytes);
    double d;
    std::memcpy(&d, &bits, 8);
    return IcebergValue(d);
  }
  if (type == "boolean") {
    if (bytes.size() != 1) return bad();
    return IcebergValue(bytes[0] != 0);
  }
  return IcebergValue(std::string(bytes));
}

int CompareValues(const IcebergValue& a, const IcebergValue& b) {
  if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
  if (auto* x = std::get_if<int64_t>(&a)) { int64_t y = std::get<int64_t>(b); return *x < y ? -1 : *x > y; }
  if (auto* x = std::get_if<double>(&a)) { double y = std::get<double>(b); return *x < y ? -1 : *x > y; }
  if (auto* x = std::get_if<bool>(&a)) { bool y = std::get<bool>(b); return *x == y ? 0 : (*x ? 1 : -1); }
  if (auto* x = std::get_if<std::string>(&a)) { int c = x->compare(std::get<std::string>(b)); return c < 0 ? -1 : c > 0; }
  return 0;
}

int64_t DayOf(std::string_view source_type, int64_t value) {
  if (source_type == "date") return value;
  constexpr int64_t kMicrosPerDay = 86400LL * 1000 * 1000;
  int64_t d = value / kMicrosPerDay;
  if (value % kMicrosPerDay < 0) --d;  // floor for instants before the epoch
  return d;
}

Status ValidateSchema(const IcebergSchema& schema) {
  if (schema.schema_id < 0) return InvalidArgumentError("schema id must be >= 0");
  if (schema.fields.empty()) return InvalidArgumentError("schema has no fields");
  std::set<int> ids;
  std::set<std::string> names;
  for (const auto& f : schema.fields) {
    if (f.id < 1) return InvalidArgumentError("field id " + std::to_string(f.id) + " must be >= 1");
    if (!ids.insert(f.id).second) return InvalidArgumentError("duplicate field id " + std::to_string(f.id));
    DOTDO_RETURN_IF_ERROR(ValidateColumnName(f.name));
    if (!names.insert(f.name).second) return InvalidArgumentError("duplicate column name '" + f.name + "'");
    if (!IsIcebergType(f.type)) return InvalidArgumentError("column '" + f.name + "': unknown type '" + f.type + "'");
  }
  return OkStatus();
}

Status ValidateSpec(const std::vector<IcebergPartitionField>& spec, const IcebergSchema& schema) {
  std::set<int> ids;
  std::set<std::string> names;
  for (const auto& p : spec) {
    const IcebergField* source = FindField(schema, p.source_id);
    if (!source) return InvalidArgumentError("partition field '" + p.name + "': unknown source field id " + std::to_string(p.source_id));
    if (p.field_id < 1000) return InvalidArgumentError("partition field id " + std::to_string(p.field_id) + " must be >= 1000");
    if (!ids.insert(p.field_id).second) return InvalidArgumentError("duplicate partition field id " + std::to_string(p.field_id));
    DOTDO_RETURN_IF_ERROR(ValidateAvroName(p.name));
    if (!names.insert(p.name).second) return InvalidArgumentError("duplicate partition field name '" + p.name + "'");
    if (p.transform == "day") {
      if (source->type != "date" && source->type != "timestamptz" && source->type != "timestamp")
        return InvalidArgumentError("partition field '" + p.name + "': day needs a date, timestamp or timestamptz source");
    } else if (p.transform != "identity") {
      return InvalidArgumentError("partition field '" + p.name + "': unsupported transform '" + p.transform + "'");
    }
  }
  return OkStatus();
}

Status ValidateDataFile(const IcebergDataFile& file, const IcebergSchema& schema,
                        const std::vector<IcebergPartitionField>& spec) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(file.key).WithContext("data file key"));
  const std::string what = "data file '" + file.key + "'";
  if (file.file_size_bytes < 0 || file.record_count < 0)
    return InvalidArgumentError(what + ": negative size or record count");
  if (file.partition.size() != spec.size())
    return InvalidArgumentError(what + ": " + std::to_string(file.partition.size()) + " partition values for " +
                                std::to_string(spec.size()) + " partition fields");
  for (size_t i = 0; i < spec.size(); ++i)
    DOTDO_RETURN_IF_ERROR(CheckValue(PartitionResultType(spec[i], schema), file.partition[i],
                                     what + " partition '" + spec[i].name + "'"));
  for (const auto* bounds : {&file.lower_bounds, &file.upper_bounds}) {
    for (const auto& [id, v] : *bounds) {
      const IcebergField* f = FindField(schema, id);
      if (!f) return InvalidArgumentError(what + ": bound for unknown field id " + std::to_string(id));
      if (std::holds_alternative<std::monostate>(v)) return InvalidArgumentError(what + ": null bound for field " + f->name);
      DOTDO_RETURN_IF_ERROR(CheckValue(f->type, v, what + " bound of '" + f->name + "'"));
    }
  }
  for (const auto& [id, lo] : file.lower_bounds) {
    if (auto* d = std::get_if<double>(&lo); d && std::isnan(*d)) return InvalidArgumentError(what + ": NaN bound");
    auto hi = file.upper_bounds.find(id);
    if (hi == file.upper_bounds.end()) continue;
    if (auto* d = std::get_if<double>(&hi->second); d && std::isnan(*d)) return InvalidArgumentError(what + ": NaN bound");
    if (CompareValues(lo, hi->second) > 0)
      return InvalidArgumentError(what + ": lower bound above upper bound for field id " + std::to_string(id));
  }
  for (const auto* counts : {&file.value_counts, &file.null_value_counts}) {
    for (const auto& [id, n] : *counts) {
      if (!FindField(schema, id)) return InvalidArgumentError(what + ": count for unknown field id " + std::to_string(id));
      if (n < 0) return InvalidArgumentError(what + ": negative count for field id " + std::to_string(id));
    }
  }
  return OkStatus();
}

nlohmann::json SchemaToJson(const IcebergSchema& schema) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : schema.fields)
    fields.push_back({{"id", f.id}, {"name", f.name}, {"required", f.required}, {"type", f.type}});
  return {{"type", "struct"}, {"schema-id", schema.schema_id}, {"fields", fields}};
}

Result<IcebergSchema> SchemaFromJson(const nlohmann::json& j) {
  try {
    IcebergSchema s;
    s.schema_id = j.at("schema-id").get<int>();
    for (const auto& f : j.at("fields")) {
      if (!f.at("type").is_string()) return UnimplementedError("nested column types are not supported");
      s.fields.push_back({f.at("id").get<int>(), f.at("name").get<std::string>(), f.at("type").get<std::string>(),
                          f.at("required").get<bool>()});
    }
    Status st = ValidateSchema(s);
    if (!st.ok()) return DataLossError("table metadata: " + st.message());
    return s;
  } catch (const nlohmann::json::exception& e) {
    return DataLossError(std::string("table metadata: bad schema: ") + e.what());
  }
}

nlohmann::json SpecToJson(const std::vector<IcebergPartitionField>& spec) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& p : spec)
    fields.push_back({{"name", p.name}, {"transform", p.transform}, {"source-id", p.source_id}, {"field-id", p.field_id}});
  return fields;
}

Result<std::vector<IcebergPartitionField>> SpecFromJson(const nlohmann::json& j, const IcebergSchema& schema) {
  try {
    std::vector<IcebergPartitionField> spec;
    for (const auto& p : j)
      spec.push_back({p.at("source-id").get<int>(), p.at("field-id").get<int>(), p.at("name").get<std::string>(),
                      p.at("transform").get<std::string>()});
    Status st = ValidateSpec(spec, schema);
    if (!st.ok()) return DataLossError("table metadata: " + st.message());
    return spec;
  } catch (const nlohmann::json::exception& e) {
    return DataLossError(std::string("table metadata: bad partition spec: ") + e.what());
  }
}

std::string RandomUuid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 15]);
  }
  return s;
}

int64_t RandomId() {
  uint64_t v = 0;
  while (v == 0) {
    RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
    v &= 0x7fffffffffffffffULL;
  }
  return static_cast<int64_t>(v);
}

}  // namespace dotdo::tiering::internal
