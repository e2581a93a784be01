// dotdo-bench timeseries: TimeSeriesStore against a row-per-point SQLite table indexed on
// (series, ts), doing the same work in the same run on the same data.
//
// Data: 1000 series ("cpu" with tag host=h0000..h0999), 10M points in full (10,000 per series,
// one every 260 s — 30 days), 200k with --quick (200 per series). Timestamps are regular with a
// jitter of up to ±999 ms on 10% of them. Values by series (i % 4): an integer gauge doing a random
// walk, a monotonic counter, a gauge with two decimals (sine plus noise, rounded), and a status
// value that changes rarely — the mix of a host-metrics workload. Ingest is time-ordered: batch b
// holds the next 10 samples of every series (10,000 points per batch).
//
// Baseline ("sqlite_rows"): its own connection (WAL, synchronous=NORMAL like ours) to a table
// points(series INTEGER, ts INTEGER, value REAL) with a UNIQUE index on (series, ts), written with
// INSERT OR REPLACE (last write wins, as ours) in one transaction per batch. Ours runs through the
// public API with its CDC event per batch.
//
// Cases: ingest (points/s), disk_bytes (file size after a WAL checkpoint; ratio = baseline ÷
// ours), range_scan (points/s reading whole series), aggregate_1h (series/s: 1-hour buckets of
// count/sum/min/max/avg over the whole span of a series). Both sides' results are compared and a
// mismatch fails the run. aggregate_1h_vs_duckdb (informational): the same 1-hour aggregate in
// DuckDB (C API, an in-memory table points(series, ts, value) appended from the same batches, its
// default threads), results compared too; reported as not measured when DuckDB is not in the build.
#include <sqlite3.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench.h"
#include "dotdo/database.h"
#include "dotdo/timeseries.h"

#ifdef DOTDO_HAVE_DUCKDB
#include <duckdb.h>
#endif

namespace dotdo::bench {
namespace {

constexpr int kSeries = 1000;
constexpr int kPerBatch = 10;  // samples per series per batch
constexpr int64_t kT0 = 1'700'000'000'000 - 1'700'000'000'000 % 3'600'000;
constexpr int64_t kStep = 260'000;

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

std::string Host(int s) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "h%04d", s);
  return buf;
}

// Generates the samples of every series, step by step.
class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed), value_(kSeries, 0) {
    for (int s = 0; s < kSeries; ++s) value_[s] = static_cast<double>(1000 + rng_() % 5000);
  }
  // Sample `step` of series s (call with step increasing).
  TimeSample Next(int s, int64_t step) {
    int64_t ts = kT0 + step * kStep;
    if (rng_() % 10 == 0) ts += static_cast<int64_t>(rng_() % 1999) - 999;
    double& v = value_[s];
    switch (s % 4) {
      case 0: v += static_cast<double>(static_cast<int64_t>(rng_() % 11) - 5); break;
      case 1: v += static_cast<double>(rng_() % 100); break;
      case 2:
        v = std::round((50 + 20 * std::sin(static_cast<double>(step) / 50.0) + static_cast<double>(rng_() % 100) / 50.0) * 100) / 100;
        break;
      default:
        if (rng_() % 200 == 0) v = static_cast<double>(rng_() % 4);
    }
    return {ts, v};
  }

 private:
  std::mt19937_64 rng_;
  std::vector<double> value_;
};

