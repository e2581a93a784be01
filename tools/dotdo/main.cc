// dotdo: the command-line interface to a dotdo data directory.
#include <iostream>

#include "cli.h"

int main(int argc, char** argv) {
  dotdo::cli::Context ctx;
  CLI::App app{"dotdo: storage primitives over one SQLite database per namespace, with change data capture.\n"
               "Every command prints JSON; errors go to stderr as one line with a non-zero exit code."};
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.add_option("--data", ctx.data_dir, "Data directory (one <ns>.sqlite per namespace)")
      ->capture_default_str()
      ->check([](const std::string& dir) -> std::string {
        // Global options mean the same after a subcommand; JSON here is command data put after
        // the wrong flag (e.g. `graph relate a b t --data '{...}'`), not a directory name.
        if (!dir.empty() && (dir[0] == '{' || dir[0] == '[' || dir[0] == '"'))
          return "--data names the data directory, got JSON '" + dir.substr(0, 40) +
                 "' (command data is a positional argument, e.g. `graph relate A B type '{...}'`)";
        return "";
      });
  app.add_option("--ns", ctx.ns, "Namespace")->capture_default_str();
  app.add_option("--config", ctx.config_file,
                 "Host configuration file: object store (local or S3) and CDC sinks (default: <data>/dotdo.json "
                 "when it exists; see docs/formats/config.md)");
  app.add_flag("--compact", ctx.compact, "Print JSON on one line");
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the subcommand too (inherited by subcommands)
  dotdo::cli::InstallAll(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: INVALID_ARGUMENT: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    // The library returns Status, never throws; this keeps anything else from aborting the process.
    std::cerr << "error: INTERNAL: " << e.what() << "\n";
    return 1;
  } catch (...) {
    std::cerr << "error: INTERNAL: unknown exception\n";
    return 1;
  }
  return ctx.exit_code;
}
