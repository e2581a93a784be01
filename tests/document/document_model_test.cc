// Model-based randomized test of the DocumentStore: random creates, updates (operators, replace,
// merge patch, upsert), soft and hard deletes, stale-version conflicts, and random queries (filter,
// sort, keyset pagination, count) against a simple in-memory model, compared after every step.
// The model spells out the documented query semantics (query_compiler.h) in plain C++.
#include "dotdo/document.h"
#include "dotdo/cdc.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <random>

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

struct ModelRow {
  int64_t seq;
  std::string type;
  int64_t version;
  bool deleted;
  Json body;  // without system fields
};

// A value as SQL sees it: missing/null = NULL, booleans as 1/0.
struct SqlVal {
  int rank = 0;  // 0 NULL, 1 number, 2 text
  double num = 0;
  std::string text;
};

SqlVal ToSql(const Json* v) {
  SqlVal s;
  if (v == nullptr || v->is_null()) return s;
  if (v->is_boolean()) return {1, v->get<bool>() ? 1.0 : 0.0, ""};
  if (v->is_number()) return {1, v->get<double>(), ""};
  if (v->is_string()) return {2, 0, v->get<std::string>()};
  return {2, 0, v->dump()};
}

int Compare(const SqlVal& a, const SqlVal& b) {
  if (a.rank != b.rank) return a.rank < b.rank ? -1 : 1;
  if (a.rank == 1) return a.num < b.num ? -1 : a.num > b.num ? 1 : 0;
  if (a.rank == 2) return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  return 0;
}

bool Like(std::string_view pat, std::string_view s) {
  if (pat.empty()) return s.empty();
  if (pat[0] == '%') {
    for (size_t i = 0; i <= s.size(); ++i)
      if (Like(pat.substr(1), s.substr(i))) return true;
    return false;
  }
  if (s.empty()) return false;
  if (pat[0] != '_' && std::tolower(static_cast<unsigned char>(pat[0])) != std::tolower(static_cast<unsigned char>(s[0])))
    return false;
  return Like(pat.substr(1), s.substr(1));
}

const Json* At(const Json& body, const std::string& path) {
  const Json* cur = &body;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

bool Matches(const Json& body, const Json& where);

// Filters bracket types: a boolean equals only a boolean and is in no number range (sorting, by
// SQLite's order, still reads it as 1/0).
bool OpMatches(const Json* v, const std::string& op, const Json& arg) {
  const SqlVal s = ToSql(v);
  const bool boolean = v != nullptr && v->is_boolean();
  auto eq = [&](const Json& x) { return s.rank != 0 && !boolean && Compare(s, ToSql(&x)) == 0; };
  if (op == "$eq" || op == "$ne") {
    bool r;
    if (arg.is_null()) r = s.rank == 0;
    else if (arg.is_boolean()) r = v != nullptr && v->is_boolean() && *v == arg;
    else r = eq(arg);
    return op == "$eq" ? r : !r;
  }
  if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
    const SqlVal a = ToSql(&arg);
    if (boolean || (arg.is_string() && !(v != nullptr && v->is_string()))) return false;
    if (s.rank != a.rank) return false;
    int c = Compare(s, a);
    return op == "$gt" ? c > 0 : op == "$gte" ? c >= 0 : op == "$lt" ? c < 0 : c <= 0;
  }
  if (op == "$in" || op == "$nin") {
    bool any = false;
    for (const Json& x : arg) any = any || eq(x);
    return op == "$in" ? any : (s.rank == 0 || !any);
  }
  if (op == "$exists") return (v != nullptr) == arg.get<bool>();
  if (op == "$like") return v != nullptr && v->is_string() && Like(arg.get<std::string>(), v->get<std::string>());
  ADD_FAILURE() << "model has no operator " << op;
  return false;
}