class RowTable {
 public:
  explicit RowTable(const std::string& path) : path_(path) {
    Check(sqlite3_open(path.c_str(), &db_), db_, "open");
    Check(sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                            "CREATE TABLE points(series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);"
                            "CREATE UNIQUE INDEX points_series_ts ON points(series, ts);",
                       nullptr, nullptr, nullptr),
          db_, "schema");
    Check(sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO points(series, ts, value) VALUES (?1, ?2, ?3)", -1, &insert_, nullptr), db_, "prep");
    Check(sqlite3_prepare_v2(db_, "SELECT ts, value FROM points WHERE series = ?1 ORDER BY ts", -1, &scan_, nullptr), db_, "prep");
    Check(sqlite3_prepare_v2(db_, "SELECT ts / 3600000 * 3600000, COUNT(*), SUM(value), MIN(value), MAX(value), AVG(value) "
                                  "FROM points WHERE series = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY 1 ORDER BY 1",
                             -1, &agg_, nullptr),
          db_, "prep");
  }
  ~RowTable() {
    for (sqlite3_stmt* s : {insert_, scan_, agg_}) sqlite3_finalize(s);
    sqlite3_close(db_);
  }
  void Insert(const std::vector<std::pair<int, TimeSample>>& batch) {
    Check(sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr), db_, "begin");
    for (const auto& [s, p] : batch) {
      sqlite3_bind_int(insert_, 1, s);
      sqlite3_bind_int64(insert_, 2, p.ts);
      sqlite3_bind_double(insert_, 3, p.value);
      Check(sqlite3_step(insert_), db_, "insert");
      sqlite3_reset(insert_);
    }
    Check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), db_, "commit");
  }
  // Number of points and the sum of their values.
  std::pair<int64_t, double> Scan(int s) {
    sqlite3_bind_int(scan_, 1, s);
    int64_t n = 0;
    double sum = 0;
    while (sqlite3_step(scan_) == SQLITE_ROW) {
      ++n;
      sum += sqlite3_column_double(scan_, 1);
    }
    sqlite3_reset(scan_);
    return {n, sum};
  }
  std::vector<TimeSeriesBucket> Aggregate(int s, int64_t start, int64_t end) {
    sqlite3_bind_int(agg_, 1, s);
    sqlite3_bind_int64(agg_, 2, start);
    sqlite3_bind_int64(agg_, 3, end);
    std::vector<TimeSeriesBucket> out;
    while (sqlite3_step(agg_) == SQLITE_ROW) {
      out.push_back({sqlite3_column_int64(agg_, 0), sqlite3_column_int64(agg_, 1),
                     {static_cast<double>(sqlite3_column_int64(agg_, 1)), sqlite3_column_double(agg_, 2),
                      sqlite3_column_double(agg_, 3), sqlite3_column_double(agg_, 4), sqlite3_column_double(agg_, 5)}});
    }
    sqlite3_reset(agg_);
    return out;
  }
  void Checkpoint() { Check(sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), db_, "checkpoint"); }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt *insert_ = nullptr, *scan_ = nullptr, *agg_ = nullptr;
};

#ifdef DOTDO_HAVE_DUCKDB
// The points in DuckDB, for the informational aggregate comparison.
class DuckPoints {
 public:
  DuckPoints() {
    if (duckdb_open(nullptr, &db_) != DuckDBSuccess || duckdb_connect(db_, &con_) != DuckDBSuccess)
      throw std::runtime_error("duckdb open");
    duckdb_result res;
    if (duckdb_query(con_, "CREATE TABLE points (series INTEGER, ts BIGINT, value DOUBLE)", &res) != DuckDBSuccess)
      throw std::runtime_error(duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    if (duckdb_appender_create(con_, nullptr, "points", &app_) != DuckDBSuccess) throw std::runtime_error("duckdb appender");
  }
  ~DuckPoints() {
    duckdb_appender_destroy(&app_);
    duckdb_disconnect(&con_);
    duckdb_close(&db_);
  }
  void Insert(const std::vector<std::pair<int, TimeSample>>& batch) {
    for (const auto& [s, p] : batch) {
      duckdb_append_int32(app_, s);
      duckdb_append_int64(app_, p.ts);
      duckdb_append_double(app_, p.value);
      duckdb_appender_end_row(app_);
    }
    if (duckdb_appender_flush(app_) != DuckDBSuccess) throw std::runtime_error("duckdb flush");
  }
  std::vector<TimeSeriesBucket> Aggregate(int s, int64_t start, int64_t end) {
    const std::string sql = "SELECT (ts // 3600000) * 3600000 AS b, COUNT(*), SUM(value), MIN(value), MAX(value), AVG(value) "
                            "FROM points WHERE series = " + std::to_string(s) + " AND ts >= " + std::to_string(start) +
                            " AND ts < " + std::to_string(end) + " GROUP BY b ORDER BY b";
    duckdb_result res;
    if (duckdb_query(con_, sql.c_str(), &res) != DuckDBSuccess) throw std::runtime_error(duckdb_result_error(&res));
    std::vector<TimeSeriesBucket> out;
    for (idx_t i = 0, n = duckdb_row_count(&res); i < n; ++i)
      out.push_back({duckdb_value_int64(&res, 0, i), duckdb_value_int64(&res, 1, i),
                     {static_cast<double>(duckdb_value_int64(&res, 1, i)), duckdb_value_double(&res, 2, i),
                      duckdb_value_double(&res, 3, i), duckdb_value_double(&res, 4, i), duckdb_value_double(&res, 5, i)}});
    duckdb_destroy_result(&res);
    return out;
  }

 private:
  duckdb_database db_ = nullptr;
  duckdb_connection con_ = nullptr;
  duckdb_appender app_ = nullptr;
};
#endif

bool Close(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::max(std::fabs(a), std::fabs(b))); }

