// fuzz_replay <target> <corpus dir or file>...: runs a fuzz target over every file given (the seed
// corpus and the reproducers of past findings). Exit 0 when none crashed; a crash aborts.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_target.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const dotdo::fuzz::TargetFn fn = argc >= 3 ? dotdo::fuzz::Find(argv[1]) : nullptr;
  if (fn == nullptr) {
    std::cerr << "usage: fuzz_replay <target> <file or dir>...; targets: " << dotdo::fuzz::Names() << '\n';
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.emplace_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fn(bytes);
  }
  std::cout << argv[1] << ": " << files.size() << " inputs replayed, no crash\n";
  return files.empty() ? 1 : 0;
}
