// The HTTP API through a real client against a server on a loopback port: every route family
// (documents, graph, blobs, events, sql, namespaces, stream, timeseries), every error status the
// server produces, the auth matrix (token x namespace x role) and the token store itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "server/server_internal.h"
#include "server/server_test_util.h"
#include "sqlite/fault_vfs.h"

namespace dotdo::testing {
namespace {

using ::testing::HasSubstr;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { DOTDO_ASSERT_OK(s_.Start()); }
  HttpReply Call(const std::string& m, const std::string& p, const std::string& b = "", httplib::Headers h = {},
                 const std::string& type = "") {
    return s_.Call(m, p, b, std::move(h), type);
  }
  // A call that must answer `status`; returns its JSON.
  Json Must(int status, const std::string& m, const std::string& p, const std::string& b = "",
            httplib::Headers h = {}, const std::string& type = "") {
    HttpReply r = Call(m, p, b, std::move(h), type);
    EXPECT_EQ(r.status, status) << m << " " << p << " -> " << r.body;
    return r.json;
  }
  TestServer s_;
};

TEST_F(ServerTest, DocumentsCrudQueryHistoryAndAsOf) {
  Json ada = Must(201, "POST", "/v1/ns/acme/docs", R"({"$type":"Customer","$id":"ada","name":"Ada","age":36})");
  EXPECT_EQ(ada["$version"], 1);
  HttpReply got = Call("GET", "/v1/ns/acme/docs/ada");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.json["name"], "Ada");
  EXPECT_EQ(got.Header("ETag"), "\"1\"");
  const int64_t between = SystemClock::Default()->NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Stale If-Match is a conflict; the right one applies.
  EXPECT_EQ(Call("PATCH", "/v1/ns/acme/docs/ada", R"({"$set":{"age":37}})", {{"If-Match", "\"7\""}}).ErrorCode(), "ABORTED");
  EXPECT_EQ(Must(200, "PATCH", "/v1/ns/acme/docs/ada", R"({"$set":{"age":37}})", {{"If-Match", "\"1\""}})["age"], 37);
  EXPECT_EQ(Must(200, "PATCH", "/v1/ns/acme/docs/ada", R"({"city":"London"})", {}, "application/merge-patch+json")["city"],
            "London");
  EXPECT_EQ(Must(200, "PATCH", "/v1/ns/acme/docs/ada", R"([{"op":"replace","path":"/name","value":"Ada L"}])", {},
                 "application/json-patch+json")["name"], "Ada L");
  EXPECT_EQ(Must(200, "PUT", "/v1/ns/acme/docs/ada", R"({"$type":"Customer","name":"Ada Lovelace","age":36})")["$version"], 5);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/acme/docs/ada/history").size(), 5u);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/acme/docs/ada?at=" + std::to_string(between))["age"], 36);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/acme/docs/ada?at=" + std::to_string(between))["$version"], 1);

  Json batch = Must(201, "POST", "/v1/ns/acme/docs/batch",
                    R"([{"$type":"Customer","name":"Bob","age":20},{"$type":"Customer","name":"Cy","age":50}])");
  EXPECT_EQ(batch["created"], 2);
  EXPECT_EQ(Must(201, "POST", "/v1/ns/acme/docs?upsert=true", R"({"$type":"Customer","$id":"ada","name":"A","age":1})")["name"], "A");
  // Query by URL (filter, sort, page with cursor) and by body; count.
  const std::string q = "/v1/ns/acme/types/Customer/docs?where=" + Enc(R"({"age":{"$gte":2}})") + "&sort=age:desc&limit=1";
  Json page1 = Must(200, "GET", q);
  ASSERT_EQ(page1["items"].size(), 1u);
  EXPECT_EQ(page1["items"][0]["name"], "Cy");
  Json page2 = Must(200, "GET", q + "&cursor=" + Enc(page1["next_cursor"].get<std::string>()));
  EXPECT_EQ(page2["items"][0]["name"], "Bob");
  Json posted = Must(200, "POST", "/v1/ns/acme/query",
                     R"({"type":"Customer","where":{"age":{"$lt":30}},"sort":[{"path":"age"}],"fields":["name"]})");
  ASSERT_EQ(posted["items"].size(), 2u);
  EXPECT_EQ(posted["items"][0]["name"], "A");
  EXPECT_FALSE(posted["items"][0].contains("age"));
  EXPECT_EQ(Must(200, "GET", "/v1/ns/acme/types/Customer/count?where=" + Enc(R"({"age":{"$gt":10}})"))["count"], 2);
  EXPECT_EQ(Must(200, "POST", "/v1/ns/acme/types/Customer/indexes", R"({"path":"age"})")["index"], "ready");
  // Soft delete hides the document; history keeps it; hard delete removes both.
  Must(200, "DELETE", "/v1/ns/acme/docs/ada");
  EXPECT_EQ(Call("GET", "/v1/ns/acme/docs/ada").ErrorCode(), "NOT_FOUND");
  EXPECT_GE(Must(200, "GET", "/v1/ns/acme/docs/ada/history").size(), 6u);
  Must(200, "DELETE", "/v1/ns/acme/docs/ada?hard=true");
}

