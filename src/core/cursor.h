// Page cursors: the one opaque, versioned format every paged read hands out as next_cursor
// (document queries and lists, graph adjacency pages). A cursor is the unpadded base64url
// (core/encoding.h) of the compact JSON array [version, kind, position]: `kind` names the paging
// call that issued it ("document.query", "graph.edges"), `position` is whatever that call needs to
// resume (its keyset values, the query fingerprint). Callers treat the text as opaque; the store
// that decodes it validates the position's shape itself. Blob listings keep S3's start-after key
// and do not use this format. See docs/formats/core.md.
//
// Invariants:
//   1. A cursor EncodeCursor returns is at most kMaxCursorBytes long, so DecodeCursor accepts
//      every cursor we hand out.
//   2. DecodeCursor(EncodeCursor(k, p), k) == p; any other kind, version or text is
//      kInvalidArgument "invalid cursor: ...".
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/json.h"
#include "dotdo/status.h"

namespace dotdo::internal {

inline constexpr int kCursorVersion = 1;
inline constexpr size_t kMaxCursorBytes = 4096;

// The cursor for `position` issued by paging call `kind`. A position whose cursor would exceed
// kMaxCursorBytes is kResourceExhausted (e.g. a sort value of several KiB), one holding invalid
// UTF-8 is kInvalidArgument.
Result<std::string> EncodeCursor(std::string_view kind, const Json& position);

// The position inside `cursor`, or kInvalidArgument "invalid cursor: ..." when it is not a cursor
// of this version issued for `kind` (garbage, truncated, too long, another kind or version).
Result<Json> DecodeCursor(std::string_view cursor, std::string_view kind);

}  // namespace dotdo::internal
