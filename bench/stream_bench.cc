// dotdo-bench stream: StreamStore appends and consume+commit against raw SQLite doing the same
// work, and against Redis Streams (Debian's redis-server, started here on a unix socket), in the
// same run.
//
// Data: records with a 10-byte key ("key-<n>", n < 10,000) and a 100-byte value, into a topic of 4
// partitions (the key picks the partition with Kafka's partitioner on both sides).
//
// Cases (records per second; every case checks that both sides hold or return the same records):
//   append_batch_1 / _100 / _1000  SendBatch of 1, 100 or 1000 records, one transaction each (with
//                        its stream.produce events). Raw: its own sqlite3 connection to its own
//                        file (same pragmas: WAL, synchronous=NORMAL), an identical records table,
//                        one prepared INSERT per record inside BEGIN IMMEDIATE / COMMIT, offsets
//                        counted in memory (no partition row, no events).
//   consume_commit       a StreamConsumer (manual assignment of the 4 partitions, group "bench")
//                        polling 500 records and committing after each poll, until the topic is
//                        drained. Raw: per poll, one prepared range SELECT per partition copying
//                        each record's key and value out (as the consumer hands records to the
//                        application) and an upsert of the 4 offsets in one transaction.
//   append_batch_1000_vs_redis  SendBatch(1000) against XADD to one stream per partition, sent
//                        as pipelines of 100 commands (10 round trips per 1000 records). Redis runs
//                        without persistence (no RDB, no AOF): it acknowledges from memory, ours
//                        after a WAL commit.
//   consume_commit_vs_redis  (informational) the consume_commit loop against XREADGROUP COUNT 500
//                        per stream with one pipelined XACK of the ids read.
// --quick runs small sizes; the Redis cases are skipped with a message when redis-server (or
// hiredis at build time) is absent. Rounds alternate ours and the baseline; the best is kept.
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench.h"
#include "dotdo/stream.h"

#ifdef DOTDO_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

namespace dotdo::bench {
namespace {

namespace fs = std::filesystem;
constexpr int32_t kPartitions = 4;

void Check(int rc, sqlite3* db, const std::string& what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(what + ": " + sqlite3_errmsg(db));
}
void Fail(const Status& st, const std::string& what) {
  if (!st.ok()) throw std::runtime_error(what + ": " + st.ToString());
}

std::string Key(uint64_t n) {
  std::string k = "key-" + std::to_string(n % 10000);
  k.resize(10, '_');
  return k;
}
std::string Value(uint64_t n) {
  std::string v = "value-" + std::to_string(n);
  v.resize(100, '.');
  return v;
}

struct RawRecord {
  int32_t partition;
  int64_t offset, timestamp;
  std::string key, value;
};

std::string Blob(sqlite3_stmt* st, int col) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(st, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, col))) : std::string();
}

// The raw-SQLite side: its own file and connection, the same records table.
class Raw {
 public:
  explicit Raw(const std::string& path) {
    Check(sqlite3_open(path.c_str(), &db_), db_, "open");
    Check(sqlite3_exec(db_,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       "CREATE TABLE records (topic_id INTEGER NOT NULL, partition INTEGER NOT NULL, offset INTEGER "
                       "NOT NULL, ts INTEGER NOT NULL, key BLOB, value BLOB, headers BLOB, size INTEGER NOT NULL, "
                       "PRIMARY KEY (topic_id, partition, offset)) WITHOUT ROWID;"
                       "CREATE TABLE offsets (group_id TEXT NOT NULL, topic_id INTEGER NOT NULL, partition INTEGER "
                       "NOT NULL, offset INTEGER NOT NULL, PRIMARY KEY (group_id, topic_id, partition)) WITHOUT ROWID;",
                       nullptr, nullptr, nullptr),
          db_, "schema");
    Prepare("INSERT INTO records VALUES (1, ?1, ?2, ?3, ?4, ?5, NULL, ?6)", &insert_);
    Prepare("SELECT offset, key, value, ts FROM records WHERE topic_id = 1 AND partition = ?1 AND offset >= ?2 "
            "ORDER BY offset LIMIT ?3",
            &select_);
    Prepare("INSERT INTO offsets VALUES ('bench', 1, ?1, ?2) ON CONFLICT (group_id, topic_id, partition) DO UPDATE "
            "SET offset = excluded.offset",
            &commit_);
  }
  ~Raw() {
    for (sqlite3_stmt* s : {insert_, select_, commit_}) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  void Append(uint64_t first, int n, int64_t ts) {
    Check(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db_, "begin");
    for (int i = 0; i < n; ++i) {
      const std::string key = Key(first + i), value = Value(first + i);
      const int32_t p = KafkaPartitionForKey(key, kPartitions);
      sqlite3_bind_int(insert_, 1, p);
      sqlite3_bind_int64(insert_, 2, next_[p]++);
      sqlite3_bind_int64(insert_, 3, ts);
      sqlite3_bind_blob(insert_, 4, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(insert_, 5, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert_, 6, static_cast<int64_t>(key.size() + value.size()));
      Check(sqlite3_step(insert_), db_, "insert");
      sqlite3_reset(insert_);
    }
    Check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), db_, "commit");
  }

