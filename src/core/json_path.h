// JsonPath: the one grammar for user-supplied document paths ("address.city", "tags.0", "$type").
// A path is parsed into segments and rendered back by us, so SQL only ever sees our canonical
// rendering of validated segments, never the user's text.
//
// Grammar:  path    := segment ('.' segment)*          (at most 32 segments, 256 characters)
//           segment := index | key
//           index   := [0-9]{1,9}                       (array element)
//           key     := [A-Za-z_$][A-Za-z0-9_$-]{0,63}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "dotdo/status.h"

namespace dotdo::internal {

class JsonPath {
 public:
  using Segment = std::variant<std::string, int64_t>;

  static Result<JsonPath> Parse(std::string_view dotted);

  const std::vector<Segment>& segments() const { return segments_; }
  bool empty() const { return segments_.empty(); }

  // Canonical dotted form ("a.b.0").
  std::string ToDotted() const;
  // SQLite JSON path ("$.\"a\".\"b\"[0]"); safe to embed in SQL text: keys cannot hold quotes.
  std::string ToSqlite() const;
  // The SQLite path as a single-quoted SQL literal ("'$.\"a\"'").
  std::string ToSqlLiteral() const { return "'" + ToSqlite() + "'"; }
  nlohmann::json::json_pointer ToPointer() const;

  // Value at this path in doc, or nullptr when absent.
  const nlohmann::json* Find(const nlohmann::json& doc) const;
  // Sets the value, creating intermediate objects. Fails when a non-object/array is in the way or
  // an array index is past the end (+1 appends).
  Status Set(nlohmann::json& doc, nlohmann::json value) const;
  // Removes the value; true when something was removed.
  bool Erase(nlohmann::json& doc) const;

  friend bool operator==(const JsonPath& a, const JsonPath& b) { return a.segments_ == b.segments_; }

 private:
  std::vector<Segment> segments_;
};

}  // namespace dotdo::internal
