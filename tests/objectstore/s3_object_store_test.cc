// S3ObjectStore's own behaviour against a scripted HTTP responder on loopback: retries with backoff
// on 5xx / 429 / SlowDown, typed errors for 403 / 404 / 412, the If-None-Match header of native
// conditional writes, and option validation. (The ObjectStore contract itself runs against s3rver
// in object_store_test.cc.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "dotdo/object_store.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

// Answers each request (one per connection) with the next scripted status and body; after the
// script, 200 with an empty body. Records the request heads.
class ScriptedServer {
 public:
  ScriptedServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  void Script(std::vector<std::pair<int, std::string>> responses) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.assign(responses.begin(), responses.end());
    requests_.clear();
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(c, buf, sizeof(buf));
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      std::pair<int, std::string> r{200, ""};
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(head.substr(0, head.find("\r\n\r\n")));
        if (!script_.empty()) {
          r = script_.front();
          script_.pop_front();
        }
      }
      const std::string out = "HTTP/1.1 " + std::to_string(r.first) + " X\r\nContent-Length: " +
                              std::to_string(r.second.size()) + "\r\nConnection: close\r\n\r\n" + r.second;
      ssize_t unused = ::write(c, out.data(), out.size());
      (void)unused;
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::deque<std::pair<int, std::string>> script_;
  std::vector<std::string> requests_;
};

S3ObjectStoreOptions Options(const ScriptedServer& server) {
  S3ObjectStoreOptions o;
  o.endpoint = server.endpoint();
  o.bucket = "bucket";
  o.access_key_id = "AKIDEXAMPLE";
  o.secret_access_key = "secret";
  o.initial_backoff_ms = 1;
  o.max_backoff_ms = 4;
  o.max_attempts = 3;
  return o;
}

TEST(S3ObjectStoreTest, RetriesServerErrorsAndMapsStatusCodes) {
  ScriptedServer server;
  server.Script({{503, ""}, {500, "<Error><Code>InternalError</Code></Error>"}, {200, ""}});
  DOTDO_ASSERT_OK_AND_ASSIGN(auto store, OpenS3ObjectStore(Options(server)));
  EXPECT_EQ(server.requests().size(), 3u);  // two retries, then the bucket HEAD succeeded
  const auto first = server.requests().front();
  EXPECT_NE(first.find("HEAD /bucket"), std::string::npos);
  EXPECT_NE(first.find("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), std::string::npos);  // libcurl's signer
  EXPECT_NE(first.find("x-amz-content-sha256: e3b0c442"), std::string::npos);

  server.Script({{503, "<Error><Code>SlowDown</Code></Error>"}, {503, ""}, {503, ""}});
  EXPECT_THAT(store->Put("k", "v"), StatusIs(StatusCode::kUnavailable, "HTTP 503"));
  EXPECT_EQ(server.requests().size(), 3u);  // max_attempts
  server.Script({{429, ""}, {200, ""}});
  DOTDO_EXPECT_OK(store->Put("k", "v"));
  server.Script({{403, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"}});
  EXPECT_THAT(store->Get("k"), StatusIs(StatusCode::kPermissionDenied, "AccessDenied"));
  server.Script({{404, ""}});
  EXPECT_THAT(store->Head("k"), StatusIs(StatusCode::kNotFound));
  server.Script({{412, ""}});
  ObjectPutOptions create_only;
  create_only.if_none_match = true;
  EXPECT_THAT(store->Put("k", "v", create_only), StatusIs(StatusCode::kFailedPrecondition, "precondition failed (412)"));
  EXPECT_NE(server.requests().front().find("If-None-Match: *"), std::string::npos);  // native: sent to the service
  server.Script({{416, ""}});
  EXPECT_THAT(store->Get("k", {.offset = 5}), StatusIs(StatusCode::kOutOfRange));
  EXPECT_NE(server.requests().front().find("Range: bytes=5-"), std::string::npos);
}

TEST(S3ObjectStoreTest, OpenValidatesOptionsAndTheBucket) {
  ScriptedServer server;
  auto o = Options(server);
  o.bucket = "Bad_Bucket";
  EXPECT_THAT(OpenS3ObjectStore(o), StatusIs(StatusCode::kInvalidArgument, "bucket"));
  o = Options(server);
  o.endpoint = "ftp://x";
  EXPECT_THAT(OpenS3ObjectStore(o), StatusIs(StatusCode::kInvalidArgument, "endpoint"));
  o = Options(server);
  o.region = "us east";
  EXPECT_THAT(OpenS3ObjectStore(o), StatusIs(StatusCode::kInvalidArgument, "region"));
  o = Options(server);
  o.max_attempts = 0;
  EXPECT_THAT(OpenS3ObjectStore(o), StatusIs(StatusCode::kInvalidArgument, "max_attempts"));
  EXPECT_TRUE(server.requests().empty());  // nothing was sent for bad options
  server.Script({{404, ""}});
  EXPECT_THAT(OpenS3ObjectStore(Options(server)), StatusIs(StatusCode::kNotFound, "bucket 'bucket'"));
  server.Script({{403, ""}});
  EXPECT_THAT(OpenS3ObjectStore(Options(server)), StatusIs(StatusCode::kPermissionDenied));
  // Bad input to the store is refused before any request.
  server.Script({});
  DOTDO_ASSERT_OK_AND_ASSIGN(auto store, OpenS3ObjectStore(Options(server)));
  const size_t before = server.requests().size();
  ObjectPutOptions reserved;
  reserved.metadata = {{"dotdo-sha256", "x"}};
  EXPECT_THAT(store->Put("k", "v", reserved), StatusIs(StatusCode::kInvalidArgument, "reserved"));
  EXPECT_THAT(store->Put("../k", "v"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store->UploadPart("k", "../../etc", 1, "x"), StatusIs(StatusCode::kInvalidArgument, "upload id"));
  EXPECT_EQ(server.requests().size(), before);
}

}  // namespace
}  // namespace dotdo
