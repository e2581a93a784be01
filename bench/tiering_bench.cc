// dotdo-bench tiering: DocumentStore rows moved hot (SQLite) -> warm (Parquet through DuckDB).
//   move                  documents/s through Tiering::Run (write, verify, register, delete hot rows)
//                         vs the bare export of the same rows (SELECT from SQLite + DuckDB COPY to
//                         Parquet, nothing verified or registered).
//   get_warm_p50          ms per DocumentStore::Get of a moved document (target <= 20), baseline
//   get_hot_p50           the same Get on hot documents of the same namespace.
//   aggregate_warm_vs_hot the same group-by (count and sum of amount by status) over every document:
//                         DuckDB over the warm files vs SQLite over the hot table (target >= 10x).
//   bytes_hot_vs_warm     bytes of the SQLite file holding the documents vs bytes of the Parquet files.
//   move_to_cold          warm files/s into the cold tier's Iceberg table (copy + commit per file),
//                         against the hot -> warm move's files/s.
//   get_cold_p50          ms per Get of a document whose file is cold, against get_hot_p50.
// Documents: {"status": one of 8, "amount": 0..1000, "customer": "c<k>", "note": text}. Full size 10M
// documents (--quick: 20k). Results of both sides are compared; a difference fails the suite.
#include <filesystem>
#include <iostream>
#include <map>
#include <random>

#include "bench.h"
#include "core/database_internals.h"
#include "dotdo/database.h"
#include "dotdo/document.h"
#include "dotdo/object_store.h"
#include "dotdo/tiering.h"
#include "tiering/duck_session.h"

namespace dotdo::bench {
namespace {

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::cerr << "tiering bench: " << what << ": " << s.ToString() << "\n";
    std::exit(1);
  }
}

const char* kStatuses[] = {"new", "paid", "packed", "shipped", "delivered", "returned", "refunded", "closed"};

Json Doc(std::mt19937_64& rng, int64_t i) {
  return Json{{"$type", "Order"},
              {"$id", "o" + std::to_string(i)},
              {"status", kStatuses[rng() % 8]},
              {"amount", static_cast<int64_t>(rng() % 1001)},
              {"customer", "c" + std::to_string(rng() % 100000)},
              {"note", "order note " + std::to_string(rng() % 1000000)}};
}

using Groups = std::map<std::string, std::pair<int64_t, double>>;

Groups Aggregate(tiering::DuckSession& duck, const std::string& sql) {
  auto r = duck.Query(sql);
  Check(r.status(), "duckdb aggregate");
  Groups g;
  for (size_t i = 0; i < r->rows(); ++i) {
    const auto& sum = r->At(i, 2);
    g[r->Text(i, 0)] = {r->Int(i, 1), std::holds_alternative<double>(sum) ? std::get<double>(sum) : static_cast<double>(r->Int(i, 2))};
  }
  return g;
}

