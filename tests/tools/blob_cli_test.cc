// `dotdo blob put|get|head|rm|ls|query|sign|stats` through the real binary (DOTDO_CLI_PATH): JSON
// output, bytes in and out through files and pipes, where the objects land on disk, and exit codes
// (2 bad input, 3 not found, 4 precondition).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "dotdo/object_store.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

class BlobCliTest : public ::testing::Test {
 protected:
  testing::CliRun Run(std::vector<std::string> args, const std::string& input = "") {
    return cli_.Run(std::move(args), input);
  }
  Json JsonOut(const testing::CliRun& r) {
    try {
      return Json::parse(r.out);
    } catch (const Json::exception& e) {
      ADD_FAILURE() << "not JSON: " << r.out << " / " << r.err;
      return nullptr;
    }
  }
  std::string WriteFile(const std::string& name, const std::string& content) {
    const auto path = dir_.path() / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  testing::ScratchDir dir_;
  testing::CliNamespace cli_{DOTDO_CLI_PATH, dir_.path() / "data", "acme"};
};

TEST_F(BlobCliTest, PutGetHeadLsQueryRmRoundTrip) {
  std::string bytes("binary\0data\xff", 12);
  const std::string file = WriteFile("in.bin", bytes);
  auto put = Run({"blob", "put", "photos/a.bin", file, "--content-type", "image/x-test", "--metadata", R"({"w":3})"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  Json info = JsonOut(put);
  EXPECT_EQ(info["size"], 12);
  EXPECT_EQ(info["contentType"], "image/x-test");
  const std::string hash = info["hash"];
  // Objects live under <data-dir>/objects/<ns>/.
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "data" / "objects" / "acme" / "data" / "blobs" / hash.substr(0, 2) / hash));

  auto piped = Run({"blob", "put", "photos/b.bin", "-"}, bytes);
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(JsonOut(piped)["hash"], hash);

  auto get = Run({"blob", "get", "photos/a.bin"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, bytes);
  const std::string out_path = (dir_.path() / "out.bin").string();
  auto get_file = Run({"blob", "get", "photos/b.bin", "-o", out_path});
  ASSERT_EQ(get_file.exit_code, 0) << get_file.err;
  EXPECT_EQ(ReadFile(out_path), bytes);
  EXPECT_EQ(JsonOut(get_file)["key"], "photos/b.bin");

  EXPECT_EQ(JsonOut(Run({"blob", "head", "photos/a.bin"}))["metadata"]["w"], 3);
  Json ls = JsonOut(Run({"blob", "ls", "--prefix", "photos/", "--limit", "1"}));
  ASSERT_EQ(ls["items"].size(), 1u);
  EXPECT_EQ(ls["next_cursor"], "photos/a.bin");
  Json page2 = JsonOut(Run({"blob", "ls", "--prefix", "photos/", "--cursor", "photos/a.bin"}));
  EXPECT_EQ(page2["items"][0]["key"], "photos/b.bin");
  EXPECT_TRUE(page2["next_cursor"].is_null());
  Json found = JsonOut(Run({"blob", "query", R"({"metadata.w":{"$gte":3}})"}));
  ASSERT_EQ(found["items"].size(), 1u);
  EXPECT_EQ(found["items"][0]["key"], "photos/a.bin");
  Json stats = JsonOut(Run({"blob", "stats"}));
  EXPECT_EQ(stats["blobs"], 2);
  EXPECT_EQ(stats["objects"], 1);

  auto rm = Run({"blob", "rm", "photos/a.bin"});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(Run({"blob", "rm", "photos/a.bin"}).exit_code, 3);
  EXPECT_EQ(Run({"blob", "get", "photos/a.bin"}).exit_code, 3);
}

TEST_F(BlobCliTest, BadInputExitsWithCodeTwoAndChangesNothing) {
  const std::string file = WriteFile("in.bin", "x");
  auto escape = Run({"blob", "put", "../../etc/passwd", file});
  EXPECT_EQ(escape.exit_code, 2);
  EXPECT_NE(escape.err.find("invalid blob key"), std::string::npos) << escape.err;
  auto missing = Run({"blob", "put", "k"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("missing data"), std::string::npos);
  EXPECT_EQ(Run({"blob", "put", "k", file, "--metadata", "{oops"}).exit_code, 2);
  EXPECT_EQ(Run({"blob", "put", "k", file, "--metadata", "[1]"}).exit_code, 2);
  EXPECT_EQ(Run({"blob", "query", R"({"metadata.x":{"$regex":1}})"}).exit_code, 2);
  EXPECT_EQ(Run({"blob", "ls", "--limit", "0"}).exit_code, 2);
  EXPECT_EQ(Run({"blob", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({"blob", "put", "k", (dir_.path() / "nope.bin").string()}).exit_code, 3);
  EXPECT_EQ(JsonOut(Run({"blob", "stats"}))["blobs"], 0);
}

TEST_F(BlobCliTest, SignPrintsVerifiableUrlsWithAGivenSecretOrTheNamespaceKeyFile) {
  // Without --secret or DOTDO_BLOB_SECRET the namespace's key file is made (mode 0600) and used.
  auto no_secret = Run({"blob", "sign", "k"});
  EXPECT_EQ(no_secret.exit_code, 0) << no_secret.err;
  const auto key_file = dir_.path() / "data" / "keys" / "acme.blob-signing";
  ASSERT_TRUE(std::filesystem::exists(key_file));
  EXPECT_EQ(std::filesystem::status(key_file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(Run({"blob", "sign", "k"}).exit_code, 0);
  const std::vector<std::string> secret = {"--secret", "0123456789abcdef0123456789abcdef", "--url-base",
                                           "https://f.test/acme"};
  auto with_secret = [&](std::vector<std::string> args) {
    args.insert(args.end(), secret.begin(), secret.end());
    return Run(std::move(args));
  };
  auto get_url = with_secret({"blob", "sign", "a b.txt", "--expires", "15m", "--disposition", "attachment"});
  ASSERT_EQ(get_url.exit_code, 0) << get_url.err;
  Json g = JsonOut(get_url);
  EXPECT_EQ(g["method"], "GET");
  EXPECT_EQ(g["url"].get<std::string>().rfind("https://f.test/acme/a%20b.txt?X-Dotdo-Method=GET", 0), 0u);
  auto put_url = with_secret({"blob", "sign", "up.png", "--upload", "--max-size", "1000", "--content-type", "image/png"});
  ASSERT_EQ(put_url.exit_code, 0) << put_url.err;
  EXPECT_NE(JsonOut(put_url)["url"].get<std::string>().find("X-Dotdo-Max-Size=1000"), std::string::npos);
  EXPECT_EQ(with_secret({"blob", "sign", "k", "--expires", "30d"}).exit_code, 2);
  EXPECT_EQ(with_secret({"blob", "sign", "k", "--expires", "soon"}).exit_code, 2);
  EXPECT_EQ(with_secret({"blob", "sign", "k", "--upload"}).exit_code, 2);
  EXPECT_EQ(Run({"blob", "sign", "k", "--secret", "short"}).exit_code, 2);
}

TEST_F(BlobCliTest, HelpListsTheCommands) {
  auto help = Run({"blob", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd : {"put", "get", "head", "rm", "ls", "query", "sign"})
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  EXPECT_NE(help.out.find("objects/<ns>"), std::string::npos);
}

TEST_F(BlobCliTest, GetToAFileNeverFollowsAPlantedTempSymlinkNorReplacesSpecialFiles) {
  ASSERT_EQ(Run({"blob", "put", "k", "-"}, "new bytes").exit_code, 0);
  // A symlink planted at the old fixed temp name must not have its target overwritten.
  const auto victim = dir_.path() / "victim.txt";
  const std::string out = (dir_.path() / "out.txt").string();
  WriteFile("victim.txt", "precious");
  std::filesystem::create_symlink(victim, out + ".dotdo-partial");
  auto get = Run({"blob", "get", "k", "-o", out});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(ReadFile(out), "new bytes");
  EXPECT_EQ(ReadFile(victim.string()), "precious");
  // No temp file is left next to the output.
  for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_EQ(e.path().filename().string().find("out.txt.dotdo-partial-"), std::string::npos) << e.path();
  // /dev/null stays a character device.
  ASSERT_EQ(Run({"blob", "get", "k", "-o", "/dev/null"}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  // A FIFO is written through, not replaced by a regular file.
  const auto fifo = dir_.path() / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string read_back;
  std::thread reader([&] { read_back = ReadFile(fifo.string()); });
  auto to_fifo = Run({"blob", "get", "k", "-o", fifo.string()});
  reader.join();
  EXPECT_EQ(to_fifo.exit_code, 0) << to_fifo.err;
  EXPECT_EQ(read_back, "new bytes");
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
}

}  // namespace
}  // namespace dotdo

namespace dotdo {
namespace {

TEST(BlobCliReadTest, ReadCommandsOnANamespaceWithoutBlobsCreateNoTables) {
  testing::ScratchDir dir;
  testing::CliNamespace cli{DOTDO_CLI_PATH, dir.path() / "data", "acme"};
  ASSERT_EQ(cli.Run({"doc", "create", R"({"$type":"T","a":1})"}).exit_code, 0);
  for (std::vector<std::string> read : {std::vector<std::string>{"blob", "ls"}, {"blob", "stats"}, {"blob", "head", "k"},
                                        {"blob", "query", R"({"size":{"$gt":0}})"}}) {
    auto r = cli.Run(read);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 3) << read[1] << ": " << r.err;
  }
  auto tables = cli.Run({"sql", "SELECT name FROM sqlite_schema WHERE name LIKE 'blob%'"});
  ASSERT_EQ(tables.exit_code, 0) << tables.err;
  EXPECT_EQ(Json::parse(tables.out), Json::array());
}

TEST(BlobCliSweepTest, SweepRemovesUnreferencedObjectsOutsideTheGracePeriod) {
  testing::ScratchDir dir;
  testing::CliNamespace cli{DOTDO_CLI_PATH, dir.path() / "data", "acme"};
  ASSERT_EQ(cli.Run({"blob", "put", "kept", "-"}, "kept bytes").exit_code, 0);
  {  // an object no blob references, as a crash between object write and metadata commit leaves
    auto objects = LocalObjectStore::Open(dir.path() / "data" / "objects" / "acme");
    ASSERT_THAT(objects, testing::IsOk());
    DOTDO_ASSERT_OK((*objects)->Put("blobs/ab/orphan", "orphan bytes"));
  }
  auto kept = cli.Run({"blob", "sweep"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_EQ(Json::parse(kept.out), (Json{{"removed", 0}, {"removedBytes", 0}, {"keptInGrace", 1}}));
  auto swept = cli.Run({"blob", "sweep", "--grace", "0"});
  ASSERT_EQ(swept.exit_code, 0) << swept.err;
  EXPECT_EQ(Json::parse(swept.out)["removed"], 1);
  EXPECT_EQ(cli.Run({"blob", "get", "kept"}).out, "kept bytes");
  EXPECT_EQ(cli.Run({"blob", "sweep", "--grace", "-5m"}).exit_code, 2);
  EXPECT_EQ(cli.Run({"blob", "sweep", "--grace", "soon"}).exit_code, 2);
}

}  // namespace
}  // namespace dotdo
