// Fuzz targets of the base layer: the JSON adapter and the JSON path grammar.
#include "core/json.h"
#include "core/json_path.h"
#include "fuzz_target.h"

namespace dotdo::internal {

// ParseJson never throws; what it accepts dumps (checked) and parses back to the same value.
DOTDO_FUZZ_TARGET(json_parse) {
  auto parsed = ParseJson(input, "input", {.max_bytes = 1 << 20});
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == StatusCode::kInvalidArgument ||
               parsed.status().code() == StatusCode::kResourceExhausted);
    return;
  }
  FUZZ_CHECK(CheckJsonDepth(*parsed, kMaxJsonDepth, "input").ok());
  auto text = DumpJsonChecked(*parsed, "input");
  if (!text.ok()) return;  // invalid UTF-8 inside a string: refused for storage, typed
  auto again = ParseJson(*text, "dumped");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *parsed);
  (void)DumpJson(*parsed, 2);
}

// A path that parses renders to a canonical form that parses to the same path, and to SQLite
// path text that cannot break out of its SQL literal.
DOTDO_FUZZ_TARGET(json_path) {
  auto path = JsonPath::Parse(input);
  if (!path.ok()) {
    FUZZ_CHECK(path.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  auto again = JsonPath::Parse(path->ToDotted());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *path);
  FUZZ_CHECK(path->ToSqlite().find('\'') == std::string::npos);
  Json doc = Json::object();
  if (path->Set(doc, 1).ok()) {
    const Json* found = path->Find(doc);
    FUZZ_CHECK(found != nullptr && *found == 1);
    FUZZ_CHECK(path->Erase(doc));
  }
}

}  // namespace dotdo::internal
