// Per-namespace key files for presigned URLs (layout in include/dotdo/host.h).
#pragma once

#include <filesystem>
#include <string>

#include "dotdo/status.h"

namespace dotdo::internal {

// The key in `path` (64 hex characters). When the file is missing and create is true, a new random
// key is written with mode 0600 (directory 0700) and returned; when create is false, kNotFound.
// A key file others may read is kFailedPrecondition; a malformed one kDataLoss.
Result<std::string> LoadOrCreateSigningKey(const std::filesystem::path& path, bool create);

}  // namespace dotdo::internal