  // One poll of a drain from offset 0: up to 500 records (copied out, as the consumer hands records
  // to the application), then the 4 offsets committed in one transaction. Returns the records read.
  int PollAndCommit(std::vector<int64_t>& pos, uint64_t& sum) {
    std::vector<RawRecord> batch;
    int got = 0;
    for (int32_t p = 0; p < kPartitions && got < 500; ++p) {
      sqlite3_bind_int(select_, 1, p);
      sqlite3_bind_int64(select_, 2, pos[p]);
      sqlite3_bind_int(select_, 3, 500 - got);
      while (sqlite3_step(select_) == SQLITE_ROW) {
        RawRecord r{p, sqlite3_column_int64(select_, 0), sqlite3_column_int64(select_, 3), Blob(select_, 1),
                    Blob(select_, 2)};
        pos[p] = r.offset + 1;
        sum += r.value.size() + static_cast<uint64_t>(pos[p]);
        batch.push_back(std::move(r));
        ++got;
      }
      sqlite3_reset(select_);
    }
    if (got == 0) return 0;
    Check(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db_, "begin");
    for (int32_t p = 0; p < kPartitions; ++p) {
      sqlite3_bind_int(commit_, 1, p);
      sqlite3_bind_int64(commit_, 2, pos[p]);
      Check(sqlite3_step(commit_), db_, "commit offsets");
      sqlite3_reset(commit_);
    }
    Check(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), db_, "commit");
    return got;
  }

  int64_t Next(int32_t p) const { return next_[p]; }

 private:
  void Prepare(const char* sql, sqlite3_stmt** st) { Check(sqlite3_prepare_v2(db_, sql, -1, st, nullptr), db_, sql); }
  sqlite3* db_ = nullptr;
  sqlite3_stmt *insert_ = nullptr, *select_ = nullptr, *commit_ = nullptr;
  int64_t next_[kPartitions] = {0, 0, 0, 0};
};

std::vector<StreamMessage> Messages(uint64_t first, int n) {
  std::vector<StreamMessage> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out[static_cast<size_t>(i)] = {.key = Key(first + i), .value = Value(first + i)};
  return out;
}

// A drain of the topic from the beginning through a StreamConsumer, one poll (500) + commit a step.
class OursDrain {
 public:
  explicit OursDrain(StreamStore& stream) : consumer_(stream, {.group_id = "bench", .auto_commit = false}) {
    std::vector<StreamTopicPartition> all;
    for (int32_t p = 0; p < kPartitions; ++p) all.push_back({"bench", p});
    Fail(consumer_.Assign(all), "assign");
    Fail(consumer_.SeekToBeginning(), "seek");
  }
  int Step() {
    auto recs = consumer_.Poll(500, 0);
    Fail(recs.status(), "poll");
    if (recs->empty()) return 0;
    for (const auto& r : *recs) sum += r.value->size() + static_cast<uint64_t>(r.offset + 1);
    Fail(consumer_.Commit(), "commit");
    return static_cast<int>(recs->size());
  }
  uint64_t sum = 0;

 private:
  StreamConsumer consumer_;
};

class RawDrain {
 public:
  explicit RawDrain(Raw& raw) : raw_(raw), pos_(kPartitions, 0) {}
  int Step() { return raw_.PollAndCommit(pos_, sum); }
  uint64_t sum = 0;

 private:
  Raw& raw_;
  std::vector<int64_t> pos_;
};