TEST_F(ServerTest, GraphRoutes) {
  Must(201, "POST", "/v1/ns/g/graph/edges", R"({"from":"User/a","to":"User/b","type":"follows","data":{"w":1}})");
  Json many = Must(201, "POST", "/v1/ns/g/graph/edges/batch",
                   R"({"edges":[{"from":"User/b","to":"User/c","type":"follows","data":{"w":5}},
                                {"from":"User/a","to":"User/c","type":"follows","data":{"w":9}},
                                {"from":"User/c","to":"User/a","type":"blocks"}]})");
  EXPECT_EQ(many["related"], 3);
  Json edge = Must(200, "GET", "/v1/ns/g/graph/edges?from=User/a&to=User/b&type=follows");
  EXPECT_EQ(Must(200, "GET", "/v1/ns/g/graph/edges?id=" + edge["id"].get<std::string>())["to"], "User/b");
  Json out1 = Must(200, "GET", "/v1/ns/g/graph/out?node=User/a&limit=1");
  ASSERT_EQ(out1["items"].size(), 1u);
  Json out2 = Must(200, "GET", "/v1/ns/g/graph/out?node=User/a&limit=1&cursor=" + Enc(out1["next_cursor"].get<std::string>()));
  EXPECT_EQ(out2["items"].size(), 1u);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/g/graph/in?node=User/c&types=follows")["items"].size(), 2u);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/g/graph/both?node=User/a")["items"].size(), 3u);
  Json degree = Must(200, "GET", "/v1/ns/g/graph/degree?node=User/a");
  EXPECT_EQ(degree["out"], 2);
  EXPECT_EQ(degree["in"], 1);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/g/graph/traverse?start=User/a&types=follows&max_depth=2")["nodes"].size(), 2u);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/g/graph/path?from=User/a&to=User/c")["path"]["nodes"].size(), 2u);
  Json weighted = Must(200, "GET", "/v1/ns/g/graph/path?from=User/a&to=User/c&types=follows&weighted=w");
  EXPECT_EQ(weighted["path"]["nodes"].size(), 3u);  // a -> b -> c weighs 6 < 9
  EXPECT_TRUE(Must(200, "GET", "/v1/ns/g/graph/path?from=User/c&to=User/z")["path"].is_null());
  Json cycle = Must(200, "GET", "/v1/ns/g/graph/cycle?node=User/a")["cycle"];
  ASSERT_GE(cycle.size(), 3u);
  EXPECT_EQ(cycle.front(), cycle.back());
  EXPECT_TRUE(Must(200, "GET", "/v1/ns/g/graph/cycle?node=User/a&type=follows")["cycle"].is_null());
  Json batch = Must(200, "POST", "/v1/ns/g/graph/batch", R"({"ids":["User/a","User/b","User/q"],"direction":"out"})");
  EXPECT_EQ(batch["edges"]["User/a"].size(), 2u);
  EXPECT_EQ(batch["edges"]["User/q"].size(), 0u);
  EXPECT_EQ(Must(200, "POST", "/v1/ns/g/graph/batch", R"({"ids":["User/a"],"direction":"in"})")["edges"]["User/a"].size(), 1u);
  // The batch answer (written as text) holds the same edges as the single-edge route (a Json tree),
  // also for data that needs escaping and non-ASCII text.
  Must(201, "POST", "/v1/ns/g/graph/edges", R"({"from":"User/q","to":"User/a","type":"says","data":{"t":"caf\u00e9 \"x\"\n\u0001\\"}})");
  Json single = Must(200, "GET", "/v1/ns/g/graph/edges?from=User/q&to=User/a&type=says");
  Json batched = Must(200, "POST", "/v1/ns/g/graph/batch", R"({"ids":["User/q"]})");
  ASSERT_EQ(batched["edges"]["User/q"].size(), 1u);
  EXPECT_EQ(batched["edges"]["User/q"][0], single);
  EXPECT_EQ(single["data"]["t"], "caf\xc3\xa9 \"x\"\n\x01\\");
  EXPECT_EQ(Must(200, "DELETE", "/v1/ns/g/graph/edges?from=User/a&to=User/b&type=follows")["removed"], true);
  EXPECT_EQ(Must(200, "DELETE", "/v1/ns/g/graph/nodes?node=User/c")["removed"], 3);
  EXPECT_EQ(Call("GET", "/v1/ns/g/graph/out?node=nobody").ErrorCode(), "INVALID_ARGUMENT");
  EXPECT_EQ(Call("GET", "/v1/ns/g/graph/traverse?start=User/a&max_depth=5000").status, 400);
  EXPECT_EQ(Call("POST", "/v1/ns/g/graph/batch", R"({"ids":["User/a"],"direction":"up"})").status, 400);
  EXPECT_EQ(Call("POST", "/v1/ns/g/graph/edges", R"({"from":"User/a","type":"x"})").status, 400);
}

