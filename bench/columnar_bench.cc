// dotdo-bench columnar: the ColumnarStore against (a) the same records in an ordinary indexed
// SQLite table (typed columns; indexes on (type, status), (type, ts) and email) and (b) DuckDB
// (C API, an in-memory table loaded from the same records, its default threads), all in the same
// run on the same data: N records (10M; --quick 200k; DOTDO_BENCH_COLUMNAR_RECORDS overrides) of 10
// types, 5 statuses, amounts, timestamps over 90 days and a unique email per record, inserted in
// batches of 100k in time order. DOTDO_BENCH_COLUMNAR_ROUNDS sets the interleaved rounds per case (3).
// Cases: aggregate_vs_sqlite / aggregate_vs_duckdb (per type: group by status, count, sum and avg
// of amount; queries/s), range_query_vs_sqlite (one type, a 2-hour window of $createdAt, returning
// $id, $createdAt, amount and status as vectors on both sides; queries/s), lookup_index_build (the
// email lookup index of every type: time and resident memory), point_lookup_vs_sqlite (one record
// by email through the lookup index; lookups/s), point_lookup_bloom_vs_sqlite (the same through the
// blooms alone), point_lookup_miss_vs_sqlite / _miss_bloom_vs_sqlite (an email no record has),
// disk_bytes (row table file / ours), row_writes_per_1000 (db.stats() for 1000 records into one
// partition). Every case checks that the sides return the same answer; a mismatch fails the run.
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#ifdef DOTDO_HAVE_DUCKDB
#include <duckdb.h>
#endif

#include "bench.h"
#include "dotdo/columnar.h"
#include "dotdo/database.h"

