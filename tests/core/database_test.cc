// Database: namespaces, transactions and savepoints, stats, read-only SQL, schema versions.
#include "dotdo/database.h"

#include <fstream>

#include "core/database_internals.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

Status Exec(Database& db, const std::string& sql) { return internal::DatabaseInternals::Conn(db).Exec(sql); }

int64_t CountRows(Database& db, const std::string& table) {
  auto rows = db.QueryReadOnly("SELECT COUNT(*) AS n FROM " + table);
  EXPECT_THAT(rows, IsOk());
  return rows.ok() ? (*rows)[0]["n"].get<int64_t>() : -1;
}

TEST(DatabaseTest, RejectsNamespacesThatCouldEscapeTheDataDir) {
  ScratchDir dir;
  for (const std::string& bad : std::vector<std::string>{"", "../x", "/etc", ".hidden", "a/b", std::string("a\0b", 3), "a b", std::string(129, 'a')}) {
    EXPECT_THAT(Database::Open(dir.path(), bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  DOTDO_EXPECT_OK(Database::Open(dir.path(), "tenant-1.prod_eu"));
}

TEST(DatabaseTest, CreatesOneFilePerNamespaceAndListsThem) {
  ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, Database::Open(dir.path() / "nested", "acme"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto b, Database::Open(dir.path() / "nested", "globex"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "nested" / "acme.sqlite"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto names, Database::ListNamespaces(dir.path() / "nested"));
  EXPECT_EQ(names, (std::vector<std::string>{"acme", "globex"}));
}

TEST(DatabaseTest, OpenWithoutCreateReportsMissingNamespace) {
  ScratchDir dir;
  DatabaseOptions o;
  o.create_if_missing = false;
  EXPECT_THAT(Database::Open(dir.path(), "nope", o), StatusIs(StatusCode::kNotFound));
}

TEST(DatabaseTest, OpenRejectsAFileThatIsNotADatabase) {
  ScratchDir dir;
  { std::ofstream(dir.path() / "junk.sqlite") << std::string(4096, 'x'); }
  EXPECT_THAT(Database::Open(dir.path(), "junk"), StatusIs(StatusCode::kDataLoss));
}

TEST(DatabaseTest, TransactionCommitsOnOk) {
  auto db = testing::OpenMemoryDb();
  DOTDO_ASSERT_OK(Exec(*db, "CREATE TABLE t(x INTEGER)"));
  DOTDO_ASSERT_OK(db->Transaction([&] { return Exec(*db, "INSERT INTO t VALUES (1)"); }));
  EXPECT_EQ(CountRows(*db, "t"), 1);
  EXPECT_FALSE(db->InTransaction());
}

TEST(DatabaseTest, TransactionRollsBackOnErrorStatus) {
  auto db = testing::OpenMemoryDb();
  DOTDO_ASSERT_OK(Exec(*db, "CREATE TABLE t(x INTEGER)"));
  Status st = db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(Exec(*db, "INSERT INTO t VALUES (1)"));
    return AbortedError("changed my mind");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted, "changed my mind"));
  EXPECT_EQ(CountRows(*db, "t"), 0);
}

TEST(DatabaseTest, TransactionRollsBackOnEscapingException) {
  auto db = testing::OpenMemoryDb();
  DOTDO_ASSERT_OK(Exec(*db, "CREATE TABLE t(x INTEGER)"));
  Status st = db->Transaction([&]() -> Status {
    Exec(*db, "INSERT INTO t VALUES (1)").IgnoreError();
    throw std::runtime_error("boom");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kInternal, "boom"));
  EXPECT_EQ(CountRows(*db, "t"), 0);
  EXPECT_FALSE(db->InTransaction());
}

TEST(DatabaseTest, NestedTransactionIsASavepoint) {
  auto db = testing::OpenMemoryDb();
  DOTDO_ASSERT_OK(Exec(*db, "CREATE TABLE t(x INTEGER)"));
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(Exec(*db, "INSERT INTO t VALUES (1)"));
    Status inner = db->Transaction([&]() -> Status {
      DOTDO_RETURN_IF_ERROR(Exec(*db, "INSERT INTO t VALUES (2)"));
      return InvalidArgumentError("inner fails");
    });
    EXPECT_THAT(inner, StatusIs(StatusCode::kInvalidArgument));
    return db->Transaction([&] { return Exec(*db, "INSERT INTO t VALUES (3)"); });
  }));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db->QueryReadOnly("SELECT x FROM t ORDER BY x"));
  EXPECT_EQ(rows, Json::parse(R"([{"x":1},{"x":3}])"));
}

