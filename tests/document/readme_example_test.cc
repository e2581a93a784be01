// The C++ example of README.md, verbatim between the markers, so the README cannot drift from the API.
#include <gtest/gtest.h>

#include "dotdo/cdc.h"
#include "dotdo/database.h"
#include "dotdo/document.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

TEST(ReadmeExampleTest, RunsAsDocumented) {
  testing::ScratchDir data;
  const std::string dir = data.path().string();
  // --- README example ---
  auto db = dotdo::Database::Open(dir, "acme").value();         // one SQLite file per namespace
  auto docs = dotdo::DocumentStore::Open(*db).value();   // tables made or migrated here
  auto ada = docs.Create({{"$type", "Customer"}, {"name", "Ada"}, {"tier", "gold"}}).value();
  auto gold = docs.Query({.type = "Customer", .where = {{"tier", "gold"}}}).value();  // gold.items
  dotdo::Status st = db->Transaction([&]() -> dotdo::Status {   // one transaction, one txid
    return docs.Update(ada["$id"].get<std::string>(), {{"$set", {{"tier", "platinum"}}}}).status();
  });
  auto events = dotdo::ChangeFeed(*db).Read(/*after_lsn=*/0).value();  // cdc.insert, cdc.update
  // --- end ---
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(gold.items.size(), 1u);
  EXPECT_EQ(gold.items[0]["name"], "Ada");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "cdc.insert");
  EXPECT_EQ(events[1].type, "cdc.update");
  EXPECT_EQ(events[0].txid.value() + 1, events[1].txid.value());
  EXPECT_EQ(docs.Get(ada["$id"].get<std::string>()).value()["tier"], "platinum");
}

}  // namespace
}  // namespace dotdo
