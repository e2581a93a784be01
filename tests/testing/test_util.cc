// Shared test helpers.
#include "testing/test_util.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace dotdo::testing {

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  const char* info = ::testing::UnitTest::GetInstance()->current_test_info()
                         ? ::testing::UnitTest::GetInstance()->current_test_info()->name()
                         : "dotdo";
  path_ = std::filesystem::temp_directory_path() /
          ("dotdo-" + std::string(info) + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<Database> OpenMemoryDb(Clock* clock, std::string_view ns) {
  DatabaseOptions o;
  o.clock = clock;
  auto db = Database::OpenInMemory(ns, o);
  if (!db.ok()) {
    ADD_FAILURE() << db.status();
    std::abort();
  }
  return std::move(db).value();
}

}  // namespace dotdo::testing
