// The local -> global transform applied on the way out of a namespace: local ids (a document's key,
// a `$id` inside before/after/data) become URLs `<ns>/<Type>/<id>` that stay unique once events of
// many namespaces meet in one stream. The exact rule set is in include/dotdo/cdc.h and
// docs/formats/cdc.md; this file is its only implementation.
#include "dotdo/cdc.h"

namespace dotdo {
namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

void AppendEncoded(std::string& out, std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : segment) {
    const auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
}

// The string value of obj[name] when obj is an object holding a string there.
const std::string* StringField(const Json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

// Rewrites obj["$id"] to a global id; `fallback_type` names the type when obj has no "$type".
void GlobalizeId(std::optional<Json>& obj, std::string_view ns, const std::string* fallback_type) {
  if (!obj) return;
  const std::string* id = StringField(*obj, "$id");
  if (!id) return;
  const std::string* type = StringField(*obj, "$type");
  if (!type) type = fallback_type;
  if (!type) return;
  (*obj)["$id"] = GlobalId(ns, *type, *id);
}

}  // namespace

std::string GlobalId(std::string_view ns, std::string_view type, std::string_view id) {
  std::string out;
  out.reserve(ns.size() + type.size() + id.size() + 2);
  AppendEncoded(out, ns);
  out.push_back('/');
  AppendEncoded(out, type);
  out.push_back('/');
  AppendEncoded(out, id);
  return out;
}

UnifiedEvent ToGlobalEvent(const UnifiedEvent& local) {
  UnifiedEvent e = local;
  const std::string* table = e.table ? &*e.table : nullptr;
  GlobalizeId(e.before, e.ns, table);
  GlobalizeId(e.after, e.ns, table);
  if (e.table && e.key) e.key = GlobalId(e.ns, *e.table, *e.key);
  // Domain events name their noun in the type: "Customer.created" -> "Customer".
  std::optional<std::string> noun;
  if (!e.store) {
    const size_t dot = e.type.find('.');
    if (dot != std::string::npos && dot > 0) noun = e.type.substr(0, dot);
  }
  GlobalizeId(e.data, e.ns, noun ? &*noun : table);
  return e;
}

}  // namespace dotdo
