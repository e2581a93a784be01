// The CLI, data-driven: one case file per command family under tests/tools/data/cli/, each case an
// invocation of the real binary with its argv (and stdin), the expected exit code, and the expected
// JSON (a subset of what is printed: objects by the keys given, arrays and scalars exactly) or the
// error code and message text on stderr ("stdout_has" for text output such as --help). Cases of one file run in order against one scratch data
// directory; "save": {"name": "json/pointer"} keeps a value of the output for later argv as {name}.
#include <filesystem>
#include <fstream>
#include <map>

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
  return want == got ? "" : at + ": expected " + want.dump() + ", got " + got.dump();
}

std::string Substitute(std::string s, const std::map<std::string, std::string>& vars) {
  for (const auto& [name, value] : vars) {
    const std::string token = "{" + name + "}";
    for (size_t pos; (pos = s.find(token)) != std::string::npos;) s.replace(pos, token.size(), value);
  }
  return s;
}

class CliCaseFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CliCaseFileTest, EveryCaseExitsAndPrintsAsExpected) {
  std::ifstream in(kCliCaseDir / (GetParam() + ".json"));
  const Json file = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(file.is_object() && file.contains("covers") && file["cases"].is_array()) << GetParam();
  testing::ScratchDir dir;
  std::map<std::string, std::string> vars = {{"data", (dir.path() / "d").string()}, {"scratch", dir.path().string()}};
  for (const Json& c : file["cases"]) {
    ASSERT_TRUE(c.contains("name") && c["argv"].is_array() && c.contains("exit")) << c.dump();
    SCOPED_TRACE(GetParam() + ".json: " + c["name"].get<std::string>());
    std::vector<std::string> argv;
    // Unless the case spells out its own global options, it runs on the file's data directory.
    if (!c.value("raw", false)) argv = {"--data", vars["data"], "--ns", "cases", "--compact"};
    for (const Json& a : c["argv"]) argv.push_back(Substitute(a.get<std::string>(), vars));
    const testing::CliRun run = testing::RunProgram(DOTDO_CLI_PATH, argv, Substitute(c.value("stdin", ""), vars));
    EXPECT_EQ(run.exit_code, c["exit"].get<int>()) << "stdout: " << run.out << "\nstderr: " << run.err;
    if (c.contains("json")) {
      const Json got = Json::parse(run.out, nullptr, /*allow_exceptions=*/false);
      EXPECT_EQ(Mismatch(c["json"], got), "") << run.out;
      for (const auto& [name, pointer] : c.value("save", Json::object()).items()) {
        const Json::json_pointer p(pointer.get<std::string>());
        ASSERT_TRUE(got.contains(p)) << pointer;
        vars[name] = got[p].is_string() ? got[p].get<std::string>() : got[p].dump();
      }
    }
    if (c.contains("stdout_has")) EXPECT_NE(run.out.find(c["stdout_has"].get<std::string>()), std::string::npos) << run.out;
    if (c.contains("stdout_lines")) {
      size_t lines = static_cast<size_t>(std::count(run.out.begin(), run.out.end(), '\n'));
      EXPECT_EQ(lines, c["stdout_lines"].get<size_t>()) << run.out;
    }
    if (c.contains("error")) {
      EXPECT_NE(run.err.find("error: " + c["error"].get<std::string>()), std::string::npos) << run.err;
      EXPECT_NE(run.err.find(c.value("message", "")), std::string::npos) << run.err;
    } else if (c["exit"] == 0) {
      EXPECT_EQ(run.err, "");
    }
    for (const Json& p : c.value("absent_paths", Json::array()))
      EXPECT_FALSE(std::filesystem::exists(Substitute(p.get<std::string>(), vars))) << p;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, CliCaseFileTest, ::testing::ValuesIn(CliCaseFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(CliCaseFilesTest, TheCommandFamiliesHaveTheirFiles) {
  const auto names = CliCaseFiles();
  for (const char* family : {"doc", "graph", "global", "blob", "events"})
    EXPECT_NE(std::find(names.begin(), names.end(), family), names.end()) << family;
}

}  // namespace
}  // namespace dotdo
