// The SQLite layer: statement cache reuse, typed binding and columns, error mapping, the compiled-in
// options dotdo relies on (JSONB, FTS5, no double-quoted string literals), WAL and read-only opens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>

#include "sqlite/connection.h"
#include "sqlite/statement.h"
#include "testing/test_util.h"

namespace dotdo::internal {
namespace {

using dotdo::testing::IsOk;
using dotdo::testing::ScratchDir;
using dotdo::testing::StatusIs;

std::unique_ptr<Connection> OpenMemory() {
  auto conn = Connection::Open(":memory:", ConnectionOptions{});
  EXPECT_TRUE(conn.ok()) << conn.status().message();
  return std::move(conn).value();
}

TEST(ConnectionTest, BindsAndReadsEveryColumnType) {
  auto conn = OpenMemory();
  DOTDO_ASSERT_OK(conn->Exec("CREATE TABLE t(i INTEGER, d REAL, s TEXT, b BLOB, n)"));
  auto ins = conn->Prepare("INSERT INTO t VALUES(?, ?, ?, ?, ?)");
  ASSERT_TRUE(ins.ok());
  ins->Bind(1, int64_t{1} << 40).Bind(2, 2.5).Bind(3, std::string("héllo")).BindBlob(4, std::string("\0\1", 2)).BindNull(5);
  DOTDO_ASSERT_OK(ins->Run());
  auto sel = conn->Prepare("SELECT i, d, s, b, n FROM t");
  ASSERT_TRUE(sel.ok());
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->ColumnInt64(0), int64_t{1} << 40);
  EXPECT_EQ(sel->ColumnDouble(1), 2.5);
  EXPECT_EQ(sel->ColumnText(2), "héllo");
  EXPECT_EQ(sel->ColumnBlob(3), std::string("\0\1", 2));
  EXPECT_TRUE(sel->IsNull(4));
  EXPECT_EQ(sel->ColumnName(2), "s");
  EXPECT_FALSE(*sel->Step());
}

TEST(ConnectionTest, CachedStatementComesBackResetWithBindingsCleared) {
  auto conn = OpenMemory();
  for (int i = 0; i < 3; ++i) {
    auto st = conn->Prepare("SELECT ?1 + 1");
    ASSERT_TRUE(st.ok());
    st->Bind(1, i);
    ASSERT_TRUE(*st->Step());
    EXPECT_EQ(st->ColumnInt64(0), i + 1);
  }
  // Invariant 1: a statement returns to the cache with its bindings cleared.
  auto unbound = conn->Prepare("SELECT ?1 + 1");
  ASSERT_TRUE(unbound.ok());
  ASSERT_TRUE(*unbound->Step());
  EXPECT_TRUE(unbound->IsNull(0));
  // Two live users of the same text get two distinct statements (invariant 1).
  auto a = conn->Prepare("SELECT 7");
  auto b = conn->Prepare("SELECT 7");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(*a->Step());
  ASSERT_TRUE(*b->Step());
  EXPECT_EQ(a->ColumnInt64(0), 7);
  EXPECT_EQ(b->ColumnInt64(0), 7);
}

// The SQL texts of every statement prepared on the connection and not yet finalized.
std::vector<std::string> LiveStatements(Connection& conn) {
  std::vector<std::string> out;
  for (sqlite3_stmt* s = sqlite3_next_stmt(conn.handle(), nullptr); s != nullptr; s = sqlite3_next_stmt(conn.handle(), s))
    out.push_back(sqlite3_sql(s));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConnectionTest, FullCacheEvictsTheLeastRecentlyUsedIdleStatement) {
  ConnectionOptions options;
  options.statement_cache_capacity = 3;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto conn, Connection::Open(":memory:", options));
  auto run = [&](const std::string& sql) {
    auto st = conn->Prepare(sql);
    ASSERT_TRUE(st.ok()) << st.status().message();
    ASSERT_TRUE(*st->Step());
  };
  // A hot statement used between many one-off statements stays cached; the one-offs make room
  // for each other, oldest first, and the cache never holds more than its capacity.
  for (int i = 0; i < 10; ++i) {
    run("SELECT 'hot'");
    run("SELECT " + std::to_string(i));
    EXPECT_LE(LiveStatements(*conn).size(), 3u);
  }
  EXPECT_EQ(LiveStatements(*conn), (std::vector<std::string>{"SELECT 'hot'", "SELECT 8", "SELECT 9"}));
  // A statement added when the cache is full is cached too (it evicts the oldest idle one).
  run("SELECT 'late'");
  run("SELECT 'hot'");
  EXPECT_EQ(LiveStatements(*conn), (std::vector<std::string>{"SELECT 'hot'", "SELECT 'late'", "SELECT 9"}));
  // Capacity 0: nothing is kept.
  options.statement_cache_capacity = 0;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto uncached, Connection::Open(":memory:", options));
  {
    auto st = uncached->Prepare("SELECT 1");
    ASSERT_TRUE(st.ok());
  }
  EXPECT_TRUE(LiveStatements(*uncached).empty());
}

