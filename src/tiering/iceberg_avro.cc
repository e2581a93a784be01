// Manifest lists and manifests as Avro object container files (Avro 1.11 spec, "Object Container
// Files"; Iceberg table spec, "Manifests" and "Manifest Lists", format v2 columns with their field
// ids). Records are built and binary-encoded with libavro's generic values and read back with
// libavro's file reader. The container framing (magic, metadata map, sync marker, one block) is
// assembled here because libavro's file writer cannot add the file metadata Iceberg requires
// ("schema", "partition-spec", "format-version", ...) and re-serializes the schema without the
// "field-id" attributes; both the metadata map and the block counts are still encoded by libavro.
#include <avro.h>
#include <openssl/rand.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>

#include "tiering/iceberg_internal.h"

namespace dotdo::tiering::internal {
namespace {

using json = nlohmann::json;
using Ref = IcebergTable::ManifestRef;
using Entry = IcebergTable::Entry;

Status AvroError(std::string_view what) {
  return InternalError(std::string("avro: ") + std::string(what) + ": " + avro_strerror());
}

json Optional(json type) { return json::array({"null", std::move(type)}); }

json AvroType(std::string_view type) {
  if (type == "timestamptz") return {{"type", "long"}, {"logicalType", "timestamp-micros"}, {"adjust-to-utc", true}};
  if (type == "timestamp") return {{"type", "long"}, {"logicalType", "timestamp-micros"}, {"adjust-to-utc", false}};
  if (type == "date") return {{"type", "int"}, {"logicalType", "date"}};
  if (type == "binary") return "bytes";
  return std::string(type);  // long, int, double, boolean, string
}

json Field(std::string name, json type, int id, bool optional) {
  json f = {{"name", std::move(name)}, {"type", optional ? Optional(std::move(type)) : std::move(type)}, {"field-id", id}};
  if (optional) f["default"] = nullptr;
  return f;
}

// Iceberg's Avro form of map<int, V>: an array of key/value records with logicalType "map".
json MapField(std::string name, int field_id, int key_id, int value_id, std::string value_type) {
  json rec = {{"type", "record"},
              {"name", "k" + std::to_string(key_id) + "_v" + std::to_string(value_id)},
              {"fields", json::array({Field("key", "int", key_id, false), Field("value", value_type, value_id, false)})}};
  return Field(std::move(name), {{"type", "array"}, {"items", rec}, {"logicalType", "map"}}, field_id, true);
}

std::string ManifestListSchema() {
  json summary = {{"type", "record"},
                  {"name", "r508"},
                  {"fields", json::array({Field("contains_null", "boolean", 509, false),
                                          Field("contains_nan", "boolean", 518, true),
                                          Field("lower_bound", "bytes", 510, true),
                                          Field("upper_bound", "bytes", 511, true)})}};
  json fields = json::array(
      {Field("manifest_path", "string", 500, false), Field("manifest_length", "long", 501, false),
       Field("partition_spec_id", "int", 502, false), Field("content", "int", 517, false),
       Field("sequence_number", "long", 515, false), Field("min_sequence_number", "long", 516, false),
       Field("added_snapshot_id", "long", 503, false), Field("added_files_count", "int", 504, false),
       Field("existing_files_count", "int", 505, false), Field("deleted_files_count", "int", 506, false),
       Field("added_rows_count", "long", 512, false), Field("existing_rows_count", "long", 513, false),
       Field("deleted_rows_count", "long", 514, false),
       Field("partitions", {{"type", "array"}, {"items", summary}, {"element-id", 508}}, 507, true),
       Field("key_metadata", "bytes", 519, true)});
  return json({{"type", "record"}, {"name", "manifest_file"}, {"fields", fields}}).dump();
}

std::string ManifestSchema(const IcebergTable& t) {
  json partition_fields = json::array();
  for (const auto& p : t.spec())
    partition_fields.push_back(Field(p.name, AvroType(PartitionResultType(p, t.schema())), p.field_id, true));
  json partition = {{"type", "record"}, {"name", "r102"}, {"fields", partition_fields}};
  json data_file_fields = json::array(
      {Field("content", "int", 134, false), Field("file_path", "string", 100, false),
       Field("file_format", "string", 101, false), Field("partition", partition, 102, false),
       Field("record_count", "long", 103, false), Field("file_size_in_bytes", "long", 104, false),
       MapField("value_counts", 109, 119, 120, "long"), MapField("null_value_counts", 110, 121, 122, "long"),
       MapField("lower_bounds", 125, 126, 127, "bytes"), MapField("upper_bounds", 128, 129, 130, "bytes"),
       Field("sort_order_id", "int", 140, true)});
  json data_file = {{"type", "record"}, {"name", "r2"}, {"fields", data_file_fields}};
  json fields = json::array({Field("status", "int", 0, false), Field("snapshot_id", "long", 1, true),
                             Field("sequence_number", "long", 3, true), Field("file_sequence_number", "long", 4, true),
                             Field("data_file", data_file, 2, false)});
  return json({{"type", "record"}, {"name", "manifest_entry"}, {"fields", fields}}).dump();
}

// One libavro schema + generic value, released together.
class AvroValue {
 public:
  static Result<std::unique_ptr<AvroValue>> Make(const std::string& schema_json) {
    auto v = std::unique_ptr<AvroValue>(new AvroValue);
    if (avro_schema_from_json_length(schema_json.data(), schema_json.size(), &v->schema_) != 0)
      return AvroError("schema");
    v->iface_ = avro_generic_class_from_schema(v->schema_);
    if (!v->iface_ || avro_generic_value_new(v->iface_, &v->value_) != 0) return AvroError("value");
    v->has_value_ = true;
    return v;
  }
  ~AvroValue() {
    if (has_value_) avro_value_decref(&value_);
    if (iface_) avro_value_iface_decref(iface_);
    if (schema_) avro_schema_decref(schema_);
  }
  avro_value_t* get() { return &value_; }
  // Appends the binary encoding of the value to *out.
  Status EncodeTo(std::string* out) {
    size_t size = 0;
    if (avro_value_sizeof(&value_, &size) != 0) return AvroError("sizeof");
    size_t at = out->size();
    out->resize(at + size);
    avro_writer_t w = avro_writer_memory(out->data() + at, static_cast<int64_t>(size));
    int rc = avro_value_write(w, &value_);
    avro_writer_free(w);
    return rc == 0 ? OkStatus() : AvroError("write");
  }

