// DocumentStore MergePatch (RFC 7386) and JsonPatch (RFC 6902), checked with the RFCs' own appendix
// examples applied to document bodies, plus the all-or-nothing guarantee on failure.
#include "dotdo/document.h"

#include <chrono>

#include "dotdo/cdc.h"

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

class DocumentPatchTest : public ::testing::Test {
 protected:
  // Stores `body` as a new document and returns its id.
  std::string Put(const Json& body) {
    Json doc = body;
    doc["$type"] = "Doc";
    auto r = store_.Create(doc);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? (*r)["$id"].get<std::string>() : "";
  }
  // The stored body without system fields.
  Json Body(const std::string& id) {
    auto r = store_.Get(id);
    EXPECT_THAT(r, IsOk());
    Json out = Json::object();
    if (r.ok())
      for (auto it = r->begin(); it != r->end(); ++it)
        if (it.key().empty() || it.key()[0] != '$') out[it.key()] = it.value();
    return out;
  }
  int64_t Version(const std::string& id) { return store_.Get(id).value()["$version"].get<int64_t>(); }

  ManualClock clock_;
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
  DocumentStore store_{*db_};
};

struct PatchCase {
  const char* target;
  const char* patch;
  const char* result;
};

// RFC 7386 Appendix A, the cases whose target and result are objects.
TEST_F(DocumentPatchTest, MergePatchFollowsTheRfc7386Examples) {
  const PatchCase cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    std::string id = Put(Json::parse(c.target));
    DOTDO_ASSERT_OK_AND_ASSIGN(Json r, store_.MergePatch(id, Json::parse(c.patch)));
    EXPECT_EQ(r["$version"], 2) << c.patch;
    EXPECT_EQ(Body(id), Json::parse(c.result)) << c.target << " + " << c.patch;
  }
}

// RFC 7386 examples whose patch is not an object would replace the whole document with a
// non-object: a document store refuses them and keeps the document.
TEST_F(DocumentPatchTest, MergePatchThatWouldLeaveANonObjectIsRejected) {
  std::string id = Put({{"a", "foo"}});
  for (const char* patch : {R"(["c"])", "null", R"("bar")"}) {
    EXPECT_THAT(store_.MergePatch(id, Json::parse(patch)), StatusIs(StatusCode::kInvalidArgument, "must be an object")) << patch;
  }
  EXPECT_THAT(store_.MergePatch(id, {{"$version", 9}}), StatusIs(StatusCode::kInvalidArgument, "system fields"));
  EXPECT_EQ(Body(id), Json({{"a", "foo"}}));
  EXPECT_EQ(Version(id), 1);
}

// RFC 6902 Appendix A.1-A.8, A.10, A.11, A.14, A.16: patches that apply.
TEST_F(DocumentPatchTest, JsonPatchFollowsTheRfc6902Examples) {
  const PatchCase cases[] = {
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])", R"({"baz":"qux","foo":"bar"})"},
      {R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])", R"({"foo":["bar","qux","baz"]})"},
      {R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])", R"({"foo":"bar"})"},
      {R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])", R"({"foo":["bar","baz"]})"},
      {R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])", R"({"baz":"boo","foo":"bar"})"},
      {R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
       R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
       R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"},
      {R"({"foo":["all","grass","cows","eat"]})", R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
       R"({"foo":["all","cows","eat","grass"]})"},
      {R"({"baz":"qux","foo":["a",2,"c"]})",
       R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
       R"({"baz":"qux","foo":["a",2,"c"]})"},
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
       R"({"foo":"bar","child":{"grandchild":{}}})"},
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])", R"({"foo":"bar","baz":"qux"})"},
      {R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])", R"({"/":9,"~1":10})"},
      {R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])", R"({"foo":["bar",["abc","def"]]})"},
  };
  for (const auto& c : cases) {
    std::string id = Put(Json::parse(c.target));
    DOTDO_ASSERT_OK_AND_ASSIGN(Json r, store_.JsonPatch(id, Json::parse(c.patch)));
    EXPECT_EQ(Body(id), Json::parse(c.result)) << c.patch;
    EXPECT_EQ(r["$version"], 2);
  }
}