// Why LimitClause exists: a bound LIMIT makes SQLite re-prepare the statement after every re-bind,
// a LIMIT in the text never does.
TEST(ConnectionTest, LimitInTheSqlTextIsNotReprepared) {
  auto conn = OpenMemory();
  DOTDO_ASSERT_OK(conn->Exec("CREATE TABLE t(a INTEGER PRIMARY KEY)"));
  DOTDO_ASSERT_OK(conn->Exec("INSERT INTO t VALUES (1), (2), (3)"));
  auto reprepares = [&](const std::string& sql, bool bind_limit) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v3(conn->handle(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr), SQLITE_OK);
    for (int i = 0; i < 5; ++i) {
      sqlite3_bind_int(st, 1, 0);
      if (bind_limit) sqlite3_bind_int(st, 2, 2);
      while (sqlite3_step(st) == SQLITE_ROW) {
      }
      sqlite3_reset(st);
    }
    const int n = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_REPREPARE, 0);
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_GT(reprepares("SELECT a FROM t WHERE a > ?1 ORDER BY a LIMIT ?2", true), 0);
  EXPECT_EQ(LimitClause(2), " LIMIT 2");
  EXPECT_EQ(reprepares("SELECT a FROM t WHERE a > ?1 ORDER BY a" + LimitClause(2), false), 0);
}

TEST(ConnectionTest, MapsSqliteErrorsToTypedCodes) {
  auto conn = OpenMemory();
  DOTDO_ASSERT_OK(conn->Exec("CREATE TABLE u(k TEXT PRIMARY KEY)"));
  DOTDO_ASSERT_OK(conn->Exec("INSERT INTO u VALUES('a')"));
  EXPECT_THAT(conn->Exec("INSERT INTO u VALUES('a')"), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(conn->Prepare("SELEC 1").status(), StatusIs(StatusCode::kInvalidArgument, "syntax"));
  EXPECT_THAT(conn->Prepare("SELECT * FROM missing").status(), StatusIs(StatusCode::kInvalidArgument, "missing"));
}

TEST(ConnectionTest, CompiledWithTheOptionsDotdoNeeds) {
  auto conn = OpenMemory();
  // JSONB round trip.
  auto jsonb = conn->Prepare("SELECT json(jsonb('{\"a\":[1,2]}'))");
  ASSERT_TRUE(jsonb.ok());
  ASSERT_TRUE(*jsonb->Step());
  EXPECT_EQ(jsonb->ColumnText(0), R"({"a":[1,2]})");
  // FTS5 is compiled in.
  DOTDO_EXPECT_OK(conn->Exec("CREATE VIRTUAL TABLE f USING fts5(body)"));
  // Double-quoted string literals are an error, so a misspelled identifier never becomes a string.
  EXPECT_THAT(conn->Prepare("SELECT \"not_a_column\"").status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ConnectionTest, FileDatabaseUsesWalAndReadOnlyRefusesWrites) {
  ScratchDir dir;
  const std::string path = (dir.path() / "x.sqlite").string();
  {
    auto conn = Connection::Open(path, ConnectionOptions{});
    ASSERT_TRUE(conn.ok());
    auto mode = (*conn)->Prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode.ok());
    ASSERT_TRUE(*mode->Step());
    EXPECT_EQ(mode->ColumnText(0), "wal");
    mode->Reset();
    DOTDO_ASSERT_OK((*conn)->Exec("CREATE TABLE t(x)"));
  }
  ConnectionOptions ro;
  ro.read_only = true;
  ro.create = false;
  auto conn = Connection::Open(path, ro);
  ASSERT_TRUE(conn.ok());
  EXPECT_FALSE((*conn)->Exec("INSERT INTO t VALUES(1)").ok());
  ConnectionOptions no_create;
  no_create.create = false;
  EXPECT_FALSE(Connection::Open((dir.path() / "absent.sqlite").string(), no_create).ok());
}

TEST(ConnectionTest, CountsRowsWrittenAndRead) {
  auto conn = OpenMemory();
  DOTDO_ASSERT_OK(conn->Exec("CREATE TABLE t(x)"));
  auto ins = conn->Prepare("INSERT INTO t VALUES(?)");
  ASSERT_TRUE(ins.ok());
  const int64_t written_before = conn->counters().rows_written;
  for (int i = 0; i < 5; ++i) {
    ins->Bind(1, i);
    DOTDO_ASSERT_OK(ins->Run());
    ins->Reset();
  }
  EXPECT_EQ(conn->counters().rows_written - written_before, 5);
  const int64_t read_before = conn->counters().rows_read;
  auto sel = conn->Prepare("SELECT count(*) FROM t WHERE x >= 0");
  ASSERT_TRUE(sel.ok());
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->ColumnInt64(0), 5);
  sel.value() = Statement();
  EXPECT_GE(conn->counters().rows_read - read_before, 5);
}

}  // namespace
}  // namespace dotdo::internal
