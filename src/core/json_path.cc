// JsonPath parsing, rendering and evaluation.
#include "core/json_path.h"

namespace dotdo::internal {
namespace {
constexpr size_t kMaxSegments = 32;
constexpr size_t kMaxPathLength = 256;
constexpr size_t kMaxKeyLength = 64;

bool IsKeyStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; }
bool IsKeyChar(char c) { return IsKeyStart(c) || (c >= '0' && c <= '9') || c == '-'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

Result<JsonPath> JsonPath::Parse(std::string_view dotted) {
  auto bad = [&](std::string why) {
    return InvalidArgumentError("invalid path '" + std::string(dotted.substr(0, 80)) + "': " + why);
  };
  if (dotted.empty()) return bad("empty");
  if (dotted.size() > kMaxPathLength) return bad("longer than 256 characters");
  JsonPath p;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t end = dotted.find('.', start);
    if (end == std::string_view::npos) end = dotted.size();
    std::string_view seg = dotted.substr(start, end - start);
    if (seg.empty()) return bad("empty segment (check for '..' or a leading/trailing dot)");
    if (IsDigit(seg[0])) {
      if (seg.size() > 9) return bad("array index '" + std::string(seg) + "' is too large");
      int64_t idx = 0;
      for (char c : seg) {
        if (!IsDigit(c)) return bad("segment '" + std::string(seg) + "' mixes digits and letters; keys start with a letter, '_' or '$'");
        idx = idx * 10 + (c - '0');
      }
      p.segments_.emplace_back(idx);
    } else {
      if (!IsKeyStart(seg[0])) return bad("segment '" + std::string(seg) + "' must start with a letter, '_', '$' or be an index");
      if (seg.size() > kMaxKeyLength) return bad("segment longer than 64 characters");
      for (char c : seg)
        if (!IsKeyChar(c))
          return bad(std::string("character '") + ((c >= 0x20 && c < 0x7f) ? std::string(1, c) : "?") +
                     "' is not allowed (use letters, digits, '_', '$', '-')");
      p.segments_.emplace_back(std::string(seg));
    }
    if (p.segments_.size() > kMaxSegments) return bad("more than 32 segments");
    start = end + 1;
    if (end == dotted.size()) break;
  }
  return p;
}

std::string JsonPath::ToDotted() const {
  std::string out;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (i) out += '.';
    if (auto* k = std::get_if<std::string>(&segments_[i])) out += *k;
    else out += std::to_string(std::get<int64_t>(segments_[i]));
  }
  return out;
}

std::string JsonPath::ToSqlite() const {
  std::string out = "$";
  for (const auto& s : segments_) {
    if (auto* k = std::get_if<std::string>(&s)) {
      out += ".\"";
      out += *k;
      out += '"';
    } else {
      out += '[' + std::to_string(std::get<int64_t>(s)) + ']';
    }
  }
  return out;
}

nlohmann::json::json_pointer JsonPath::ToPointer() const {
  nlohmann::json::json_pointer ptr;
  for (const auto& s : segments_) {
    if (auto* k = std::get_if<std::string>(&s)) ptr /= *k;
    else ptr /= static_cast<size_t>(std::get<int64_t>(s));
  }
  return ptr;
}

const nlohmann::json* JsonPath::Find(const nlohmann::json& doc) const {
  const nlohmann::json* cur = &doc;
  for (const auto& s : segments_) {
    if (auto* k = std::get_if<std::string>(&s)) {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(*k);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else {
      auto idx = static_cast<size_t>(std::get<int64_t>(s));
      if (!cur->is_array() || idx >= cur->size()) return nullptr;
      cur = &(*cur)[idx];
    }
  }
  return cur;
}

Status JsonPath::Set(nlohmann::json& doc, nlohmann::json value) const {
  nlohmann::json* cur = &doc;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const bool last = i + 1 == segments_.size();
    if (auto* k = std::get_if<std::string>(&segments_[i])) {
      if (cur->is_null()) *cur = nlohmann::json::object();
      if (!cur->is_object())
        return InvalidArgumentError("cannot set '" + ToDotted() + "': '" + *k + "' is inside a non-object value");
      nlohmann::json& next = (*cur)[*k];
      if (last) {
        next = std::move(value);
        return OkStatus();
      }
      cur = &next;
    } else {
      auto idx = static_cast<size_t>(std::get<int64_t>(segments_[i]));
      if (!cur->is_array())
        return InvalidArgumentError("cannot set '" + ToDotted() + "': index " + std::to_string(idx) + " applied to a non-array value");
      if (idx > cur->size())
        return InvalidArgumentError("cannot set '" + ToDotted() + "': index " + std::to_string(idx) + " is past the end of the array");
      if (idx == cur->size()) cur->push_back(nullptr);
      nlohmann::json& next = (*cur)[idx];
      if (last) {
        next = std::move(value);
        return OkStatus();
      }
      cur = &next;
    }
  }
  return InvalidArgumentError("empty path");
}

bool JsonPath::Erase(nlohmann::json& doc) const {
  if (segments_.empty()) return false;
  nlohmann::json* parent = &doc;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    JsonPath prefix;
    prefix.segments_.assign(segments_.begin() + static_cast<long>(i), segments_.begin() + static_cast<long>(i) + 1);
    const nlohmann::json* next = prefix.Find(*parent);
    if (next == nullptr) return false;
    parent = const_cast<nlohmann::json*>(next);
  }
  const auto& last = segments_.back();
  if (auto* k = std::get_if<std::string>(&last)) {
    if (!parent->is_object()) return false;
    return parent->erase(*k) > 0;
  }
  auto idx = static_cast<size_t>(std::get<int64_t>(last));
  if (!parent->is_array() || idx >= parent->size()) return false;
  parent->erase(idx);
  return true;
}

}  // namespace dotdo::internal
