// The filter semantics on JSON documents (see mql_match.h and docs/formats/document.md).
#include "core/mql_match.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sqlite/connection.h"

namespace dotdo::internal {
namespace {

using Values = std::vector<const Json*>;  // nullptr: the path is missing on that branch

void Walk(const Json& node, const std::vector<JsonPath::Segment>& segs, size_t i, const std::function<void(const Json*)>& fn) {
  if (i == segs.size()) {
    fn(&node);
    return;
  }
  if (const auto* key = std::get_if<std::string>(&segs[i])) {
    if (node.is_object()) {
      auto it = node.find(*key);
      if (it == node.end()) {
        fn(nullptr);
      } else {
        Walk(*it, segs, i + 1, fn);
      }
    } else if (node.is_array()) {
      if (node.empty()) fn(nullptr);
      for (const Json& e : node) {
        if (e.is_object()) {
          Walk(e, segs, i, fn);
        } else {
          fn(nullptr);
        }
      }
    } else {
      fn(nullptr);
    }
    return;
  }
  const int64_t index = std::get<int64_t>(segs[i]);
  if (node.is_array() && index < static_cast<int64_t>(node.size())) {
    Walk(node[static_cast<size_t>(index)], segs, i + 1, fn);
  } else {
    fn(nullptr);
  }
}

enum class Bracket { kNull, kNumber, kString, kBool, kArray, kObject };

Bracket BracketOf(const Json& v) {
  if (v.is_number()) return Bracket::kNumber;
  if (v.is_string()) return Bracket::kString;
  if (v.is_boolean()) return Bracket::kBool;
  if (v.is_array()) return Bracket::kArray;
  if (v.is_object()) return Bracket::kObject;
  return Bracket::kNull;
}

// Numbers compare by value: integers exactly, anything with a real as doubles.
int CompareNumbers(const Json& a, const Json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    // int64 and uint64 compared exactly: a negative signed value is below every unsigned one.
    auto cmp = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
    const bool ua = a.is_number_unsigned(), ub = b.is_number_unsigned();
    if (!ua && !ub) return cmp(a.get<int64_t>(), b.get<int64_t>());
    if (ua && ub) return cmp(a.get<uint64_t>(), b.get<uint64_t>());
    if (!ua && a.get<int64_t>() < 0) return -1;
    if (!ub && b.get<int64_t>() < 0) return 1;
    return cmp(a.get<uint64_t>(), b.get<uint64_t>());
  }
  double x = a.get<double>(), y = b.get<double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool Equal(const Json& a, const Json& b) {
  const Bracket k = BracketOf(a);
  if (k != BracketOf(b)) return false;
  switch (k) {
    case Bracket::kNull: return true;
    case Bracket::kNumber: return CompareNumbers(a, b) == 0;
    case Bracket::kString: return a.get_ref<const std::string&>() == b.get_ref<const std::string&>();
    case Bracket::kBool: return a.get<bool>() == b.get<bool>();
    case Bracket::kArray:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (!Equal(a[i], b[i])) return false;
      return true;
    case Bracket::kObject:
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        auto jt = b.find(it.key());
        if (jt == b.end() || !Equal(*it, *jt)) return false;
      }
      return true;
  }
  return false;
}

// Ordering within one bracket of scalars; nullopt across brackets (type bracketing: such values
// never satisfy a range).
std::optional<int> CompareScalars(const Json& v, const Json& bound) {
  const Bracket k = BracketOf(v);
  if (k != BracketOf(bound)) return std::nullopt;
  switch (k) {
    case Bracket::kNumber: return CompareNumbers(v, bound);
    case Bracket::kString: {
      int c = v.get_ref<const std::string&>().compare(bound.get_ref<const std::string&>());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Bracket::kBool: return static_cast<int>(v.get<bool>()) - static_cast<int>(bound.get<bool>());
    default: return std::nullopt;
  }
}

bool TypeIs(const Json& v, const Json& type) {
  if (!type.is_string()) return false;
  const std::string& t = type.get_ref<const std::string&>();
  if (t == "number") return v.is_number();
  if (t == "double") return v.is_number_float();
  if (t == "int" || t == "long") return v.is_number_integer();
  if (t == "string") return v.is_string();
  if (t == "bool") return v.is_boolean();
  if (t == "null") return v.is_null();
  if (t == "array") return v.is_array();
  if (t == "object") return v.is_object();
  return false;
}

// v itself, or (when `expand` and v is an array) one of its elements, satisfies pred.
template <typename Pred>
bool ValueOrElement(const Json* v, bool expand, Pred pred) {
  if (v == nullptr) return false;
  if (pred(*v)) return true;
  if (expand && v->is_array())
    for (const Json& e : *v)
      if (pred(e)) return true;
  return false;
}

bool ElementMatches(const Json& e, const Json& sub);

class FieldMatcher {
 public:
  FieldMatcher(Values values, bool expand) : values_(std::move(values)), expand_(expand) {}

  bool Condition(const Json& c) const {
    if (!IsOperatorObject(c)) return Eq(c);
    for (auto it = c.begin(); it != c.end(); ++it)
      if (!Op(it.key(), it.value(), c)) return false;
    return true;
  }

  static bool IsOperatorObject(const Json& c) {
    return c.is_object() && !c.empty() && !c.begin().key().empty() && c.begin().key()[0] == '$';
  }

 private:
  template <typename Pred>
  bool Any(Pred pred) const {
    for (const Json* v : values_)
      if (ValueOrElement(v, expand_, pred)) return true;
    return false;
  }

  bool Eq(const Json& x) const {
    if (x.is_null()) {
      for (const Json* v : values_)
        if (v == nullptr) return true;
      return Any([](const Json& e) { return e.is_null(); });
    }
    return Any([&](const Json& e) { return Equal(e, x); });
  }

  bool In(const Json& list) const {
    if (!list.is_array()) return false;
    for (const Json& x : list)
      if (Eq(x)) return true;
    return false;
  }

  bool Range(const std::string& op, const Json& bound) const {
    return Any([&](const Json& e) {
      std::optional<int> c = CompareScalars(e, bound);
      if (!c) return false;
      if (op == "$gt") return *c > 0;
      if (op == "$gte") return *c >= 0;
      if (op == "$lt") return *c < 0;
      return *c <= 0;
    });
  }

  bool Op(const std::string& op, const Json& x, const Json& all) const {
    if (op == "$eq") return Eq(x);
    if (op == "$ne") return !Eq(x);
    if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") return Range(op, x);
    if (op == "$in") return In(x);
    if (op == "$nin") return !In(x);
    if (op == "$exists") {
      bool exists = false;
      for (const Json* v : values_) exists |= v != nullptr;
      return x.is_boolean() && exists == x.get<bool>();
    }
    if (op == "$like")
      return x.is_string() && Any([&](const Json& e) { return e.is_string() && LikeMatches(x.get_ref<const std::string&>(), e.get_ref<const std::string&>()); });
    if (op == "$regex") {
      if (!x.is_string()) return false;
      std::string options;
      if (auto it = all.find("$options"); it != all.end() && it->is_string()) options = it->get<std::string>();
      return Any([&](const Json& e) {
        return e.is_string() && RegexMatches(x.get_ref<const std::string&>(), options, e.get_ref<const std::string&>());
      });
    }
    if (op == "$options") return true;  // read by $regex
    if (op == "$type") {
      if (x.is_array()) {
        for (const Json& t : x)
          if (Any([&](const Json& e) { return TypeIs(e, t); })) return true;
        return false;
      }
      return Any([&](const Json& e) { return TypeIs(e, x); });
    }
    if (op == "$size") {
      for (const Json* v : values_)
        if (v != nullptr && v->is_array() && x.is_number_integer() && static_cast<int64_t>(v->size()) == x.get<int64_t>())
          return true;
      return false;
    }
    if (op == "$all") {
      if (!x.is_array() || x.empty()) return false;
      for (const Json& item : x)
        if (!Eq(item)) return false;
      return true;
    }
    if (op == "$elemMatch") {
      for (const Json* v : values_)
        if (v != nullptr && v->is_array())
          for (const Json& e : *v)
            if (ElementMatches(e, x)) return true;
      return false;
    }
    if (op == "$not") return x.is_object() && !Condition(x);
    return false;
  }

  Values values_;
  bool expand_;
};

Values ValuesAt(const Json& doc, const JsonPath& path) {
  Values out;
  ForEachPathValue(doc, path, [&](const Json* v) { out.push_back(v); });
  return out;
}

// An $elemMatch operand: operators applied to the element itself ({"$gt": 1}), or a filter on
// the fields of an element that is an object.
bool ElementMatches(const Json& e, const Json& sub) {
  if (!sub.is_object()) return false;
  bool operators = !sub.empty();
  for (auto it = sub.begin(); it != sub.end(); ++it) {
    const std::string& k = it.key();
    if (k.empty() || k[0] != '$' || k == "$and" || k == "$or" || k == "$nor") operators = false;
  }
  if (operators) return FieldMatcher({&e}, /*expand=*/false).Condition(sub);
  return e.is_object() && MatchesFilter(e, sub);
}

}  // namespace

void ForEachPathValue(const Json& doc, const JsonPath& path, const std::function<void(const Json*)>& fn) {
  Walk(doc, path.segments(), 0, fn);
}

bool PathCrossesArray(const Json& doc, const JsonPath& path) {
  const Json* node = &doc;
  for (const auto& seg : path.segments()) {
    if (const auto* key = std::get_if<std::string>(&seg)) {
      if (node->is_array()) return true;
      if (!node->is_object()) return false;
      auto it = node->find(*key);
      if (it == node->end()) return false;
      node = &*it;
    } else {
      const int64_t i = std::get<int64_t>(seg);
      if (!node->is_array() || i >= static_cast<int64_t>(node->size())) return false;
      node = &(*node)[static_cast<size_t>(i)];
    }
  }
  return node->is_array();
}

bool MatchesFieldCondition(const Json& doc, const JsonPath& path, const Json& condition) {
  return FieldMatcher(ValuesAt(doc, path), /*expand=*/true).Condition(condition);
}

bool MatchesFilter(const Json& doc, const Json& filter) {
  if (!filter.is_object()) return false;
  for (auto it = filter.begin(); it != filter.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    bool ok;
    if (k == "$and" || k == "$or" || k == "$nor") {
      if (!v.is_array()) return false;
      bool any = false, all = true;
      for (const Json& sub : v) {
        bool m = MatchesFilter(doc, sub);
        any |= m;
        all &= m;
      }
      ok = k == "$and" ? all : (k == "$or" ? any : !any);
    } else if (k == "$not") {
      ok = !MatchesFilter(doc, v);
    } else {
      Result<JsonPath> path = JsonPath::Parse(k);
      ok = path.ok() && MatchesFieldCondition(doc, *path, v);
    }
    if (!ok) return false;
  }
  return true;
}

bool LikeMatches(std::string_view pattern, std::string_view text) {
  auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c; };
  auto next = [](std::string_view s, size_t i) {  // the index after the UTF-8 character at i
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    return i;
  };
  // Greedy wildcard matching with one backtrack point (the last '%'): O(|pattern| * |text|).
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star = ++p;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == '_') {
      p = next(pattern, p);
      t = next(text, t);
    } else if (p < pattern.size() && lower(pattern[p]) == lower(text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star;
      t = mark = next(text, mark);
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

namespace {

// Compiled patterns of this thread, keyed by options + '\0' + pattern; bounded.
const RE2* CompiledRegex(std::string_view pattern, std::string_view options) {
  thread_local std::map<std::string, std::unique_ptr<RE2>> cache;
  std::string key = std::string(options) + '\0' + std::string(pattern);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second.get();
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  o.set_case_sensitive(options.find('i') == std::string_view::npos);
  o.set_dot_nl(options.find('s') != std::string_view::npos);
  std::string full = options.find('m') != std::string_view::npos ? "(?m)" + std::string(pattern) : std::string(pattern);
  auto re = std::make_unique<RE2>(full, o);
  if (cache.size() >= 64) cache.clear();
  return cache.emplace(std::move(key), std::move(re)).first->second.get();
}

}  // namespace

Status ValidateRegex(std::string_view pattern, std::string_view options) {
  if (pattern.size() > kMaxRegexBytes)
    return InvalidArgumentError("$regex pattern is longer than " + std::to_string(kMaxRegexBytes) + " bytes");
  for (char c : options)
    if (c != 'i' && c != 'm' && c != 's')
      return InvalidArgumentError(std::string("$options takes the flags i, m and s, got '") + c + "'");
  const RE2* re = CompiledRegex(pattern, options);
  if (!re->ok()) return InvalidArgumentError("$regex pattern does not compile: " + re->error());
  return OkStatus();
}

bool RegexMatches(std::string_view pattern, std::string_view options, std::string_view text) {
  const RE2* re = CompiledRegex(pattern, options);
  return re->ok() && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re);
}

Status RegisterMatchFunctions(Connection& conn) {
  DOTDO_RETURN_IF_ERROR(conn.RegisterFunction(
      "dotdo_match", 3, [](std::span<const std::optional<std::string_view>> a) -> SqlValue {
        if (!a[0] || !a[1] || !a[2]) return int64_t{0};
        // One statement binds the same path and condition for every row: keep the last parse.
        thread_local std::string last_path, last_condition;
        thread_local std::optional<JsonPath> path;
        thread_local Json condition;
        if (!path || *a[1] != last_path || *a[2] != last_condition) {
          Result<JsonPath> p = JsonPath::Parse(*a[1]);
          if (!p.ok()) return int64_t{0};
          Json c = Json::parse(*a[2], nullptr, /*allow_exceptions=*/false);
          if (c.is_discarded()) return int64_t{0};
          path = std::move(*p);
          condition = std::move(c);
          last_path = *a[1];
          last_condition = *a[2];
        }
        Json doc = Json::parse(*a[0], nullptr, /*allow_exceptions=*/false);
        if (doc.is_discarded()) return int64_t{0};
        return int64_t{MatchesFieldCondition(doc, *path, condition) ? 1 : 0};
      }));
  DOTDO_RETURN_IF_ERROR(conn.RegisterFunction(
      "dotdo_array_on_path", 2, [](std::span<const std::optional<std::string_view>> a) -> SqlValue {
        if (!a[0] || !a[1]) return int64_t{0};
        Result<JsonPath> path = JsonPath::Parse(*a[1]);
        Json doc = Json::parse(*a[0], nullptr, /*allow_exceptions=*/false);
        return int64_t{path.ok() && !doc.is_discarded() && PathCrossesArray(doc, *path) ? 1 : 0};
      }));
  return conn.RegisterFunction("dotdo_regexp", 3, [](std::span<const std::optional<std::string_view>> a) -> SqlValue {
    if (!a[0] || !a[2]) return int64_t{0};
    return int64_t{RegexMatches(*a[0], a[1].value_or(""), *a[2]) ? 1 : 0};
  });
}

}  // namespace dotdo::internal
