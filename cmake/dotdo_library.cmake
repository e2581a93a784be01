# dotdo_cc_library(NAME <name> SRCS <files...> DEPS <targets...> [PUBLIC_DEPS <targets...>])
# One src/ folder = one static target `dotdo_<name>` with an explicit dependency list, so the layering
# (core <- cdc <- primitives <- tools) is visible in review and a wrong-way include fails to link.
set(DOTDO_WARNINGS -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
# GCC 12 at -O3 reports -Wrestrict inside libstdc++'s own std::string code (GCC bug 105651), not in
# ours; the check stays on for every other compiler.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND DOTDO_WARNINGS -Wno-restrict)
endif()

function(dotdo_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target dotdo_${A_NAME})
  add_library(${target} STATIC ${A_SRCS})
  target_include_directories(${target}
    PUBLIC  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${target} PRIVATE ${DOTDO_WARNINGS})
  target_link_libraries(${target} PUBLIC nlohmann_json::nlohmann_json ${A_PUBLIC_DEPS} PRIVATE ${A_DEPS})
  set_property(GLOBAL APPEND PROPERTY DOTDO_COMPONENTS ${target})
endfunction()
