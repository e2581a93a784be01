// CLI plumbing shared by all command groups.
#include "cli.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/json.h"

namespace dotdo::cli {
namespace {
std::vector<std::pair<int, Installer>>& Registry() {
  static auto* r = new std::vector<std::pair<int, Installer>>();
  return *r;
}

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return 2;
    case StatusCode::kNotFound: return 3;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
    case StatusCode::kFailedPrecondition: return 4;
    default: return 1;
  }
}
}  // namespace

CommandGroup::CommandGroup(int order, Installer installer) { Registry().emplace_back(order, std::move(installer)); }

void InstallAll(CLI::App& app, Context& ctx) {
  auto& r = Registry();
  std::stable_sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, install] : r) install(app, ctx);
  // Global options are accepted before or after the command; every command's --help says so.
  std::function<void(CLI::App*)> footer = [&](CLI::App* cmd) {
    for (CLI::App* sub : cmd->get_subcommands({})) {
      sub->footer("Global options (before or after the command): --data DIR (default ./data), --ns NAME (default "
                  "default), --config FILE, --compact");
      footer(sub);
    }
  };
  footer(&app);
}

Result<NamespaceHostOptions> Context::HostOptions(std::string* config_used) const {
  NamespaceHostOptions o;
  o.data_dir = data_dir;
  if (const char* env = std::getenv("DOTDO_BLOB_SECRET")) o.blob_signing_secret = env;
  std::filesystem::path file = config_file;
  std::error_code ec;
  if (file.empty() && std::filesystem::exists(std::filesystem::path(data_dir) / "dotdo.json", ec))
    file = std::filesystem::path(data_dir) / "dotdo.json";
  if (!file.empty()) DOTDO_RETURN_IF_ERROR(LoadHostConfig(file, o));
  if (config_used != nullptr) *config_used = file.string();
  return o;
}

Result<NamespaceHost*> Context::Host(bool create) {
  if (!host) {
    // Only a command that writes creates the data directory, and only the directory named (its
    // parent must exist): a mistyped --data fails instead of leaving directories behind.
    std::error_code ec;
    const std::filesystem::path dir(data_dir);
    if (!std::filesystem::exists(dir, ec)) {
      if (!create) return NotFoundError("data directory '" + data_dir + "' does not exist (commands that write create it)");
      const std::filesystem::path parent = std::filesystem::absolute(dir, ec).parent_path();
      if (!std::filesystem::is_directory(parent, ec))
        return NotFoundError("cannot create data directory '" + data_dir + "': its parent '" + parent.string() +
                             "' does not exist");
    }
    DOTDO_ASSIGN_OR_RETURN(NamespaceHostOptions o, HostOptions());
    o.max_open_namespaces = 1;  // one command, one namespace
    DOTDO_ASSIGN_OR_RETURN(host, NamespaceHost::Open(std::move(o)));
  }
  return host.get();
}

Result<Namespace*> Context::OpenNamespace(bool create) {
  if (!open_ns) {
    DOTDO_ASSIGN_OR_RETURN(NamespaceHost * h, Host(create));
    DOTDO_ASSIGN_OR_RETURN(open_ns, h->Get(ns, create));
    db = &open_ns->db();
  }
  return open_ns.get();
}

Result<Database*> Context::OpenDb(bool create) {
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, OpenNamespace(create));
  return &n->db();
}

Result<DocumentStore> Context::Documents(bool create) {
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, OpenNamespace(create));
  return n->Documents();
}

Result<GraphStore> Context::Graph(bool create) {
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, OpenNamespace(create));
  return n->Graph();
}

void Context::Print(const Json& value) const {
  std::cout << internal::DumpJson(value, compact ? -1 : 2) << "\n";
}

void Context::Fail(const Status& status) {
  // An error is one line, whatever the message carries (e.g. DuckDB's multi-line errors): its
  // lines are joined with "; ".
  std::string line;
  std::istringstream lines(status.ToString());
  for (std::string part; std::getline(lines, part);) {
    const size_t begin = part.find_first_not_of(" \t\r"), end = part.find_last_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    line += (line.empty() ? "" : "; ") + part.substr(begin, end - begin + 1);
  }
  std::cerr << "error: " << line << "\n";
  exit_code = ExitCodeFor(status.code());
}

void Context::Finish(const Result<Json>& result) {
  if (result.ok()) Print(*result);
  else Fail(result.status());
}

Result<Json> ParseJsonArg(std::string_view what, const std::string& text) {
  return internal::ParseJson(text, what);
}

Result<std::string> ReadArgText(const std::string& arg) {
  if (arg == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (!arg.empty() && arg[0] == '@') {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) return NotFoundError("cannot read file '" + arg.substr(1) + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  return arg;
}

}  // namespace dotdo::cli
