// The mover through the TierableStore interface: a store other than the DocumentStore (a key-value
// table defined here, the shape a new store gives the mover) moves through the same steps, files
// and accelerator, beside the DocumentStore and without touching its reads.
#include <functional>

#include "core/database_internals.h"
#include "dotdo/document.h"
#include "dotdo/tiering.h"
#include "testing/test_util.h"
#include "tiering/duck_session.h"
#include "tiering/tierable_store.h"
#include "tiering/tiering_internal.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;
using internal::DatabaseInternals;

constexpr int64_t kDay = 24 * 3600 * 1000;
constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

// kv_rows(key, tbl, at, version, value): a unit is one row, partitioned by tbl and the day of at.
class KvTierable final : public tiering::TierableStore {
 public:
  explicit KvTierable(Database& db) : db_(db) {}
  // Runs after LoadHot, before the file is written (a write racing the move).
  static inline std::function<void(Database&)> after_load;

  std::string_view Name() const override { return "kv"; }
  std::string_view KeyPrefix() const override { return "kv"; }
  std::string_view RowChecksumSql() const override { return "version"; }
  std::string_view CurrentRowSql() const override { return "true"; }

  Result<std::vector<std::pair<std::string, int64_t>>> HotTables() override {
    auto& conn = DatabaseInternals::Conn(db_);
    std::vector<std::pair<std::string, int64_t>> out;
    if (!conn.TableExists("kv_rows")) return out;
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT tbl, count(*) FROM kv_rows GROUP BY tbl ORDER BY tbl"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.emplace_back(st.ColumnString(0), st.ColumnInt64(1));
    }
  }

  Result<std::vector<tiering::MovableUnit>> SelectMovable(const TieringPolicy& p, std::string_view table, int64_t now,
                                                          int64_t) override {
    std::vector<tiering::MovableUnit> out;
    if (p.min_age_millis < 0) return out;
    DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare(
                                        "SELECT key, at FROM kv_rows WHERE tbl = ?1 AND at <= ?2 ORDER BY at, key"));
    st.Bind(1, table).Bind(2, now - p.min_age_millis);
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back({st.ColumnString(0), FormatIso8601(st.ColumnInt64(1)).substr(0, 10)});
    }
  }

  Result<tiering::TierBatch> LoadHot(std::string_view, const std::vector<std::string>& keys) override {
    std::vector<Row> rows;
    DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare(
                                        "SELECT key, tbl, at, version, value FROM kv_rows WHERE key = ?1"));
    for (const std::string& k : keys) {
      st.Reset();
      st.Bind(1, k);
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row) rows.push_back({st.ColumnString(0), st.ColumnString(1), st.ColumnInt64(2), st.ColumnInt64(3), st.ColumnString(4)});
    }
    if (after_load) after_load(db_);
    return BatchOf(std::move(rows));
  }

  Result<std::vector<tiering::TierBatch>> LoadFiles(tiering::TierState& ts, std::string_view,
                                                    const std::vector<const tiering::FileEntry*>& files, int64_t max_units) override {
    std::vector<Row> rows;
    DOTDO_RETURN_IF_ERROR(ts.OpenDuck());
    DOTDO_ASSIGN_OR_RETURN(auto masked, DatabaseInternals::Conn(db_).Prepare(
                                            "SELECT 1 FROM tier_masks WHERE file_id = ?1 AND id = ?2"));
    for (const tiering::FileEntry* f : files) {
      DOTDO_ASSIGN_OR_RETURN(std::string path, ts.LocalFile(f->info));
      DOTDO_ASSIGN_OR_RETURN(tiering::DuckResult r, ts.duck().Query("SELECT \"key\", tbl, epoch_ms(\"at\"), version, \"value\" FROM read_parquet(" +
                                                                    tiering::DuckSession::Literal(path) + ")"));
      for (size_t i = 0; i < r.rows(); ++i) {
        masked.Reset();
        masked.Bind(1, f->file_id).Bind(2, r.Text(i, 0));
        DOTDO_ASSIGN_OR_RETURN(bool is_masked, masked.Step());
        if (!is_masked) rows.push_back({r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), r.Int(i, 3), r.Text(i, 4)});
      }
    }
    std::vector<tiering::TierBatch> out;
    for (size_t i = 0; i < rows.size(); i += static_cast<size_t>(max_units)) {
      const size_t end = std::min(rows.size(), i + static_cast<size_t>(max_units));
      DOTDO_ASSIGN_OR_RETURN(tiering::TierBatch b, BatchOf(std::vector<Row>(rows.begin() + i, rows.begin() + end)));
      out.push_back(std::move(b));
    }
    return out;
  }

  Result<std::vector<std::string>> DeleteHot(tiering::TierState&, const std::vector<tiering::TierUnit>& units, int64_t) override {
    auto& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM kv_rows WHERE key = ?1 AND version = ?2"));
    std::vector<std::string> changed;
    for (const tiering::TierUnit& u : units) {
      del.Reset();
      del.Bind(1, u.key).Bind(2, u.version);
      DOTDO_RETURN_IF_ERROR(del.Run());
      if (conn.Changes() == 0) changed.push_back(u.key);
    }
    return changed;
  }

 private:
  struct Row {
    std::string key, tbl;
    int64_t at = 0, version = 0;
    std::string value;
  };

  static Result<tiering::TierBatch> BatchOf(std::vector<Row> rows) {
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.key < b.key; });
    tiering::TierBatch b;
    b.columns = {{"key", "VARCHAR"}, {"tbl", "VARCHAR"}, {"at", "TIMESTAMP"}, {"version", "BIGINT"}, {"value", "VARCHAR"}};
    b.order_by = "\"key\"";
    b.hot_paths = {"value"};
    for (const Row& r : rows) {
      tiering::TierUnit u{r.key, r.version, true, {}};
      u.values.emplace_back(0, internal::StatValueOf(Json(r.value)).value());
      b.units.push_back(std::move(u));
      b.checksum += r.version;
      ++b.rows;
    }
    b.append = [rows = std::move(rows)](tiering::DuckSession::Appender& app) -> Status {
      for (const Row& r : rows) {
        app.Text(r.key);
        app.Text(r.tbl);
        app.TimestampMs(r.at);
        app.Int(r.version);
        app.Text(r.value);
        app.EndRow();
      }
      return OkStatus();
    };
    return b;
  }

  Database& db_;
};

