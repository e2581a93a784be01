// The CLI, data-driven: one case file per command family under tests/tools/data/cli/, each case an
// invocation of the real binary. A file is {"covers": what it covers, "cases": [...]}. Cases of one
// file run in order against one scratch directory ({scratch}) holding the data directory ({data});
// unless "raw" is true, the argv is prefixed with `--data {data} --ns <"ns" of the case, default
// "cases"> --compact`. A case is an object:
//   "name", "argv" (strings), "exit" (the expected exit code);
//   "stdin"          text fed on stdin, or "stdin_file": a file whose content is fed on stdin;
//   "files"          {path: content} written before the run (parent directories created);
//   "remove"         [path] removed before the run;
//   "json"           the expected JSON on stdout: objects by the keys given (at any depth), arrays
//                    element by element with the same length, scalars exactly;
//   "json_lines"     the same for stdout read as JSON Lines (an array of one value per line);
//   "save"           {"name": "/json/pointer"} into the "json" / "json_lines" output (the pointer
//                    must exist), kept for later cases as {name};
//   "stdout"         the exact stdout; "stdout_has" / "stdout_lacks": a substring, or an array of
//                    substrings, that stdout must / must not contain;
//   "stdout_lines"   stdout's line count; "stdout_same_as": a file whose bytes stdout must equal;
//   "stdout_to"      a path stdout is written to (e.g. an export that a later case imports);
//   "error"          the error code on stderr ("error: <CODE>: ..."), with "message" a substring of
//                    that line; an error is exactly one line on stderr and nothing on stdout. Without
//                    "error" an exit-0 case must print nothing on stderr;
//   "stderr_has"     a substring, or an array of substrings, of stderr;
//   "expect_files"   {path: {"content": exact text, "has": substring, "lines": line count,
//                    "json_lines": as above}} after the run;
//   "absent_paths" / "present_paths"  [path] that must not / must exist after the run.
// {data}, {scratch} and saved {names} are substituted in argv, stdin, file paths and contents, and in
// every expected string. A key not listed here fails the case (a misspelt check would check
// nothing). What a case file cannot say (signals, concurrency, timing, terminal output, large
// generated inputs, bytes that are not UTF-8, file modes) stays in C++: cli_process_test.cc.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "testing/test_util.h"

namespace dotdo {
namespace {

const std::filesystem::path kCliCaseDir = std::filesystem::path(DOTDO_TEST_DATA_DIR) / "cli";

std::vector<std::string> CliCaseFiles() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kCliCaseDir, ec))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// "" when `got` has everything `want` says; else where it differs.
std::string Mismatch(const Json& want, const Json& got, const std::string& at = "") {
  if (want.is_object()) {
    if (!got.is_object()) return at + ": expected an object, got " + got.dump();
    for (auto it = want.begin(); it != want.end(); ++it) {
      if (!got.contains(it.key())) return at + "/" + it.key() + ": missing";
      std::string m = Mismatch(*it, got[it.key()], at + "/" + it.key());
      if (!m.empty()) return m;
    }
    return "";
  }
  if (want.is_array()) {
    if (!got.is_array() || got.size() != want.size())
      return at + ": expected an array of " + std::to_string(want.size()) + ", got " + got.dump();
    for (size_t i = 0; i < want.size(); ++i) {
      std::string m = Mismatch(want[i], got[i], at + "/" + std::to_string(i));
      if (!m.empty()) return m;
    }
    return "";
  }
  return want == got ? "" : at + ": expected " + want.dump() + ", got " + got.dump();
}

std::string Substitute(std::string s, const std::map<std::string, std::string>& vars) {
  for (const auto& [name, value] : vars) {
    const std::string token = "{" + name + "}";
    for (size_t pos = 0; (pos = s.find(token, pos)) != std::string::npos; pos += value.size())
      s.replace(pos, token.size(), value);
  }
  return s;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `want` with every string value (not object keys) substituted.
Json SubstituteJson(Json want, const std::map<std::string, std::string>& vars) {
  if (want.is_string()) return Substitute(want.get<std::string>(), vars);
  if (want.is_structured())  // (iterating a scalar would visit the scalar itself)
    for (auto& v : want) v = SubstituteJson(v, vars);
  return want;
}

// A string or an array of strings, substituted.
std::vector<std::string> Strings(const Json& c, const char* key, const std::map<std::string, std::string>& vars) {
  std::vector<std::string> out;
  const Json v = c.value(key, Json::array());
  for (const Json& s : v.is_array() ? v : Json::array({v})) out.push_back(Substitute(s.get<std::string>(), vars));
  return out;
}

size_t Lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

// Stdout as JSON Lines; a line that is not JSON becomes a string saying so (and mismatches).
Json JsonLines(const std::string& text) {
  Json out = Json::array();
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    out.push_back(j.is_discarded() ? Json("not JSON: " + line) : j);
  }
  return out;
}

class CliCaseFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CliCaseFileTest, EveryCaseExitsAndPrintsAsExpected) {
  std::ifstream in(kCliCaseDir / (GetParam() + ".json"));
  const Json file = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(file.is_object() && file.contains("covers") && file["cases"].is_array()) << GetParam();
  testing::ScratchDir dir;
  std::map<std::string, std::string> vars = {{"data", (dir.path() / "d").string()}, {"scratch", dir.path().string()}};
  auto path_of = [&](const Json& p) { return Substitute(p.get<std::string>(), vars); };
  for (const Json& c : file["cases"]) {
    ASSERT_TRUE(c.contains("name") && c["argv"].is_array() && c.contains("exit")) << c.dump();
    SCOPED_TRACE(GetParam() + ".json: " + c["name"].get<std::string>());
    static const std::set<std::string> kKeys = {
        "name", "argv", "exit", "raw", "ns", "stdin", "stdin_file", "files", "remove", "json", "json_lines", "save",
        "stdout", "stdout_has", "stdout_lacks", "stdout_lines", "stdout_same_as", "stdout_to", "error", "message",
        "stderr_has", "expect_files", "absent_paths", "present_paths"};
    for (const auto& [key, value] : c.items()) EXPECT_TRUE(kKeys.count(key)) << "unknown case key \"" << key << "\"";
    // (a temporary's items() would outlive the temporary: bind the object first)
    const Json files = c.value("files", Json::object()), save = c.value("save", Json::object()),
               expect_files = c.value("expect_files", Json::object());
    for (const auto& [path, content] : files.items()) {
      const std::filesystem::path p = path_of(Json(path));
      std::filesystem::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << Substitute(content.get<std::string>(), vars);
    }
    for (const Json& p : c.value("remove", Json::array())) std::filesystem::remove(path_of(p));
    std::vector<std::string> argv;
    if (!c.value("raw", false)) argv = {"--data", vars["data"], "--ns", c.value("ns", "cases"), "--compact"};
    for (const Json& a : c["argv"]) argv.push_back(Substitute(a.get<std::string>(), vars));
    if (c.contains("stdin_file")) {
      ASSERT_TRUE(std::filesystem::exists(path_of(c["stdin_file"]))) << c["stdin_file"];
    }
    const std::string input = c.contains("stdin_file") ? Slurp(path_of(c["stdin_file"])) : Substitute(c.value("stdin", ""), vars);
    const testing::CliRun run = testing::RunProgram(DOTDO_CLI_PATH, argv, input);
    EXPECT_EQ(run.exit_code, c["exit"].get<int>()) << "stdout: " << run.out << "\nstderr: " << run.err;
    if (c.contains("stdout_to")) std::ofstream(path_of(c["stdout_to"]), std::ios::binary) << run.out;
    for (const char* key : {"json", "json_lines"}) {
      if (!c.contains(key)) continue;
      const Json got = key == std::string("json") ? Json::parse(run.out, nullptr, /*allow_exceptions=*/false) : JsonLines(run.out);
      EXPECT_EQ(Mismatch(SubstituteJson(c[key], vars), got), "") << run.out;
      for (const auto& [name, pointer] : save.items()) {
        const Json::json_pointer p(pointer.get<std::string>());
        ASSERT_TRUE(got.contains(p)) << pointer;
        vars[name] = got[p].is_string() ? got[p].get<std::string>() : got[p].dump();
      }
    }
    if (c.contains("stdout")) {
      EXPECT_EQ(run.out, Substitute(c["stdout"].get<std::string>(), vars));
    }
    for (const std::string& s : Strings(c, "stdout_has", vars)) EXPECT_NE(run.out.find(s), std::string::npos) << s << " in " << run.out;
    for (const std::string& s : Strings(c, "stdout_lacks", vars)) EXPECT_EQ(run.out.find(s), std::string::npos) << s << " in " << run.out;
    if (c.contains("stdout_same_as")) {
      EXPECT_TRUE(std::filesystem::exists(path_of(c["stdout_same_as"])));
      EXPECT_EQ(run.out, Slurp(path_of(c["stdout_same_as"])));
    }
    if (c.contains("stdout_lines")) {
      EXPECT_EQ(Lines(run.out), c["stdout_lines"].get<size_t>()) << run.out;
    }
    if (c.contains("error")) {
      EXPECT_EQ(run.err.rfind("error: " + c["error"].get<std::string>(), 0), 0u) << run.err;
      EXPECT_NE(run.err.find(Substitute(c.value("message", ""), vars)), std::string::npos) << run.err;
      EXPECT_EQ(Lines(run.err), 1u) << run.err;
      EXPECT_EQ(run.out, "");
    } else if (c["exit"] == 0) {
      EXPECT_EQ(run.err, "");
    }
    for (const std::string& s : Strings(c, "stderr_has", vars)) EXPECT_NE(run.err.find(s), std::string::npos) << s << " in " << run.err;
    for (const auto& [path, raw_want] : expect_files.items()) {
      EXPECT_TRUE(std::filesystem::exists(path_of(Json(path)))) << path;
      const std::string text = Slurp(path_of(Json(path)));
      const Json want = SubstituteJson(raw_want, vars);
      if (want.contains("content")) {
        EXPECT_EQ(text, want["content"].get<std::string>()) << path;
      }
      if (want.contains("has")) {
        EXPECT_NE(text.find(want["has"].get<std::string>()), std::string::npos) << path << ": " << text;
      }
      if (want.contains("lines")) {
        EXPECT_EQ(Lines(text), want["lines"].get<size_t>()) << path << ": " << text;
      }
      if (want.contains("json_lines")) {
        EXPECT_EQ(Mismatch(want["json_lines"], JsonLines(text)), "") << path << ": " << text;
      }
    }
    for (const Json& p : c.value("absent_paths", Json::array()))
      EXPECT_FALSE(std::filesystem::exists(path_of(p))) << p;
    for (const Json& p : c.value("present_paths", Json::array()))
      EXPECT_TRUE(std::filesystem::exists(path_of(p))) << path_of(p);
  }
}

INSTANTIATE_TEST_SUITE_P(Files, CliCaseFileTest, ::testing::ValuesIn(CliCaseFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(CliCaseFilesTest, TheCommandFamiliesHaveTheirFiles) {
  const auto names = CliCaseFiles();
  for (const char* family : {"doc", "graph", "global", "blob", "events", "tier", "stream", "ts", "transfer", "vec", "col", "ns"})
    EXPECT_NE(std::find(names.begin(), names.end(), family), names.end()) << family;
}

}  // namespace
}  // namespace dotdo
