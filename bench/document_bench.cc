// dotdo-bench document: the DocumentStore against raw SQLite doing the same work in the same run.
//
// The baseline is a competent hand-written equivalent on its own connection and file, with the same
// pragmas (WAL, synchronous=NORMAL, temp_store=MEMORY), the same tables and indexes, and the same inputs:
//   create_batch   N Create calls inside one caller db.Transaction (each call stays atomic on its
//                  own, so it opens a savepoint). Raw: per document, add the system fields, dump
//                  the JSON once, insert the JSONB row and the outbox row (after = the document).
//   create_many    the same N documents through CreateMany (one call, all or nothing, returns
//                  every stored document); informational, no target.
//   get            random gets by id. Raw: SELECT json(data) by id and parse it into a Json.
//   query_indexed  equality on an indexed path (about 10 matches) at 200k documents (--quick: 20k).
//                  Raw: the same SELECT over the same expression index, parse every row.
// Ours and raw alternate in rounds (bench.h), so machine noise hits both alike. Before reporting,
// the suite checks that both sides hold the same number of document and outbox rows and that both
// query plans search their expression index.
#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench.h"
#include "dotdo/database.h"
#include "dotdo/document.h"
#include "dotdo/ulid.h"

namespace dotdo::bench {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA temp_store=MEMORY;
CREATE TABLE doc_documents (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, version INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);
CREATE INDEX doc_documents_type ON doc_documents(type) WHERE deleted = 0;
CREATE TABLE cdc_events (
  lsn INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL, txid INTEGER,
  op TEXT, store TEXT, tbl TEXT, key TEXT, before TEXT, after TEXT, correlation_id TEXT, actor TEXT, data TEXT,
  visibility TEXT, meta TEXT);
CREATE INDEX raw_customer ON doc_documents(type, json_extract(data, '$."customer"'))
  WHERE type = 'Order' AND deleted = 0;
)sql";

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