// Runs two step functions (each returns the records it handled, 0 when done) alternately — which
// side goes first swaps every step — until both are done, `rounds` times with fresh state from
// make(); returns the best total seconds of each side and the records each handled per round.
struct AlternateResult {
  double ours = 1e100, baseline = 1e100;
  int64_t ours_records = 0, baseline_records = 0;
};
template <typename OursStep, typename BaseStep>
AlternateResult Alternate(int rounds, const std::function<std::pair<OursStep, BaseStep>()>& make) {
  AlternateResult r;
  for (int round = 0; round < rounds; ++round) {
    auto [ours, base] = make();
    double t_ours = 0, t_base = 0;
    int64_t n_ours = 0, n_base = 0;
    bool ours_done = false, base_done = false;
    for (int step = 0; !ours_done || !base_done; ++step) {
      auto run_ours = [&] {
        if (ours_done) return;
        int n = 0;
        t_ours += TimeIt([&] { n = ours(); });
        n_ours += n;
        ours_done = n == 0;
      };
      auto run_base = [&] {
        if (base_done) return;
        int n = 0;
        t_base += TimeIt([&] { n = base(); });
        n_base += n;
        base_done = n == 0;
      };
      if (step % 2 == 0) {
        run_ours();
        run_base();
      } else {
        run_base();
        run_ours();
      }
    }
    r.ours = std::min(r.ours, t_ours);
    r.baseline = std::min(r.baseline, t_base);
    r.ours_records = n_ours;
    r.baseline_records = n_base;
  }
  return r;
}

#ifdef DOTDO_HAVE_HIREDIS
// redis-server on a unix socket in the run's directory, without persistence; stopped on destruction.
class RedisServer {
 public:
  static std::string Binary() {
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
      const std::string p = std::string(dir) + "/redis-server";
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return "";
  }
  explicit RedisServer(const fs::path& dir) : socket_((dir / "redis.sock").string()) {
    const std::string bin = Binary();
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string d = dir.string(), log = (dir / "redis.log").string();
      // The bench prints JSON lines on stdout: the server's output goes to its log file.
      const int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(null_fd, STDOUT_FILENO);
        ::dup2(null_fd, STDERR_FILENO);
      }
      ::execl(bin.c_str(), bin.c_str(), "--port", "0", "--unixsocket", socket_.c_str(), "--save", "",
              "--appendonly", "no", "--dir", d.c_str(), "--logfile", log.c_str(), "--loglevel", "warning",
              static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500 && !ctx_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      redisContext* c = redisConnectUnix(socket_.c_str());
      if (c && !c->err) {
        ctx_ = c;
      } else if (c) {
        redisFree(c);
      }
    }
    if (!ctx_) throw std::runtime_error("redis-server did not come up on " + socket_);
  }
  ~RedisServer() {
    if (ctx_) redisFree(ctx_);
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  redisContext* ctx() { return ctx_; }

  redisReply* Get() {
    void* reply = nullptr;
    if (redisGetReply(ctx_, &reply) != REDIS_OK || !reply) throw std::runtime_error("redis: no reply");
    auto* r = static_cast<redisReply*>(reply);
    if (r->type == REDIS_REPLY_ERROR) {
      std::string e(r->str, r->len);
      freeReplyObject(r);
      throw std::runtime_error("redis: " + e);
    }
    return r;
  }

  // XADD of records [first, first + n) to stream s:<partition>, pipelined 100 at a time.
  void Append(uint64_t first, int n) {
    for (int done = 0; done < n;) {
      const int chunk = std::min(100, n - done);
      for (int i = 0; i < chunk; ++i) {
        const std::string key = Key(first + done + i), value = Value(first + done + i);
        const std::string stream = "s:" + std::to_string(KafkaPartitionForKey(key, kPartitions));
        redisAppendCommand(ctx_, "XADD %b * k %b v %b", stream.data(), stream.size(), key.data(), key.size(),
                           value.data(), value.size());
      }
      for (int i = 0; i < chunk; ++i) freeReplyObject(Get());
      done += chunk;
    }
  }

  // Creates consumer group `group` on every stream, reading from the start.
  void CreateGroup(const std::string& group) {
    for (int32_t p = 0; p < kPartitions; ++p) {
      const std::string stream = "s:" + std::to_string(p);
      const char* argv[] = {"XGROUP", "CREATE", stream.c_str(), group.c_str(), "0", "MKSTREAM"};
      redisAppendCommandArgv(ctx_, 6, argv, nullptr);
      freeReplyObject(Get());
    }
  }

  // One poll of a drain: XREADGROUP of up to 500 entries over the streams in turn, then one XACK of
  // the ids read per stream. Returns the entries read.
  int PollAndAck(const std::string& group, uint64_t& sum) {
    int got = 0;
    for (int32_t p = 0; p < kPartitions && got < 500; ++p) {
      const std::string stream = "s:" + std::to_string(p);
      redisReply* r = static_cast<redisReply*>(redisCommand(ctx_, "XREADGROUP GROUP %s c COUNT %d STREAMS %s >",
                                                            group.c_str(), 500 - got, stream.c_str()));
      if (!r) throw std::runtime_error("redis: XREADGROUP failed");
      std::vector<std::string> ids;
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply* entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; ++i) {
          redisReply* e = entries->element[i];
          ids.emplace_back(e->element[0]->str, e->element[0]->len);
          sum += e->element[1]->element[3]->len;
        }
      }
      freeReplyObject(r);
      got += static_cast<int>(ids.size());
      if (ids.empty()) continue;
      std::vector<const char*> argv = {"XACK", stream.c_str(), group.c_str()};
      std::vector<size_t> lens = {4, stream.size(), group.size()};
      for (const auto& id : ids) {
        argv.push_back(id.c_str());
        lens.push_back(id.size());
      }
      redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data());
      freeReplyObject(Get());
    }
    return got;
  }

 private:
  std::string socket_;
  pid_t pid_ = -1;
  redisContext* ctx_ = nullptr;
};
#endif

