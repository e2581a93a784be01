# `cmake --install` puts the public headers, every component library and a CMake package config in
# the prefix, so users write `find_package(dotdo)` and link `dotdo::dotdo`.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(dotdo_components GLOBAL PROPERTY DOTDO_COMPONENTS)
install(TARGETS dotdo dotdo_sqlite3 ${dotdo_components}
  EXPORT dotdoTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dotdo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Tiering links the pinned DuckDB C library: it is installed next to ours.
install(FILES ${DOTDO_DUCKDB_DIR}/libduckdb.so DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT dotdoTargets NAMESPACE dotdo:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dotdo)

file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/dotdoConfig.cmake.in [=[
@PACKAGE_INIT@
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(nlohmann_json 3.10)
find_dependency(OpenSSL)
find_dependency(PkgConfig)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(AVRO REQUIRED IMPORTED_TARGET avro-c)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(EXPAT REQUIRED IMPORTED_TARGET expat)
pkg_check_modules(LIBNATS REQUIRED IMPORTED_TARGET libnats)
find_dependency(OpenMP)
find_dependency(faiss)
if(NOT TARGET dotdo::duckdb)
  add_library(dotdo::duckdb SHARED IMPORTED)
  set_target_properties(dotdo::duckdb PROPERTIES IMPORTED_LOCATION "${PACKAGE_PREFIX_DIR}/@CMAKE_INSTALL_LIBDIR@/libduckdb.so")
endif()
include("${CMAKE_CURRENT_LIST_DIR}/dotdoTargets.cmake")
]=])
configure_package_config_file(${CMAKE_CURRENT_BINARY_DIR}/dotdoConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/dotdoConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dotdo)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/dotdoConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/dotdoConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/dotdoConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dotdo)
