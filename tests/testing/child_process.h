// ChildProcess: a server program (nats-server, s3rver) run by a test on loopback, and the port
// helpers to go with it. The child gets its own process group, so Stop/Kill reach what it spawns.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace dotdo::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
int FreeLoopbackPort();
// True once something accepts connections on 127.0.0.1:port, false after `timeout`.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // Stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts `program args...` (execvp: a bare name is looked up on PATH) with stdout and stderr sent
  // to `log` (appended; empty: /dev/null). False when it could not be started.
  bool Start(const std::string& program, const std::vector<std::string>& args, const std::filesystem::path& log = {});
  // SIGTERM, then SIGKILL after `grace`; reaps the child. Harmless when not running. Returns the
  // exit code when the child exited by itself within `grace`, else -1.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // SIGKILL and reap.
  void Kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// The first of `candidates` that is an executable file, else the program found on PATH under
// `name`, else empty.
std::string FindProgram(const std::string& name, const std::vector<std::filesystem::path>& candidates = {});

}  // namespace dotdo::testing
