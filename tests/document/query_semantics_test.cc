// Differential test of the filter semantics (docs/formats/document.md, "Filter semantics"): 10,000
// random filters over random documents (nested objects, arrays of scalars and of objects, nulls,
// mixed types) run through DocumentStore::Query and Count — once without indexes, once with an
// index and statistics on every path — and through a brute-force evaluator written here from the
// table, independently of the product's evaluator.
#include <algorithm>
#include <random>

#include "dotdo/document.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;

// ---- The oracle: the table of docs/formats/document.md, row by row. ----

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    out.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

bool IsIndex(const std::string& seg) { return !seg.empty() && std::isdigit(static_cast<unsigned char>(seg[0])); }

// The values a path reaches; nullptr for "missing on this branch".
void Reach(const Json& node, const std::vector<std::string>& segs, size_t i, std::vector<const Json*>& out) {
  if (i == segs.size()) return out.push_back(&node);
  const std::string& seg = segs[i];
  if (IsIndex(seg)) {
    size_t k = std::stoul(seg);
    if (node.is_array() && k < node.size()) return Reach(node[k], segs, i + 1, out);
    return out.push_back(nullptr);
  }
  if (node.is_object()) {
    if (!node.contains(seg)) return out.push_back(nullptr);
    return Reach(node[seg], segs, i + 1, out);
  }
  if (node.is_array()) {
    if (node.empty()) out.push_back(nullptr);
    for (const Json& e : node) {
      if (e.is_object()) {
        Reach(e, segs, i, out);
      } else {
        out.push_back(nullptr);
      }
    }
    return;
  }
  out.push_back(nullptr);
}

int Bracket(const Json& v) {
  if (v.is_number()) return 1;
  if (v.is_string()) return 2;
  if (v.is_boolean()) return 3;
  if (v.is_array()) return 4;
  if (v.is_object()) return 5;
  return 0;
}

bool Same(const Json& a, const Json& b) {
  if (Bracket(a) != Bracket(b)) return false;
  if (a.is_number()) return a.get<double>() == b.get<double>();  // the generator's numbers are exact
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!Same(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!b.contains(it.key()) || !Same(*it, b[it.key()])) return false;
    return true;
  }
  return a == b;
}

// v, or one of its elements when v is an array.
template <typename P>
bool SelfOrElement(const Json& v, P p) {
  if (p(v)) return true;
  if (v.is_array())
    for (const Json& e : v)
      if (p(e)) return true;
  return false;
}

bool Like(const std::string& pat, size_t i, const std::string& s, size_t j) {
  if (i == pat.size()) return j == s.size();
  if (pat[i] == '%') {
    for (size_t k = j; k <= s.size(); ++k)
      if (Like(pat, i + 1, s, k)) return true;
    return false;
  }
  if (j == s.size()) return false;
  if (pat[i] != '_' && std::tolower(static_cast<unsigned char>(pat[i])) != std::tolower(static_cast<unsigned char>(s[j])))
    return false;
  return Like(pat, i + 1, s, j + 1);
}

bool OracleFilter(const Json& doc, const Json& filter);

bool OracleCondition(const std::vector<const Json*>& vals, const Json& cond, bool expand);

bool OracleEq(const std::vector<const Json*>& vals, const Json& x, bool expand) {
  for (const Json* v : vals) {
    if (v == nullptr) {
      if (x.is_null()) return true;
      continue;
    }
    auto p = [&](const Json& e) { return Same(e, x); };
    if (expand ? SelfOrElement(*v, p) : p(*v)) return true;
  }
  return false;
}

