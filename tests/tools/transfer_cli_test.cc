// `dotdo doc import|export` and `dotdo graph import|export` as a user runs them: JSON Lines and JSON
// arrays in, batches, line-numbered errors (stop, or --skip-bad), and export → import round trips.
#include <fstream>
#include <sstream>

#include "testing/test_util.h"

namespace dotdo {
namespace {

std::vector<Json> Lines(const std::string& text) {
  std::vector<Json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
  return out;
}

// A document without the fields the store sets.
Json Body(Json d) {
  for (const char* k : {"$version", "$createdAt", "$updatedAt"}) d.erase(k);
  return d;
}

class TransferCliTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir_;
  testing::CliNamespace a_{DOTDO_CLI_PATH, dir_.path() / "data", "a"};
  testing::CliNamespace b_{DOTDO_CLI_PATH, dir_.path() / "data", "b"};
};

TEST_F(TransferCliTest, DocumentsRoundTripThroughExportAndImport) {
  const std::string input =
      "{\"$type\":\"Customer\",\"$id\":\"c1\",\"name\":\"Ada\",\"tags\":[\"x\"]}\n"
      "\n"
      "{\"$type\":\"Customer\",\"name\":\"Bob\",\"address\":{\"city\":\"Oslo\"}}\n"
      "{\"$type\":\"Order\",\"$id\":\"o1\",\"total\":12.5}\n";
  Json summary = a_.RunOk({"doc", "import", "-", "--batch-size", "2"}, input);
  EXPECT_EQ(summary["imported"], 3);
  EXPECT_EQ(summary["skipped"], 0);
  EXPECT_GT(summary["perSecond"].get<double>(), 0);
  auto exported = a_.Run({"doc", "export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  std::vector<Json> docs = Lines(exported.out);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(Lines(a_.Run({"doc", "export", "--type", "Order"}).out).size(), 1u);

  EXPECT_EQ(b_.RunOk({"doc", "import", "-"}, exported.out)["imported"], 3);
  std::vector<Json> again = Lines(b_.Run({"doc", "export"}).out);
  ASSERT_EQ(again.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(Body(again[i]), Body(docs[i]));
  // Importing the same ids again is refused, or replaces them with --upsert.
  auto dup = b_.Run({"doc", "import", "-"}, exported.out);
  EXPECT_EQ(dup.exit_code, 4) << dup.err;
  EXPECT_NE(dup.err.find("line 1"), std::string::npos) << dup.err;
  EXPECT_EQ(b_.RunOk({"doc", "import", "-", "--upsert"}, exported.out)["imported"], 3);
}

TEST_F(TransferCliTest, ABadRecordStopsWithItsLineOrIsSkipped) {
  const std::string input =
      "{\"$type\":\"T\",\"n\":1}\n"
      "{\"$type\":\"T\",\"n\":\n"           // line 2: malformed
      "{\"n\":3}\n"                          // line 3: no $type
      "{\"$type\":\"T\",\"n\":4}\n";
  auto stop = a_.Run({"doc", "import", "-", "--batch-size", "1"}, input);
  EXPECT_EQ(stop.exit_code, 2) << stop.err;
  EXPECT_NE(stop.err.find("line 2"), std::string::npos) << stop.err;
  EXPECT_NE(stop.err.find("1 records of earlier batches were imported"), std::string::npos) << stop.err;
  EXPECT_EQ(a_.RunOk({"doc", "count", "--type", "T"})["count"], 1);

  Json skipped = b_.RunOk({"doc", "import", "-", "--skip-bad"}, input);
  EXPECT_EQ(skipped["imported"], 2);
  EXPECT_EQ(skipped["skipped"], 2);
  ASSERT_EQ(skipped["errors"].size(), 2u);
  EXPECT_EQ(skipped["errors"][0]["line"], 2);
  EXPECT_EQ(skipped["errors"][1]["line"], 3);
  EXPECT_EQ(b_.RunOk({"doc", "count", "--type", "T"})["count"], 2);
}

TEST_F(TransferCliTest, AJsonArrayIsAcceptedAndBadOptionsAreRefused) {
  const auto file = dir_.path() / "docs.json";
  std::ofstream(file) << R"([{"$type":"T","n":1},{"$type":"T","n":2}])";
  EXPECT_EQ(a_.RunOk({"doc", "import", file.string()})["imported"], 2);
  EXPECT_EQ(a_.Run({"doc", "import", (dir_.path() / "missing.json").string()}).exit_code, 3);
  EXPECT_EQ(a_.Run({"doc", "import", "-", "--batch-size", "0"}, "").exit_code, 2);
  // Exporting a namespace without documents prints nothing.
  auto none = b_.Run({"graph", "relate", "N/a", "N/b", "t"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  auto empty = b_.Run({"doc", "export"});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "");
}

TEST_F(TransferCliTest, EdgesRoundTripThroughExportAndImport) {
  std::string input;
  for (int i = 0; i < 2500; ++i)  // past one export page (1000 rows)
    input += "{\"from\":\"User/u" + std::to_string(i % 50) + "\",\"to\":\"User/v" + std::to_string(i) +
             "\",\"type\":\"follows\",\"data\":{\"w\":" + std::to_string(i) + "}}\n";
  input += "{\"from\":\"User/x\",\"to\":\"User/y\",\"type\":\"knows\"}\n";
  Json summary = a_.RunOk({"graph", "import", "-"}, input);
  EXPECT_EQ(summary["imported"], 2501);
  auto exported = a_.Run({"graph", "export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  std::vector<Json> edges = Lines(exported.out);
  ASSERT_EQ(edges.size(), 2501u);
  EXPECT_EQ(b_.RunOk({"graph", "import", "-"}, exported.out)["imported"], 2501);
  EXPECT_EQ(b_.Run({"graph", "export"}).out, exported.out);
  auto bad = a_.Run({"graph", "import", "-"}, R"({"from":"User/a","type":"t"})" "\n");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("\"to\""), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace dotdo
