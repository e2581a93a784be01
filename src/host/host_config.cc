// The host's configuration file: objectStore (local | s3 with a per-namespace key prefix), CDC sinks
// (JetStream), delivery and blob URL settings, parsed field by field into NamespaceHostOptions with a
// typed error naming the field. The format is docs/formats/config.md.
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <set>

#include "core/json.h"
#include "dotdo/host.h"
#include "objectstore/prefixed_object_store.h"

namespace dotdo {
namespace {

constexpr std::string_view kNsToken = "{ns}";

// Reads the fields of one JSON object, refusing unknown ones: `where` names the object in errors.
class Fields {
 public:
  Fields(const Json& object, std::string where) : object_(object), where_(std::move(where)) {}

  Status Check(const std::set<std::string>& known) const {
    if (!object_.is_object()) return InvalidArgumentError(where_ + " must be a JSON object");
    for (auto it = object_.begin(); it != object_.end(); ++it)
      if (known.count(it.key()) == 0) return InvalidArgumentError("unknown field " + Name(it.key()));
    return OkStatus();
  }
  bool Has(const std::string& key) const { return object_.contains(key); }
  Status String(const std::string& key, std::string& out) const {
    if (!Has(key)) return OkStatus();
    if (!object_[key].is_string()) return InvalidArgumentError(Name(key) + " must be a string");
    out = object_[key].get<std::string>();
    return OkStatus();
  }
  Status Bool(const std::string& key, bool& out) const {
    if (!Has(key)) return OkStatus();
    if (!object_[key].is_boolean()) return InvalidArgumentError(Name(key) + " must be true or false");
    out = object_[key].get<bool>();
    return OkStatus();
  }
  template <typename Int>
  Status Integer(const std::string& key, Int& out, int64_t lo, int64_t hi) const {
    if (!Has(key)) return OkStatus();
    const Json& v = object_[key];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      return InvalidArgumentError(Name(key) + " must be an integer between " + std::to_string(lo) + " and " +
                                  std::to_string(hi));
    out = static_cast<Int>(v.get<int64_t>());
    return OkStatus();
  }
  // A duration: "500ms", "10s", "2m" (ParseDurationMillis) within [lo, hi] ms.
  Status Duration(const std::string& key, int64_t& out, int64_t lo, int64_t hi) const {
    if (!Has(key)) return OkStatus();
    if (!object_[key].is_string()) return InvalidArgumentError(Name(key) + " must be a duration such as \"10s\"");
    Result<int64_t> ms = ParseDurationMillis(object_[key].get<std::string>());
    if (!ms.ok()) return InvalidArgumentError(Name(key) + ": " + std::string(ms.status().message()));
    if (*ms < lo || *ms > hi)
      return InvalidArgumentError(Name(key) + " must be between " + std::to_string(lo) + " ms and " +
                                  std::to_string(hi) + " ms");
    out = *ms;
    return OkStatus();
  }
  std::string Name(const std::string& key) const { return "'" + where_ + "." + key + "'"; }

