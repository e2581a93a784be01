// TypeRegistry: store names, type-name grammar, JSON loading (all or nothing), conflicts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dotdo/routing.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using testing::IsOk;
using testing::StatusIs;

TEST(TypeRegistryTest, ParsesEveryStoreNameOfTheSeed) {
  for (std::string_view name : {"document", "graph", "relational", "columnar", "timeseries", "vector", "blob"}) {
    auto kind = ParseStoreKind(name);
    ASSERT_TRUE(kind.ok()) << name;
    EXPECT_EQ(StoreKindName(*kind), name);
  }
  EXPECT_THAT(ParseStoreKind("documents").status(), StatusIs(StatusCode::kInvalidArgument, "valid stores"));
  EXPECT_THAT(ParseStoreKind("").status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(TypeRegistryTest, RejectsTypeNamesOutsideTheGrammar) {
  EXPECT_THAT(ValidateTypeName("Customer"), IsOk());
  EXPECT_THAT(ValidateTypeName("_internal_2"), IsOk());
  for (std::string_view bad : {"", "2Fast", "Cus tomer", "a/b", "../x", "x'; DROP TABLE t; --", "é"}) {
    EXPECT_THAT(ValidateTypeName(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(ValidateTypeName(std::string(129, 'a')), StatusIs(StatusCode::kInvalidArgument, "128"));
  EXPECT_THAT(ValidateTypeName(std::string("a\0b", 3)), StatusIs(StatusCode::kInvalidArgument));
}

TEST(TypeRegistryTest, RegisterAndLookUp) {
  TypeRegistry registry;
  DOTDO_ASSERT_OK(registry.Register("Customer", StoreKind::kDocument));
  DOTDO_ASSERT_OK(registry.Register("Customer", StoreKind::kDocument));  // idempotent
  EXPECT_EQ(*registry.StoreOf("Customer"), StoreKind::kDocument);
  EXPECT_THAT(registry.StoreOf("Order").status(), StatusIs(StatusCode::kNotFound, "no $store route"));
  EXPECT_THAT(registry.Register("Customer", StoreKind::kVector), StatusIs(StatusCode::kAlreadyExists, "document"));
  EXPECT_EQ(*registry.StoreOf("Customer"), StoreKind::kDocument);
}

TEST(TypeRegistryTest, LoadsTheSeedsJsonForm) {
  TypeRegistry registry;
  DOTDO_ASSERT_OK(registry.LoadJsonText(
      R"({"Customer":{"$store":"document"},"Transaction":{"$store":"timeseries"},"Embedding":{"$store":"vector"}})"));
  EXPECT_EQ(registry.size(), 3u);
  EXPECT_EQ(*registry.StoreOf("Transaction"), StoreKind::kTimeSeries);
  EXPECT_EQ(*registry.StoreOf("Embedding"), StoreKind::kVector);
  EXPECT_EQ(registry.ToJson(), Json::parse(R"({"Customer":{"$store":"document"},"Embedding":{"$store":"vector"},
                                                "Transaction":{"$store":"timeseries"}})"));
}

TEST(TypeRegistryTest, BadJsonAddsNothing) {
  TypeRegistry registry;
  DOTDO_ASSERT_OK(registry.Register("Customer", StoreKind::kDocument));
  EXPECT_THAT(registry.LoadJsonText(R"({"A":{"$store":"document"},)"), StatusIs(StatusCode::kInvalidArgument, "byte"));
  EXPECT_THAT(registry.LoadJson(Json::array()), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.LoadJson(Json::parse(R"({"A":{"$store":"document"},"B":{"$store":"nosuch"}})")),
              StatusIs(StatusCode::kInvalidArgument, "nosuch"));
  EXPECT_THAT(registry.LoadJson(Json::parse(R"({"A":{"$store":"document"},"B":{"store":"graph"}})")),
              StatusIs(StatusCode::kInvalidArgument, "$store"));
  EXPECT_THAT(registry.LoadJson(Json::parse(R"({"A":{"$store":"document"},"B c":{"$store":"graph"}})")),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.LoadJson(Json::parse(R"({"A":{"$store":"document"},"Customer":{"$store":"blob"}})")),
              StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_THAT(registry.StoreOf("A").status(), StatusIs(StatusCode::kNotFound));
}

TEST(TypeRegistryTest, NumbersBeyondADoubleAreInvalidArgument) {
  TypeRegistry registry;
  EXPECT_THAT(registry.LoadJsonText(R"({"A":{"$store":"document","n":1e400}})"),
              StatusIs(StatusCode::kInvalidArgument, "type registry is not valid JSON"));
  EXPECT_THAT(registry.StoreOf("A"), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace dotdo
