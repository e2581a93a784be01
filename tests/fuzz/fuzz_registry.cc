// The registry of fuzz targets (fuzz_target.h).
#include <map>

#include "fuzz_target.h"

namespace dotdo::fuzz {
namespace {
std::map<std::string, TargetFn, std::less<>>& Targets() {
  static auto* targets = new std::map<std::string, TargetFn, std::less<>>();
  return *targets;
}
}  // namespace

bool Register(const char* name, TargetFn fn) {
  Targets()[name] = fn;
  return true;
}

TargetFn Find(std::string_view name) {
  auto it = Targets().find(name);
  return it == Targets().end() ? nullptr : it->second;
}

std::string Names() {
  std::string out;
  for (const auto& [name, fn] : Targets()) out += (out.empty() ? "" : " ") + name;
  return out;
}

}  // namespace dotdo::fuzz