TEST_F(ServerTest, BlobsRangeEtagSignedUrls) {
  std::string bytes(300000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 3);
  Json info = Must(201, "PUT", "/v1/ns/b/blobs/dir/data.bin", bytes, {{"X-Dotdo-Metadata", R"({"owner":"ada"})"}},
                   "application/octet-stream");
  EXPECT_EQ(info["size"], bytes.size());
  EXPECT_EQ(info["metadata"]["owner"], "ada");
  HttpReply whole = Call("GET", "/v1/ns/b/blobs/dir/data.bin");
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body, bytes);
  const std::string etag = whole.Header("ETag");
  EXPECT_EQ(etag, "\"" + info["hash"].get<std::string>() + "\"");
  HttpReply part = Call("GET", "/v1/ns/b/blobs/dir/data.bin", "", {{"Range", "bytes=1000-1999"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, bytes.substr(1000, 1000));
  EXPECT_EQ(part.Header("Content-Range"), "bytes 1000-1999/300000");
  EXPECT_EQ(Call("GET", "/v1/ns/b/blobs/dir/data.bin", "", {{"Range", "bytes=299990-"}}).body, bytes.substr(299990));
  EXPECT_EQ(Call("GET", "/v1/ns/b/blobs/dir/data.bin", "", {{"Range", "bytes=400000-500000"}}).status, 416);
  EXPECT_EQ(Call("GET", "/v1/ns/b/blobs/dir/data.bin", "", {{"If-None-Match", etag}}).status, 304);
  HttpReply head = Call("HEAD", "/v1/ns/b/blobs/dir/data.bin");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), "300000");
  Must(201, "PUT", "/v1/ns/b/blobs/dir/b.txt", "hi", {}, "text/plain");
  EXPECT_EQ(Must(200, "GET", "/v1/ns/b/blobs?prefix=dir/&limit=10")["items"].size(), 2u);
  EXPECT_EQ(Must(200, "POST", "/v1/ns/b/blobs/query", R"({"where":{"metadata.owner":"ada"}})")["items"].size(), 1u);

  // Presigned GET: served without a token, refused when altered.
  std::string url = Must(200, "POST", "/v1/ns/b/signed-urls", R"({"key":"dir/b.txt"})")["url"];
  EXPECT_EQ(Call("GET", url).body, "hi");
  EXPECT_EQ(Call("GET", url.substr(0, url.size() - 2) + "00").status, 403);
  // Presigned PUT: the size limit and the signature hold.
  std::string up = Must(200, "POST", "/v1/ns/b/upload-urls", R"({"key":"up/x.txt","max_size":10})")["url"];
  EXPECT_EQ(Call("PUT", up, "0123456789abcdef", {}, "text/plain").status, 403);
  EXPECT_EQ(Call("PUT", up, "small", {}, "text/plain").status, 201);
  EXPECT_EQ(Call("GET", "/v1/ns/b/blobs/up/x.txt").body, "small");
  EXPECT_EQ(Call("PUT", "/v1/ns/b/signed/up/x.txt?X-Dotdo-Method=PUT", "x").status, 403);

  Must(200, "DELETE", "/v1/ns/b/blobs/dir/b.txt");
  EXPECT_EQ(Call("GET", "/v1/ns/b/blobs/dir/b.txt").status, 404);
  EXPECT_EQ(Call("POST", "/v1/ns/b/signed-urls", R"({"nokey":1})").status, 400);
}

