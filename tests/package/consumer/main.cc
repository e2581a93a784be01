// Uses every store through the installed headers and libraries: a document, an edge and a blob in
// one namespace, and their change events. Prints "consumer: ok" when all of it worked.
#include <dotdo/blob.h>
#include <dotdo/cdc.h>
#include <dotdo/database.h>
#include <dotdo/document.h>
#include <dotdo/graph.h>
#include <dotdo/object_store.h>

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = argv[1];
  auto fail = [](const dotdo::Status& s) {
    std::fprintf(stderr, "consumer: %s\n", s.ToString().c_str());
    return 1;
  };
  auto db = dotdo::Database::Open(dir, "consumer");
  if (!db.ok()) return fail(db.status());
  dotdo::DocumentStore docs(**db);
  auto doc = docs.Create({{"$type", "Customer"}, {"$id", "ada"}, {"name", "Ada"}});
  if (!doc.ok()) return fail(doc.status());
  dotdo::GraphStore graph(**db);
  auto edge = graph.Relate("Customer/ada", "Product/1", "bought");
  if (!edge.ok()) return fail(edge.status());
  auto objects = dotdo::LocalObjectStore::Open(dir / "objects");
  if (!objects.ok()) return fail(objects.status());
  auto blobs = dotdo::BlobStore::Open(**db, **objects);
  if (!blobs.ok()) return fail(blobs.status());
  auto blob = (*blobs)->Put({.key = "hello.txt"}, "hello");
  if (!blob.ok()) return fail(blob.status());
  auto events = dotdo::ChangeFeed(**db).Read(0, 10);
  if (!events.ok()) return fail(events.status());
  if (events->size() != 3) {
    std::fprintf(stderr, "consumer: expected 3 change events, got %zu\n", events->size());
    return 1;
  }
  std::printf("consumer: ok\n");
  return 0;
}