struct Fixture {
  ScratchDir dir;
  std::unique_ptr<Database> db;
  std::unique_ptr<LocalObjectStore> objects;
  Fixture() {
    db = Database::Open(dir.path(), "ns").value();
    objects = LocalObjectStore::Open(dir.path() / "objects").value();
    EXPECT_THAT(DatabaseInternals::Conn(*db).Exec("CREATE TABLE kv_rows (key TEXT PRIMARY KEY, tbl TEXT NOT NULL, "
                                                  "at INTEGER NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL)"),
                IsOk());
    tiering::RegisterTierableStore("kv", [](Database& d) { return std::make_unique<KvTierable>(d); });
    KvTierable::after_load = nullptr;
  }
  void Put(const std::string& key, const std::string& tbl, int64_t at, const std::string& value, int64_t version = 1) {
    auto st = DatabaseInternals::Conn(*db)
                  .Prepare("INSERT OR REPLACE INTO kv_rows(key, tbl, at, version, value) VALUES (?1, ?2, ?3, ?4, ?5)")
                  .value();
    st.Bind(1, key).Bind(2, tbl).Bind(3, at).Bind(4, version).Bind(5, value);
    EXPECT_THAT(st.Run(), IsOk());
  }
  int64_t HotRows() {
    auto st = DatabaseInternals::Conn(*db).Prepare("SELECT count(*) FROM kv_rows").value();
    EXPECT_TRUE(st.Step().value());
    return st.ColumnInt64(0);
  }
  // key -> value of every row of the store's warm files (masked copies excluded by the caller).
  std::map<std::string, std::string> WarmRows(Tiering& t) {
    std::map<std::string, std::string> out;
    auto duck = tiering::DuckSession::Open().value();
    const std::vector<TierFileInfo> files = t.Files().value();
    for (const TierFileInfo& f : files) {
      if (f.store != "kv") continue;
      auto r = duck->Query("SELECT \"key\", \"value\" FROM read_parquet(" +
                           tiering::DuckSession::Literal(objects->DataPath(f.key).string()) + ")")
                   .value();
      for (size_t i = 0; i < r.rows(); ++i) out[r.Text(i, 0)] = r.Text(i, 1);
    }
    return out;
  }
};

TieringOptions Policies(std::vector<std::string> stores) {
  TieringOptions o;
  o.policies.clear();
  for (auto& s : stores) o.policies.push_back(TieringPolicy{.store = s, .type = "", .min_age_millis = kDay});
  return o;
}

TEST(TierableStoreTest, PolicyNamesARegisteredStore) {
  Fixture f;
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, Policies({"nosuch"})),
              StatusIs(StatusCode::kInvalidArgument, "\"document\", \"kv\""));
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, Policies({"kv", "document"})), IsOk());
}