 private:
  const Json& object_;
  std::string where_;
};

std::string ReplaceAll(std::string s, std::string_view token, std::string_view value) {
  for (size_t at = s.find(token); at != std::string::npos; at = s.find(token, at + value.size()))
    s.replace(at, token.size(), value);
  return s;
}

Status ParseS3(const Fields& f, NamespaceHostOptions& options) {
  DOTDO_RETURN_IF_ERROR(f.Check({"type", "endpoint", "region", "bucket", "pathStyle", "keyPrefix", "conditionalWrites",
                                 "accessKeyId", "secretAccessKey", "sessionToken", "maxAttempts", "connectTimeout",
                                 "requestTimeout"}));
  S3ObjectStoreOptions s3;
  std::string key_prefix = "namespaces/{ns}/";
  std::string conditional = "native";
  DOTDO_RETURN_IF_ERROR(f.String("endpoint", s3.endpoint));
  DOTDO_RETURN_IF_ERROR(f.String("region", s3.region));
  DOTDO_RETURN_IF_ERROR(f.String("bucket", s3.bucket));
  DOTDO_RETURN_IF_ERROR(f.Bool("pathStyle", s3.path_style));
  DOTDO_RETURN_IF_ERROR(f.String("keyPrefix", key_prefix));
  DOTDO_RETURN_IF_ERROR(f.String("conditionalWrites", conditional));
  DOTDO_RETURN_IF_ERROR(f.String("accessKeyId", s3.access_key_id));
  DOTDO_RETURN_IF_ERROR(f.String("secretAccessKey", s3.secret_access_key));
  DOTDO_RETURN_IF_ERROR(f.String("sessionToken", s3.session_token));
  DOTDO_RETURN_IF_ERROR(f.Integer("maxAttempts", s3.max_attempts, 1, 20));
  DOTDO_RETURN_IF_ERROR(f.Duration("connectTimeout", s3.connect_timeout_ms, 1, 600'000));
  DOTDO_RETURN_IF_ERROR(f.Duration("requestTimeout", s3.request_timeout_ms, 1, 86'400'000));
  if (s3.bucket.empty()) return InvalidArgumentError(f.Name("bucket") + " is required for an s3 object store");
  if (conditional == "native") {
    s3.conditional_writes = S3ConditionalWrites::kNative;
  } else if (conditional == "emulated") {
    s3.conditional_writes = S3ConditionalWrites::kEmulated;
  } else {
    return InvalidArgumentError(f.Name("conditionalWrites") + " must be \"native\" or \"emulated\"");
  }
  if (!key_prefix.empty() && key_prefix.back() != '/')
    return InvalidArgumentError(f.Name("keyPrefix") + " must end with '/'");
  // Without {ns} in the bucket or the prefix every namespace would write the same keys.
  if (key_prefix.find(kNsToken) == std::string::npos && s3.bucket.find(kNsToken) == std::string::npos)
    return InvalidArgumentError(f.Name("keyPrefix") + " or " + f.Name("bucket") +
                                " must contain {ns}, so namespaces do not share keys");
  if (!key_prefix.empty()) DOTDO_RETURN_IF_ERROR(ValidateObjectKey(ReplaceAll(key_prefix, kNsToken, "ns") + "x"));
  options.object_store_factory = [s3, key_prefix](const NamespaceLayout& layout) -> Result<std::unique_ptr<ObjectStore>> {
    S3ObjectStoreOptions o = s3;
    o.bucket = ReplaceAll(o.bucket, kNsToken, layout.ns);
    DOTDO_ASSIGN_OR_RETURN(std::unique_ptr<ObjectStore> store, OpenS3ObjectStore(std::move(o)));
    if (key_prefix.empty()) return store;
    return internal::PrefixObjectStore(std::move(store), ReplaceAll(key_prefix, kNsToken, layout.ns));
  };
  return OkStatus();
}

Status ParseObjectStore(const Json& j, NamespaceHostOptions& options) {
  Fields f(j, "objectStore");
  if (!j.is_object()) return InvalidArgumentError("'objectStore' must be a JSON object");
  std::string type;
  DOTDO_RETURN_IF_ERROR(f.String("type", type));
  if (type == "local") {
    DOTDO_RETURN_IF_ERROR(f.Check({"type"}));
    options.object_store_factory = nullptr;
    return OkStatus();
  }
  if (type == "s3") return ParseS3(f, options);
  return InvalidArgumentError("'objectStore.type' must be \"local\" or \"s3\"");
}

bool ValidStreamName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

// {"type": "iceberg"}: the namespace's change events archived in an Iceberg table on its own
// object store.
Status ParseIcebergSink(const Fields& f, HostSinkOptions& out) {
  DOTDO_RETURN_IF_ERROR(f.Check({"type", "name", "prefix", "locationRoot", "batchSize", "globalIds"}));
  out.type = HostSinkType::kIceberg;
  DOTDO_RETURN_IF_ERROR(f.String("name", out.iceberg.name));
  DOTDO_RETURN_IF_ERROR(f.String("prefix", out.iceberg.prefix));
  DOTDO_RETURN_IF_ERROR(f.String("locationRoot", out.iceberg.location_root));
  DOTDO_RETURN_IF_ERROR(f.Integer("batchSize", out.pipeline.batch_size, 1, 10000));
  DOTDO_RETURN_IF_ERROR(f.Bool("globalIds", out.pipeline.global_ids));
  if (Status key = ValidateObjectKey(out.iceberg.prefix); !key.ok())
    return InvalidArgumentError(f.Name("prefix") + ": " + std::string(key.message()));
  if (!out.iceberg.location_root.empty() &&
      (out.iceberg.location_root.back() != '/' || out.iceberg.location_root.find("://") == std::string::npos))
    return InvalidArgumentError(f.Name("locationRoot") + " must be a URI ending in '/'");
  return OkStatus();
}

Status ParseSink(const Json& j, size_t index, HostSinkOptions& out) {
  Fields f(j, "sinks[" + std::to_string(index) + "]");
  if (!j.is_object()) return InvalidArgumentError("'sinks[" + std::to_string(index) + "]' must be a JSON object");
  std::string type;
  DOTDO_RETURN_IF_ERROR(f.String("type", type));
  if (type == "iceberg") return ParseIcebergSink(f, out);
  if (type != "jetstream") return InvalidArgumentError(f.Name("type") + " must be \"jetstream\" or \"iceberg\"");
  DOTDO_RETURN_IF_ERROR(f.Check({"type", "name", "url", "credentialsFile", "stream", "createStream", "duplicateWindow",
                                 "maxInFlight", "ackTimeout", "maxAttempts", "batchSize", "globalIds"}));
  JetStreamSinkOptions& js = out.jetstream;
  DOTDO_RETURN_IF_ERROR(f.String("name", js.name));
  DOTDO_RETURN_IF_ERROR(f.String("url", js.url));
  DOTDO_RETURN_IF_ERROR(f.String("credentialsFile", js.credentials_file));
  DOTDO_RETURN_IF_ERROR(f.String("stream", js.stream));
  DOTDO_RETURN_IF_ERROR(f.Bool("createStream", js.create_stream));
  DOTDO_RETURN_IF_ERROR(f.Duration("duplicateWindow", js.duplicate_window_ms, 1000, 7 * 86'400'000LL));
  DOTDO_RETURN_IF_ERROR(f.Integer("maxInFlight", js.max_in_flight, 1, 65536));
  DOTDO_RETURN_IF_ERROR(f.Duration("ackTimeout", js.ack_timeout_ms, 1, 600'000));
  DOTDO_RETURN_IF_ERROR(f.Integer("maxAttempts", js.max_attempts, 1, 100));
  DOTDO_RETURN_IF_ERROR(f.Integer("batchSize", out.pipeline.batch_size, 1, 10000));
  DOTDO_RETURN_IF_ERROR(f.Bool("globalIds", out.pipeline.global_ids));
  if (js.url.empty()) return InvalidArgumentError(f.Name("url") + " is required (e.g. \"nats://127.0.0.1:4222\")");
  if (!ValidStreamName(js.stream)) return InvalidArgumentError(f.Name("stream") + " must match [A-Za-z0-9_-]{1,64}");
  return OkStatus();
}

Result<std::string> ReadConfigText(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return NotFoundError("configuration file '" + file.string() + "' does not exist");
  if (!std::filesystem::is_regular_file(file, ec))
    return InvalidArgumentError("configuration path '" + file.string() + "' is not a file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return PermissionDeniedError("cannot read configuration file '" + file.string() + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return UnavailableError("I/O error reading configuration file '" + file.string() + "'");
  return text;
}

Result<Json> ParseConfigFile(const std::filesystem::path& file) {
  DOTDO_ASSIGN_OR_RETURN(std::string text, ReadConfigText(file));
  Result<Json> config = internal::ParseJson(text, "configuration file '" + file.string() + "'");
  if (!config.ok()) return config.status();
  return config;
}

bool HoldsSecret(const Json& config) {
  if (!config.is_object() || !config.contains("objectStore") || !config["objectStore"].is_object()) return false;
  const Json& o = config["objectStore"];
  return o.contains("secretAccessKey") || o.contains("sessionToken");
}

}  // namespace

Status ParseHostConfig(const Json& config, NamespaceHostOptions& options) {
  Fields f(config, "config");
  if (!config.is_object()) return InvalidArgumentError("the configuration must be a JSON object");
  DOTDO_RETURN_IF_ERROR(f.Check({"objectStore", "sinks", "delivery", "blobUrlBase"}));
  NamespaceHostOptions parsed = options;
  if (config.contains("objectStore")) DOTDO_RETURN_IF_ERROR(ParseObjectStore(config["objectStore"], parsed));
  if (config.contains("sinks")) {
    if (!config["sinks"].is_array()) return InvalidArgumentError("'sinks' must be an array");
    parsed.sinks.clear();
    std::set<std::string> names;
    for (size_t i = 0; i < config["sinks"].size(); ++i) {
      HostSinkOptions sink;
      DOTDO_RETURN_IF_ERROR(ParseSink(config["sinks"][i], i, sink));
      if (!names.insert(sink.Name()).second)
        return InvalidArgumentError("two sinks are named '" + sink.Name() + "': give each a distinct name");
      parsed.sinks.push_back(std::move(sink));
    }
  }
  if (config.contains("delivery")) {
    Fields d(config["delivery"], "delivery");
    DOTDO_RETURN_IF_ERROR(d.Check({"pollInterval"}));
    DOTDO_RETURN_IF_ERROR(d.Duration("pollInterval", parsed.delivery_poll_ms, 1, 3'600'000));
  }
  DOTDO_RETURN_IF_ERROR(f.String("blobUrlBase", parsed.blob_url_base));
  options = std::move(parsed);
  return OkStatus();
}

Status LoadHostConfig(const std::filesystem::path& file, NamespaceHostOptions& options) {
  DOTDO_ASSIGN_OR_RETURN(Json config, ParseConfigFile(file));
  struct stat st {};
  if (HoldsSecret(config) && ::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    return FailedPreconditionError("configuration file '" + file.string() +
                                   "' holds a secret and is readable by group or others: chmod 600 it, or take the "
                                   "credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY instead");
  Status parsed = ParseHostConfig(config, options);
  if (!parsed.ok()) return parsed.WithContext("configuration file '" + file.string() + "'");
  return OkStatus();
}

Result<Json> DescribeHostConfig(const std::filesystem::path& file) {
  DOTDO_ASSIGN_OR_RETURN(Json config, ParseConfigFile(file));
  NamespaceHostOptions check;
  Status parsed = ParseHostConfig(config, check);
  if (!parsed.ok()) return parsed.WithContext("configuration file '" + file.string() + "'");
  if (HoldsSecret(config)) {
    Json& o = config["objectStore"];
    for (const char* secret : {"secretAccessKey", "sessionToken"})
      if (o.contains(secret)) o[secret] = "***";
  }
  return config;
}

}  // namespace dotdo