bool OracleOp(const std::vector<const Json*>& vals, const std::string& op, const Json& x, bool expand) {
  auto any = [&](auto p) {
    for (const Json* v : vals)
      if (v != nullptr && (expand ? SelfOrElement(*v, p) : p(*v))) return true;
    return false;
  };
  if (op == "$eq") return OracleEq(vals, x, expand);
  if (op == "$ne") return !OracleEq(vals, x, expand);
  if (op == "$in" || op == "$nin") {
    bool in = false;
    for (const Json& y : x) in = in || OracleEq(vals, y, expand);
    return op == "$in" ? in : !in;
  }
  if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
    return any([&](const Json& e) {
      if (Bracket(e) != Bracket(x) || Bracket(e) > 3 || Bracket(e) == 0) return false;
      int c;
      if (e.is_number()) c = e.get<double>() < x.get<double>() ? -1 : e.get<double>() > x.get<double>();
      else if (e.is_string()) c = e.get<std::string>() < x.get<std::string>() ? -1 : e.get<std::string>() > x.get<std::string>();
      else c = static_cast<int>(e.get<bool>()) - static_cast<int>(x.get<bool>());
      return op == "$gt" ? c > 0 : op == "$gte" ? c >= 0 : op == "$lt" ? c < 0 : c <= 0;
    });
  }
  if (op == "$exists") {
    bool exists = false;
    for (const Json* v : vals) exists = exists || v != nullptr;
    return exists == x.get<bool>();
  }
  if (op == "$like") return any([&](const Json& e) { return e.is_string() && Like(x.get<std::string>(), 0, e.get<std::string>(), 0); });
  if (op == "$size") {
    for (const Json* v : vals)
      if (v != nullptr && v->is_array() && v->size() == x.get<size_t>()) return true;
    return false;
  }
  if (op == "$type") {
    const std::string t = x;
    return any([&](const Json& e) {
      if (t == "number") return e.is_number();
      if (t == "string") return e.is_string();
      if (t == "bool") return e.is_boolean();
      if (t == "null") return e.is_null();
      if (t == "array") return e.is_array();
      return e.is_object();
    });
  }
  if (op == "$all") {
    if (x.empty()) return false;
    for (const Json& y : x)
      if (!OracleEq(vals, y, expand)) return false;
    return true;
  }
  if (op == "$elemMatch") {
    const bool operators = x.begin().key()[0] == '$';
    for (const Json* v : vals) {
      if (v == nullptr || !v->is_array()) continue;
      for (const Json& e : *v) {
        if (operators ? OracleCondition({&e}, x, false) : (e.is_object() && OracleFilter(e, x))) return true;
      }
    }
    return false;
  }
  if (op == "$not") return !OracleCondition(vals, x, expand);
  ADD_FAILURE() << "oracle has no operator " << op;
  return false;
}

bool OracleCondition(const std::vector<const Json*>& vals, const Json& cond, bool expand) {
  if (!cond.is_object() || cond.empty() || cond.begin().key()[0] != '$') return OracleEq(vals, cond, expand);
  for (auto it = cond.begin(); it != cond.end(); ++it)
    if (!OracleOp(vals, it.key(), it.value(), expand)) return false;
  return true;
}

bool OracleFilter(const Json& doc, const Json& filter) {
  for (auto it = filter.begin(); it != filter.end(); ++it) {
    const std::string& k = it.key();
    bool ok;
    if (k == "$and" || k == "$or" || k == "$nor") {
      int hits = 0;
      for (const Json& sub : it.value()) hits += OracleFilter(doc, sub);
      ok = k == "$and" ? hits == static_cast<int>(it.value().size()) : k == "$or" ? hits > 0 : hits == 0;
    } else if (k == "$not") {
      ok = !OracleFilter(doc, it.value());
    } else {
      std::vector<const Json*> vals;
      Reach(doc, Split(k), 0, vals);
      ok = OracleCondition(vals, it.value(), true);
    }
    if (!ok) return false;
  }
  return true;
}

