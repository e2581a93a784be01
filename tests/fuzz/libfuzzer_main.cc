// libFuzzer entry of one fuzzer binary: the target named by DOTDO_FUZZ_TARGET_NAME (set per binary
// by tests/fuzz/CMakeLists.txt).
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dotdo::fuzz::TargetFn fn = dotdo::fuzz::Find(DOTDO_FUZZ_TARGET_NAME);
  if (fn == nullptr) {
    std::fprintf(stderr, "no fuzz target %s (have: %s)\n", DOTDO_FUZZ_TARGET_NAME, dotdo::fuzz::Names().c_str());
    std::abort();
  }
  fn(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