bool Matches(const Json& body, const Json& where) {
  for (auto it = where.begin(); it != where.end(); ++it) {
    const std::string& k = it.key();
    bool ok = true;
    if (k == "$and") {
      for (const Json& sub : it.value()) ok = ok && Matches(body, sub);
    } else if (k == "$or") {
      ok = false;
      for (const Json& sub : it.value()) ok = ok || Matches(body, sub);
    } else if (k == "$not") {
      ok = !Matches(body, it.value());
    } else if (it.value().is_object()) {
      for (auto op = it.value().begin(); op != it.value().end(); ++op) ok = ok && OpMatches(At(body, k), op.key(), op.value());
    } else {
      ok = OpMatches(At(body, k), "$eq", it.value());
    }
    if (!ok) return false;
  }
  return true;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  int Int(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  std::string Str() {
    static const char* kWords[] = {"a", "b", "ab", "Ab", "ba", "abc", "bca", "c", "cab", "A"};
    return kWords[Int(10)];
  }
  Json Value(const std::string& field) {
    if (field == "flag") return Int(2) == 0;
    if (field == "s") return Str();
    int r = Int(10);
    if (r < 7) return Int(20);
    if (r < 9) return Str();
    return nullptr;
  }
  Json Body() {
    Json b = Json::object();
    for (const char* f : {"n", "s", "flag"})
      if (Int(4) != 0) b[f] = Value(f);
    if (Int(2) == 0) b["nested"] = {{"k", Int(5)}};
    return b;
  }
  Json Filter(int depth = 0) {
    int r = Int(depth < 2 ? 12 : 9);
    if (r == 9) return {{"$and", {Filter(depth + 1), Filter(depth + 1)}}};
    if (r == 10) return {{"$or", {Filter(depth + 1), Filter(depth + 1)}}};
    if (r == 11) return {{"$not", Filter(depth + 1)}};
    static const char* kPaths[] = {"n", "s", "flag", "nested.k", "missing"};
    std::string path = kPaths[Int(5)];
    static const char* kOps[] = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$like"};
    std::string op = kOps[Int(10)];
    Json arg;
    if (op == "$exists") arg = Int(2) == 0;
    else if (op == "$like") arg = std::vector<std::string>{"a%", "%b", "_b%", "%", "A_"}[static_cast<size_t>(Int(5))];
    else if (op == "$in" || op == "$nin") arg = {Int(20), Str(), Int(20)};
    else if (op == "$eq" || op == "$ne") arg = Int(6) == 0 ? Json(Int(2) == 0) : Int(6) == 0 ? Json(nullptr) : Value(path);
    else arg = Int(3) == 0 ? Json(Str()) : Json(Int(20));
    if (op == "$eq" && Int(2) == 0) return {{path, arg}};
    return {{path, {{op, arg}}}};
  }

 private:
  std::mt19937_64 rng_;
};

class DocumentModelTest : public ::testing::Test {
 protected:
  Json Expected(const std::string& id) const {
    const ModelRow& r = model_.at(id);
    Json d = r.body;
    d["$id"] = id;
    d["$type"] = r.type;
    d["$version"] = r.version;
    return d;
  }
  static Json WithoutTimes(Json d) {
    d.erase("$createdAt");
    d.erase("$updatedAt");
    return d;
  }
  int64_t NextSeq() const {
    int64_t m = 0;
    for (const auto& [id, r] : model_) m = std::max(m, r.seq);
    return m + 1;
  }
  void CheckDoc(const std::string& id) {
    auto it = model_.find(id);
    auto got = store_.Get(id);
    if (it == model_.end() || it->second.deleted) {
      EXPECT_THAT(got, StatusIs(StatusCode::kNotFound)) << id;
    } else {
      ASSERT_THAT(got, IsOk()) << id;
      EXPECT_EQ(WithoutTimes(*got), Expected(id));
    }
  }
  // Ids of live documents of `type` matching `where`, in the order of `sort` then insertion.
  std::vector<std::string> ModelQuery(const std::string& type, const Json& where, const std::vector<DocumentSortKey>& sort) {
    std::vector<std::pair<std::string, const ModelRow*>> rows;
    for (const auto& [id, r] : model_)
      if (!r.deleted && r.type == type && Matches(r.body, where)) rows.emplace_back(id, &r);
    const bool tie_desc = !sort.empty() && sort.back().descending;
    std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
      for (const DocumentSortKey& k : sort) {
        int c = Compare(ToSql(At(a.second->body, k.path)), ToSql(At(b.second->body, k.path)));
        if (c != 0) return k.descending ? c > 0 : c < 0;
      }
      return tie_desc ? a.second->seq > b.second->seq : a.second->seq < b.second->seq;
    });
    std::vector<std::string> ids;
    for (const auto& [id, r] : rows) ids.push_back(id);
    return ids;
  }

  ManualClock clock_;
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
  DocumentStore store_{*db_};
  std::map<std::string, ModelRow> model_;
};

void ApplyDiff(Json& doc, const Json& before, const Json& after);

