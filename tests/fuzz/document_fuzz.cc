// Fuzz targets of the document store: filters (compiled and run by SQLite), and the three update
// languages ($-operators, merge patch, JSON Patch) applied to a stored document.
#include "core/json.h"
#include "dotdo/document.h"
#include "fuzz_target.h"

namespace dotdo {
namespace {

struct Fixture {
  std::unique_ptr<Database> db = Database::OpenInMemory("fuzz").value();
  DocumentStore store{*db};
  std::string id;
  Fixture() {
    for (int i = 0; i < 8; ++i) {
      auto doc = store.Create({{"$type", "T"},
                               {"n", i},
                               {"s", "v" + std::to_string(i)},
                               {"a", {i, "x", nullptr}},
                               {"o", {{"k", i % 3}, {"deep", {{"z", true}}}}}});
      if (i == 0) id = (*doc)["$id"];
    }
  }
};

Fixture& F() {
  static auto* f = new Fixture();
  return *f;
}

bool Typed(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kFailedPrecondition ||
         s.code() == StatusCode::kNotFound || s.code() == StatusCode::kResourceExhausted;
}

}  // namespace

// Any filter either compiles to SQL that SQLite runs, or is a typed error; Count agrees with Query.
DOTDO_FUZZ_TARGET(filter) {
  auto where = internal::ParseJson(input, "where", {.max_bytes = 1 << 16});
  if (!where.ok()) return;
  DocumentQueryOptions q;
  q.type = "T";
  q.where = *where;
  q.limit = 100;
  auto page = F().store.Query(q);
  auto count = F().store.Count("T", *where);
  if (!page.ok()) {
    FUZZ_CHECK(Typed(page.status()));
    FUZZ_CHECK(!count.ok());
    return;
  }
  FUZZ_CHECK(count.ok());
  FUZZ_CHECK(*count == static_cast<int64_t>(page->items.size()));
}

// First byte picks the update language; the rest is its JSON. A failed update changes nothing.
DOTDO_FUZZ_TARGET(document_update) {
  if (input.empty()) return;
  auto body = internal::ParseJson(input.substr(1), "update", {.max_bytes = 1 << 16});
  if (!body.ok()) return;
  Fixture& f = F();
  const Json before = f.store.Get(f.id).value();
  Result<Json> r = InternalError("not run");
  switch (static_cast<unsigned char>(input[0]) % 3) {
    case 0: r = f.store.Update(f.id, *body); break;
    case 1: r = f.store.MergePatch(f.id, *body); break;
    default: r = f.store.JsonPatch(f.id, *body); break;
  }
  auto after = f.store.Get(f.id);
  FUZZ_CHECK(after.ok());
  if (!r.ok()) {
    FUZZ_CHECK(Typed(r.status()));
    FUZZ_CHECK(*after == before);
    return;
  }
  FUZZ_CHECK((*after)["$version"] == before["$version"].get<int64_t>() + 1);
  FUZZ_CHECK(internal::CheckJsonDepth(*after, internal::kMaxJsonDepth + 1, "doc").ok());
  // Keep the document small so later inputs stay fast: put the original body back.
  Json reset = before;
  for (const char* k : {"$id", "$type", "$version", "$createdAt", "$updatedAt"}) reset.erase(k);
  FUZZ_CHECK(f.store.Replace(f.id, reset).ok());
}

}  // namespace dotdo
