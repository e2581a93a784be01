// TypeRouter: typed records saved and loaded through their `$store` route, C++ structs with static
// route members, and clear errors for routes this build cannot serve.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dotdo/cdc.h"
#include "dotdo/routing.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using testing::StatusIs;

struct Customer {
  static constexpr std::string_view kType = "Customer";
  static constexpr std::string_view kStore = "document";
  std::string id;
  std::string name;
  std::string tier;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Customer, id, name, tier)

struct Reading {
  static constexpr std::string_view kType = "Reading";
  static constexpr std::string_view kStore = "timeseries";
  std::string id;
  double value = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Reading, id, value)

// Routed to document like Customer, but claims the same type name for another store.
struct CustomerAsVector {
  static constexpr std::string_view kType = "Customer";
  static constexpr std::string_view kStore = "vector";
  std::string id;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CustomerAsVector, id)

class TypeRouterTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
};

TEST_F(TypeRouterTest, SavesAndGetsAStructThroughItsRoute) {
  TypeRouter router(*db_);
  DOTDO_ASSERT_OK_AND_ASSIGN(Customer saved, router.Save(Customer{.id = "", .name = "Ada", .tier = "gold"}));
  EXPECT_FALSE(saved.id.empty());
  EXPECT_EQ(*router.registry().StoreOf("Customer"), StoreKind::kDocument);

  DOTDO_ASSERT_OK_AND_ASSIGN(Customer back, router.Get<Customer>(saved.id));
  EXPECT_EQ(back.id, saved.id);
  EXPECT_EQ(back.name, "Ada");

  back.tier = "platinum";
  DOTDO_ASSERT_OK(router.Save(back).status());
  DOTDO_ASSERT_OK_AND_ASSIGN(Json raw, router.Get("Customer", saved.id));
  EXPECT_EQ(raw["tier"], "platinum");
  EXPECT_EQ(raw["$version"], 2);
  EXPECT_EQ(raw["$id"], saved.id);

  // The writes went through the document store, so they carry document CDC events.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db_).Read(0, 10));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "cdc.insert");
  EXPECT_EQ(events[0].store, "document");
  EXPECT_EQ(events[0].table, "Customer");
  EXPECT_EQ(events[1].type, "cdc.update");
}

TEST_F(TypeRouterTest, GivenIdIsKept) {
  TypeRouter router(*db_);
  DOTDO_ASSERT_OK_AND_ASSIGN(Customer saved, router.Save(Customer{.id = "c-1", .name = "Bo", .tier = "free"}));
  EXPECT_EQ(saved.id, "c-1");
  EXPECT_EQ(router.Get<Customer>("c-1")->name, "Bo");
}