TEST_F(ServerTest, EventsSqlNamespacesStreamAndTimeSeries) {
  Must(201, "POST", "/v1/ns/e/docs", R"({"$type":"T","$id":"1"})");
  Must(201, "POST", "/v1/ns/e/docs", R"({"$type":"T","$id":"2"})");
  Json events = Must(200, "GET", "/v1/ns/e/events?after=1&limit=10");
  ASSERT_EQ(events["events"].size(), 1u);
  EXPECT_EQ(events["events"][0]["lsn"], 2);
  EXPECT_EQ(events["last_lsn"], 2);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/e/events?global=true")["events"][0]["key"], "e/T/1");
  EXPECT_EQ(Call("GET", "/v1/ns/e/events?after=-1").status, 400);
  EXPECT_EQ(Call("GET", "/v1/ns/e/events?limit=0").status, 400);

  EXPECT_EQ(Must(200, "POST", "/v1/ns/e/sql", R"({"sql":"SELECT count(*) AS n FROM doc_documents WHERE json_extract(data,'$.x') IS ?1","params":[null]})")["rows"][0]["n"], 2);
  EXPECT_EQ(Call("POST", "/v1/ns/e/sql", R"({"sql":"DELETE FROM doc_documents"})").status, 400);
  EXPECT_EQ(Call("POST", "/v1/ns/e/sql", R"({"sql":"SELECT 1 FROM doc_documents","max_rows":1})").status, 413);
  EXPECT_EQ(Call("POST", "/v1/ns/e/sql", R"({"query":"x"})").status, 400);

  Json list = Must(200, "GET", "/v1/namespaces");
  EXPECT_THAT(list["namespaces"].get<std::vector<std::string>>(), ::testing::Contains("e"));
  Json info = Must(200, "GET", "/v1/ns/e");
  EXPECT_EQ(info["last_lsn"], 2);
  EXPECT_GT(info["stats"]["rows_written"].get<int64_t>(), 0);
  EXPECT_EQ(Must(200, "GET", "/v1/health")["ok"], true);

  Must(201, "POST", "/v1/ns/e/stream/topics", R"({"topic":"orders","partitions":2})");
  EXPECT_EQ(Must(200, "GET", "/v1/ns/e/stream/topics")["topics"][0], "orders");
  EXPECT_EQ(Must(200, "GET", "/v1/ns/e/stream/topics/orders")["partitions"], 2);
  Json sent = Must(201, "POST", "/v1/ns/e/stream/topics/orders/records",
                   R"({"records":[{"key":"k","value":"v1","partition":1},{"value":"v2","partition":1}]})");
  EXPECT_EQ(sent["records"][1]["offset"], 1);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/e/stream/topics/orders/records?partition=1&offset=0")["records"].size(), 2u);
  EXPECT_EQ(Call("GET", "/v1/ns/e/stream/topics/orders/records?partition=1&offset=9").status, 400);
  EXPECT_EQ(Call("POST", "/v1/ns/e/stream/topics", R"({"topic":"orders"})").status, 409);

  Must(201, "POST", "/v1/ns/e/ts/cpu/points", R"({"tags":{"host":"a"},"points":[{"ts":1000,"value":1},{"ts":2000,"value":3}]})");
  EXPECT_EQ(Must(200, "GET", "/v1/ns/e/ts/cpu/latest?tags=" + Enc(R"({"host":"a"})"))["value"], 3);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/e/ts/cpu/latest?at=1500&tags=" + Enc(R"({"host":"a"})"))["value"], 1);
  EXPECT_EQ(Must(200, "GET", "/v1/ns/e/ts/cpu/points?start=0&end=5000&tags=" + Enc(R"({"host":"a"})"))["points"].size(), 2u);
  Json agg = Must(200, "GET", "/v1/ns/e/ts/cpu/aggregate?metrics=sum,max&tags=" + Enc(R"({"host":"a"})"));
  EXPECT_EQ(agg["buckets"][0]["sum"], 4);
  EXPECT_EQ(agg["buckets"][0]["max"], 3);
  EXPECT_EQ(Call("POST", "/v1/ns/e/ts/cpu/points", R"({"points":[{"ts":"x","value":1}]})").status, 400);
}

