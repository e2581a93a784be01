// The cold tier: warm files move into the store's Apache Iceberg table (src/tiering/cold.cc).
//
//   cold/documents/metadata/...                           the table's metadata (IcebergTable)
//   cold/documents/data/type=<T>/dt=<D>/part-<ULID>.parquet  the data files: byte copies of the warm
//                                                         files (storage class INFREQUENT_ACCESS)
//
// A warm file W = documents/<rest> becomes the cold file K = cold/documents/data/<rest>: the same
// rows, the same accelerator entry (file_id, blooms, masks), only its key and tier change. Steps,
// each idempotent: intent K → copy W to K and check its SHA-256 → Iceberg append of K → one
// transaction (tier_files key K, tier cold; W becomes garbage) → W deleted. RecoverColdMoves settles
// an interrupted move by asking the table whether K was appended.
#pragma once

#include <optional>
#include <string>

#include "tiering/iceberg_table.h"
#include "tiering/tierable_store.h"
#include "tiering/tiering_internal.h"

namespace dotdo::tiering {

inline constexpr std::string_view kColdDocumentsPrefix = "cold/documents";

// The key prefix of a store's cold data files ("cold/documents/data").
std::string ColdDataPrefixOf(const TierableStore& store);

// The cold key of a warm key, and back (nullopt for keys of neither form).
std::string ColdKeyOf(std::string_view warm_key);
std::optional<std::string> WarmKeyOf(std::string_view cold_key);

// The URI other engines read `objects`' keys under (an Iceberg table's location root): `configured`
// when set, which must be a URI ending in '/' (kInvalidArgument naming `what` otherwise); else
// "file://<root>/data/" for a LocalObjectStore, else "dotdo-objects:///" (readable through dotdo only).
Status ValidateLocationRoot(std::string_view configured, std::string_view what);
Result<std::string> LocationRoot(ObjectStore& objects, const std::string& configured, std::string_view what);

// The DocumentStore's table, loaded or created in the namespace's object store.
Result<IcebergTable*> ColdDocumentTable(Tiering::Impl& impl);

// Moves the warm files the policies' cold_after_millis select at `now`.
Status MoveToCold(Tiering::Impl& impl, int64_t now, TieringRunStats& stats);

// Rewrites the cold files of every partition that has masked rows (copies brought back hot or
// deleted since) or more than max_files_per_partition files: the visible rows go into new data
// files, registered in one transaction, then one Iceberg snapshot replaces the old files by the new
// ones, so other Iceberg readers see what dotdo reads. The old files stay for the older snapshots
// (time travel) until snapshot expiry deletes them.
Status CompactCold(Tiering::Impl& impl, TieringRunStats& stats);
// Commits to the Iceberg table the cold rewrites registered but not yet committed (a crash
// between the two). Runs before anything else of Run and Compact.
Status FinishColdRewrites(Tiering::Impl& impl);

// Finishes (append landed) or undoes (it did not) cold moves a crash interrupted. Runs before
// RecoverMoves, which leaves cold intents of still-registered warm files alone.
Status RecoverColdMoves(Tiering::Impl& impl);

}  // namespace dotdo::tiering
