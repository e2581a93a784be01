// An event's JSON text written directly, without building the JSON tree first: the sinks' hot path.
#pragma once

#include <string>

#include "dotdo/cdc.h"

namespace dotdo::internal {

// Exactly internal::DumpJson(EventToJson(e)) (keys in the same sorted order, same escaping), without
// copying before/after/data/_meta into a new tree.
std::string EventToJsonText(const UnifiedEvent& e);

}  // namespace dotdo::internal
