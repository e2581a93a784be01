// Shared test helpers: status matchers that name the expected code, a scratch directory that is
// removed afterwards, and an in-memory Database with a manual clock.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/status.h"

namespace dotdo {
template <typename T>
void PrintTo(const Result<T>& r, std::ostream* os) {
  *os << (r.ok() ? std::string("OK result") : r.status().ToString());
}
}  // namespace dotdo

namespace dotdo::testing {

inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const Result<T>& r) { return r.status(); }

MATCHER(IsOk, "is OK") {
  const Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P(StatusIs, code, "has code " + std::string(StatusCodeName(code))) {
  const Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, substring, "has code " + std::string(StatusCodeName(code)) + " and message containing '" + std::string(substring) + "'") {
  const Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code && s.message().find(substring) != std::string::npos;
}

#define DOTDO_ASSERT_OK(expr) ASSERT_THAT((expr), ::dotdo::testing::IsOk())
#define DOTDO_EXPECT_OK(expr) EXPECT_THAT((expr), ::dotdo::testing::IsOk())
// DOTDO_ASSERT_OK_AND_ASSIGN(auto x, Call());
#define DOTDO_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  DOTDO_TESTING_ASSIGN_IMPL(DOTDO_INTERNAL_CONCAT(dotdo_test_result_, __LINE__), lhs, expr)
#define DOTDO_TESTING_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_THAT(tmp, ::dotdo::testing::IsOk());     \
  lhs = std::move(tmp).value()

// A fresh directory under the system temp dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Opens an in-memory namespace with `clock` (may be null for the system clock); aborts the test on failure.
std::unique_ptr<Database> OpenMemoryDb(Clock* clock = nullptr, std::string_view ns = "test");

// Forks a child that runs `write_forever` (it must never return), lets it run for `run_for`, then
// SIGKILLs it and reaps it. Returns false (with a test failure) when the child could not be forked
// or exited on its own before the kill.
bool RunAndKill(const std::function<void()>& write_forever, std::chrono::milliseconds run_for);

// One run of a command-line program: its exit code and what it printed.
struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `program args...` (no shell), feeding `input` on stdin, and waits for it.
CliRun RunProgram(const std::string& program, const std::vector<std::string>& args, const std::string& input = "");

// The CLI against one namespace: every run is `program --data <dir> --ns <ns> --compact args...`.
class CliNamespace {
 public:
  CliNamespace(std::string program, std::filesystem::path data_dir, std::string ns)
      : program_(std::move(program)), data_dir_(std::move(data_dir)), ns_(std::move(ns)) {}
  CliRun Run(std::vector<std::string> args, const std::string& input = "") const;
  // A run that must exit 0 with nothing on stderr (a test failure otherwise); its parsed stdout,
  // or null when it failed.
  Json RunOk(std::vector<std::string> args, const std::string& input = "") const;

 private:
  std::string program_;
  std::filesystem::path data_dir_;
  std::string ns_;
};

}  // namespace dotdo::testing
