// Byte encodings every layer shares: lowercase hex (digests, ETags, ids in messages), unpadded
// base64url (RFC 4648 section 5: page cursors),
// RFC 3986 percent-encoding (object keys in URLs, presigned-URL parameters), and a printable
// rendering of arbitrary bytes for error messages. One implementation each, in the base layer.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dotdo/status.h"

namespace dotdo::internal {

// Lowercase hex, two digits per byte.
std::string HexEncode(const uint8_t* data, size_t n);
inline std::string HexEncode(std::string_view s) {
  return HexEncode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
// Inverse of HexEncode (either case accepted); an odd length or a non-hex digit is kInvalidArgument.
Result<std::string> HexDecode(std::string_view hex);

// RFC 4648 base64url without '=' padding: A-Z a-z 0-9 '-' '_', shell-, URL- and JSON-safe.
std::string Base64UrlEncode(std::string_view bytes);
// Inverse of Base64UrlEncode. Only the canonical encoding is accepted: a character outside the
// alphabet, padding, a length of 4k+1 or non-zero unused bits in the last character are
// kInvalidArgument, so every byte string has exactly one encoding.
Result<std::string> Base64UrlDecode(std::string_view text);

// RFC 3986: unreserved characters (A-Z a-z 0-9 - . _ ~) are kept, '/' too when keep_slash, every
// other byte becomes %XX (uppercase hex).
std::string PercentEncode(std::string_view s, bool keep_slash);
// Inverse of PercentEncode; a truncated or non-hex escape is kInvalidArgument. '+' stays '+'.
Result<std::string> PercentDecode(std::string_view s);

// `s` cut to max_bytes, with control characters, quotes, backslashes and bytes >= 0x80 shown as
// \xHH (hex), for quoting user input in messages. "..." is appended when cut.
std::string Printable(std::string_view s, size_t max_bytes = 64);

}  // namespace dotdo::internal
