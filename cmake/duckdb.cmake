# dotdo::duckdb — the pinned DuckDB C library that scripts/setup.sh fetches into
# ${DOTDO_THIRD_PARTY}/duckdb (libduckdb.so + duckdb.h). An imported shared library: targets that link
# it get the header on their include path and an rpath to the library, so binaries run from the build
# tree without LD_LIBRARY_PATH. Only the benchmarks, cross-check tests and (later) tiering link it; the
# core library never does. DOTDO_HAVE_DUCKDB is ON when it was found.
set(DOTDO_DUCKDB_DIR "${DOTDO_THIRD_PARTY}/duckdb")
if(EXISTS "${DOTDO_DUCKDB_DIR}/libduckdb.so" AND EXISTS "${DOTDO_DUCKDB_DIR}/duckdb.h")
  add_library(dotdo::duckdb SHARED IMPORTED GLOBAL)
  set_target_properties(dotdo::duckdb PROPERTIES
    IMPORTED_LOCATION "${DOTDO_DUCKDB_DIR}/libduckdb.so"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${DOTDO_DUCKDB_DIR}"
    INTERFACE_INCLUDE_DIRECTORIES "${DOTDO_DUCKDB_DIR}"
    INTERFACE_COMPILE_DEFINITIONS DOTDO_HAVE_DUCKDB
    INTERFACE_LINK_OPTIONS "LINKER:-rpath,${DOTDO_DUCKDB_DIR}")
  set(DOTDO_HAVE_DUCKDB ON)
else()
  message(STATUS "DuckDB not found in ${DOTDO_DUCKDB_DIR} (run ./scripts/setup.sh): DuckDB comparisons are skipped")
  set(DOTDO_HAVE_DUCKDB OFF)
endif()