 private:
  AvroValue() = default;
  avro_schema_t schema_ = nullptr;
  avro_value_iface_t* iface_ = nullptr;
  avro_value_t value_{};
  bool has_value_ = false;
};

avro_value_t Child(avro_value_t* rec, const char* name) {
  avro_value_t f{};
  avro_value_get_by_name(rec, name, &f, nullptr);
  return f;
}
void SetLong(avro_value_t* rec, const char* name, int64_t v) { avro_value_t f = Child(rec, name); avro_value_set_long(&f, v); }
void SetInt(avro_value_t* rec, const char* name, int32_t v) { avro_value_t f = Child(rec, name); avro_value_set_int(&f, v); }
void SetString(avro_value_t* rec, const char* name, const std::string& v) {
  avro_value_t f = Child(rec, name);
  avro_value_set_string_len(&f, v.c_str(), v.size() + 1);
}
void SetNull(avro_value_t* field) { avro_value_t b; avro_value_set_branch(field, 0, &b); avro_value_set_null(&b); }
avro_value_t SetPresent(avro_value_t* field) { avro_value_t b{}; avro_value_set_branch(field, 1, &b); return b; }
void SetOptionalLong(avro_value_t* rec, const char* name, std::optional<int64_t> v) {
  avro_value_t f = Child(rec, name);
  if (!v) return SetNull(&f);
  avro_value_t b = SetPresent(&f);
  avro_value_set_long(&b, *v);
}
void SetBytes(avro_value_t* v, const std::string& bytes) {
  avro_value_set_bytes(v, const_cast<char*>(bytes.data()), bytes.size());
}

// Sets a (non-union) Avro value of Iceberg type `type`.
void SetTyped(avro_value_t* v, std::string_view type, const IcebergValue& value) {
  if (type == "int" || type == "date") avro_value_set_int(v, static_cast<int32_t>(std::get<int64_t>(value)));
  else if (type == "long" || type == "timestamptz" || type == "timestamp") avro_value_set_long(v, std::get<int64_t>(value));
  else if (type == "double") avro_value_set_double(v, std::get<double>(value));
  else if (type == "boolean") avro_value_set_boolean(v, std::get<bool>(value) ? 1 : 0);
  else if (type == "string") { const auto& s = std::get<std::string>(value); avro_value_set_string_len(v, s.c_str(), s.size() + 1); }
  else SetBytes(v, std::get<std::string>(value));
}

// Sets the optional map<int, V> field `name` of `rec` (Iceberg's array of key/value records).
template <typename V, typename SetValue>
void PutIntMap(avro_value_t* rec, const char* name, const std::map<int, V>& m, const SetValue& set_value) {
  avro_value_t f = Child(rec, name);
  avro_value_t arr = SetPresent(&f);
  for (const auto& [id, v] : m) {
    avro_value_t kv;
    avro_value_append(&arr, &kv, nullptr);
    SetInt(&kv, "key", id);
    avro_value_t val = Child(&kv, "value");
    set_value(&val, id, v);
  }
}

std::string EncodeLong(int64_t v) {
  auto a = AvroValue::Make("\"long\"");
  std::string out;
  if (!a.ok()) return out;
  avro_value_set_long((*a)->get(), v);
  (*a)->EncodeTo(&out).IgnoreError();
  return out;
}

// An object container file holding `block` (the concatenated encodings of `count` records).
Result<std::string> ContainerFile(const std::string& schema, std::map<std::string, std::string> meta,
                                  int64_t count, const std::string& block) {
  meta["avro.schema"] = schema;
  meta["avro.codec"] = "null";
  DOTDO_ASSIGN_OR_RETURN(auto map, AvroValue::Make(R"({"type":"map","values":"bytes"})"));
  for (const auto& [k, v] : meta) {
    avro_value_t e;
    if (avro_value_add(map->get(), k.c_str(), &e, nullptr, nullptr) != 0) return AvroError("metadata");
    SetBytes(&e, v);
  }
  std::string out = std::string("Obj\x01", 4);
  DOTDO_RETURN_IF_ERROR(map->EncodeTo(&out));
  std::string sync(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(sync.data()), 16);
  out += sync;
  if (count > 0) {
    out += EncodeLong(count);
    out += EncodeLong(static_cast<int64_t>(block.size()));
    out += block;
    out += sync;
  }
  return out;
}

// Checks the container framing (magic, metadata map, sync marker, blocks each followed by the
// marker) with libavro's binary decoder. libavro's file reader leaks its state when it fails to open
// a damaged file, so damaged files are turned away here first. Positions advance by the encoded size
// of each decoded value (writers encode maps in one block and varints canonically).
Status CheckFraming(std::string_view bytes) {
  auto bad = [](const char* what) { return DataLossError(std::string("avro: damaged container file (") + what + ")"); };
  if (bytes.size() < 4 || bytes.substr(0, 4) != std::string_view("Obj\x01", 4)) return bad("magic");
  DOTDO_ASSIGN_OR_RETURN(auto map, AvroValue::Make(R"({"type":"map","values":"bytes"})"));
  DOTDO_ASSIGN_OR_RETURN(auto number, AvroValue::Make("\"long\""));
  size_t at = 4;
  // Decodes the value at `at` into v and moves past it.
  auto decode = [&](AvroValue* v) {
    avro_reader_t r = avro_reader_memory(bytes.data() + at, static_cast<int64_t>(bytes.size() - at));
    int rc = avro_value_read(r, v->get());
    avro_reader_free(r);
    size_t size = 0;
    if (rc != 0 || avro_value_sizeof(v->get(), &size) != 0 || size > bytes.size() - at) return false;
    at += size;
    return true;
  };
  auto read_long = [&](int64_t* out) {
    return decode(number.get()) && avro_value_get_long(number->get(), out) == 0 && *out >= 0;
  };
  if (!decode(map.get())) return bad("metadata");
  if (bytes.size() - at < 16) return bad("sync marker");
  const std::string_view sync = bytes.substr(at, 16);
  at += 16;
  while (at < bytes.size()) {
    int64_t count = 0, size = 0;
    if (!read_long(&count) || !read_long(&size) || static_cast<uint64_t>(size) > bytes.size() - at) return bad("block");
    at += static_cast<size_t>(size);
    if (bytes.size() - at < 16 || bytes.substr(at, 16) != sync) return bad("block marker");
    at += 16;
  }
  return OkStatus();
}

// Calls fn on every record of an object container file, read with libavro's file reader.
Status ForEachRecord(std::string_view bytes, const std::function<Status(avro_value_t*)>& fn) {
  DOTDO_RETURN_IF_ERROR(CheckFraming(bytes));
  std::string copy(bytes);
  FILE* fp = fmemopen(copy.data(), copy.size(), "rb");
  if (!fp) return InternalError("fmemopen failed");
  avro_file_reader_t reader;
  if (avro_file_reader_fp(fp, "manifest", 1, &reader) != 0) return DataLossError(std::string("avro: ") + avro_strerror());
  avro_schema_t schema = avro_file_reader_get_writer_schema(reader);  // a new reference
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_schema_decref(schema);
  avro_value_t value;
  avro_generic_value_new(iface, &value);
  Status st;
  int rc;
  while (st.ok() && (rc = avro_file_reader_read_value(reader, &value)) == 0) st = fn(&value);
  if (st.ok() && rc != EOF) st = DataLossError(std::string("avro: ") + avro_strerror());
  avro_value_decref(&value);
  avro_value_iface_decref(iface);
  avro_file_reader_close(reader);
  return st;
}

// Reading helpers: absent or null optional fields read as nullopt.
std::optional<avro_value_t> Present(avro_value_t* rec, const char* name) {
  avro_value_t f;
  if (avro_value_get_by_name(rec, name, &f, nullptr) != 0) return std::nullopt;
  if (avro_value_get_type(&f) != AVRO_UNION) return f;
  int disc = 0;
  avro_value_t b;
  avro_value_get_discriminant(&f, &disc);
  avro_value_get_current_branch(&f, &b);
  if (avro_value_get_type(&b) == AVRO_NULL) return std::nullopt;
  return b;
}
std::optional<int64_t> GetLong(avro_value_t* rec, const char* name) {
  auto f = Present(rec, name);
  if (!f) return std::nullopt;
  if (avro_value_get_type(&*f) == AVRO_INT32) { int32_t i = 0; avro_value_get_int(&*f, &i); return i; }
  int64_t l = 0;
  avro_value_get_long(&*f, &l);
  return l;
}
std::string GetStringOf(avro_value_t* v) {
  const char* p = nullptr;
  size_t n = 0;
  if (avro_value_get_type(v) == AVRO_STRING) {
    avro_value_get_string(v, &p, &n);
    return n ? std::string(p, n - 1) : std::string();
  }
  const void* b = nullptr;
  avro_value_get_bytes(v, &b, &n);
  return std::string(static_cast<const char*>(b), n);
}
std::optional<std::string> GetString(avro_value_t* rec, const char* name) {
  auto f = Present(rec, name);
  if (!f) return std::nullopt;
  return GetStringOf(&*f);
}
IcebergValue GetTyped(avro_value_t* v, std::string_view type) {
  switch (avro_value_get_type(v)) {
    case AVRO_INT32: { int32_t i = 0; avro_value_get_int(v, &i); return int64_t{i}; }
    case AVRO_INT64: { int64_t l = 0; avro_value_get_long(v, &l); return l; }
    case AVRO_DOUBLE: { double d = 0; avro_value_get_double(v, &d); return d; }
    case AVRO_BOOLEAN: { int b = 0; avro_value_get_boolean(v, &b); return b != 0; }
    default: (void)type; return GetStringOf(v);
  }
}

Status Missing(const char* what) { return DataLossError(std::string("manifest: missing ") + what); }

}  // namespace

std::vector<IcebergPartitionSummary> SummarizePartitions(const std::vector<Entry>& entries, const IcebergTable& t) {
  std::vector<IcebergPartitionSummary> out(t.spec().size());
  for (const auto& e : entries) {
    for (size_t i = 0; i < out.size() && i < e.file.partition.size(); ++i) {
      const IcebergValue& v = e.file.partition[i];
      auto& s = out[i];
      if (std::holds_alternative<std::monostate>(v)) { s.contains_null = true; continue; }
      if (auto* d = std::get_if<double>(&v)) {
        s.contains_nan = s.contains_nan.value_or(false) || std::isnan(*d);
        if (std::isnan(*d)) continue;
      }
      if (std::holds_alternative<std::monostate>(s.lower) || CompareValues(v, s.lower) < 0) s.lower = v;
      if (std::holds_alternative<std::monostate>(s.upper) || CompareValues(v, s.upper) > 0) s.upper = v;
    }
  }
  return out;
}

Result<std::string> EncodeManifestList(const ManifestListHeader& h, const std::vector<Ref>& manifests,
                                       const IcebergTable& t) {
  const std::string schema = ManifestListSchema();
  DOTDO_ASSIGN_OR_RETURN(auto rec, AvroValue::Make(schema));
  std::string block;
  for (const auto& m : manifests) {
    avro_value_t* r = rec->get();
    avro_value_reset(r);
    SetString(r, "manifest_path", t.KeyToPath(m.key));
    SetLong(r, "manifest_length", m.length);
    SetInt(r, "partition_spec_id", 0);
    SetInt(r, "content", 0);
    SetLong(r, "sequence_number", m.sequence_number);
    SetLong(r, "min_sequence_number", m.min_sequence_number);
    SetLong(r, "added_snapshot_id", m.added_snapshot_id);
    SetInt(r, "added_files_count", m.added_files);
    SetInt(r, "existing_files_count", m.existing_files);
    SetInt(r, "deleted_files_count", m.deleted_files);
    SetLong(r, "added_rows_count", m.added_rows);
    SetLong(r, "existing_rows_count", m.existing_rows);
    SetLong(r, "deleted_rows_count", m.deleted_rows);
    avro_value_t parts = Child(r, "partitions");
    avro_value_t arr = SetPresent(&parts);
    for (size_t i = 0; i < m.partitions.size(); ++i) {
      const auto& s = m.partitions[i];
      const std::string type = PartitionResultType(t.spec()[i], t.schema());
      avro_value_t e;
      avro_value_append(&arr, &e, nullptr);
      avro_value_t cn = Child(&e, "contains_null");
      avro_value_set_boolean(&cn, s.contains_null ? 1 : 0);
      avro_value_t nan = Child(&e, "contains_nan");
      if (s.contains_nan) { avro_value_t b = SetPresent(&nan); avro_value_set_boolean(&b, *s.contains_nan ? 1 : 0); }
      else SetNull(&nan);
      for (auto [name, v] : {std::pair{"lower_bound", &s.lower}, std::pair{"upper_bound", &s.upper}}) {
        avro_value_t f = Child(&e, name);
        if (std::holds_alternative<std::monostate>(*v)) { SetNull(&f); continue; }
        avro_value_t b = SetPresent(&f);
        SetBytes(&b, EncodeSingleValue(type, *v));
      }
    }
    avro_value_t km = Child(r, "key_metadata");
    SetNull(&km);
    DOTDO_RETURN_IF_ERROR(rec->EncodeTo(&block));
  }
  std::map<std::string, std::string> meta = {{"snapshot-id", std::to_string(h.snapshot_id)},
                                             {"sequence-number", std::to_string(h.sequence_number)},
                                             {"format-version", "2"}};
  meta["parent-snapshot-id"] = h.parent_snapshot_id >= 0 ? std::to_string(h.parent_snapshot_id) : "null";
  return ContainerFile(schema, meta, static_cast<int64_t>(manifests.size()), block);
}

Result<std::vector<Ref>> DecodeManifestList(std::string_view bytes, const IcebergTable& t) {
  std::vector<Ref> out;
  DOTDO_RETURN_IF_ERROR(ForEachRecord(bytes, [&](avro_value_t* r) -> Status {
    Ref m;
    auto path = GetString(r, "manifest_path");
    if (!path) return Missing("manifest_path");
    DOTDO_ASSIGN_OR_RETURN(m.key, t.PathToKey(*path));
    if (GetLong(r, "content").value_or(0) != 0) return UnimplementedError("delete manifests are not supported");
    m.length = GetLong(r, "manifest_length").value_or(0);
    m.sequence_number = GetLong(r, "sequence_number").value_or(0);
    m.min_sequence_number = GetLong(r, "min_sequence_number").value_or(0);
    m.added_snapshot_id = GetLong(r, "added_snapshot_id").value_or(0);
    m.added_files = static_cast<int32_t>(GetLong(r, "added_files_count").value_or(0));
    m.existing_files = static_cast<int32_t>(GetLong(r, "existing_files_count").value_or(0));
    m.deleted_files = static_cast<int32_t>(GetLong(r, "deleted_files_count").value_or(0));
    m.added_rows = GetLong(r, "added_rows_count").value_or(0);
    m.existing_rows = GetLong(r, "existing_rows_count").value_or(0);
    m.deleted_rows = GetLong(r, "deleted_rows_count").value_or(0);
    if (auto parts = Present(r, "partitions")) {
      size_t n = 0;
      avro_value_get_size(&*parts, &n);
      if (n != t.spec().size()) return DataLossError("manifest list: partition summaries do not match the spec");
      for (size_t i = 0; i < n; ++i) {
        avro_value_t e;
        avro_value_get_by_index(&*parts, i, &e, nullptr);
        IcebergPartitionSummary s;
        avro_value_t cn = Child(&e, "contains_null");
        int b = 0;
        avro_value_get_boolean(&cn, &b);
        s.contains_null = b != 0;
        if (auto nan = Present(&e, "contains_nan")) { avro_value_get_boolean(&*nan, &b); s.contains_nan = b != 0; }
        const std::string type = PartitionResultType(t.spec()[i], t.schema());
        if (auto lo = GetString(&e, "lower_bound")) { DOTDO_ASSIGN_OR_RETURN(s.lower, DecodeSingleValue(type, *lo)); }
        if (auto hi = GetString(&e, "upper_bound")) { DOTDO_ASSIGN_OR_RETURN(s.upper, DecodeSingleValue(type, *hi)); }
        m.partitions.push_back(std::move(s));
      }
    }
    out.push_back(std::move(m));
    return OkStatus();
  }));
  return out;
}

Result<std::string> EncodeManifest(const std::vector<Entry>& entries, const IcebergTable& t) {
  const std::string schema = ManifestSchema(t);
  DOTDO_ASSIGN_OR_RETURN(auto rec, AvroValue::Make(schema));
  std::string block;
  for (const auto& e : entries) {
    avro_value_t* r = rec->get();
    avro_value_reset(r);
    SetInt(r, "status", e.status);
    SetOptionalLong(r, "snapshot_id", e.snapshot_id);
    // ADDED entries inherit their sequence numbers from the manifest list (spec "Sequence Number
    // Inheritance"), so a manifest written before a lost commit race stays valid for the retry.
    std::optional<int64_t> seq, file_seq;
    if (e.status != 1) seq = e.sequence_number, file_seq = e.file_sequence_number;
    SetOptionalLong(r, "sequence_number", seq);
    SetOptionalLong(r, "file_sequence_number", file_seq);
    avro_value_t df = Child(r, "data_file");
    SetInt(&df, "content", 0);
    SetString(&df, "file_path", t.KeyToPath(e.file.key));
    SetString(&df, "file_format", "PARQUET");
    avro_value_t part = Child(&df, "partition");
    for (size_t i = 0; i < t.spec().size(); ++i) {
      avro_value_t f = Child(&part, t.spec()[i].name.c_str());
      if (std::holds_alternative<std::monostate>(e.file.partition[i])) { SetNull(&f); continue; }
      avro_value_t b = SetPresent(&f);
      SetTyped(&b, PartitionResultType(t.spec()[i], t.schema()), e.file.partition[i]);
    }
    SetLong(&df, "record_count", e.file.record_count);
    SetLong(&df, "file_size_in_bytes", e.file.file_size_bytes);
    PutIntMap(&df, "value_counts", e.file.value_counts, [](avro_value_t* v, int, int64_t n) { avro_value_set_long(v, n); });
    PutIntMap(&df, "null_value_counts", e.file.null_value_counts,
              [](avro_value_t* v, int, int64_t n) { avro_value_set_long(v, n); });
    auto bound = [&](avro_value_t* v, int id, const IcebergValue& b) {
      SetBytes(v, EncodeSingleValue(FindField(t.schema(), id)->type, b));
    };
    PutIntMap(&df, "lower_bounds", e.file.lower_bounds, bound);
    PutIntMap(&df, "upper_bounds", e.file.upper_bounds, bound);
    avro_value_t so = Child(&df, "sort_order_id");
    avro_value_t so_b = SetPresent(&so);
    avro_value_set_int(&so_b, 0);
    DOTDO_RETURN_IF_ERROR(rec->EncodeTo(&block));
  }
  std::map<std::string, std::string> meta = {
      {"schema", SchemaToJson(t.schema()).dump()},
      {"schema-id", std::to_string(t.schema().schema_id)},
      {"partition-spec", SpecToJson(t.spec()).dump()},
      {"partition-spec-id", "0"},
      {"format-version", "2"},
      {"content", "data"}};
  return ContainerFile(schema, meta, static_cast<int64_t>(entries.size()), block);
}

Result<std::vector<Entry>> DecodeManifest(std::string_view bytes, const Ref& ref, const IcebergTable& t) {
  std::vector<Entry> out;
  DOTDO_RETURN_IF_ERROR(ForEachRecord(bytes, [&](avro_value_t* r) -> Status {
    Entry e;
    auto status = GetLong(r, "status");
    if (!status || *status < 0 || *status > 2) return Missing("status");
    e.status = static_cast<int>(*status);
    e.snapshot_id = GetLong(r, "snapshot_id").value_or(ref.added_snapshot_id);
    auto seq = GetLong(r, "sequence_number");
    if (!seq && e.status != 1) return Missing("sequence_number");
    e.sequence_number = seq.value_or(ref.sequence_number);
    e.file_sequence_number = GetLong(r, "file_sequence_number").value_or(e.sequence_number);
    auto df = Present(r, "data_file");
    if (!df) return Missing("data_file");
    if (GetLong(&*df, "content").value_or(0) != 0) return UnimplementedError("delete files are not supported");
    auto path = GetString(&*df, "file_path");
    if (!path) return Missing("file_path");
    DOTDO_ASSIGN_OR_RETURN(e.file.key, t.PathToKey(*path));
    e.file.record_count = GetLong(&*df, "record_count").value_or(0);
    e.file.file_size_bytes = GetLong(&*df, "file_size_in_bytes").value_or(0);
    auto part = Present(&*df, "partition");
    if (!part) return Missing("partition");
    for (const auto& p : t.spec()) {
      auto v = Present(&*part, p.name.c_str());
      e.file.partition.push_back(v ? GetTyped(&*v, PartitionResultType(p, t.schema())) : IcebergValue{});
    }
    auto get_map = [&](const char* name, auto&& put) -> Status {
      auto arr = Present(&*df, name);
      if (!arr) return OkStatus();
      size_t n = 0;
      avro_value_get_size(&*arr, &n);
      for (size_t i = 0; i < n; ++i) {
        avro_value_t kv;
        avro_value_get_by_index(&*arr, i, &kv, nullptr);
        auto key = GetLong(&kv, "key");
        auto val = Present(&kv, "value");
        if (!key || !val) return Missing(name);
        DOTDO_RETURN_IF_ERROR(put(static_cast<int>(*key), &*val));
      }
      return OkStatus();
    };
    auto counts = [](std::map<int, int64_t>* m) {
      return [m](int id, avro_value_t* v) { int64_t n = 0; avro_value_get_long(v, &n); (*m)[id] = n; return OkStatus(); };
    };
    auto bounds = [&](std::map<int, IcebergValue>* m) {
      return [m, &t](int id, avro_value_t* v) -> Status {
        const IcebergField* f = FindField(t.schema(), id);
        if (!f) return OkStatus();  // a column no longer in the schema
        DOTDO_ASSIGN_OR_RETURN((*m)[id], DecodeSingleValue(f->type, GetStringOf(v)));
        return OkStatus();
      };
    };
    DOTDO_RETURN_IF_ERROR(get_map("value_counts", counts(&e.file.value_counts)));
    DOTDO_RETURN_IF_ERROR(get_map("null_value_counts", counts(&e.file.null_value_counts)));
    DOTDO_RETURN_IF_ERROR(get_map("lower_bounds", bounds(&e.file.lower_bounds)));
    DOTDO_RETURN_IF_ERROR(get_map("upper_bounds", bounds(&e.file.upper_bounds)));
    out.push_back(std::move(e));
    return OkStatus();
  }));
  return out;
}

}  // namespace dotdo::tiering::internal
