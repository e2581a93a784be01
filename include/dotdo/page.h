// Page<T>: one page of a listing or query, shared by every store (documents, edges, blobs, and the
// stores to come), plus its one JSON rendering used by the CLI and the server:
//   {"items": [...], "next_cursor": "<opaque>" | null}
// A cursor is opaque to callers: pass next_cursor back to get the following page; an empty
// next_cursor means there are no more pages. Cursors are produced and checked by the store that
// issued them (src/core/cursor.h: one format, versioned, validated on decode).
//
// Thread-safety: a Page is a value.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dotdo {

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // empty = no more pages

  bool has_more() const { return !next_cursor.empty(); }
};

// The page as {"items": [to_json(item)...], "next_cursor": cursor or null}.
template <typename T, typename ToJson>
nlohmann::json PageToJson(const Page<T>& page, ToJson&& to_json) {
  nlohmann::json items = nlohmann::json::array();
  for (const T& item : page.items) items.push_back(to_json(item));
  return nlohmann::json{{"items", std::move(items)},
                        {"next_cursor", page.next_cursor.empty() ? nlohmann::json() : nlohmann::json(page.next_cursor)}};
}

// Pages whose items are JSON already.
inline nlohmann::json PageToJson(const Page<nlohmann::json>& page) {
  return PageToJson(page, [](const nlohmann::json& j) -> const nlohmann::json& { return j; });
}

}  // namespace dotdo
