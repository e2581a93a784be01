// Page cursors: base64url of [version, kind, position], checked on the way back in.
#include "core/cursor.h"

#include "core/encoding.h"

namespace dotdo::internal {

namespace {

// Positions are small: a few keyset values inside an object or array.
constexpr int kMaxCursorDepth = 8;

Status Invalid(std::string_view why) {
  return InvalidArgumentError("invalid cursor: " + std::string(why) + "; pass back next_cursor exactly as returned");
}

}  // namespace

Result<std::string> EncodeCursor(std::string_view kind, const Json& position) {
  DOTDO_RETURN_IF_ERROR(CheckJsonDepth(position, kMaxCursorDepth - 1, "cursor position"));
  DOTDO_ASSIGN_OR_RETURN(std::string text,
                         DumpJsonChecked(Json::array({kCursorVersion, kind, position}), "cursor position"));
  std::string cursor = Base64UrlEncode(text);
  if (cursor.size() > kMaxCursorBytes)
    return ResourceExhaustedError("the position of this page needs a " + std::to_string(cursor.size()) +
                                  "-byte cursor; the limit is " + std::to_string(kMaxCursorBytes) +
                                  " (sort on shorter values)");
  return cursor;
}

Result<Json> DecodeCursor(std::string_view cursor, std::string_view kind) {
  if (cursor.empty()) return Invalid("empty");
  if (cursor.size() > kMaxCursorBytes)
    return Invalid("longer than " + std::to_string(kMaxCursorBytes) + " bytes");
  auto text = Base64UrlDecode(cursor);
  if (!text.ok()) return Invalid("not a cursor dotdo issued (" + text.status().message() + ")");
  auto j = ParseJson(*text, "cursor", {.max_depth = kMaxCursorDepth});
  if (!j.ok()) return Invalid("not a cursor dotdo issued");
  if (!j->is_array() || j->size() != 3 || !(*j)[0].is_number_integer() || !(*j)[1].is_string())
    return Invalid("not a cursor dotdo issued");
  if ((*j)[0].get<int64_t>() != kCursorVersion)
    return Invalid("format version " + std::to_string((*j)[0].get<int64_t>()) + " is not supported (this build reads " +
                   std::to_string(kCursorVersion) + ")");
  const std::string& issued_for = (*j)[1].get_ref<const std::string&>();
  if (issued_for != kind)
    return Invalid("it was issued by " + Printable(issued_for) + " pages, not " + std::string(kind) + " pages");
  return std::move((*j)[2]);
}

}  // namespace dotdo::internal