int RunSuite(const Options& options) {
  std::filesystem::create_directories(options.data_dir);
  const int64_t total = options.quick ? 20000 : 10000000;
  const int64_t batch = 10000;
  const int64_t per_file = options.quick ? 5000 : 500000;
  const int gets = options.quick ? 200 : 1000;
  std::mt19937_64 rng(options.seed);

  auto db = Database::Open(options.data_dir, "bench_tiering").value();
  auto objects = LocalObjectStore::Open(std::filesystem::path(options.data_dir) / "objects").value();
  DocumentStore docs(*db);
  // Hot paths: the accelerator keeps stats and a typed Parquet column for each.
  Check(docs.ConfigureStats("Order", "status"), "stats");
  Check(docs.ConfigureStats("Order", "amount"), "stats");
  for (int64_t done = 0; done < total; done += batch) {
    std::vector<Json> b;
    for (int64_t i = done; i < std::min(total, done + batch); ++i) b.push_back(Doc(rng, i));
    Check(docs.CreateMany(std::move(b)).status(), "create");
  }
  auto& conn = internal::DatabaseInternals::Conn(*db);
  auto file_bytes = [&] {
    auto lock = conn.Lock();
    Check(conn.Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint");
    return static_cast<int64_t>(std::filesystem::file_size(db->path()));
  };
  const int64_t bytes_before_move = file_bytes();

  // Hot aggregate (SQLite), measured before the move.
  Groups hot_groups;
  const double hot_agg = TimeIt([&] {
    auto lock = conn.Lock();
    auto st = conn.PrepareUncached("SELECT json_extract(data, '$.status'), count(*), sum(json_extract(data, '$.amount')) "
                                   "FROM doc_documents WHERE type = 'Order' AND deleted = 0 GROUP BY 1");
    Check(st.status(), "sqlite aggregate");
    for (;;) {
      auto row = st->Step();
      Check(row.status(), "sqlite aggregate");
      if (!*row) break;
      hot_groups[st->ColumnString(0)] = {st->ColumnInt64(1), st->ColumnDouble(2)};
    }
  });
  // Hot gets (p50 over random ids), before the move too.
  std::vector<double> hot_ms;
  for (int i = 0; i < gets; ++i) {
    const std::string id = "o" + std::to_string(rng() % static_cast<uint64_t>(total));
    hot_ms.push_back(1000 * TimeIt([&] { Check(docs.Get(id).status(), "hot get"); }));
  }

  // Baseline export: the same rows out of SQLite into one Parquet file per chunk, nothing else.
  auto duck = tiering::DuckSession::Open().value();
  const auto export_dir = std::filesystem::path(options.data_dir) / "export";
  std::filesystem::create_directories(export_dir);
  const double export_s = TimeIt([&] {
    auto lock = conn.Lock();
    int64_t file = 0;
    auto st = conn.PrepareUncached("SELECT seq, id, version, json(data) FROM doc_documents ORDER BY seq").value();
    Check(duck->Exec("CREATE TEMP TABLE stage (seq BIGINT, id VARCHAR, version BIGINT, doc JSON)"), "stage");
    bool more = true;
    while (more) {
      auto app = duck->Append("stage").value();
      int64_t n = 0;
      for (; n < per_file; ++n) {
        auto row = st.Step();
        Check(row.status(), "export read");
        if (!*row) {
          more = false;
          break;
        }
        app.Int(st.ColumnInt64(0));
        app.Text(st.ColumnText(1));
        app.Int(st.ColumnInt64(2));
        app.Text(st.ColumnText(3));
        app.EndRow();
      }
      Check(app.Close(), "export append");
      if (n == 0) break;
      const auto out = export_dir / ("part-" + std::to_string(file++) + ".parquet");
      Check(duck->Exec("COPY stage TO " + tiering::DuckSession::Literal(out.string()) + " (FORMAT parquet, COMPRESSION zstd)"),
            "export copy");
      Check(duck->Exec("DELETE FROM stage"), "export clear");
    }
  });

  TieringOptions topt;
  topt.policies = {TieringPolicy{.store = "document", .type = "Order", .min_age_millis = 0, .max_hot_documents = -1}};
  topt.max_documents_per_file = per_file;
  auto tiering = Tiering::Attach(*db, *objects, topt).value();
  TieringRunStats run;
  const double move_s = TimeIt([&] {
    auto r = tiering->Run(db->NowMillis());
    Check(r.status(), "move");
    run = *r;
  });
  if (run.documents_moved != total) {
    std::cerr << "tiering bench: moved " << run.documents_moved << " of " << total << "\n";
    return 1;
  }
  Report({"tiering", "move", "docs_per_s", "sqlite_select_duckdb_copy", total / move_s, total / export_s, true,
          std::to_string(total) + " documents, " + std::to_string(run.files_written) + " files"});

  // Warm gets.
  std::vector<double> warm_ms;
  for (int i = 0; i < gets; ++i) {
    const std::string id = "o" + std::to_string(rng() % static_cast<uint64_t>(total));
    warm_ms.push_back(1000 * TimeIt([&] { Check(docs.Get(id).status(), "warm get"); }));
  }
  Report({"tiering", "get_warm_p50", "ms", "get_hot_p50", Percentile(warm_ms, 50), Percentile(hot_ms, 50), false,
          "target <= 20 ms; " + std::to_string(gets) + " random ids over " + std::to_string(run.files_written) + " files"});

  // Warm aggregate: DuckDB over the registered files (typed columns).
  auto files = tiering->Files("Order").value();
  std::string list;
  for (const auto& f : files) list += (list.empty() ? "" : ", ") + tiering::DuckSession::Literal(objects->DataPath(f.key).string());
  Groups warm_groups;
  const double warm_agg = TimeIt([&] {
    warm_groups = Aggregate(*duck, "SELECT status, count(*), sum(amount) FROM read_parquet([" + list +
                                       "]) WHERE _current AND NOT _deleted GROUP BY status");
  });
  if (warm_groups != hot_groups) {
    std::cerr << "tiering bench: warm and hot aggregates differ\n";
    return 1;
  }
  Report({"tiering", "aggregate_warm_vs_hot", "x", "sqlite_hot", hot_agg / warm_agg, 1.0, true,
          "group-by status over " + std::to_string(total) + " documents: warm " + std::to_string(warm_agg) + " s, hot " +
              std::to_string(hot_agg) + " s; target >= 10"});
  // The documents' hot bytes: what the move freed, once the file is vacuumed (the outbox stays).
  {
    auto lock = conn.Lock();
    Check(conn.Exec("VACUUM"), "vacuum");
  }
  const int64_t hot_bytes = bytes_before_move - file_bytes();
  int64_t warm_bytes = 0;
  for (const auto& f : files) warm_bytes += f.bytes;
  Report({"tiering", "bytes_hot_vs_warm", "x", "parquet_bytes", static_cast<double>(hot_bytes) / static_cast<double>(warm_bytes),
          1.0, true, std::to_string(hot_bytes) + " SQLite bytes vs " + std::to_string(warm_bytes) + " Parquet bytes"});

  // Cold: every warm file into the store's Iceberg table (a copy and one commit per file), then gets
  // that fall through to it.
  tiering.reset();
  TieringOptions cold_opt = topt;
  cold_opt.policies = {TieringPolicy{.store = "document", .type = "Order", .min_age_millis = -1, .cold_after_millis = 0}};
  tiering = Tiering::Attach(*db, *objects, cold_opt).value();
  TieringRunStats cold_run;
  const double cold_s = TimeIt([&] {
    auto r = tiering->Run(db->NowMillis() + 1);
    Check(r.status(), "cold move");
    cold_run = *r;
  });
  if (cold_run.files_to_cold != static_cast<int64_t>(files.size())) {
    std::cerr << "tiering bench: " << cold_run.files_to_cold << " of " << files.size() << " files went cold\n";
    return 1;
  }
  Report({"tiering", "move_to_cold", "files_per_s", "hot_to_warm_files_per_s", cold_run.files_to_cold / cold_s,
          run.files_written / move_s, true,
          std::to_string(cold_run.files_to_cold) + " files, " + std::to_string(cold_run.bytes_to_cold) +
              " bytes (a copy and an Iceberg commit per file, against writing them from hot rows)"});
  std::vector<double> cold_ms;
  for (int i = 0; i < gets; ++i) {
    const std::string id = "o" + std::to_string(rng() % static_cast<uint64_t>(total));
    cold_ms.push_back(1000 * TimeIt([&] {
      Check(docs.Get(id).status(), "cold get");
      if (!LastTierRead().cold) Check(InternalError("the get did not read the cold tier"), "cold get");
    }));
  }
  Report({"tiering", "get_cold_p50", "ms", "get_hot_p50", Percentile(cold_ms, 50), Percentile(hot_ms, 50), false,
          std::to_string(gets) + " random ids over " + std::to_string(cold_run.files_to_cold) + " cold files"});
  return 0;
}

}  // namespace

DOTDO_BENCH_SUITE(tiering) { return RunSuite(options); }

}  // namespace dotdo::bench