// ---- Random documents and filters ----

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int Int(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  Json Scalar() {
    switch (Int(7)) {
      case 0: return Int(7) - 3;
      case 1: return (Int(7) - 3) * 0.5;
      case 2: case 3: return std::vector<std::string>{"", "a", "b", "ab", "B", "ba"}[static_cast<size_t>(Int(6))];
      case 4: return Int(2) == 0;
      default: return nullptr;
    }
  }
  Json Object(int depth) {
    Json o = Json::object();
    for (const char* k : {"x", "y"})
      if (Int(3) != 0) o[k] = Value(depth + 1);
    return o;
  }
  Json Array(int depth) {
    Json a = Json::array();
    int n = Int(4);
    for (int i = 0; i < n; ++i) a.push_back(depth < 2 && Int(3) == 0 ? Object(depth + 1) : (Int(8) == 0 ? Json::array({Scalar()}) : Scalar()));
    return a;
  }
  Json Value(int depth) {
    int r = Int(10);
    if (depth < 2 && r < 2) return Object(depth);
    if (depth < 2 && r < 4) return Array(depth);
    return Scalar();
  }
  Json Document() {
    Json d = Json::object();
    for (const char* k : {"a", "b", "c"})
      if (Int(5) != 0) d[k] = Value(0);
    return d;
  }

  std::string Path() {
    static const char* kPaths[] = {"a", "b", "c", "a.x", "a.y", "b.x", "a.0", "a.x.y", "c.1", "b.x.0"};
    return kPaths[Int(10)];
  }
  Json Operand(const std::string& op) {
    if (op == "$in" || op == "$nin" || op == "$all") {
      Json a = Json::array();
      int n = Int(4);
      for (int i = 0; i < n; ++i) a.push_back(Int(6) == 0 ? Array(2) : Scalar());
      return a;
    }
    if (op == "$exists") return Int(2) == 0;
    if (op == "$like") return std::vector<std::string>{"a%", "%b", "_", "%", "B%", ""}[static_cast<size_t>(Int(6))];
    if (op == "$size") return Int(4);
    if (op == "$type") return std::vector<std::string>{"number", "string", "bool", "null", "array", "object"}[static_cast<size_t>(Int(6))];
    if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
      Json s = Scalar();
      return s.is_null() ? Json(0) : s;
    }
    if (op == "$elemMatch") {
      if (Int(2) == 0) {
        const std::string inner = std::vector<std::string>{"$gt", "$lte", "$eq", "$ne"}[static_cast<size_t>(Int(4))];
        Json v = Scalar();
        if (v.is_null() && (inner == "$gt" || inner == "$lte")) v = 1;  // ranges take no null
        return {{inner, v}};
      }
      return {{"x", Scalar()}};
    }
    if (op == "$not") {
      std::string inner = std::vector<std::string>{"$gt", "$in", "$size", "$eq"}[static_cast<size_t>(Int(4))];
      Json v = Operand(inner);
      return {{inner, v}};
    }
    return Int(5) == 0 ? Value(1) : Scalar();  // $eq, $ne
  }
  Json Filter(int depth = 0) {
    int r = Int(depth < 2 ? 16 : 12);
    if (r == 12) return {{"$and", {Filter(depth + 1), Filter(depth + 1)}}};
    if (r == 13) return {{"$or", {Filter(depth + 1), Filter(depth + 1)}}};
    if (r == 14) return {{"$nor", {Filter(depth + 1)}}};
    if (r == 15) return {{"$not", Filter(depth + 1)}};
    static const char* kOps[] = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$like",
                                 "$size", "$type", "$all", "$elemMatch", "$not"};
    const std::string op = kOps[Int(15)];
    const std::string path = Path();
    Json v = Operand(op);
    if (op == "$eq" && Int(2) == 0 && !(v.is_object() && !v.empty())) return {{path, v}};
    return {{path, {{op, v}}}};
  }

 private:
  std::mt19937_64 rng_;
};

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(QuerySemanticsTest, RandomFiltersMatchTheTableWithAndWithoutIndexes) {
  Gen g(20261201);
  std::vector<Json> docs;
  for (int i = 0; i < 150; ++i) {
    Json d = g.Document();
    d["$id"] = "d" + std::to_string(i);
    d["$type"] = "T";
    docs.push_back(d);
  }
  auto plain_db = testing::OpenMemoryDb();
  auto indexed_db = testing::OpenMemoryDb();
  DocumentStore plain(*plain_db), indexed(*indexed_db);
  // Half the indexes exist before the writes, half are created over the data (both ways of
  // learning that a path holds arrays).
  const std::vector<std::string> paths = {"a", "b", "c", "a.x", "a.y", "b.x", "a.0", "a.x.y", "c.1", "b.x.0"};
  for (size_t i = 0; i < paths.size(); i += 2) {
    ASSERT_THAT(indexed.CreateIndex("T", paths[i]), IsOk());
    ASSERT_THAT(indexed.ConfigureStats("T", paths[i]), IsOk());
  }
  for (const Json& d : docs) {
    ASSERT_THAT(plain.Create(d), IsOk());
    ASSERT_THAT(indexed.Create(d), IsOk());
  }
  for (size_t i = 1; i < paths.size(); i += 2) {
    ASSERT_THAT(indexed.CreateIndex("T", paths[i]), IsOk());
    ASSERT_THAT(indexed.ConfigureStats("T", paths[i]), IsOk());
  }
  int nonempty = 0, total = 0;
  for (int i = 0; i < 10000; ++i) {
    const Json filter = g.Filter();
    std::vector<std::string> want;
    for (const Json& d : docs)
      if (OracleFilter(d, filter)) want.push_back(d["$id"]);
    want = Sorted(want);
    nonempty += !want.empty() && want.size() < docs.size();
    for (DocumentStore* store : {&plain, &indexed}) {
      DocumentQueryOptions q;
      q.type = "T";
      q.where = filter;
      q.limit = 1000;
      auto page = store->Query(q);
      ASSERT_THAT(page, IsOk()) << filter.dump();
      std::vector<std::string> got;
      for (const Json& d : page->items) got.push_back(d["$id"]);
      ASSERT_EQ(Sorted(got), want) << (store == &plain ? "plain " : "indexed ") << filter.dump();
      auto n = store->Count("T", filter);
      ASSERT_THAT(n, IsOk());
      ASSERT_EQ(*n, static_cast<int64_t>(want.size())) << filter.dump();
      ++total;
    }
  }
  // The filters are informative: most select some but not all documents.
  EXPECT_GT(nonempty, 4000) << "of " << total / 2;
}

}  // namespace
}  // namespace dotdo