namespace dotdo::bench {
namespace {

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01
constexpr int64_t kSpan = 90LL * 86'400'000;
constexpr int kTypes = 10;
const char* kStatuses[] = {"paid", "open", "refunded", "shipped", "void"};

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Rec {
  std::string id, type, status, email;
  double amount;
  int64_t ts;
};

Rec Make(int64_t i, int64_t n) {
  const uint64_t h = Mix(static_cast<uint64_t>(i));
  return {"r" + std::to_string(i), "T" + std::to_string(h % kTypes), kStatuses[(h >> 8) % 5],
          "user" + std::to_string(i) + "@example.com", static_cast<double>((h >> 16) % 100000) / 100.0, kT0 + i * kSpan / n};
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

struct Agg {
  int64_t count = 0;
  double sum = 0, avg = 0;
};
using AggResult = std::map<std::string, Agg>;

bool SameAgg(const AggResult& a, const AggResult& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second.count != v.count) return false;
    if (std::abs(it->second.sum - v.sum) > 1e-6 * std::max(1.0, std::abs(v.sum))) return false;
    if (std::abs(it->second.avg - v.avg) > 1e-9 * std::max(1.0, std::abs(v.avg))) return false;
  }
  return true;
}

// A range query's answer, column by column.
struct RangeColumns {
  std::vector<std::string> ids, status;
  std::vector<int64_t> ts;
  std::vector<double> amount;
};

// The records of a range answer as (ts, id, amount, status), sorted, for comparing two sides.
using RangeRecords = std::vector<std::tuple<int64_t, std::string, double, std::string>>;

RangeRecords Sorted(const RangeColumns& c) {
  RangeRecords out;
  for (size_t i = 0; i < c.ids.size(); ++i) out.emplace_back(c.ts[i], c.ids[i], c.amount[i], c.status[i]);
  std::sort(out.begin(), out.end());
  return out;
}

class RowTable {
 public:
  explicit RowTable(const std::string& path) {
    Check(sqlite3_open(path.c_str(), &db_), db_, "open");
    Check(sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                            "CREATE TABLE rows (id TEXT PRIMARY KEY, type TEXT NOT NULL, ts INTEGER NOT NULL, status TEXT,"
                            " amount REAL, email TEXT);"
                            "CREATE INDEX rows_type_status ON rows (type, status); CREATE INDEX rows_type_ts ON rows (type, ts);"
                            "CREATE INDEX rows_email ON rows (email);", nullptr, nullptr, nullptr), db_, "schema");
    Check(sqlite3_prepare_v2(db_, "INSERT INTO rows VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &insert_, nullptr), db_, "prep");
    Check(sqlite3_prepare_v2(db_, "SELECT status, COUNT(*), SUM(amount), AVG(amount) FROM rows WHERE type = ?1 GROUP BY status",
                             -1, &agg_, nullptr), db_, "prep");
    Check(sqlite3_prepare_v2(db_, "SELECT id, ts, amount, status FROM rows WHERE type = ?1 AND ts >= ?2 AND ts < ?3", -1, &range_, nullptr),
          db_, "prep");
    Check(sqlite3_prepare_v2(db_, "SELECT id, type, ts, status, amount FROM rows WHERE email = ?1", -1, &point_, nullptr), db_, "prep");
  }
  ~RowTable() {
    for (sqlite3_stmt* s : {insert_, agg_, range_, point_}) sqlite3_finalize(s);
    sqlite3_close(db_);
  }
  void Insert(const std::vector<Rec>& batch) {
    Check(sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr), db_, "begin");
    for (const Rec& r : batch) {
      sqlite3_bind_text(insert_, 1, r.id.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(insert_, 2, r.type.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(insert_, 3, r.ts);
      sqlite3_bind_text(insert_, 4, r.status.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_double(insert_, 5, r.amount);
      sqlite3_bind_text(insert_, 6, r.email.c_str(), -1, SQLITE_STATIC);
      Check(sqlite3_step(insert_), db_, "insert");
      sqlite3_reset(insert_);
    }
    Check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), db_, "commit");
  }
  AggResult Aggregate(const std::string& type) {
    AggResult out;
    sqlite3_bind_text(agg_, 1, type.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(agg_) == SQLITE_ROW)
      out[reinterpret_cast<const char*>(sqlite3_column_text(agg_, 0))] = {sqlite3_column_int64(agg_, 1), sqlite3_column_double(agg_, 2),
                                                                           sqlite3_column_double(agg_, 3)};
    sqlite3_reset(agg_);
    return out;
  }
  // The window's records into plain vectors: the same values our columnar result holds.
  RangeColumns Range(const std::string& type, int64_t from, int64_t to) {
    RangeColumns out;
    sqlite3_bind_text(range_, 1, type.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(range_, 2, from);
    sqlite3_bind_int64(range_, 3, to);
    while (sqlite3_step(range_) == SQLITE_ROW) {
      out.ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(range_, 0)));
      out.ts.push_back(sqlite3_column_int64(range_, 1));
      out.amount.push_back(sqlite3_column_double(range_, 2));
      out.status.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(range_, 3)));
    }
    sqlite3_reset(range_);
    return out;
  }
  std::string Point(const std::string& email) {
    std::string id;
    sqlite3_bind_text(point_, 1, email.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(point_) == SQLITE_ROW) id = reinterpret_cast<const char*>(sqlite3_column_text(point_, 0));
    sqlite3_reset(point_);
    return id;
  }
  void Analyze() { Check(sqlite3_exec(db_, "ANALYZE", nullptr, nullptr, nullptr), db_, "analyze"); }
  void Checkpoint() { Check(sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), db_, "checkpoint"); }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt *insert_ = nullptr, *agg_ = nullptr, *range_ = nullptr, *point_ = nullptr;
};

