// One fuzz target = one function over bytes, declared with DOTDO_FUZZ_TARGET(name). Built with
// clang's libFuzzer (./dev.sh fuzz) each target is its own fuzzer binary; in the normal build every
// target is linked into `fuzz_replay`, which CTest runs over the target's seed corpus and every
// reproducer found so far (tests/fuzz/corpus/<name>/), so a fixed crash stays fixed.
//
// A target must never crash, hang or leak on any input: errors are Status values, and it asserts
// the invariants it can check (FUZZ_CHECK aborts so both libFuzzer and the replay report it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace dotdo::fuzz {

using TargetFn = void (*)(std::string_view input);
// Registers a target (at static initialization); returns true.
bool Register(const char* name, TargetFn fn);
// The registered target of that name, or nullptr.
TargetFn Find(std::string_view name);
// Every registered target's name, sorted.
std::string Names();

}  // namespace dotdo::fuzz

#define FUZZ_CHECK(cond)                                                             \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

#define DOTDO_FUZZ_TARGET(name)                                                                   \
  static void FuzzTarget_##name(std::string_view input);                                          \
  [[maybe_unused]] static const bool kRegistered_##name = ::dotdo::fuzz::Register(#name, FuzzTarget_##name); \
  static void FuzzTarget_##name(std::string_view input)