TEST(ServerErrorsTest, EveryErrorStatusHasAJsonBody) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  o.max_upload_bytes = 5000;
  o.max_header_bytes = 2000;
  o.max_json_depth = 8;
  o.threads = 4;
  o.max_event_streams = 1;
  TestServer s(o);
  DOTDO_ASSERT_OK(s.Start());
  const auto expect = [&](const HttpReply& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.ErrorCode(), code) << r.body;
    EXPECT_FALSE(r.json["error"].value("message", "").empty());
  };
  expect(s.Call("POST", "/v1/ns/x/docs", "{not json"), 400, "INVALID_ARGUMENT");
  expect(s.Call("POST", "/v1/ns/x/docs", R"({"$type":"T","a":[[[[[[[[[1]]]]]]]]]})"), 400, "INVALID_ARGUMENT");
  expect(s.Call("GET", "/v1/ns/x/types/T/docs?limit=abc"), 400, "INVALID_ARGUMENT");
  expect(s.Call("GET", "/v1/ns/bad..name!/docs/1"), 400, "INVALID_ARGUMENT");  // the namespace grammar
  expect(s.Call("GET", "/v1/ns/x/docs/missing"), 404, "NOT_FOUND");     // missing namespace
  expect(s.Call("GET", "/v1/nothing/here"), 404, "NOT_FOUND");
  EXPECT_EQ(s.Call("POST", "/v1/ns/x/docs", R"({"$type":"T","$id":"a","n":1})").status, 201);
  expect(s.Call("POST", "/v1/ns/x/docs", R"({"$type":"T","$id":"a"})"), 409, "ALREADY_EXISTS");
  expect(s.Call("PATCH", "/v1/ns/x/docs/a", R"([{"op":"test","path":"/n","value":2}])", {},
                "application/json-patch+json"),
         412, "FAILED_PRECONDITION");
  expect(s.Call("POST", "/v1/ns/x/docs", R"({"$type":"T","pad":")" + std::string(2000, 'p') + "\"}"), 413,
         "RESOURCE_EXHAUSTED");
  expect(s.Call("PUT", "/v1/ns/x/blobs/big", std::string(6000, 'b'), {}, "application/octet-stream"), 413,
         "RESOURCE_EXHAUSTED");
  expect(s.Call("GET", "/v1/ns/x/docs/a", "", {{"X-Big", std::string(2500, 'h')}}), 431, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(s.Call("GET", "/v1/ns/x/docs/a").status, 200);  // the server is fine afterwards
  // One SSE stream is allowed; the second is 503 while the first is open.
  // The first client keeps its stream open until the second request has its answer (then hangs
  // up at the next keepalive): hanging up earlier would free the slot before the second arrives.
  auto c = s.Client();
  std::atomic<bool> got_first{false}, second_done{false};
  std::thread first([&] {
    c->Get("/v1/ns/x/events/stream?after=0", [&](const char*, size_t) {
      got_first = true;
      return !second_done.load();
    });
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!got_first && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!got_first) second_done = true;
  ASSERT_TRUE(got_first) << "the first event stream never answered";
  HttpReply second = s.Call("GET", "/v1/ns/x/events/stream?after=0");
  second_done = true;
  first.join();
  expect(second, 503, "UNAVAILABLE");
  // Every request got an access-log line with the route, namespace and status.
  auto log = s.Log();
  ASSERT_FALSE(log.empty());
  Json line = internal::ParseJson(log.front(), "log").value();
  for (const char* field : {"ts", "method", "path", "route", "ns", "status", "ms", "rows_read", "rows_written"})
    EXPECT_TRUE(line.contains(field)) << field << " in " << log.front();
}

// Failures inside the engine: an I/O error on a commit is 503 UNAVAILABLE (transient: the write is
// rolled back and the next one succeeds); a namespace whose file is corrupt is 500 DATA_LOSS, every
// time it is asked for. Both with the one JSON error body, and the server keeps serving.
TEST(ServerErrorsTest, EngineFailuresAnswer503Or500AndTheServerStaysUp) {
  auto& vfs = internal::FaultInjectionVfs::Instance();
  vfs.Reset();
  TestServer s({}, {}, DatabaseOptions{.vfs = internal::FaultInjectionVfs::kName});
  DOTDO_ASSERT_OK(s.Start());
  const auto expect_error = [](const HttpReply& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.ErrorCode(), code) << r.body;
    EXPECT_FALSE(r.json["error"].value("message", "").empty()) << r.body;
    EXPECT_EQ(r.json.size(), 1u) << r.body;  // nothing but "error"
    EXPECT_THAT(r.Header("Content-Type"), HasSubstr("application/json"));
  };
  ASSERT_EQ(s.Call("POST", "/v1/ns/io/docs", R"({"$type":"T","$id":"before"})").status, 201);
  vfs.Arm({.op = internal::FaultOp::kWrite, .error = internal::FaultError::kIoError});
  expect_error(s.Call("POST", "/v1/ns/io/docs", R"({"$type":"T","$id":"lost"})"), 503, "UNAVAILABLE");
  EXPECT_EQ(vfs.injected(), 1);
  vfs.Disarm();
  EXPECT_EQ(s.Call("POST", "/v1/ns/io/docs", R"({"$type":"T","$id":"after"})").status, 201);
  EXPECT_EQ(s.Call("GET", "/v1/ns/io/docs/lost").status, 404);
  EXPECT_EQ(s.Call("GET", "/v1/ns/io/docs/after").status, 200);
  EXPECT_EQ(s.Call("GET", "/v1/ns/io/events?after=0").json["last_lsn"], 2);  // no event for the failed write

  // Corrupt every page of a closed namespace's file (its 100-byte header stays valid).
  ASSERT_EQ(s.Call("POST", "/v1/ns/broken/docs", R"({"$type":"T","$id":"x"})").status, 201);
  ASSERT_TRUE(s.host().Close("broken"));
  const auto file = s.host().Layout("broken").value().database_file;
  const auto size = std::filesystem::file_size(file);
  ASSERT_GT(size, 100u);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    const std::string garbage(size - 100, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    expect_error(s.Call("GET", "/v1/ns/broken/docs/x"), 500, "DATA_LOSS");
    EXPECT_EQ(s.Call("GET", "/v1/health").status, 200);
    EXPECT_EQ(s.Call("GET", "/v1/ns/io/docs/before").status, 200);
  }
  vfs.Reset();
}

