// Fuzz target of the CLI's argument parsing: the whole command tree (every group's options,
// validators and subcommands) parses arbitrary argv without crashing. The commands themselves do
// not run — their callbacks act on the file system (`-o`, `--sink`) — so what is fuzzed is the
// parse; each command's own value parsing is covered by its store's targets and tests.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "dotdo/cli.h"
#include "fuzz_target.h"

namespace dotdo {
// Input: NUL-separated arguments (at most 64 of 4 KiB each).
DOTDO_FUZZ_TARGET(cli_args) {
  std::vector<std::string> args;
  size_t start = 0;
  while (start <= input.size() && args.size() < 64) {
    const size_t end = std::min(input.find('\0', start), input.size());
    args.emplace_back(input.substr(start, std::min<size_t>(end - start, 4096)));
    start = end + 1;
  }
  cli::Context ctx;
  ctx.data_dir = "/nonexistent/dotdo-fuzz";
  CLI::App app{"dotdo"};
  app.add_option("--data", ctx.data_dir);
  app.add_option("--ns", ctx.ns);
  app.add_flag("--compact", ctx.compact);
  app.require_subcommand(1);
  app.fallthrough();
  cli::InstallAll(app, ctx);
  // Stop after the parse, before any command's callback: the top-level parse-complete callback runs
  // first of all callbacks. (Replacing the commands' callbacks instead would free the argument
  // structs they own while the options still point into them.)
  app.parse_complete_callback([] { throw CLI::Success(); });
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes argv reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError&) {
    // A usage error, as the CLI reports it (exit 2); also --help.
  }
}

}  // namespace dotdo