#ifdef DOTDO_HAVE_DUCKDB
class DuckTable {
 public:
  DuckTable() {
    if (duckdb_open(nullptr, &db_) != DuckDBSuccess || duckdb_connect(db_, &con_) != DuckDBSuccess)
      throw std::runtime_error("duckdb open");
    Exec("CREATE TABLE rows (id VARCHAR, type VARCHAR, ts BIGINT, status VARCHAR, amount DOUBLE, email VARCHAR)");
    if (duckdb_appender_create(con_, nullptr, "rows", &app_) != DuckDBSuccess) throw std::runtime_error("duckdb appender");
  }
  ~DuckTable() {
    duckdb_appender_destroy(&app_);
    duckdb_disconnect(&con_);
    duckdb_close(&db_);
  }
  void Insert(const std::vector<Rec>& batch) {
    for (const Rec& r : batch) {
      duckdb_append_varchar(app_, r.id.c_str());
      duckdb_append_varchar(app_, r.type.c_str());
      duckdb_append_int64(app_, r.ts);
      duckdb_append_varchar(app_, r.status.c_str());
      duckdb_append_double(app_, r.amount);
      duckdb_append_varchar(app_, r.email.c_str());
      duckdb_appender_end_row(app_);
    }
    if (duckdb_appender_flush(app_) != DuckDBSuccess) throw std::runtime_error("duckdb flush");
  }
  AggResult Aggregate(const std::string& type) {
    duckdb_result res;
    const std::string sql = "SELECT status, COUNT(*), SUM(amount), AVG(amount) FROM rows WHERE type = '" + type + "' GROUP BY status";
    if (duckdb_query(con_, sql.c_str(), &res) != DuckDBSuccess) throw std::runtime_error(duckdb_result_error(&res));
    AggResult out;
    for (idx_t i = 0, n = duckdb_row_count(&res); i < n; ++i) {
      char* s = duckdb_value_varchar(&res, 0, i);
      out[s] = {duckdb_value_int64(&res, 1, i), duckdb_value_double(&res, 2, i), duckdb_value_double(&res, 3, i)};
      duckdb_free(s);
    }
    duckdb_destroy_result(&res);
    return out;
  }

 private:
  void Exec(const std::string& sql) {
    duckdb_result res;
    if (duckdb_query(con_, sql.c_str(), &res) != DuckDBSuccess) throw std::runtime_error(duckdb_result_error(&res));
    duckdb_destroy_result(&res);
  }
  duckdb_database db_ = nullptr;
  duckdb_connection con_ = nullptr;
  duckdb_appender app_ = nullptr;
};
#endif

std::string PerQuery(int64_t total, int queries) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(total) / queries);
  return buf;
}

int Fail(const std::string& why) {
  std::cerr << "columnar bench failed: " << why << std::endl;
  return 1;
}

// The database file plus its WAL (absent after a clean close).
int64_t FileBytes(const std::filesystem::path& db_file) {
  const std::filesystem::path wal = db_file.string() + "-wal";
  const auto main_bytes = static_cast<int64_t>(std::filesystem::file_size(db_file));
  return main_bytes + (std::filesystem::exists(wal) ? static_cast<int64_t>(std::filesystem::file_size(wal)) : 0);
}

// The process's resident memory (/proc/self/statm), 0 when unknown.
int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

std::vector<ColumnarRecord> ToRecords(const std::vector<Rec>& batch) {
  std::vector<ColumnarRecord> out;
  out.reserve(batch.size());
  for (const Rec& r : batch)
    out.push_back({.id = r.id, .type = r.type, .data = {{"status", r.status}, {"amount", r.amount}, {"email", r.email}}, .created_at = r.ts});
  return out;
}

Result<AggResult> OursAggregate(ColumnarStore& col, const std::string& type) {
  DOTDO_ASSIGN_OR_RETURN(auto r, col.Aggregate({.type = type, .group_by = {"status"}, .metrics = {"count", "sum:amount", "avg:amount"}}));
  AggResult out;
  for (const Json& g : r.groups)
    out[g["status"].get<std::string>()] = {g["count"].get<int64_t>(), g["sum:amount"].get<double>(), g["avg:amount"].get<double>()};
  return out;
}

}  // namespace