// The raw-SQLite side.
class Raw {
 public:
  explicit Raw(const std::string& path) : ulid_(SystemClock::Default()) {
    Check(sqlite3_open(path.c_str(), &db_), db_, "open");
    Check(sqlite3_exec(db_, kSchema, nullptr, nullptr, nullptr), db_, "schema");
    Prepare("INSERT INTO doc_documents(id, type, version, created_at, updated_at, deleted, data) "
            "VALUES (?1, ?2, 1, ?3, ?3, 0, jsonb(?4))", &insert_doc_);
    Prepare("INSERT INTO cdc_events(id, type, ts, txid, op, store, tbl, key, after) "
            "VALUES (?1, 'cdc.insert', ?2, ?3, 'c', 'document', ?4, ?5, ?6)", &insert_event_);
    Prepare("SELECT json(data) FROM doc_documents WHERE id = ?1 AND deleted = 0", &get_);
    Prepare("SELECT seq, json(data) FROM doc_documents WHERE type = 'Order' AND deleted = 0 AND "
            "json_extract(data, '$.\"customer\"') = ?1 ORDER BY seq LIMIT 101", &query_);
  }
  ~Raw() {
    for (sqlite3_stmt* s : {insert_doc_, insert_event_, get_, query_}) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  void CreateBatch(const std::vector<Json>& docs, const std::vector<std::string>& ids) {
    Check(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db_, "begin");
    int64_t txid = -1;
    for (size_t i = 0; i < docs.size(); ++i) {
      const int64_t now = SystemClock::Default()->NowMillis();
      Json doc = docs[i];
      const std::string& type = doc["$type"].get_ref<const std::string&>();
      doc["$id"] = ids[i];
      doc["$version"] = 1;
      doc["$createdAt"] = FormatIso8601(now);
      doc["$updatedAt"] = doc["$createdAt"];
      const std::string text = doc.dump();
      sqlite3_bind_text(insert_doc_, 1, ids[i].data(), static_cast<int>(ids[i].size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(insert_doc_, 2, type.data(), static_cast<int>(type.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert_doc_, 3, now);
      sqlite3_bind_text(insert_doc_, 4, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      Check(sqlite3_step(insert_doc_), db_, "insert doc");
      sqlite3_reset(insert_doc_);
      const std::string event_id = ulid_.Next();
      sqlite3_bind_text(insert_event_, 1, event_id.data(), static_cast<int>(event_id.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert_event_, 2, now);
      if (txid < 0) sqlite3_bind_null(insert_event_, 3);
      else sqlite3_bind_int64(insert_event_, 3, txid);
      sqlite3_bind_text(insert_event_, 4, type.data(), static_cast<int>(type.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(insert_event_, 5, ids[i].data(), static_cast<int>(ids[i].size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(insert_event_, 6, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      Check(sqlite3_step(insert_event_), db_, "insert event");
      sqlite3_reset(insert_event_);
      if (txid < 0) txid = sqlite3_last_insert_rowid(db_);
    }
    Check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), db_, "commit");
  }

  Json Get(const std::string& id) {
    sqlite3_bind_text(get_, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    Json out;
    if (sqlite3_step(get_) == SQLITE_ROW) out = Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(get_, 0)));
    sqlite3_reset(get_);
    return out;
  }

  int64_t Count(const char* table) {
    sqlite3_stmt* st = nullptr;
    Check(sqlite3_prepare_v2(db_, (std::string("SELECT count(*) FROM ") + table).c_str(), -1, &st, nullptr), db_, "count");
    Check(sqlite3_step(st), db_, "count");
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
  }

  // EXPLAIN QUERY PLAN of the query statement, one detail per line.
  std::string QueryPlan() {
    sqlite3_stmt* st = nullptr;
    std::string sql = std::string("EXPLAIN QUERY PLAN ") + sqlite3_sql(query_);
    Check(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), db_, "plan");
    std::string out;
    while (sqlite3_step(st) == SQLITE_ROW) out += reinterpret_cast<const char*>(sqlite3_column_text(st, 3)) + std::string("\n");
    sqlite3_finalize(st);
    return out;
  }

  std::vector<Json> Query(const std::string& customer) {
    sqlite3_bind_text(query_, 1, customer.data(), static_cast<int>(customer.size()), SQLITE_TRANSIENT);
    std::vector<Json> out;
    while (sqlite3_step(query_) == SQLITE_ROW)
      if (out.size() < 100) out.push_back(Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(query_, 1))));
    sqlite3_reset(query_);
    return out;
  }

 private:
  void Prepare(const char* sql, sqlite3_stmt** st) { Check(sqlite3_prepare_v2(db_, sql, -1, st, nullptr), db_, sql); }
  sqlite3* db_ = nullptr;
  sqlite3_stmt *insert_doc_ = nullptr, *insert_event_ = nullptr, *get_ = nullptr, *query_ = nullptr;
  UlidGenerator ulid_;
};

void Fail(const Status& st, const char* what) {
  if (!st.ok()) throw std::runtime_error(std::string(what) + ": " + st.ToString());
}

Json OrderDoc(std::mt19937_64& rng, int64_t customers) {
  return Json{{"$type", "Order"},
              {"customer", "c" + std::to_string(rng() % static_cast<uint64_t>(customers))},
              {"total", static_cast<double>(rng() % 100000) / 100.0},
              {"status", rng() % 4 == 0 ? "open" : "shipped"},
              {"lines", {{{"sku", "sku-" + std::to_string(rng() % 5000)}, {"qty", 1 + rng() % 5}}}},
              {"address", {{"city", "Paris"}, {"zip", std::to_string(75000 + rng() % 20)}}}};
}

int RunSuite(const Options& options) {
  std::filesystem::create_directories(options.data_dir);
  const bool quick = options.quick;
  const int64_t batch = quick ? 2000 : 10000;
  const int create_rounds = quick ? 3 : 8;
  const int64_t total_docs = quick ? 20000 : 200000;
  const int64_t customers = total_docs / 10;  // ~10 orders per customer
  // Reads run in many short interleaved rounds: the best round of each side is the least disturbed
  // by other work on the machine.
  const int read_rounds = quick ? 5 : 10;
  const int64_t gets = quick ? 10000 : 20000;    // per round
  const int64_t queries = quick ? 1000 : 2000;   // per round
  std::mt19937_64 rng(options.seed);
  UlidGenerator ids(SystemClock::Default());

  auto db_result = Database::Open(options.data_dir, "bench_document");
  Fail(db_result.status(), "open");
  std::unique_ptr<Database> db = std::move(db_result).value();
  DocumentStore store(*db);
  Fail(store.CreateIndex("Order", "customer"), "index");
  Raw raw((std::filesystem::path(options.data_dir) / "raw.sqlite").string());

  // create_many (CreateMany) and create_batch (Create calls in a caller's transaction): N
  // documents per transaction, each round's ours and raw alternating on fresh documents.
  std::vector<std::string> all_ids;
  auto new_round = [&](std::vector<Json>& docs, std::vector<std::string>& round_ids) {
    for (int64_t i = 0; i < batch; ++i) {
      docs.push_back(OrderDoc(rng, customers));
      round_ids.push_back(ids.Next());
    }
  };
  double many_best = 1e100, many_raw_best = 1e100, txn_best = 1e100, txn_raw_best = 1e100;
  // Runs ours and raw on the same documents, the side that goes first alternating by round.
  auto pair = [&](int round, double& ours_best, double& raw_best, const std::function<void(
                      const std::vector<Json>&, const std::vector<std::string>&)>& ours) {
    std::vector<Json> docs;
    std::vector<std::string> round_ids;
    new_round(docs, round_ids);
    auto run_ours = [&] { ours_best = std::min(ours_best, TimeIt([&] { ours(docs, round_ids); })); };
    auto run_raw = [&] { raw_best = std::min(raw_best, TimeIt([&] { raw.CreateBatch(docs, round_ids); })); };
    if (round % 2 == 0) {
      run_ours();
      run_raw();
    } else {
      run_raw();
      run_ours();
    }
    all_ids.insert(all_ids.end(), round_ids.begin(), round_ids.end());
  };
  for (int round = 0; round < create_rounds; ++round) {
    pair(round, txn_best, txn_raw_best, [&](const std::vector<Json>& docs, const std::vector<std::string>& round_ids) {
      Fail(db->Transaction([&]() -> Status {
        for (size_t i = 0; i < docs.size(); ++i) {
          Json doc = docs[i];
          doc["$id"] = round_ids[i];
          DOTDO_RETURN_IF_ERROR(store.Create(std::move(doc)).status());
        }
        return OkStatus();
      }), "create in transaction");
    });
    pair(round, many_best, many_raw_best, [&](const std::vector<Json>& docs, const std::vector<std::string>& round_ids) {
      std::vector<Json> batch_docs;
      batch_docs.reserve(docs.size());
      for (size_t i = 0; i < docs.size(); ++i) {
        batch_docs.push_back(docs[i]);
        batch_docs.back()["$id"] = round_ids[i];
      }
      Fail(store.CreateMany(std::move(batch_docs)).status(), "create many");
    });
  }
  Report({"document", "create_batch", "ops_per_s", "sqlite_raw", batch / txn_best, batch / txn_raw_best, true,
          std::to_string(batch) + " Create calls in one caller transaction (a savepoint each), best of " +
              std::to_string(create_rounds) + "; target ratio >= 0.6"});
  Report({"document", "create_many", "ops_per_s", "sqlite_raw", batch / many_best, batch / many_raw_best, true,
          "CreateMany of " + std::to_string(batch) + " documents, best of " + std::to_string(create_rounds)});

  // Fill both sides up to total_docs with identical documents.
  while (static_cast<int64_t>(all_ids.size()) < total_docs) {
    std::vector<Json> docs;
    std::vector<std::string> chunk_ids;
    for (int64_t i = 0; i < batch && static_cast<int64_t>(all_ids.size() + chunk_ids.size()) < total_docs; ++i) {
      docs.push_back(OrderDoc(rng, customers));
      chunk_ids.push_back(ids.Next());
    }
    std::vector<Json> batch_docs = docs;
    for (size_t i = 0; i < docs.size(); ++i) batch_docs[i]["$id"] = chunk_ids[i];
    Fail(store.CreateMany(std::move(batch_docs)).status(), "fill");
    raw.CreateBatch(docs, chunk_ids);
    all_ids.insert(all_ids.end(), chunk_ids.begin(), chunk_ids.end());
  }

  // Both sides hold the same rows, and both queries search their expression index.
  {
    auto count = [&](const char* table) {
      auto r = db->QueryReadOnly(std::string("SELECT count(*) AS n FROM ") + table);
      Fail(r.status(), "count");
      return (*r)[0]["n"].get<int64_t>();
    };
    for (const char* table : {"doc_documents", "cdc_events"})
      if (count(table) != total_docs || raw.Count(table) != total_docs)
        throw std::runtime_error(std::string("row count mismatch in ") + table);
    DocumentQueryOptions probe_q;
    probe_q.type = "Order";
    probe_q.where = {{"customer", "c1"}};
    auto plan = store.Explain(probe_q);
    Fail(plan.status(), "explain");
    const std::string raw_plan = raw.QueryPlan();
    if (plan->find("USING INDEX doc_ix_Order_") == std::string::npos ||
        raw_plan.find("USING INDEX raw_customer") == std::string::npos)
      throw std::runtime_error("a query does not use its expression index: ours '" + *plan + "', raw '" + raw_plan + "'");
  }

  // get: random ids, same sequence on both sides.
  std::vector<std::string> probe;
  for (int64_t i = 0; i < gets; ++i) probe.push_back(all_ids[rng() % all_ids.size()]);
  size_t sink = 0;
  Interleaved g = RunInterleaved(read_rounds, [&] {
    for (const auto& id : probe) {
      auto r = store.Get(id);
      Fail(r.status(), "get");
      sink += r->size();
    }
  }, [&] {
    for (const auto& id : probe) sink += raw.Get(id).size();
  });
  Report({"document", "get", "ops_per_s", "sqlite_raw", gets / g.ours, gets / g.baseline, true,
          std::to_string(total_docs) + " documents, " + std::to_string(gets) + " random gets per round, best of " +
              std::to_string(read_rounds)});

  // query_indexed: equality on the indexed path, ~10 matches, parsed documents returned.
  std::vector<std::string> keys;
  for (int64_t i = 0; i < queries; ++i) keys.push_back("c" + std::to_string(rng() % static_cast<uint64_t>(customers)));
  std::vector<double> ours_lat, raw_lat;
  DocumentQueryOptions q;
  q.type = "Order";
  q.limit = 100;
  Interleaved qi = RunInterleaved(read_rounds, [&] {
    for (const auto& k : keys) {
      q.where = {{"customer", k}};
      double t0 = NowSeconds();
      auto page = store.Query(q);
      ours_lat.push_back(NowSeconds() - t0);
      Fail(page.status(), "query");
      sink += page->items.size();
    }
  }, [&] {
    for (const auto& k : keys) {
      double t0 = NowSeconds();
      sink += raw.Query(k).size();
      raw_lat.push_back(NowSeconds() - t0);
    }
  });
  Report({"document", "query_indexed", "ops_per_s", "sqlite_raw", queries / qi.ours, queries / qi.baseline, true,
          std::to_string(total_docs) + " documents, equality on an indexed path (~10 matches), " +
              std::to_string(queries) + " queries per round, best of " + std::to_string(read_rounds)});
  Report({"document", "query_indexed_p50", "latency_ms", "sqlite_raw", Percentile(ours_lat, 50) * 1000,
          Percentile(raw_lat, 50) * 1000, false, std::to_string(total_docs) + " documents; target p50 <= 1 ms"});
  Report({"document", "query_indexed_p99", "latency_ms", "sqlite_raw", Percentile(ours_lat, 99) * 1000,
          Percentile(raw_lat, 99) * 1000, false, std::to_string(total_docs) + " documents"});
  return sink == 0 ? 1 : 0;
}

}  // namespace

DOTDO_BENCH_SUITE(document) {
  try {
    return RunSuite(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: document bench: %s\n", e.what());
    return 1;
  }
}

}  // namespace dotdo::bench
