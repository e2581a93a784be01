// An ObjectStore that keeps every key under a fixed prefix of another store: how several
// namespaces share one bucket ("namespaces/<ns>/..."). Keys given to and returned by it are
// relative to the prefix; the inner store sees prefix + key. Listing is confined to the prefix, so
// one namespace never sees, overwrites or deletes another's objects.
#pragma once

#include <memory>
#include <string>

#include "dotdo/object_store.h"

namespace dotdo::internal {

// prefix: a valid key prefix ending in '/', e.g. "namespaces/acme/" (kInvalidArgument otherwise).
Result<std::unique_ptr<ObjectStore>> PrefixObjectStore(std::unique_ptr<ObjectStore> inner, std::string prefix);

}  // namespace dotdo::internal