void Mismatch(const std::string& what) { throw std::runtime_error("result mismatch: " + what); }

int RunSuite(const Options& options) {
  const fs::path root = options.data_dir;
  auto db = Database::Open(root, "bench");
  Fail(db.status(), "open");
  StreamStore stream(**db);
  Fail(stream.CreateTopic("bench", {.partitions = kPartitions, .retention_ms = -1}).status(), "create topic");
  Raw raw((root / "raw.sqlite").string());
  uint64_t ours_next = 0, raw_next = 0;
  const int64_t ts = (*db)->NowMillis();
  const int rounds = options.quick ? 1 : 3;

  struct Size {
    const char* name;
    int batch, batches;
  };
  const Size sizes[] = {{"append_batch_1", 1, options.quick ? 100 : 2000},
                        {"append_batch_100", 100, options.quick ? 5 : 100},
                        {"append_batch_1000", 1000, options.quick ? 2 : 30}};
  for (const Size& s : sizes) {
    using Step = std::function<int()>;
    auto r = Alternate<Step, Step>(rounds, [&] {
      auto left = std::make_shared<int>(s.batches), raw_left = std::make_shared<int>(s.batches);
      Step ours = [&, left] {
        if ((*left)-- <= 0) return 0;
        Fail(stream.SendBatch("bench", Messages(ours_next, s.batch)).status(), "send");
        ours_next += static_cast<uint64_t>(s.batch);
        return s.batch;
      };
      Step base = [&, raw_left] {
        if ((*raw_left)-- <= 0) return 0;
        raw.Append(raw_next, s.batch, ts);
        raw_next += static_cast<uint64_t>(s.batch);
        return s.batch;
      };
      return std::make_pair(ours, base);
    });
    const double n = static_cast<double>(s.batch) * s.batches;
    Report({"stream", s.name, "records_per_s", "sqlite_raw", n / r.ours, n / r.baseline, true,
            std::to_string(s.batch) + " records (10 B key, 100 B value) per transaction, 4 partitions; " +
                std::to_string(s.batches) + " batches alternating with the baseline, best of " +
                std::to_string(rounds) + " rounds"});
  }
  auto info = stream.DescribeTopic("bench");
  Fail(info.status(), "describe");
  for (const auto& p : info->partitions)
    if (p.end_offset != raw.Next(p.partition)) Mismatch("partition " + std::to_string(p.partition) + " end offsets");

  {
    using Step = std::function<int()>;
    uint64_t ours_sum = 0, raw_sum = 0;
    auto r = Alternate<Step, Step>(rounds, [&] {
      auto ours = std::make_shared<OursDrain>(stream);
      auto base = std::make_shared<RawDrain>(raw);
      ours_sum = raw_sum = 0;
      return std::make_pair(Step([ours, &ours_sum] {
                              const int n = ours->Step();
                              ours_sum = ours->sum;
                              return n;
                            }),
                            Step([base, &raw_sum] {
                              const int n = base->Step();
                              raw_sum = base->sum;
                              return n;
                            }));
    });
    if (r.ours_records != r.baseline_records || ours_sum != raw_sum) Mismatch("consumed records");
    Report({"stream", "consume_commit", "records_per_s", "sqlite_raw", static_cast<double>(r.ours_records) / r.ours,
            static_cast<double>(r.baseline_records) / r.baseline, true,
            "drain " + std::to_string(r.ours_records) +
                " records, 500 per poll, offsets committed after each poll, polls alternating; best of " +
                std::to_string(rounds)});
  }

#ifdef DOTDO_HAVE_HIREDIS
  if (RedisServer::Binary().empty()) {
    std::fprintf(stderr, "stream bench: redis-server not found; skipping the Redis cases (install redis-server)\n");
    return 0;
  }
  RedisServer redis(root);
  Fail(stream.CreateTopic("vs-redis", {.partitions = kPartitions, .retention_ms = -1}).status(), "create topic");
  {
    const int batches = options.quick ? 2 : 30;
    uint64_t ours_n = 0, redis_n = 0;
    using Step = std::function<int()>;
    auto r = Alternate<Step, Step>(rounds, [&] {
      auto left = std::make_shared<int>(batches), redis_left = std::make_shared<int>(batches);
      Step ours = [&, left] {
        if ((*left)-- <= 0) return 0;
        Fail(stream.SendBatch("vs-redis", Messages(ours_n, 1000)).status(), "send");
        ours_n += 1000;
        return 1000;
      };
      Step base = [&, redis_left] {
        if ((*redis_left)-- <= 0) return 0;
        redis.Append(redis_n, 1000);
        redis_n += 1000;
        return 1000;
      };
      return std::make_pair(ours, base);
    });
    const double n = 1000.0 * batches;
    Report({"stream", "append_batch_1000_vs_redis", "records_per_s", "redis_xadd_pipelined", n / r.ours,
            n / r.baseline, true,
            "1000 records per SendBatch vs 1000 XADD pipelined 100 per round trip, one stream per partition; "
            "Redis without persistence (acknowledged from memory), ours WAL-committed; best of " +
                std::to_string(rounds)});

    // Both drain what they appended: ours through a consumer on topic vs-redis, Redis through
    // a fresh consumer group per round.
    int group_round = 0;
    auto c = Alternate<Step, Step>(rounds, [&] {
      auto consumer = std::make_shared<StreamConsumer>(stream, StreamConsumerOptions{.group_id = "vs-redis",
                                                                                     .auto_commit = false});
      std::vector<StreamTopicPartition> all;
      for (int32_t p = 0; p < kPartitions; ++p) all.push_back({"vs-redis", p});
      Fail(consumer->Assign(all), "assign");
      Fail(consumer->SeekToBeginning(), "seek");
      const std::string group = "g" + std::to_string(group_round++);
      redis.CreateGroup(group);
      auto sum = std::make_shared<uint64_t>(0);
      return std::make_pair(Step([consumer] {
                              auto recs = consumer->Poll(500, 0);
                              Fail(recs.status(), "poll");
                              if (recs->empty()) return 0;
                              Fail(consumer->Commit(), "commit");
                              return static_cast<int>(recs->size());
                            }),
                            Step([&redis, group, sum] { return redis.PollAndAck(group, *sum); }));
    });
    if (c.ours_records != static_cast<int64_t>(ours_n) || c.baseline_records != static_cast<int64_t>(redis_n))
      Mismatch("records consumed from ours / redis");
    Report({"stream", "consume_commit_vs_redis", "records_per_s", "redis_xreadgroup_xack",
            static_cast<double>(c.ours_records) / c.ours, static_cast<double>(c.baseline_records) / c.baseline, true,
            "informational: drain " + std::to_string(c.ours_records) +
                " records, 500 per poll + offset commit vs XREADGROUP COUNT 500 + XACK; best of " +
                std::to_string(rounds)});
  }
#else
  std::fprintf(stderr, "stream bench: built without hiredis; skipping the Redis cases (install libhiredis-dev)\n");
#endif
  return 0;
}

}  // namespace

DOTDO_BENCH_SUITE(stream) {
  try {
    return RunSuite(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stream bench failed: %s\n", e.what());
    return 1;
  }
}

}  // namespace dotdo::bench
