// The dotdo CLI's shared plumbing: global options, opening the namespace, printing JSON results and
// one-line errors, and the registry through which each <group>_commands.cc adds its subcommands.
//
// Conventions: every command prints JSON on stdout (one document, or JSON lines for streams) and
// exits 0; on failure it prints "error: <CODE>: <message>" on stderr and exits with a code per
// Status (2 invalid argument, 3 not found, 4 conflict/precondition, 1 anything else).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/document.h"
#include "dotdo/graph.h"
#include "dotdo/host.h"
#include "dotdo/status.h"

namespace dotdo::cli {

struct Context {
  std::string data_dir = "./data";
  std::string ns = "default";
  std::string config_file;  // --config; empty: <data>/dotdo.json when it exists
  bool compact = false;  // --compact: one-line JSON
  int exit_code = 0;
  // Every command reaches its namespace through the host, which owns the layout (database file,
  // object root, signing key). DOTDO_BLOB_SECRET, when set, is the host's configured blob secret.
  std::unique_ptr<NamespaceHost> host;
  std::shared_ptr<Namespace> open_ns;
  Database* db = nullptr;  // open_ns->db() once opened

  // The host's options: data_dir, DOTDO_BLOB_SECRET, and the configuration file (--config, else
  // <data>/dotdo.json when it exists). The path of the file used, if any, goes to *config_used.
  Result<NamespaceHostOptions> HostOptions(std::string* config_used = nullptr) const;
  // The host over data_dir; kNotFound when the directory does not exist, unless `create` (then the
  // directory itself is created, not missing parents).
  Result<NamespaceHost*> Host(bool create = false);
  // Opens the namespace once per process (creating it unless create == false).
  Result<Namespace*> OpenNamespace(bool create = true);
  Result<Database*> OpenDb(bool create = true);
  Result<DocumentStore> Documents(bool create = true);
  Result<GraphStore> Graph(bool create = true);
  // Prints the JSON result or the error; sets exit_code.
  void Finish(const Result<Json>& result);
  void Print(const Json& value) const;
  void Fail(const Status& status);
};

// Parses a JSON argument (documents, filters) with a positioned error message.
Result<Json> ParseJsonArg(std::string_view what, const std::string& text);
// Reads "-" as stdin, "@file" as a file, anything else as literal text.
Result<std::string> ReadArgText(const std::string& arg);

using Installer = std::function<void(CLI::App& app, Context& ctx)>;

// Registers a command group; `order` sorts groups in --help.
struct CommandGroup {
  CommandGroup(int order, Installer installer);
};

void InstallAll(CLI::App& app, Context& ctx);

}  // namespace dotdo::cli