TEST(ServerAuthTest, TokenMatrixNamespaceTimesRole) {
  TestServer s;
  DOTDO_ASSERT_OK(s.Start());
  // Without any token a loopback server is open.
  EXPECT_EQ(s.Call("POST", "/v1/ns/a/docs", R"({"$type":"T","$id":"seed"})").status, 201);
  std::map<std::string, std::string> tok;
  for (const std::string ns : {"a", "*"}) {
    for (TokenRole role : {TokenRole::kRead, TokenRole::kWrite, TokenRole::kAdmin}) {
      DOTDO_ASSERT_OK_AND_ASSIGN(auto created, s.tokens().Create(ns, role, "test"));
      tok[ns + ":" + std::string(TokenRoleName(role))] = created.token;
    }
  }
  // Now that tokens exist, every API request needs one.
  HttpReply anon = s.Call("GET", "/v1/ns/a/docs/seed");
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.ErrorCode(), "UNAUTHENTICATED");
  EXPECT_EQ(anon.Header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(s.Call("GET", "/v1/health").status, 200);
  EXPECT_EQ(s.Call("GET", "/v1/ns/a/docs/seed", "", {{"Authorization", "Basic xyz"}}).status, 401);
  EXPECT_EQ(s.Call("GET", "/v1/ns/a/docs/seed", "", Bearer("dd_0000000000000000_" + std::string(64, '0'))).status, 401);

  struct RouteCase {
    std::string method, path, body;
    int role;  // 0 read, 1 write, 2 admin
    int ok_status;
  };
  const std::vector<RouteCase> routes = {
      {"GET", "/v1/ns/{ns}/docs/seed", "", 0, 200},
      {"POST", "/v1/ns/{ns}/docs", R"({"$type":"T"})", 1, 201},
      {"POST", "/v1/ns/{ns}/types/T/indexes", R"({"path":"x"})", 2, 200},
  };
  int i = 0;
  for (const std::string token_ns : {"a", "*"}) {
    for (int role = 0; role < 3; ++role) {
      const std::string t = tok[token_ns + ":" + std::string(TokenRoleName(static_cast<TokenRole>(role)))];
      for (const std::string ns : {"a", "b"}) {
        if (ns == "b" && i++ == 0) {
          ASSERT_EQ(s.Call("POST", "/v1/ns/b/docs", R"({"$type":"T","$id":"seed"})", Bearer(tok["*:write"])).status, 201);
        }
        for (const auto& rc : routes) {
          std::string path = rc.path;
          path.replace(path.find("{ns}"), 4, ns);
          const bool scope_ok = token_ns == "*" || token_ns == ns;
          const int want = !scope_ok ? 403 : role < rc.role ? 403 : rc.ok_status;
          EXPECT_EQ(s.Call(rc.method, path, rc.body, Bearer(t)).status, want)
              << "token " << token_ns << "/" << role << " on " << rc.method << " " << path;
        }
      }
    }
  }
  // The namespace list: a token scoped to one namespace sees that one only; a "*" token every one.
  for (const std::string token_ns : {"a", "*"}) {
    for (TokenRole role : {TokenRole::kRead, TokenRole::kWrite, TokenRole::kAdmin}) {
      HttpReply r = s.Call("GET", "/v1/namespaces", "", Bearer(tok[token_ns + ":" + std::string(TokenRoleName(role))]));
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.json["namespaces"], token_ns == "*" ? Json::array({"a", "b"}) : Json::array({"a"})) << token_ns;
      for (const auto& open : r.json["open"]) EXPECT_TRUE(token_ns == "*" || open == "a") << r.body;
      EXPECT_EQ(r.json.contains("host"), token_ns == "*") << r.body;
    }
  }
  EXPECT_EQ(s.Call("GET", "/v1/namespaces").status, 401);
  // Revoked: refused at once.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto list, s.tokens().List());
  ASSERT_EQ(list.size(), 6u);
  const std::string admin = tok["*:admin"];
  DOTDO_ASSERT_OK(s.tokens().Revoke(admin.substr(3, 16)));
  EXPECT_EQ(s.Call("GET", "/v1/ns/a/docs/seed", "", Bearer(admin)).status, 401);
  EXPECT_THAT(s.tokens().Revoke(admin.substr(3, 16)), StatusIs(StatusCode::kNotFound));
  // The token also works as access_token (EventSource cannot send headers).
  EXPECT_EQ(s.Call("GET", "/v1/ns/a/docs/seed?access_token=" + tok["a:read"]).status, 200);
}

