// Per-(type, path) statistics that let a query skip reading documents: a blocked bloom filter over
// the values written at the path and numeric / string min and max. Maintained on every write of a
// document of the type; stale after updates and deletes (they only ever widen), never missing a
// value, so "absent" and "outside [min, max]" answers are exact. ConfigureStats rebuilds them.
//
// The values of a path are those filters match (core/mql_match.h): reached through arrays, and
// each element of an array value. Integers and reals with the same value are one value, strings
// compare by bytes; booleans are recorded as the numbers 1 and 0, which only widens the numeric
// range (filters never match a boolean with a number). Nulls, objects and arrays are not recorded.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/filter_compiler.h"
#include "core/json_path.h"
#include "document/document_internal.h"

namespace dotdo::internal {

// A recordable scalar: number (incl. booleans as 1/0) or string.
struct StatValue {
  bool is_number = false;
  double number = 0;
  bool exact = true;  // the number is exactly representable as a double
  std::string text;
  std::string bloom_key;  // canonical bytes hashed into the bloom filter
};
std::optional<StatValue> StatValueOf(const Json& v);

struct PathStats {
  int64_t blocks = 0;
  std::optional<double> min_num, max_num;
  std::optional<std::string> min_str, max_str;
};

// The recordable values `path` reaches in `doc`, as filters see them: through arrays, and each
// element of an array value.
std::vector<StatValue> RecordableValues(const Json& doc, const JsonPath& path);

// True when `stats` (and the bloom behind may_contain) prove that no value matches term `t`.
Result<bool> StatsExclude(const PrunableTerm& t, const PathStats& stats,
                          const std::function<Result<bool>(const std::string& bloom_key)>& may_contain);

// Records the values of `doc` at every configured path of `type`. REQUIRES: inside a transaction.
Status RecordStats(Database& db, std::string_view type, const Json& doc);

// (Re)creates the stats of (type, field) from the live documents. REQUIRES: inside a transaction;
// field.is_json() (a path inside `data`, as DocumentFields() resolves it).
Status RebuildStats(Database& db, std::string_view type, const FieldRef& field, int64_t blocks);

// Stats of (type, path); nullopt when none are configured.
Result<std::optional<PathStats>> LoadStats(Database& db, std::string_view type, const std::string& path);

// False only when no value with this key was ever recorded.
Result<bool> BloomMayContain(Database& db, std::string_view type, const std::string& path, int64_t blocks,
                             const std::string& key);

}  // namespace dotdo::internal
