// s3rver (npm, installed by scripts/setup.sh into third_party/npm-s3) for the object-store tests: one
// server per test process, started on first use and stopped at exit.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "testing/child_process.h"
#include "testing/test_util.h"

namespace dotdo::testing {

// One s3rver per test process, started on first use and stopped at exit, with a fresh bucket per
// test. A missing s3rver fails the test: scripts/setup.sh installs it.
class S3Server {
 public:
  static S3Server& Get() {
    static S3Server server;
    return server;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string NextBucket() {
    char name[16];
    std::snprintf(name, sizeof(name), "b%02d", next_++ % kBuckets);
    return name;
  }

 private:
  static constexpr int kBuckets = 40;
  S3Server() {
    const char* env = std::getenv("DOTDO_S3RVER");
    const std::string program =
        ::dotdo::testing::FindProgram("s3rver", {env == nullptr ? "" : env,
                                                 DOTDO_SOURCE_DIR "/third_party/npm-s3/node_modules/.bin/s3rver",
                                                 DOTDO_THIRD_PARTY_DIR "/npm-s3/node_modules/.bin/s3rver"});
    if (program.empty()) {
      error_ = "s3rver not found: run scripts/setup.sh (or set DOTDO_S3RVER)";
      return;
    }
    port_ = ::dotdo::testing::FreeLoopbackPort();
    std::vector<std::string> args = {"-d", dir_.path().string(), "-a", "127.0.0.1", "-p", std::to_string(port_), "-s"};
    for (int i = 0; i < kBuckets; ++i) {
      char name[16];
      std::snprintf(name, sizeof(name), "b%02d", i);
      args.insert(args.end(), {"--configure-bucket", name});
    }
    // s3rver's list continuation tokens use DES, which Node's OpenSSL 3 only has in the legacy provider.
    ::setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
    ok_ = process_.Start(program, args, dir_.path().parent_path() / (dir_.path().filename().string() + ".log")) &&
          ::dotdo::testing::WaitForPort(port_, std::chrono::seconds(20));
    if (!ok_) error_ = "s3rver did not start on port " + std::to_string(port_);
  }
  ::dotdo::testing::ScratchDir dir_;
  ::dotdo::testing::ChildProcess process_;
  bool ok_ = false;
  std::string error_;
  int port_ = 0;
  int next_ = 0;
};

}  // namespace dotdo::testing