TEST_F(DocumentModelTest, RandomOperationsAgreeWithTheModel) {
  Generator g(99);
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) ids.push_back("m" + std::to_string(i));
  DOTDO_ASSERT_OK(store_.CreateIndex("A", "n"));  // some queries run on an index, some scan
  int nonempty = 0, empty = 0, conflicts = 0;
  for (int step = 0; step < 3000; ++step) {
    clock_.Advance(g.Int(3));
    const std::string id = ids[static_cast<size_t>(g.Int(static_cast<int>(ids.size())))];
    auto it = model_.find(id);
    const bool live = it != model_.end() && !it->second.deleted;
    const int kind = g.Int(100);
    SCOPED_TRACE("step " + std::to_string(step) + " id " + id + " kind " + std::to_string(kind));
    if (kind < 25) {  // create
      Json body = g.Body();
      const std::string type = g.Int(3) == 0 ? "B" : "A";
      Json doc = body;
      doc["$id"] = id;
      doc["$type"] = type;
      auto r = store_.Create(doc);
      if (live) {
        ASSERT_THAT(r, StatusIs(StatusCode::kAlreadyExists));
      } else {
        ASSERT_THAT(r, IsOk());
        if (it == model_.end()) model_[id] = {NextSeq(), type, 1, false, body};
        else it->second = {it->second.seq, type, it->second.version + 1, false, body};
      }
    } else if (kind < 45) {  // operator update, sometimes with a stale version
      const std::string f = std::vector<std::string>{"n", "s", "flag"}[static_cast<size_t>(g.Int(3))];
      Json v = g.Value(f);
      const int r = g.Int(4);
      Json ops = r == 0   ? Json{{"$set", {{f, v}}}}
                 : r == 1 ? Json{{"$unset", {{f, true}}}}
                 : r == 2 ? Json{{"$set", {{"nested.k", g.Int(5)}}}}
                          : Json{{"$unset", {{"nested.k", true}}}};  // may leave "nested" an empty object
      DocumentUpdateOptions o;
      const bool stale = live && g.Int(5) == 0;
      if (stale) o.expected_version = it->second.version - 1;
      auto res = store_.Update(id, ops, o);
      if (!live) {
        ASSERT_THAT(res, StatusIs(StatusCode::kNotFound));
      } else if (stale) {
        ASSERT_THAT(res, StatusIs(StatusCode::kAborted));
        ++conflicts;
      } else {
        ASSERT_THAT(res, IsOk());
        Json& b = it->second.body;
        if (r == 0) b[f] = v;
        else if (r == 1) b.erase(f);
        else if (r == 3) {
          if (b.contains("nested") && b["nested"].is_object()) b["nested"].erase("k");
        } else {
          if (!b.contains("nested") || !b["nested"].is_object()) b["nested"] = Json::object();
          b["nested"]["k"] = ops["$set"]["nested.k"];
        }
        ++it->second.version;
      }
    } else if (kind < 55) {  // replace or upsert
      Json body = g.Body();
      if (g.Int(2) == 0) {
        auto res = store_.Replace(id, body);
        if (!live) {
          ASSERT_THAT(res, StatusIs(StatusCode::kNotFound));
        } else {
          ASSERT_THAT(res, IsOk());
          it->second.body = body;
          ++it->second.version;
        }
      } else {
        Json doc = body;
        doc["$id"] = id;
        doc["$type"] = live ? it->second.type : "A";
        ASSERT_THAT(store_.Upsert(doc), IsOk());
        if (live) {
          it->second.body = body;
          ++it->second.version;
        } else if (it == model_.end()) {
          model_[id] = {NextSeq(), "A", 1, false, body};
        } else {
          it->second = {it->second.seq, "A", it->second.version + 1, false, body};
        }
      }
    } else if (kind < 62) {  // merge patch
      Json patch = {{"s", g.Int(2) == 0 ? Json(nullptr) : Json(g.Str())}, {"nested", {{"k", g.Int(5)}}}};
      auto res = store_.MergePatch(id, patch);
      if (!live) {
        ASSERT_THAT(res, StatusIs(StatusCode::kNotFound));
      } else {
        ASSERT_THAT(res, IsOk());
        it->second.body.merge_patch(patch);
        ++it->second.version;
      }
    } else if (kind < 72) {  // delete
      const bool hard = g.Int(4) == 0;
      Status st = store_.Delete(id, {.hard = hard});
      if (it == model_.end() || (it->second.deleted && !hard)) {
        ASSERT_THAT(st, StatusIs(StatusCode::kNotFound));
      } else {
        ASSERT_THAT(st, IsOk());
        if (hard) {
          model_.erase(it);
        } else {
          it->second.deleted = true;
          ++it->second.version;
        }
      }
    } else {  // query
      DocumentQueryOptions q;
      q.type = g.Int(3) == 0 ? "B" : "A";
      q.where = g.Filter();
      const int s = g.Int(4);
      if (s == 1) q.sort = {{"n", false}};
      if (s == 2) q.sort = {{"n", true}, {"s", false}};
      if (s == 3) q.sort = {{"s", true}};
      const std::vector<std::string> want = ModelQuery(q.type, q.where, q.sort);
      q.limit = 1 + g.Int(12);
      std::vector<std::string> got;
      do {
        auto page = store_.Query(q);
        ASSERT_THAT(page, IsOk()) << q.where.dump();
        for (const Json& d : page->items) got.push_back(d["$id"]);
        q.cursor = page->next_cursor;
      } while (!q.cursor.empty() && got.size() <= want.size());
      ASSERT_EQ(got, want) << q.where.dump() << " sort keys " << q.sort.size();
      DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store_.Count(q.type, q.where));
      ASSERT_EQ(n, static_cast<int64_t>(want.size())) << q.where.dump();
      ++(want.empty() ? empty : nonempty);
    }
    CheckDoc(id);
  }
  // The random mix really exercised matches, misses and conflicts.
  EXPECT_GT(nonempty, 200);
  EXPECT_GT(empty, 50);
  EXPECT_GT(conflicts, 20);
  // Final sweep: every id agrees.
  for (const std::string& id : ids) CheckDoc(id);

  // The change feed alone rebuilds every document exactly (docs/formats/cdc.md, "Update diffs").
  std::map<std::string, Json> rebuilt;
  std::vector<UnifiedEvent> events;
  for (int64_t after = 0;;) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto page, ChangeFeed(*db_).Read(after, 10000));
    if (page.empty()) break;
    after = *page.back().lsn;
    events.insert(events.end(), page.begin(), page.end());
  }
  for (const UnifiedEvent& e : events) {
    if (e.store != "document") continue;
    if (e.type == "cdc.insert") rebuilt[*e.key] = *e.after;
    else if (e.type == "cdc.delete") rebuilt.erase(*e.key);
    else if (e.type == "cdc.update") ApplyDiff(rebuilt.at(*e.key), *e.before, *e.after);
  }
  for (const std::string& id : ids) {
    auto got = store_.Get(id);
    if (!got.ok()) {
      EXPECT_EQ(rebuilt.count(id), 0u) << id;
      continue;
    }
    ASSERT_EQ(rebuilt.count(id), 1u) << id;
    EXPECT_EQ(rebuilt[id], *got) << id;
  }
}

