// dotdo-bench server: the HTTP API on loopback.
//   get_http          documents/s of GET /v1/ns/bench/docs/<id> over 8 keep-alive connections, against
//                     the same framework (a cpp-httplib server with the same thread count) answering a
//                     constant JSON body of the same size: the framework's ceiling. Target ratio >= 0.5.
//   graph_batch_http  one POST .../graph/batch for 1000 node ids against 1000 GET .../graph/out
//                     requests over the same keep-alive connection. Target ratio >= 5.
// Both sides are checked to return the same results (a mismatch fails the run, also in --quick).
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <thread>

#include "bench.h"
#include "core/json.h"
#include "dotdo/server.h"

namespace dotdo::bench {
namespace {

constexpr int kConnections = 8;
constexpr int kServerThreads = 16;

// `total` GETs spread over kConnections keep-alive clients; returns seconds, counts failures.
double GetLoad(int port, const std::vector<std::string>& paths, int64_t total, std::atomic<int64_t>& failures) {
  std::vector<std::thread> clients;
  const double t0 = NowSeconds();
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      for (int64_t i = c; i < total; i += kConnections) {
        auto r = client.Get(paths[static_cast<size_t>(i) % paths.size()]);
        if (!r || r->status != 200) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  return NowSeconds() - t0;
}

}  // namespace

DOTDO_BENCH_SUITE(server) {
  const int64_t docs = options.quick ? 200 : 2000;
  const int64_t gets = options.quick ? 4000 : 100000;
  const int rounds = options.quick ? 1 : 3;
  std::filesystem::create_directories(options.data_dir);
  NamespaceHostOptions ho;
  ho.data_dir = options.data_dir;
  auto host = NamespaceHost::Open(ho).value();
  auto tokens = TokenStore::Open(options.data_dir).value();
  ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.threads = kServerThreads;
  so.access_log = [](const std::string&) {};
  auto server = Server::Create(*host, *tokens, so).value();
  if (!server->Bind().ok()) return 1;
  std::thread serving([&] { (void)server->Run(); });

  // Seed documents and the graph through the API itself.
  httplib::Client setup("127.0.0.1", server->port());
  std::vector<std::string> paths;
  std::string sample_body;
  for (int64_t i = 0; i < docs; ++i) {
    Json doc = {{"$type", "Item"}, {"$id", "i" + std::to_string(i)}, {"n", i}, {"name", "item " + std::to_string(i)}};
    auto r = setup.Post("/v1/ns/bench/docs", internal::DumpJson(doc), "application/json");
    if (!r || r->status != 201) {
      std::cerr << "server bench: seeding failed\n";
      return 1;
    }
    paths.push_back("/v1/ns/bench/docs/i" + std::to_string(i));
    sample_body = r->body;
  }
  constexpr int kNodes = 1000, kEdgesPerNode = 3;
  Json edges = Json::array();
  for (int i = 0; i < kNodes; ++i)
    for (int k = 1; k <= kEdgesPerNode; ++k)
      edges.push_back({{"from", "N/" + std::to_string(i)}, {"to", "N/" + std::to_string((i + k * 7) % kNodes)}, {"type", "links"}});
  auto rel = setup.Post("/v1/ns/bench/graph/edges/batch", internal::DumpJson(Json{{"edges", edges}}), "application/json");
  if (!rel || rel->status != 201) return 1;

  // The framework's ceiling: the same library and thread count, a constant body of the same size.
  httplib::Server constant;
  constant.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  constant.set_keep_alive_max_count(1000);
  constant.set_tcp_nodelay(true);
  constant.Get(R"(/v1/ns/bench/docs/([^/]+))", [&sample_body](const httplib::Request&, httplib::Response& res) {
    res.set_content(sample_body, "application/json");
  });
  const int constant_port = constant.bind_to_any_port("127.0.0.1");
  std::thread constant_serving([&] { constant.listen_after_bind(); });

  std::atomic<int64_t> failures{0};
  Interleaved get{};
  for (int i = 0; i < rounds; ++i) {
    get.ours = std::min(get.ours, GetLoad(server->port(), paths, gets, failures));
    get.baseline = std::min(get.baseline, GetLoad(constant_port, paths, gets, failures));
  }
  Report({"server", "get_http", "docs_per_s", "httplib_constant_body", gets / get.ours, gets / get.baseline, true,
          std::to_string(kConnections) + " keep-alive connections, " + std::to_string(gets) + " GETs of " +
              std::to_string(docs) + " documents (" + std::to_string(sample_body.size()) +
              " B each), server threads " + std::to_string(kServerThreads) + ", access log off; target ratio >= 0.5"});

  // One batch of 1000 ids vs 1000 single requests over one keep-alive connection.
  Json ids = Json::array();
  for (int i = 0; i < kNodes; ++i) ids.push_back("N/" + std::to_string(i));
  const std::string batch_body = internal::DumpJson(Json{{"ids", ids}, {"direction", "out"}, {"limit", 100}});
  httplib::Client conn("127.0.0.1", server->port());
  conn.set_keep_alive(true);
  conn.set_tcp_nodelay(true);
  Json batch_edges, single_edges = Json::object();
  const int batch_rounds = options.quick ? 2 : 10;
  Interleaved graph{};
  for (int round = 0; round < batch_rounds; ++round) {
    graph.ours = std::min(graph.ours, TimeIt([&] {
      auto r = conn.Post("/v1/ns/bench/graph/batch", batch_body, "application/json");
      if (!r || r->status != 200) ++failures;
      else batch_edges = internal::ParseJson(r->body, "batch").value()["edges"];
    }));
    graph.baseline = std::min(graph.baseline, TimeIt([&] {
      for (int i = 0; i < kNodes; ++i) {
        const std::string id = "N/" + std::to_string(i);
        auto r = conn.Get("/v1/ns/bench/graph/out?node=" + id + "&limit=100");
        if (!r || r->status != 200) {
          ++failures;
          continue;
        }
        single_edges[id] = internal::ParseJson(r->body, "out").value()["items"];
      }
    }));
  }
  Report({"server", "graph_batch_http", "batches_per_s", "http_n_plus_1", 1 / graph.ours, 1 / graph.baseline, true,
          std::to_string(kNodes) + " ids x " + std::to_string(kEdgesPerNode) +
              " out-edges: one POST /graph/batch vs 1000 GET /graph/out on the same keep-alive connection; "
              "target ratio >= 5"});

  server->Stop();
  serving.join();
  constant.stop();
  constant_serving.join();
  if (failures > 0) {
    std::cerr << "server bench: " << failures << " requests failed\n";
    return 1;
  }
  if (batch_edges != single_edges) {
    std::cerr << "server bench: the batch and the single requests returned different edges\n";
    return 1;
  }
  return 0;
}

}  // namespace dotdo::bench
