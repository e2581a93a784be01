// dotdo-bench <suite|all> [--quick] [--seed N]: runs benchmark suites and prints JSON lines.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "bench.h"

namespace dotdo::bench {
namespace {
std::map<std::string, SuiteFn>& Suites() {
  static auto* s = new std::map<std::string, SuiteFn>();
  return *s;
}
}  // namespace

SuiteRegistration::SuiteRegistration(const char* name, SuiteFn fn) { Suites()[name] = std::move(fn); }

void Report(const Case& c) {
  nlohmann::json j = {{"suite", c.suite}, {"case", c.name}, {"metric", c.metric}, {"value", c.value}};
  if (!c.baseline.empty()) {
    j["baseline"] = c.baseline;
    j["baseline_value"] = c.baseline_value;
    double ratio = 0;
    if (c.higher_is_better) ratio = c.baseline_value > 0 ? c.value / c.baseline_value : 0;
    else ratio = c.value > 0 ? c.baseline_value / c.value : 0;
    j["ratio"] = std::round(ratio * 1000) / 1000;
  }
  if (!c.note.empty()) j["note"] = c.note;
  std::cout << j.dump() << std::endl;
}

}  // namespace dotdo::bench

int main(int argc, char** argv) {
  using namespace dotdo::bench;
  Options opt;
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") opt.quick = true;
    else if (a == "--seed" && i + 1 < argc) opt.seed = std::stoull(argv[++i]);
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: dotdo-bench <suite|all> [--quick] [--seed N]\nsuites:";
      for (auto& [n, f] : Suites()) std::cout << " " << n;
      std::cout << "\n";
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "error: INVALID_ARGUMENT: unknown flag " << a << "\n";
      return 2;
    } else {
      wanted.push_back(a);
    }
  }
  if (wanted.empty() || (wanted.size() == 1 && wanted[0] == "all")) {
    wanted.clear();
    for (auto& [n, f] : Suites()) wanted.push_back(n);
  }
  auto dir = std::filesystem::temp_directory_path() / ("dotdo-bench-" + std::to_string(::getpid()));
  int rc = 0;
  for (const auto& name : wanted) {
    auto it = Suites().find(name);
    if (it == Suites().end()) {
      std::cerr << "error: INVALID_ARGUMENT: unknown suite '" << name << "' (see --help)\n";
      return 2;
    }
    opt.data_dir = (dir / name).string();
    std::filesystem::remove_all(opt.data_dir);
    std::filesystem::create_directories(opt.data_dir);
    rc |= it->second(opt);
    std::filesystem::remove_all(opt.data_dir);
  }
  std::filesystem::remove_all(dir);
  return rc;
}
