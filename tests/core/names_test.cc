// Name grammars (core/names.h): each kind accepts exactly its documented grammar, at its length
// limit and not past it, and refuses with a message that names the kind, the reason and the grammar.
#include "core/names.h"

#include <string>
#include <string_view>

#include "dotdo/database.h"
#include "testing/test_util.h"

namespace dotdo::internal {
namespace {

using ::dotdo::testing::StatusIs;

TEST(NamesTest, TypeNames) {
  for (std::string_view ok : {"Customer", "_internal_2", "a", "A9_z"}) DOTDO_EXPECT_OK(ValidateTypeName(ok)) << ok;
  DOTDO_EXPECT_OK(ValidateTypeName(std::string(128, 'a')));
  for (std::string_view bad : {"", "2Fast", "Cus tomer", "a/b", "a.b", "a-b", "\xc3\xa9", "x'; DROP TABLE t; --"})
    EXPECT_THAT(ValidateTypeName(bad), StatusIs(StatusCode::kInvalidArgument, "invalid type name")) << bad;
  EXPECT_THAT(ValidateTypeName(std::string(129, 'a')), StatusIs(StatusCode::kInvalidArgument, "longer than 128 bytes"));
  EXPECT_THAT(ValidateTypeName(std::string("a\0b", 3)), StatusIs(StatusCode::kInvalidArgument, "contains '\\x00'"));
  EXPECT_THAT(ValidateTypeName("2x", "$type"),
              StatusIs(StatusCode::kInvalidArgument,
                       "invalid $type '2x': must start with a letter or '_' (grammar [A-Za-z_][A-Za-z0-9_]{0,127})"));
}

TEST(NamesTest, NodeTypesAreNarrowerThanTypeNames) {
  DOTDO_EXPECT_OK(ValidateNodeType("User"));
  DOTDO_EXPECT_OK(ValidateNodeType(std::string(64, 'N')));
  EXPECT_THAT(ValidateNodeType(std::string(65, 'N')), StatusIs(StatusCode::kInvalidArgument, "longer than 64"));
  // '_' may start a type name but not a node type: each store keeps the grammar it always had.
  DOTDO_EXPECT_OK(ValidateTypeName("_T"));
  EXPECT_THAT(ValidateNodeType("_T"), StatusIs(StatusCode::kInvalidArgument, "must start with a letter"));
  EXPECT_THAT(ValidateNodeType("Po st"), StatusIs(StatusCode::kInvalidArgument, "contains ' '"));
}

TEST(NamesTest, RelationTypes) {
  for (std::string_view ok : {"likes", "Noun.verb", "ns:rel-2", "a_b"}) DOTDO_EXPECT_OK(ValidateRelationType(ok)) << ok;
  for (std::string_view bad : {"", "bad type", "-x", "_x", "1x", "a/b"})
    EXPECT_THAT(ValidateRelationType(bad), StatusIs(StatusCode::kInvalidArgument, "invalid relation type")) << bad;
  DOTDO_EXPECT_OK(ValidateRelationType(std::string(64, 'r')));
  EXPECT_THAT(ValidateRelationType(std::string(65, 'r')), StatusIs(StatusCode::kInvalidArgument, "64"));
}

TEST(NamesTest, RecordIds) {
  for (std::string_view ok : {"42", "cust-1", "a.b:c@d~e+f=g_h", "-", "."}) DOTDO_EXPECT_OK(ValidateRecordId(ok)) << ok;
  DOTDO_EXPECT_OK(ValidateRecordId(std::string(128, '9')));
  EXPECT_THAT(ValidateRecordId(std::string(129, '9')), StatusIs(StatusCode::kInvalidArgument, "longer than 128"));
  for (std::string_view bad : {"", "a/b", "a b", "a\"b", "\xc3\xa9"})
    EXPECT_THAT(ValidateRecordId(bad, "$id"), StatusIs(StatusCode::kInvalidArgument, "invalid $id")) << bad;
}

TEST(NamesTest, NamespacesAndTheirPublicEntryPoint) {
  for (std::string_view ok : {"test", "tenant-1.prod", "_x", "-x", "9"}) {
    DOTDO_EXPECT_OK(ValidateNamespaceName(ok)) << ok;
    DOTDO_EXPECT_OK(Database::ValidateNamespace(ok)) << ok;
  }
  for (std::string_view bad : {"", ".hidden", "a/b", "..", "a b", "a\\b"}) {
    EXPECT_THAT(ValidateNamespaceName(bad), StatusIs(StatusCode::kInvalidArgument, "invalid namespace name")) << bad;
    EXPECT_THAT(Database::ValidateNamespace(bad), StatusIs(StatusCode::kInvalidArgument, "namespace name")) << bad;
  }
  EXPECT_THAT(ValidateNamespaceName(std::string(129, 'n')), StatusIs(StatusCode::kInvalidArgument, "longer than 128"));
}

TEST(NamesTest, MessagesQuoteBadInputPrintably) {
  Status s = ValidateRecordId(std::string("a\nb"), "$id");
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "invalid $id 'a\\x0ab': contains '\\x0a'"));
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace dotdo::internal