DOTDO_BENCH_SUITE(columnar) {
  try {
    int64_t n = options.quick ? 200'000 : 10'000'000;
    if (const char* env = std::getenv("DOTDO_BENCH_COLUMNAR_RECORDS")) n = std::max<int64_t>(10'000, std::atoll(env));
    const int64_t batch_size = 100'000;
    const std::filesystem::path dir = options.data_dir;
    auto db_or = Database::Open(dir, "col");
    if (!db_or.ok()) return Fail(db_or.status().ToString());
    std::unique_ptr<Database> db = std::move(*db_or);
    // Ours: a bloom and a lookup index on email (its email and $id groups are stored in blocks of
    // 128 rows for one-row reads).
    const ColumnarOptions ours_options{.bloom_columns = {"email"}, .lookup_columns = {"email"}};
    ColumnarStore col(*db, ours_options);
    RowTable rows((dir / "rows.sqlite").string());
#ifdef DOTDO_HAVE_DUCKDB
    DuckTable duck;
#endif
    double ours_s = 0, base_s = 0, duck_s = 0;
    for (int64_t b = 0; b < n; b += batch_size) {
      std::vector<Rec> batch;
      for (int64_t i = b; i < std::min(n, b + batch_size); ++i) batch.push_back(Make(i, n));
      std::vector<ColumnarRecord> recs = ToRecords(batch);
      Status st;
      ours_s += TimeIt([&] { st = col.InsertBatch(recs).status(); });
      if (!st.ok()) return Fail(st.ToString());
      base_s += TimeIt([&] { rows.Insert(batch); });
#ifdef DOTDO_HAVE_DUCKDB
      duck_s += TimeIt([&] { duck.Insert(batch); });
#endif
    }
    rows.Analyze();
    const std::string sizes = std::to_string(n) + " records, 10 types, 5 statuses, 90 days, batches of 100k";
    Report({"columnar", "insert", "records_per_s", "sqlite_indexed", static_cast<double>(n) / ours_s, static_cast<double>(n) / base_s,
            true, sizes + "; duckdb appender " + std::to_string(static_cast<int64_t>(static_cast<double>(n) / std::max(duck_s, 1e-9))) + "/s"});

    // DOTDO_BENCH_COLUMNAR_CASES: a comma-separated subset of aggregate, range, point (default all),
    // e.g. to profile one of them; the load, disk_bytes and row_writes_per_1000 always run.
    const std::string cases = std::getenv("DOTDO_BENCH_COLUMNAR_CASES") ? std::getenv("DOTDO_BENCH_COLUMNAR_CASES") : "aggregate,range,point";
    auto wanted = [&](const char* c) { return ("," + cases + ",").find("," + std::string(c) + ",") != std::string::npos; };
    // DOTDO_BENCH_COLUMNAR_ROUNDS: more interleaved rounds per case (default 3), e.g. for a profile.
    const int rounds = std::getenv("DOTDO_BENCH_COLUMNAR_ROUNDS") ? std::max(1, std::atoi(std::getenv("DOTDO_BENCH_COLUMNAR_ROUNDS"))) : 3;
    const int probes = options.quick ? 50 : 100;
    std::vector<std::string> types;
    for (int t = 0; t < kTypes; ++t) types.push_back("T" + std::to_string(t));

    // aggregate: every type once per round.
    for (const std::string& t : types) {
      if (!wanted("aggregate")) break;
      auto ours = OursAggregate(col, t);
      if (!ours.ok()) return Fail(ours.status().ToString());
      if (!SameAgg(*ours, rows.Aggregate(t))) return Fail("aggregate: ours and the row table differ for " + t);
#ifdef DOTDO_HAVE_DUCKDB
      if (!SameAgg(*ours, duck.Aggregate(t))) return Fail("aggregate: ours and DuckDB differ for " + t);
#endif
    }
    if (wanted("aggregate")) {
      auto agg = RunInterleaved(rounds, [&] { for (const auto& t : types) (void)OursAggregate(col, t); },
                                [&] { for (const auto& t : types) (void)rows.Aggregate(t); });
      Report({"columnar", "aggregate_vs_sqlite", "queries_per_s", "sqlite_indexed", kTypes / agg.ours, kTypes / agg.baseline, true,
              "group by status: count, sum, avg of amount, per type"});
#ifdef DOTDO_HAVE_DUCKDB
      auto aggd = RunInterleaved(rounds, [&] { for (const auto& t : types) (void)OursAggregate(col, t); },
                                 [&] { for (const auto& t : types) (void)duck.Aggregate(t); });
      Report({"columnar", "aggregate_vs_duckdb", "queries_per_s", "duckdb", kTypes / aggd.ours, kTypes / aggd.baseline, true,
              "the same query; DuckDB in-memory, default threads"});
#endif
    }

    // range query: a 2-hour window of one type.
    if (wanted("range")) {
      std::vector<std::pair<std::string, int64_t>> windows;
      for (int p = 0; p < probes; ++p) windows.push_back({types[p % kTypes], kT0 + static_cast<int64_t>(Mix(p) % (kSpan - 7'200'000))});
      // Ours returns the columnar form (ids, $createdAt, amount, status as vectors); the row table's
      // side reads the same four values of each row into vectors.
      auto range_query = [&](const std::string& t, int64_t from) {
        return col.Query({.type = t, .where = {{"$createdAt", {{"$gte", from}, {"$lt", from + 7'200'000}}}}, .columns = {"amount", "status"},
                          .limit = kMaxColumnarQueryLimit, .layout = ColumnarLayout::kColumns});
      };
      int64_t matched = 0, range_chunks = 0, range_groups = 0;
      for (const auto& [t, from] : windows) {
        auto r = range_query(t, from);
        if (!r.ok()) return Fail(r.status().ToString());
        const ColumnarColumns& c = r->columns;
        if (c.columns[0].kind != ColumnarValueKind::kDouble || c.columns[1].kind != ColumnarValueKind::kString)
          return Fail("range query: amount and status are not typed columns");
        const RangeColumns ours{.ids = c.ids, .status = c.columns[1].strings, .ts = c.created_at, .amount = c.columns[0].doubles};
        if (Sorted(ours) != Sorted(rows.Range(t, from, from + 7'200'000))) return Fail("range query: answers differ");
        matched += static_cast<int64_t>(c.size());
        range_chunks += r->scan.chunks_read;
        range_groups += r->scan.groups_read;
      }
      auto range = RunInterleaved(rounds, [&] {
        for (const auto& [t, from] : windows) (void)range_query(t, from);
      }, [&] {
        for (const auto& [t, from] : windows) (void)rows.Range(t, from, from + 7'200'000);
      });
      Report({"columnar", "range_query_vs_sqlite", "queries_per_s", "sqlite_indexed", probes / range.ours, probes / range.baseline, true,
              "2-hour $createdAt window of one type, columnar result ($id, $createdAt, amount, status vectors) vs the row table's "
              "values read into vectors; " + std::to_string(matched / probes) +
                  " rows per query; per query " + PerQuery(range_chunks, probes) + " chunks and " + PerQuery(range_groups, probes) +
                  " row groups of 1024 decoded"});
    }

    // point lookups by email: through the lookup index (ColumnarOptions::lookup_columns, an
    // in-memory hash table built from the chunks on a type's first lookup), and through the blooms
    // alone (the same data read by a store without the index).
    if (wanted("point")) {
      ColumnarStore& indexed = col;
      ColumnarStore blooms(*db, {.bloom_columns = {"email"}});  // the same chunks read without the index
      std::vector<Rec> targets;
      for (int p = 0; p < probes; ++p) targets.push_back(Make(static_cast<int64_t>(Mix(1000 + p) % static_cast<uint64_t>(n)), n));
      const int64_t rss_before = RssBytes();
      const double build_s = TimeIt([&] {
        for (const std::string& t : types) (void)indexed.Query({.type = t, .where = {{"email", "nobody@example.com"}}, .limit = 1});
      });
      const int64_t rss_delta = RssBytes() - rss_before;
      Report({"columnar", "lookup_index_build", "ms", "", build_s * 1000, 0, false,
              "the email index of all " + std::to_string(n) + " records (every type's first lookup); resident memory +" +
                  std::to_string(rss_delta / (1 << 20)) + " MiB (" + PerQuery(rss_delta, n) + " bytes per record)"});
      auto point_case = [&](ColumnarStore& store, const char* name, const std::string& how) -> Status {
        int64_t chunks = 0, groups = 0;
        for (const Rec& r : targets) {
          auto q = store.Query({.type = r.type, .where = {{"email", r.email}}, .limit = 1});
          if (!q.ok() || q->rows.size() != 1 || q->rows[0].id != r.id || rows.Point(r.email) != r.id) return InternalError("point lookup differs");
          chunks += q->scan.chunks_read;
          groups += q->scan.groups_read;
        }
        auto point = RunInterleaved(rounds, [&] { for (const Rec& r : targets) (void)store.Query({.type = r.type, .where = {{"email", r.email}}, .limit = 1}); },
                                    [&] { for (const Rec& r : targets) (void)rows.Point(r.email); });
        Report({"columnar", name, "lookups_per_s", "sqlite_indexed", probes / point.ours, probes / point.baseline, true,
                "by email: " + how + ", vs a B-tree index; per lookup " + PerQuery(chunks, probes) + " chunks and " +
                    PerQuery(groups, probes) + " row groups read"});
        return OkStatus();
      };
      // A lookup that finds nothing: the index's probe (or every chunk's bloom of the type).
      auto miss_case = [&](ColumnarStore& store, const char* name, const std::string& how) -> Status {
        int64_t total = 0;
        for (int p = 0; p < probes; ++p) {
          const std::string email = "nobody" + std::to_string(p) + "@example.com";
          auto q = store.Query({.type = targets[p].type, .where = {{"email", email}}, .limit = 1});
          if (!q.ok() || !q->rows.empty() || !rows.Point(email).empty()) return InternalError("point lookup miss differs");
          total += q->scan.chunks_total;
        }
        auto miss = RunInterleaved(rounds, [&] {
          for (int p = 0; p < probes; ++p)
            (void)store.Query({.type = targets[p].type, .where = {{"email", "nobody" + std::to_string(p) + "@example.com"}}, .limit = 1});
        }, [&] { for (int p = 0; p < probes; ++p) (void)rows.Point("nobody" + std::to_string(p) + "@example.com"); });
        Report({"columnar", name, "lookups_per_s", "sqlite_indexed", probes / miss.ours, probes / miss.baseline, true,
                "an absent email: " + how + " (" + PerQuery(total, probes) + " chunks of the type), nothing decoded"});
        return OkStatus();
      };
      for (Status st : {point_case(indexed, "point_lookup_vs_sqlite", "the lookup index, then one row of each column decoded"),
                        point_case(blooms, "point_lookup_bloom_vs_sqlite", "no index: chunk and row-group blooms, one group per column decoded"),
                        miss_case(indexed, "point_lookup_miss_vs_sqlite", "one probe of the lookup index"),
                        miss_case(blooms, "point_lookup_miss_bloom_vs_sqlite", "no index: every chunk's bloom probed")})
        if (!st.ok()) return Fail(st.ToString());
    }

    // disk bytes after checkpoints.
    rows.Checkpoint();
    db.reset();
    const int64_t ours_bytes = FileBytes(dir / "col.sqlite");
    const int64_t base_bytes = FileBytes(dir / "rows.sqlite");
    Report({"columnar", "disk_bytes", "bytes", "sqlite_indexed", static_cast<double>(ours_bytes), static_cast<double>(base_bytes), false,
            "database files after a checkpoint"});

    // row writes of 1000 records into one partition, after a first batch made the schema.
    auto small = Database::OpenInMemory("rw");
    if (!small.ok()) return Fail(small.status().ToString());
    ColumnarStore c2(**small, ours_options);
    std::vector<Rec> one;
    for (int i = 0; i < 1010; ++i) {
      Rec r = Make(i, n);
      r.type = "T0";
      r.ts = kT0 + i;
      one.push_back(r);
    }
    if (!c2.InsertBatch(ToRecords({one.begin(), one.begin() + 10})).ok()) return Fail("row writes: first batch");
    (*small)->ResetStats();
    if (!c2.InsertBatch(ToRecords({one.begin() + 10, one.end()})).ok()) return Fail("row writes: batch");
    const double writes = static_cast<double>((*small)->stats().rows_written);
    Report({"columnar", "row_writes_per_1000", "row_writes", "seed_claim", writes, 6, false,
            "5 columns ($id, $createdAt, status, amount, email) x 1 row group (1000 < 1024 rows) + 1 chunk/accelerator row + "
            "1 type statistics row + 1 CDC event"});
  } catch (const std::exception& e) {
    return Fail(e.what());
  }
  return 0;
}

}  // namespace dotdo::bench