TEST_F(TypeRouterTest, RegistryFromJsonRoutesUntypedRecords) {
  TypeRegistry registry;
  DOTDO_ASSERT_OK(registry.LoadJsonText(R"({"Customer":{"$store":"document"},"Transaction":{"$store":"timeseries"}})"));
  TypeRouter router(*db_, std::move(registry));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json saved, router.Save("Customer", {{"id", "c9"}, {"name", "Cy"}}));
  EXPECT_EQ(saved["id"], "c9");
  EXPECT_EQ(saved["$type"], "Customer");
  EXPECT_THAT(router.Save("Transaction", {{"amount", 5}}).status(),
              StatusIs(StatusCode::kUnimplemented, "timeseries store"));
  EXPECT_THAT(router.Save("Order", {{"n", 1}}).status(), StatusIs(StatusCode::kNotFound, "no $store route"));
  EXPECT_THAT(router.Save("Customer", Json::array()).status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(router.Save("Customer", {{"$type", "Order"}}).status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(router.Save("Customer", {{"id", 5}}).status(), StatusIs(StatusCode::kInvalidArgument, "'id'"));
}

TEST_F(TypeRouterTest, RoutesToMissingPrimitivesAreClearErrorsAndWriteNothing) {
  TypeRouter router(*db_);
  EXPECT_THAT(router.Save(Reading{.id = "r1", .value = 1.5}).status(),
              StatusIs(StatusCode::kUnimplemented, "does not provide yet"));
  EXPECT_THAT(router.Get<Reading>("r1").status(), StatusIs(StatusCode::kUnimplemented));
  DOTDO_ASSERT_OK(router.registry().Register("Edge", StoreKind::kGraph));
  EXPECT_THAT(router.Save("Edge", Json::object()).status(), StatusIs(StatusCode::kUnimplemented, "Relate"));
  EXPECT_EQ(*ChangeFeed(*db_).LastLsn(), 0);
}

TEST_F(TypeRouterTest, ConflictingRouteForTheSameTypeIsRefused) {
  TypeRouter router(*db_);
  DOTDO_ASSERT_OK(router.Save(Customer{.id = "c1", .name = "A", .tier = "t"}).status());
  EXPECT_THAT(router.Save(CustomerAsVector{.id = "c1"}).status(), StatusIs(StatusCode::kAlreadyExists));
}

TEST_F(TypeRouterTest, GetChecksTheTypeAndDeleteIsSoft) {
  TypeRouter router(*db_);
  DOTDO_ASSERT_OK(router.registry().Register("Order", StoreKind::kDocument));
  DOTDO_ASSERT_OK(router.Save("Order", {{"id", "o1"}, {"total", 3}}).status());
  EXPECT_THAT(router.Get<Customer>("o1").status(), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(router.Delete("Customer", "o1"), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK(router.Delete("Order", "o1"));
  EXPECT_THAT(router.Get("Order", "o1").status(), StatusIs(StatusCode::kNotFound));
}

TEST_F(TypeRouterTest, StoredDocumentThatDoesNotFitTheStructIsInvalidArgument) {
  TypeRouter router(*db_);
  DOTDO_ASSERT_OK(router.registry().Register("Customer", StoreKind::kDocument));
  DOTDO_ASSERT_OK(router.Save("Customer", {{"id", "c2"}, {"name", 42}}).status());
  EXPECT_THAT(router.Get<Customer>("c2").status(), StatusIs(StatusCode::kInvalidArgument, "Customer"));
}

// A record store that keeps records in memory, standing in for a store that arrives later.
class MemoryRecords final : public RecordStore {
 public:
  explicit MemoryRecords(std::map<std::string, Json>& rows) : rows_(rows) {}
  Result<Json> Upsert(Json record) override {
    if (!record.contains("$id")) record["$id"] = "gen" + std::to_string(rows_.size());
    rows_[record["$id"].get<std::string>()] = record;
    return record;
  }
  Result<Json> Get(std::string_view id) override {
    auto it = rows_.find(std::string(id));
    if (it == rows_.end()) return NotFoundError("no record " + std::string(id));
    return it->second;
  }
  Status Delete(std::string_view id) override {
    return rows_.erase(std::string(id)) ? OkStatus() : NotFoundError("no record " + std::string(id));
  }

 private:
  std::map<std::string, Json>& rows_;
};

TEST_F(TypeRouterTest, RoutesToWhateverRecordStoreIsRegisteredForTheKind) {
  std::map<std::string, Json> rows;
  RecordStoreRegistry stores = RecordStoreRegistry::WithBuiltins();
  stores.Register(StoreKind::kTimeSeries, [&rows](Database&) -> Result<std::unique_ptr<RecordStore>> {
    return std::unique_ptr<RecordStore>(new MemoryRecords(rows));
  });
  TypeRouter router(*db_, {}, std::move(stores));
  DOTDO_ASSERT_OK(router.registry().Register("Reading", StoreKind::kTimeSeries));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json saved, router.Save("Reading", {{"id", "r1"}, {"v", 2.5}}));
  EXPECT_EQ(saved["id"], "r1");
  EXPECT_EQ(rows.at("r1")["$type"], "Reading");
  DOTDO_ASSERT_OK_AND_ASSIGN(Json back, router.Get("Reading", "r1"));
  EXPECT_EQ(back["v"], 2.5);
  DOTDO_ASSERT_OK(router.Delete("Reading", "r1"));
  EXPECT_TRUE(rows.empty());
  // Nothing reached the document store.
  EXPECT_EQ(*ChangeFeed(*db_).LastLsn(), 0);
  // A registry without the document store refuses document routes like any other missing kind.
  TypeRouter bare(*db_, {}, RecordStoreRegistry());
  DOTDO_ASSERT_OK(bare.registry().Register("Order", StoreKind::kDocument));
  EXPECT_THAT(bare.Save("Order", Json::object()).status(), StatusIs(StatusCode::kUnimplemented));
}

}  // namespace
}  // namespace dotdo