TEST(ServerAuthTest, TokenStoreKeepsOnlyHashesAndValidates) {
  ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto store, TokenStore::Open(dir.path()));
  DOTDO_ASSERT_OK_AND_ASSIGN(bool any, store->Any());
  EXPECT_FALSE(any);
  EXPECT_THAT(store->Create("../etc", TokenRole::kRead), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store->Create("a", TokenRole::kRead, std::string(201, 'l')), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTokenRole("root"), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto created, store->Create("a", TokenRole::kWrite, "ci"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, store->Authenticate(created.token));
  EXPECT_EQ(info.ns, "a");
  EXPECT_EQ(info.role, TokenRole::kWrite);
  std::string tampered = created.token;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_THAT(store->Authenticate(tampered), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store->Authenticate("short"), StatusIs(StatusCode::kNotFound));
  store.reset();
  // Neither the file nor its WAL holds the secret part of the token.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "auth")) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(created.token.substr(20)), std::string::npos) << entry.path();
  }
  EXPECT_EQ(std::filesystem::status(dir.path() / "auth").permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none);
}

TEST(ServerAuthTest, NonLoopbackNeedsTokensAndBadOptionsAreRefused) {
  ServerOptions o;
  o.listen = "0.0.0.0:0";
  TestServer s(o);
  EXPECT_THAT(s.Start(), StatusIs(StatusCode::kFailedPrecondition));
  ScratchDir dir;
  auto host = NamespaceHost::Open({.data_dir = dir.path()}).value();
  auto tokens = TokenStore::Open(dir.path()).value();
  for (const std::string listen : {"nocolon", "127.0.0.1:99999", "127.0.0.1:x"}) {
    EXPECT_THAT(Server::Create(*host, *tokens, {.listen = listen}), StatusIs(StatusCode::kInvalidArgument)) << listen;
  }
  EXPECT_THAT(Server::Create(*host, *tokens, {.threads = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Server::Create(*host, *tokens, {.max_json_depth = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Server::Create(*host, *tokens, {.web_root = dir.path() / "missing"}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ServerInternalsTest, AppendJsonStringWritesWhatDumpJsonWrites) {
  for (const std::string& s : std::vector<std::string>{"", "plain ASCII", "q\"uote b\\ack", std::string("\x01\x1f\n\t\r\b\f\x00z", 9), "\x7f",
                              "caf\xc3\xa9 \"", "bad \xff UTF-8"}) {
    std::string out = "prefix";
    internal::AppendJsonString(out, s);
    EXPECT_EQ(out, "prefix" + internal::DumpJson(Json(s))) << s;
  }
}

TEST(ServerConsoleTest, ServesTheWebConsoleAtRoot) {
  ScratchDir web;
  std::ofstream(web.path() / "index.html") << "<!doctype html><title>dotdo</title>";
  ServerOptions o;
  o.web_root = web.path();
  TestServer s(o);
  DOTDO_ASSERT_OK(s.Start());
  HttpReply r = s.Call("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("<title>dotdo</title>"));
  EXPECT_THAT(r.Header("Content-Type"), HasSubstr("text/html"));
}

}  // namespace
}  // namespace dotdo::testing
