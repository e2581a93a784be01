// Helpers shared by the tiering tests: every id of a paged query, and the kill loop of the crash
// tests (a child process creates "r<round>_<i>" documents and moves or archives between creates
// until it is SIGKILLed) with its check that every committed document is there exactly once.
#pragma once

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dotdo/document.h"
#include "dotdo/object_store.h"
#include "testing/test_util.h"

namespace dotdo::testing {

inline std::vector<std::string> AllIds(DocumentStore& docs, DocumentQueryOptions q) {
  std::vector<std::string> ids;
  for (int guard = 0; guard < 10000; ++guard) {
    auto page = docs.Query(q);
    EXPECT_THAT(page, IsOk()) << q.where.dump();
    if (!page.ok()) break;
    for (const Json& d : page->items) ids.push_back(d["$id"].get<std::string>());
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  return ids;
}

// What the child does after its i-th create (e.g. a tiering run every 30 creates).
using AfterCreate = std::function<void(int i)>;
// Opens what the child needs over the namespace "ns" in `dir` (objects under dir/objects) and
// returns its step; the returned step may hold on to what it opened.
using ChildSetup = std::function<AfterCreate(Database& db, ObjectStore& objects)>;

// Four rounds: a child creates type "t" documents r<round>_0, r<round>_1, ... calling the step
// after each, and is SIGKILLed after 300 + 150 * round + extra_ms ms.
inline void CreateUntilKilled(const std::filesystem::path& dir, const ChildSetup& setup, int extra_ms = 0) {
  for (int round = 0; round < 4; ++round) {
    RunAndKill(
        [&]() {
          auto db = Database::Open(dir, "ns").value();
          auto objects = LocalObjectStore::Open(dir / "objects").value();
          DocumentStore docs(*db);
          AfterCreate step = setup(*db, *objects);
          for (int i = 0;; ++i) {
            (void)docs.Create({{"$type", "t"}, {"$id", "r" + std::to_string(round) + "_" + std::to_string(i)}});
            step(i);
          }
        },
        std::chrono::milliseconds(300 + 150 * round + extra_ms));
  }
}

// No id twice, and each round's ids consecutive from 0: a committed create is never lost.
inline void ExpectEveryCreateOnce(const std::vector<std::string>& ids) {
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  std::map<std::string, int> max_index, seen;
  for (const std::string& id : ids) {
    const auto us = id.find('_');
    const std::string r = id.substr(0, us);
    max_index[r] = std::max(max_index[r], std::stoi(id.substr(us + 1)));
    seen[r]++;
  }
  for (const auto& [r, m] : max_index) EXPECT_EQ(seen[r], m + 1) << r;
}

}  // namespace dotdo::testing
