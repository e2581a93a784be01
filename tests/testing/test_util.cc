// Shared test helpers.
#include "testing/test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

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

namespace {
std::string DrainFd(int fd) {
  std::string data;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return data;
}
}  // namespace

bool RunAndKill(const std::function<void()>& write_forever, std::chrono::milliseconds run_for) {
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return false;
  }
  if (pid == 0) {
    write_forever();
    ::_exit(125);  // write_forever must not return
  }
  std::this_thread::sleep_for(run_for);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status)) {
    ADD_FAILURE() << "the writer exited on its own with code " << WEXITSTATUS(status) << " before it was killed";
    return false;
  }
  return true;
}

CliRun RunProgram(const std::string& program, const std::vector<std::string>& args, const std::string& input) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe(in_pipe) != 0 || ::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  // Small inputs only (tests): written before reading so the child never blocks on a full pipe of ours.
  if (!input.empty()) {
    ssize_t unused = ::write(in_pipe[1], input.data(), input.size());
    (void)unused;
  }
  ::close(in_pipe[1]);
  CliRun run;
  std::string err_text;
  std::thread err_reader([&] { err_text = DrainFd(err_pipe[0]); });
  run.out = DrainFd(out_pipe[0]);
  err_reader.join();
  run.err = std::move(err_text);
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

CliRun CliNamespace::Run(std::vector<std::string> args, const std::string& input) const {
  args.insert(args.begin(), {"--data", data_dir_.string(), "--ns", ns_, "--compact"});
  return RunProgram(program_, args, input);
}

Json CliNamespace::RunOk(std::vector<std::string> args, const std::string& input) const {
  const std::string shown = ::testing::PrintToString(args);
  auto run = Run(std::move(args), input);
  EXPECT_EQ(run.exit_code, 0) << shown << ": " << run.err;
  EXPECT_EQ(run.err, "") << shown;
  if (run.exit_code != 0) return Json();
  try {
    return Json::parse(run.out);
  } catch (const Json::exception& e) {
    ADD_FAILURE() << shown << " printed no JSON: " << e.what() << "\n" << run.out;
    return Json();
  }
}

}  // namespace dotdo::testing