// A consumer's replay of one cdc.update: before-only keys were removed, after-only keys added,
// keys on both sides with objects on both sides changed inside, any other key on both replaced.
void ApplyDiff(Json& doc, const Json& before, const Json& after) {
  for (auto it = before.begin(); it != before.end(); ++it)
    if (!after.contains(it.key())) doc.erase(it.key());
  for (auto it = after.begin(); it != after.end(); ++it) {
    auto b = before.find(it.key());
    if (b != before.end() && b->is_object() && it->is_object() && doc[it.key()].is_object())
      ApplyDiff(doc[it.key()], *b, *it);
    else
      doc[it.key()] = *it;
  }
}

TEST(DocumentEventsTest, EmptyingANestedObjectIsNotRemovingIt) {
  auto db = testing::OpenMemoryDb();
  DocumentStore store(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, store.Create({{"$type", "T"}, {"a", {{"k", 1}}}, {"b", {{"k", 1}}}}));
  const std::string id = doc["$id"];
  DOTDO_ASSERT_OK(store.Update(id, {{"$unset", {{"a.k", true}}}}));
  DOTDO_ASSERT_OK(store.Update(id, {{"$unset", {{"b", true}}}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db).Read(0, 10));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ((*events[1].before)["a"], (Json{{"k", 1}}));
  EXPECT_EQ((*events[1].after)["a"], Json::object());  // still there, now empty
  EXPECT_EQ((*events[2].before)["b"], (Json{{"k", 1}}));
  EXPECT_FALSE(events[2].after->contains("b"));  // removed
  Json replayed = *events[0].after;
  ApplyDiff(replayed, *events[1].before, *events[1].after);
  ApplyDiff(replayed, *events[2].before, *events[2].after);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json now, store.Get(id));
  EXPECT_EQ(replayed, now);
}

}  // namespace
}  // namespace dotdo