TEST(TierableStoreTest, AnotherStoreMovesThroughTheSameMover) {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.Put("a" + std::to_string(i), "alpha", kT0 + i * 1000, "v" + std::to_string(i));
  f.Put("b0", "beta", kT0 + kDay + 5, "w0");
  f.Put("young", "alpha", kT0 + 10 * kDay, "y");  // younger than the policy's day
  DocumentStore docs = DocumentStore::Open(*f.db).value();
  ASSERT_THAT(docs.Create({{"$type", "user"}, {"$id", "ada"}, {"name", "Ada"}}), IsOk());

  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, Policies({"kv"})));
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats run, tiering->Run(kT0 + 10 * kDay));
  EXPECT_EQ(run.documents_moved, 6);
  EXPECT_EQ(run.files_written, 2);  // (alpha, 2026-01-01), (beta, 2026-01-02)
  EXPECT_EQ(f.HotRows(), 1);        // "young" stays

  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].store, "kv");
  EXPECT_EQ(files[0].table, "alpha");
  EXPECT_EQ(files[0].key.rfind("kv/type=alpha/dt=2026-01-01/part-", 0), 0u) << files[0].key;
  EXPECT_EQ(files[0].live, 5);
  EXPECT_EQ(files[1].key.rfind("kv/type=beta/dt=2026-01-02/part-", 0), 0u) << files[1].key;
  const std::map<std::string, std::string> want = {{"a0", "v0"}, {"a1", "v1"}, {"a2", "v2"}, {"a3", "v3"}, {"a4", "v4"}, {"b0", "w0"}};
  EXPECT_EQ(f.WarmRows(*tiering), want);

  // Status per (store, table); the DocumentStore (no policy here) keeps its document hot and reads
  // it without opening the kv files.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tables, tiering->Tables());
  std::map<std::string, TierTableStatus> by;  // "<store>/<table>"
  for (const auto& t : tables) by[t.store + "/" + t.table] = t;
  EXPECT_EQ(by["kv/alpha"].hot_documents, 1);
  EXPECT_EQ(by["kv/alpha"].warm_documents, 5);
  EXPECT_EQ(by["kv/beta"].warm_files, 1);
  EXPECT_EQ(by["document/user"].hot_documents, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json ada, docs.Get("ada"));
  EXPECT_EQ(ada["name"], "Ada");
  EXPECT_THAT(docs.Get("a0"), StatusIs(StatusCode::kNotFound));  // a kv key is no document
  EXPECT_EQ(LastTierRead().files_read, 0);
  EXPECT_EQ(LastTierRead().files_skipped, 0);  // the kv files are not the DocumentStore's candidates
  DOTDO_ASSERT_OK_AND_ASSIGN(auto users, docs.Count("user"));
  EXPECT_EQ(users, 1);

  // A second Run moves nothing more.
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats again, tiering->Run(kT0 + 10 * kDay));
  EXPECT_EQ(again.files_written, 0);
}

TEST(TierableStoreTest, UnitWrittenDuringTheMoveStaysHotAndItsCopyIsMasked) {
  Fixture f;
  f.Put("k1", "t", kT0, "old1");
  f.Put("k2", "t", kT0, "old2");
  KvTierable::after_load = [&](Database&) { f.Put("k2", "t", kT0, "new2", 2); };
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, Policies({"kv"})));
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats run, tiering->Run(kT0 + 10 * kDay));
  KvTierable::after_load = nullptr;
  EXPECT_EQ(run.documents_moved, 1);
  EXPECT_EQ(run.skipped_changed, 1);
  EXPECT_EQ(f.HotRows(), 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].masked, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tables, tiering->Tables());
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].warm_documents, 1);
  EXPECT_EQ(tables[0].hot_documents, 1);
}

TEST(TierableStoreTest, CompactionMergesTheStoresFilesAndDropsMaskedRows) {
  Fixture f;
  TieringOptions o = Policies({"kv"});
  o.max_files_per_partition = 1;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, o));
  f.Put("k1", "t", kT0, "one");
  f.Put("k2", "t", kT0 + 1, "two");
  KvTierable::after_load = [&](Database&) { f.Put("k2", "t", kT0 + 1, "two-b", 2); };
  ASSERT_THAT(tiering->Run(kT0 + 10 * kDay), IsOk());  // k1 moves, k2's copy is masked
  KvTierable::after_load = nullptr;
  ASSERT_THAT(tiering->Run(kT0 + 10 * kDay), IsOk());  // k2 (version 2) moves
  f.Put("k3", "t", kT0 + 2, "three");
  ASSERT_THAT(tiering->Run(kT0 + 10 * kDay), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto before, tiering->Files());
  ASSERT_EQ(before.size(), 3u);

  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats c, tiering->Compact());
  EXPECT_EQ(c.files_compacted, 3);
  EXPECT_EQ(c.files_written, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto after, tiering->Files());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].live, 3);
  EXPECT_EQ(after[0].masked, 0);
  const std::map<std::string, std::string> want = {{"k1", "one"}, {"k2", "two-b"}, {"k3", "three"}};
  EXPECT_EQ(f.WarmRows(*tiering), want);
  // The replaced objects are gone from the object store.
  for (const TierFileInfo& old : before) EXPECT_THAT(f.objects->Head(old.key), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace dotdo