int Fail(const std::string& why) {
  std::fprintf(stderr, "timeseries bench failed: %s\n", why.c_str());
  return 1;
}

int64_t FileBytes(const std::filesystem::path& p) {
  std::error_code ec;
  int64_t n = 0;
  for (const char* suffix : {"", "-wal"}) {
    const auto size = std::filesystem::file_size(p.string() + suffix, ec);
    if (!ec) n += static_cast<int64_t>(size);
  }
  return n;
}

}  // namespace

DOTDO_BENCH_SUITE(timeseries) {
  try {
    const int64_t per_series = options.quick ? 200 : 10'000;
    const std::filesystem::path dir = options.data_dir;
    auto db_or = Database::Open(dir, "ts");
    if (!db_or.ok()) return Fail(db_or.status().ToString());
    std::unique_ptr<Database> db = std::move(*db_or);
    auto store_or = TimeSeriesStore::Open(*db);
    if (!store_or.ok()) return Fail(store_or.status().ToString());
    std::optional<TimeSeriesStore> ts(std::move(*store_or));
    RowTable rows((dir / "rows.sqlite").string());
#ifdef DOTDO_HAVE_DUCKDB
    DuckPoints duck;
#endif
    std::vector<TimeSeriesTags> tags(kSeries);
    for (int s = 0; s < kSeries; ++s) tags[s] = {{"host", Host(s)}};

    // ingest: batch by batch, ours then the baseline on the same batch.
    Workload work(options.seed);
    double ours_s = 0, base_s = 0;
    std::vector<TimeSeriesPoint> batch;
    std::vector<std::pair<int, TimeSample>> base_batch;
    for (int64_t step = 0; step < per_series; step += kPerBatch) {
      batch.clear();
      base_batch.clear();
      for (int64_t k = step; k < step + kPerBatch; ++k) {
        for (int s = 0; s < kSeries; ++s) {
          const TimeSample p = work.Next(s, k);
          batch.push_back({"cpu", tags[s], p.ts, p.value});
          base_batch.push_back({s, p});
        }
      }
      Status st;
      ours_s += TimeIt([&] { st = ts->PutBatch(batch).status(); });
      if (!st.ok()) return Fail(st.ToString());
      base_s += TimeIt([&] { rows.Insert(base_batch); });
#ifdef DOTDO_HAVE_DUCKDB
      duck.Insert(base_batch);
#endif
    }
    const double total = static_cast<double>(per_series) * kSeries;
    const std::string sizes = std::to_string(static_cast<int64_t>(total)) + " points, " + std::to_string(kSeries) +
                              " series, batches of " + std::to_string(kPerBatch * kSeries);
    Report({"timeseries", "ingest", "points_per_s", "sqlite_rows", total / ours_s, total / base_s, true, sizes});

    // disk_bytes
    rows.Checkpoint();
    ts.reset();
    db.reset();  // a clean close checkpoints the WAL into the file
    const double ours_bytes = static_cast<double>(FileBytes(dir / "ts.sqlite"));
    db_or = Database::Open(dir, "ts");
    if (!db_or.ok()) return Fail(db_or.status().ToString());
    db = std::move(*db_or);
    ts.emplace(*db);
    const double base_bytes = static_cast<double>(FileBytes(dir / "rows.sqlite"));
    Report({"timeseries", "disk_bytes", "bytes", "sqlite_rows", ours_bytes, base_bytes, false,
            "bytes per point: ours " + std::to_string(ours_bytes / total) + ", rows " + std::to_string(base_bytes / total)});

    // range_scan: whole series, every 20th series, checked against the baseline.
    const int probes = kSeries / 20;
    Status st;
    const auto scan_ours = [&](int s, int64_t& n, double& sum) {
      auto it = ts->Range("cpu", {}, tags[s]);
      if (!it.ok()) return st = it.status(), void();
      for (;;) {
        auto more = it->Next();
        if (!more.ok()) return st = more.status(), void();
        if (!*more) break;
        ++n;
        sum += it->sample().value;
      }
    };
    for (int s = 0; s < kSeries; s += 20) {
      int64_t n = 0;
      double sum = 0;
      scan_ours(s, n, sum);
      if (!st.ok()) return Fail(st.ToString());
      const auto [bn, bsum] = rows.Scan(s);
      if (n != bn || !Close(sum, bsum)) return Fail("range_scan differs for series " + std::to_string(s));
    }
    const int rounds = options.quick ? 3 : 5;
    auto scan = RunInterleaved(
        rounds,
        [&] {
          for (int s = 0; s < kSeries; s += 20) {
            int64_t n = 0;
            double sum = 0;
            scan_ours(s, n, sum);
          }
        },
        [&] {
          for (int s = 0; s < kSeries; s += 20) rows.Scan(s);
        });
    if (!st.ok()) return Fail(st.ToString());
    const double scanned = static_cast<double>(per_series) * probes;
    Report({"timeseries", "range_scan", "points_per_s", "sqlite_rows", scanned / scan.ours, scanned / scan.baseline, true,
            std::to_string(probes) + " whole series of " + std::to_string(per_series) + " points"});

    // aggregate_1h over the whole span of a series.
    const int64_t start = kT0 - 3'600'000, end = kT0 + (per_series + 1) * kStep;
    const TimeSeriesAggregateOptions agg{.start = start, .end = end, .bucket_ms = 3'600'000,
                                         .metrics = {"count", "sum", "min", "max", "avg"}};
    for (int s = 0; s < kSeries; s += 20) {
      auto a = ts->Aggregate("cpu", agg, tags[s]);
      if (!a.ok()) return Fail(a.status().ToString());
      const auto b = rows.Aggregate(s, start, end);
      if (a->buckets.size() != b.size()) return Fail("aggregate_1h: bucket counts differ");
      for (size_t i = 0; i < b.size(); ++i) {
        if (a->buckets[i].start != b[i].start || a->buckets[i].count != b[i].count) return Fail("aggregate_1h: buckets differ");
        for (size_t m = 0; m < 5; ++m)
          if (!Close(a->buckets[i].values[m], b[i].values[m])) return Fail("aggregate_1h: values differ");
      }
    }
    auto aggr = RunInterleaved(
        rounds,
        [&] {
          for (int s = 0; s < kSeries; s += 20) st = ts->Aggregate("cpu", agg, tags[s]).status();
        },
        [&] {
          for (int s = 0; s < kSeries; s += 20) rows.Aggregate(s, start, end);
        });
    if (!st.ok()) return Fail(st.ToString());
    Report({"timeseries", "aggregate_1h", "series_per_s", "sqlite_rows", probes / aggr.ours, probes / aggr.baseline, true,
            "1-hour buckets of count,sum,min,max,avg over " + std::to_string(per_series * kStep / 86'400'000) + " days per series"});
#ifdef DOTDO_HAVE_DUCKDB
    for (int s = 0; s < kSeries; s += 20) {
      auto a = ts->Aggregate("cpu", agg, tags[s]);
      if (!a.ok()) return Fail(a.status().ToString());
      const auto d = duck.Aggregate(s, start, end);
      if (a->buckets.size() != d.size()) return Fail("aggregate_1h_vs_duckdb: bucket counts differ");
      for (size_t i = 0; i < d.size(); ++i) {
        if (a->buckets[i].start != d[i].start || a->buckets[i].count != d[i].count) return Fail("aggregate_1h_vs_duckdb: buckets differ");
        for (size_t m = 0; m < 5; ++m)
          if (!Close(a->buckets[i].values[m], d[i].values[m])) return Fail("aggregate_1h_vs_duckdb: values differ");
      }
    }
    auto aggd = RunInterleaved(
        rounds,
        [&] {
          for (int s = 0; s < kSeries; s += 20) st = ts->Aggregate("cpu", agg, tags[s]).status();
        },
        [&] {
          for (int s = 0; s < kSeries; s += 20) duck.Aggregate(s, start, end);
        });
    if (!st.ok()) return Fail(st.ToString());
    Report({"timeseries", "aggregate_1h_vs_duckdb", "series_per_s", "duckdb", probes / aggd.ours, probes / aggd.baseline, true,
            "the same 1-hour buckets in DuckDB (in-memory table, default threads); informational"});
#else
    std::cout << R"({"suite":"timeseries","case":"aggregate_1h_vs_duckdb","metric":"not_measured","note":"DuckDB is not in this build; run scripts/setup.sh"})"
              << std::endl;
#endif
    return 0;
  } catch (const std::exception& e) {
    return Fail(e.what());
  }
}

}  // namespace dotdo::bench
