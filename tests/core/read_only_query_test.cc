// The read-only SQL door (Database::QueryReadOnly): reads only, by SQLite's authorizer; no ATTACH; no
// transaction left open; bounded rows, bytes and time.
#include <filesystem>

#include "core/database_internals.h"
#include "dotdo/database.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

Status Exec(Database& db, const std::string& sql) { return internal::DatabaseInternals::Conn(db).Exec(sql); }

class ReadOnlyQueryTest : public ::testing::TestWithParam<bool> {  // param: file namespace (else in memory)
 protected:
  void SetUp() override {
    if (GetParam()) {
      auto db = Database::Open(dir_.path(), "a");
      DOTDO_ASSERT_OK(db);
      db_ = std::move(*db);
    } else {
      db_ = testing::OpenMemoryDb();
    }
    DOTDO_ASSERT_OK(Exec(*db_, "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3)"));
  }
  ScratchDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(ReadOnlyQueryTest, RefusesEveryWritingOrConnectionChangingStatement) {
  const std::string other = (dir_.path() / "b.sqlite").string();
  for (const std::string& sql :
       {std::string("DELETE FROM t"), std::string("INSERT INTO t VALUES (9)"), std::string("UPDATE t SET x = 0"),
        std::string("CREATE TABLE u(y)"), std::string("DROP TABLE t"), std::string("ATTACH '") + other + "' AS b",
        std::string("DETACH main"), std::string("BEGIN"), std::string("BEGIN IMMEDIATE"), std::string("COMMIT"),
        std::string("SAVEPOINT s"), std::string("RELEASE s"), std::string("PRAGMA foreign_keys=OFF"),
        std::string("PRAGMA synchronous=OFF"), std::string("PRAGMA query_only=1"),
        std::string("PRAGMA locking_mode=EXCLUSIVE"), std::string("PRAGMA wal_checkpoint"),
        std::string("PRAGMA optimize"), std::string("PRAGMA journal_mode=DELETE"), std::string("ANALYZE"),
        std::string("REINDEX"), std::string("VACUUM"), std::string("SELECT * FROM pragma_wal_checkpoint")}) {
    EXPECT_THAT(db_->QueryReadOnly(sql), StatusIs(StatusCode::kInvalidArgument)) << sql;
  }
  EXPECT_FALSE(std::filesystem::exists(other)) << "ATTACH must not create the file";
  // Nothing changed: no transaction open, writes work, settings as they were.
  EXPECT_FALSE(db_->InTransaction());
  DOTDO_ASSERT_OK(db_->Transaction([&] { return Exec(*db_, "INSERT INTO t VALUES (4)"); }));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto fk, db_->QueryReadOnly("PRAGMA foreign_keys"));
  EXPECT_EQ(fk[0]["foreign_keys"], 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db_->QueryReadOnly("SELECT count(*) AS n FROM t"));
  EXPECT_EQ(rows[0]["n"], 4);
}

TEST_P(ReadOnlyQueryTest, AllowsReadsReportingPragmasAndTrailingComments) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db_->QueryReadOnly("SELECT x FROM t ORDER BY x; -- the rows"));
  EXPECT_EQ(rows.size(), 3u);
  DOTDO_EXPECT_OK(db_->QueryReadOnly("SELECT 1; /* c */ ;"));
  DOTDO_EXPECT_OK(db_->QueryReadOnly("PRAGMA table_info(t)"));
  DOTDO_EXPECT_OK(db_->QueryReadOnly("SELECT name FROM pragma_table_info('t')"));
  DOTDO_EXPECT_OK(db_->QueryReadOnly("EXPLAIN QUERY PLAN SELECT * FROM t WHERE x = 1"));
  DOTDO_EXPECT_OK(db_->QueryReadOnly("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 10) "
                                     "SELECT sum(x) AS s FROM r"));
  EXPECT_THAT(db_->QueryReadOnly("SELECT 1; SELECT 2"), StatusIs(StatusCode::kInvalidArgument, "one SQL statement"));
  EXPECT_THAT(db_->QueryReadOnly("SELECT ?2", {Json(1), Json(2), Json(3)}), StatusIs(StatusCode::kInvalidArgument));
}

TEST_P(ReadOnlyQueryTest, BoundsRowsBytesAndTime) {
  const std::string endless = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) ";
  EXPECT_THAT(db_->QueryReadOnly(endless + "SELECT * FROM r"), StatusIs(StatusCode::kResourceExhausted, "rows"));
  EXPECT_THAT(db_->QueryReadOnly(endless + "SELECT count(*) FROM r", {}, {.timeout_ms = 200}),
              StatusIs(StatusCode::kDeadlineExceeded, "time limit"));
  EXPECT_THAT(db_->QueryReadOnly("SELECT x FROM t", {}, {.max_rows = 2}), StatusIs(StatusCode::kResourceExhausted));
  DOTDO_EXPECT_OK(db_->QueryReadOnly("SELECT x FROM t", {}, {.max_rows = 3}));
  EXPECT_THAT(db_->QueryReadOnly("SELECT zeroblob(10) AS b, printf('%.*c', 5000, 'x') AS s", {},
                                 {.max_result_bytes = 1000}),
              StatusIs(StatusCode::kResourceExhausted, "bytes"));
  EXPECT_THAT(db_->QueryReadOnly("SELECT 1", {}, {.timeout_ms = 0}), StatusIs(StatusCode::kInvalidArgument));
  // The connection is usable afterwards.
  DOTDO_EXPECT_OK(db_->QueryReadOnly("SELECT x FROM t"));
  DOTDO_EXPECT_OK(db_->Transaction([&] { return Exec(*db_, "INSERT INTO t VALUES (5)"); }));
}

INSTANTIATE_TEST_SUITE_P(Namespaces, ReadOnlyQueryTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "File" : "InMemory"; });

TEST(ReadOnlyQueryFileTest, CannotReachAnotherNamespace) {
  ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, Database::Open(dir.path(), "a"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto b, Database::Open(dir.path(), "b"));
  DOTDO_ASSERT_OK(Exec(*b, "CREATE TABLE secret(x); INSERT INTO secret VALUES ('b-only')"));
  const std::string path_b = (dir.path() / "b.sqlite").string();
  EXPECT_THAT(a->QueryReadOnly("ATTACH ?1 AS b", {Json(path_b)}), StatusIs(StatusCode::kInvalidArgument, "ATTACH"));
  EXPECT_THAT(a->QueryReadOnly("SELECT * FROM b.secret"), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace dotdo