// RFC 6902 A.9 and A.15: a failing "test" is a clear precondition failure and changes nothing.
TEST_F(DocumentPatchTest, FailingTestOperationChangesNothing) {
  std::string id = Put({{"baz", "qux"}});
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"([{"op":"test","path":"/baz","value":"bar"}])")),
              StatusIs(StatusCode::kFailedPrecondition, "'test' of /baz expected \"bar\" but found \"qux\""));
  std::string id2 = Put(Json::parse(R"({"/":9,"~1":10})"));
  EXPECT_THAT(store_.JsonPatch(id2, Json::parse(R"([{"op":"test","path":"/~01","value":"10"}])")),
              StatusIs(StatusCode::kFailedPrecondition, "expected \"10\" but found 10"));
  // Earlier operations of the same patch are undone too.
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"([{"op":"add","path":"/x","value":1},
                                                   {"op":"test","path":"/x","value":2}])")),
              StatusIs(StatusCode::kFailedPrecondition, "nothing was changed"));
  EXPECT_EQ(Body(id), Json({{"baz", "qux"}}));
  EXPECT_EQ(Version(id), 1);
  EXPECT_EQ(Body(id2), Json::parse(R"({"/":9,"~1":10})"));
}

// "test" operations cost their own lookup, not a replay of the patch so far: thousands of them on a
// large document finish at once (they used to take seconds while holding the write lock).
TEST_F(DocumentPatchTest, ManyTestOperationsOnALargeDocumentAreLinearAndPatchLengthIsBounded) {
  Json doc = Json::object();
  for (int i = 0; i < 4000; ++i) doc["k" + std::to_string(i)] = std::string(40, 'v');
  std::string id = Put(doc);
  Json patch = Json::array();
  for (int i = 0; i < 5000; ++i) {
    patch.push_back({{"op", "test"}, {"path", "/k" + std::to_string(i % 4000)}, {"value", std::string(40, 'v')}});
    if (i % 1000 == 0) patch.push_back({{"op", "replace"}, {"path", "/k3999"}, {"value", std::string(40, 'v')}});
  }
  patch.push_back({{"op", "add"}, {"path", "/done"}, {"value", true}});
  const auto start = std::chrono::steady_clock::now();
  DOTDO_ASSERT_OK(store_.JsonPatch(id, patch));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(Body(id)["done"], true);
  Json too_long = Json::array();
  for (size_t i = 0; i <= DocumentStore::kMaxJsonPatchOperations; ++i)
    too_long.push_back({{"op", "test"}, {"path", "/done"}, {"value", true}});
  EXPECT_THAT(store_.JsonPatch(id, too_long), StatusIs(StatusCode::kInvalidArgument, "the limit is 10000"));
}

// RFC 6902 A.12 and malformed patches: kInvalidArgument, nothing changes.
TEST_F(DocumentPatchTest, InvalidJsonPatchChangesNothing) {
  std::string id = Put({{"foo", "bar"}});
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"([{"op":"add","path":"/baz/bat","value":"qux"}])")),
              StatusIs(StatusCode::kInvalidArgument, "nothing was changed"));
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"([{"op":"add","path":"/a","value":1},{"op":"remove","path":"/nope"}])")),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"([{"op":"frobnicate","path":"/foo"}])")), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"([{"op":"add","value":1}])")), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"({"op":"add"})")), StatusIs(StatusCode::kInvalidArgument, "array"));
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"([{"op":"replace","path":"","value":[1]}])")),
              StatusIs(StatusCode::kInvalidArgument, "object"));
  EXPECT_THAT(store_.JsonPatch(id, Json::parse(R"([{"op":"replace","path":"/$version","value":9}])")),
              StatusIs(StatusCode::kInvalidArgument, "system fields"));
  EXPECT_THAT(store_.JsonPatch("missing", Json::parse(R"([])")), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(Body(id), Json({{"foo", "bar"}}));
  EXPECT_EQ(Version(id), 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db_).Read(0, 100));
  EXPECT_EQ(events.size(), 1u);
}

TEST_F(DocumentPatchTest, PatchEventsCarryOnlyTheChangedPaths) {
  std::string id = Put({{"keep", 1}, {"a", {{"b", 1}, {"c", 2}}}});
  clock_.Advance(10);
  DOTDO_ASSERT_OK(store_.MergePatch(id, {{"a", {{"b", nullptr}, {"d", 4}}}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db_).Read(0, 100));
  ASSERT_EQ(events.size(), 2u);
  Json before = *events[1].before, after = *events[1].after;
  before.erase("$updatedAt");
  before.erase("$version");
  after.erase("$updatedAt");
  after.erase("$version");
  EXPECT_EQ(before, Json({{"a", {{"b", 1}}}}));
  EXPECT_EQ(after, Json({{"a", {{"d", 4}}}}));
}

}  // namespace
}  // namespace dotdo