TEST(DatabaseTest, StatsCountRowsReadAndWrittenAndReset) {
  auto db = testing::OpenMemoryDb();
  DOTDO_ASSERT_OK(Exec(*db, "CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT)"));
  db->ResetStats();
  DOTDO_ASSERT_OK(db->Transaction([&] { return Exec(*db, "INSERT INTO t(y) VALUES ('a'),('b'),('c')"); }));
  // Exec (sqlite3_exec) is not counted; prepared statements are.
  auto& conn = internal::DatabaseInternals::Conn(*db);
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto st, conn.Prepare("INSERT INTO t(y) VALUES (?1)"));
    st.Bind(1, "d");
    DOTDO_ASSERT_OK(st.Run());
  }
  EXPECT_EQ(db->stats().rows_written, 1);
  db->ResetStats();
  DOTDO_ASSERT_OK(db->QueryReadOnly("SELECT * FROM t"));
  EXPECT_EQ(db->stats().rows_read, 4);
  db->ResetStats();
  DOTDO_ASSERT_OK(db->QueryReadOnly("SELECT * FROM t WHERE x = 2"));
  EXPECT_EQ(db->stats().rows_read, 1);
  db->ResetStats();
  EXPECT_EQ(db->stats().rows_read, 0);
  EXPECT_EQ(db->stats().rows_written, 0);
}

TEST(DatabaseTest, QueryReadOnlyRefusesWritesAndMultipleStatements) {
  auto db = testing::OpenMemoryDb();
  DOTDO_ASSERT_OK(Exec(*db, "CREATE TABLE t(x INTEGER)"));
  EXPECT_THAT(db->QueryReadOnly("DELETE FROM t"), StatusIs(StatusCode::kInvalidArgument, "read-only"));
  EXPECT_THAT(db->QueryReadOnly("SELECT 1; DROP TABLE t"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(db->QueryReadOnly("SELEC 1"), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db->QueryReadOnly("SELECT ?1 + 1 AS v", {Json(41)}));
  EXPECT_EQ(rows[0]["v"], 42);
}

TEST(DatabaseTest, EnsureSchemaRunsEachMigrationOnceAndRefusesNewerSchemas) {
  ScratchDir dir;
  constexpr std::string_view v1[] = {"CREATE TABLE demo_a(x)"};
  constexpr std::string_view v2[] = {"CREATE TABLE demo_a(x)", "CREATE TABLE demo_b(y)"};
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "s"));
    DOTDO_ASSERT_OK(internal::DatabaseInternals::EnsureSchema(*db, "demo", v1));
  }
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "s"));
    DOTDO_ASSERT_OK(internal::DatabaseInternals::EnsureSchema(*db, "demo", v2));
    EXPECT_EQ(CountRows(*db, "demo_b"), 0);
  }
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "s"));
    EXPECT_THAT(internal::DatabaseInternals::EnsureSchema(*db, "demo", v1),
                StatusIs(StatusCode::kFailedPrecondition, "upgrade dotdo"));
  }
}

TEST(DatabaseTest, WritesArePersistedAcrossReopen) {
  ScratchDir dir;
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "p"));
    DOTDO_ASSERT_OK(Exec(*db, "CREATE TABLE t(x)"));
    DOTDO_ASSERT_OK(db->Transaction([&] { return Exec(*db, "INSERT INTO t VALUES (7)"); }));
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "p"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db->QueryReadOnly("SELECT x FROM t"));
  EXPECT_EQ(rows[0]["x"], 7);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "p.sqlite-wal"));  // WAL mode
}

}  // namespace
}  // namespace dotdo
