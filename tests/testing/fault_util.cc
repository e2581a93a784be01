// Fault-injection test helpers (see fault_util.h).
#include "testing/fault_util.h"

namespace dotdo::testing {

using internal::FaultError;
using internal::FaultInjectionVfs;

StatusCode ExpectedCode(FaultError error) {
  return error == FaultError::kNoSpace ? StatusCode::kResourceExhausted : StatusCode::kUnavailable;
}

FaultyNamespace::FaultyNamespace(Synchronous synchronous) : synchronous_(synchronous) {
  FaultInjectionVfs::Instance().Reset();
}

FaultyNamespace::~FaultyNamespace() {
  db_.reset();
  FaultInjectionVfs::Instance().Reset();
}

Database& FaultyNamespace::Open() {
  db_.reset();
  DatabaseOptions o;
  o.synchronous = synchronous_;
  o.vfs = FaultInjectionVfs::kName;
  auto db = Database::Open(dir_.path(), "faulty", o);
  if (!db.ok()) {
    ADD_FAILURE() << db.status();
    std::abort();
  }
  db_ = std::move(db).value();
  return *db_;
}

Database& FaultyNamespace::OpenNormal() {
  db_.reset();
  auto db = Database::Open(dir_.path(), "faulty");
  if (!db.ok()) {
    ADD_FAILURE() << db.status();
    std::abort();
  }
  db_ = std::move(db).value();
  return *db_;
}

void FaultyNamespace::LosePower(size_t keep_writes) {
  auto& vfs = FaultInjectionVfs::Instance();
  vfs.CutPower();
  db_.reset();
  EXPECT_THAT(vfs.DropUnsyncedData(keep_writes), IsOk());
}

void FaultyNamespace::ExpectConsistent() {
  auto check = db_->QueryReadOnly("PRAGMA integrity_check");
  ASSERT_THAT(check, IsOk());
  ASSERT_EQ(check->size(), 1u) << check->dump();
  EXPECT_EQ((*check)[0]["integrity_check"], "ok");
  auto lsns = db_->QueryReadOnly(
      "SELECT COUNT(*) AS n, COALESCE(MIN(lsn), 1) AS lo, COALESCE(MAX(lsn), 0) AS hi FROM cdc_events");
  if (!lsns.ok()) return;  // no outbox yet: nothing was ever committed through a store
  const Json& r = (*lsns)[0];
  EXPECT_EQ(r["lo"].get<int64_t>(), 1) << "the outbox starts at lsn 1";
  EXPECT_EQ(r["hi"].get<int64_t>() - r["lo"].get<int64_t>() + 1, r["n"].get<int64_t>()) << "lsns have a gap";
}

std::vector<UnifiedEvent> FaultyNamespace::EventsFor(const std::string& key) {
  std::vector<UnifiedEvent> out;
  auto events = ChangeFeed(*db_).Read(0, 10000);
  EXPECT_THAT(events, IsOk());
  if (!events.ok()) return out;
  for (auto& e : *events) {
    if (e.key == key) out.push_back(std::move(e));
  }
  return out;
}

int ForEachFaultPosition(const FaultLoopOptions& options, const std::function<void(Database&)>& setup,
                         const std::function<Status(Database&)>& op, const FaultCheck& in_process,
                         const FaultCheck& after_reopen) {
  auto& vfs = FaultInjectionVfs::Instance();
  int faulted_runs = 0;
  for (int n = 1; n <= options.max_runs; ++n) {
    SCOPED_TRACE("fault at call " + std::to_string(n));
    FaultyNamespace ns(options.synchronous);
    Database& db = ns.Open();
    setup(db);
    if (::testing::Test::HasFatalFailure()) return faulted_runs;
    internal::FaultSpec spec = options.fault;
    spec.nth = n;
    spec.repeat = false;
    vfs.Arm(spec);
    const Status st = op(db);
    const bool faulted = vfs.injected() > 0;
    vfs.Disarm();
    if (faulted) ++faulted_runs;
    if (faulted && !st.ok()) {
      EXPECT_EQ(st.code(), ExpectedCode(spec.error)) << st;
    }
    if (!faulted) {
      EXPECT_THAT(st, IsOk()) << "no fault was injected";
    }
    in_process(db, st, faulted);
    if (::testing::Test::HasFatalFailure()) return faulted_runs;
    ns.Close();
    Database& reopened = ns.OpenNormal();
    ns.ExpectConsistent();
    after_reopen(reopened, st, faulted);
    if (::testing::Test::HasFatalFailure() || !faulted) return faulted_runs;
  }
  ADD_FAILURE() << "the operation still reached a fault after " << options.max_runs << " runs";
  return faulted_runs;
}

std::vector<UnifiedEvent> EventsFor(Database& db, const std::string& key) {
  std::vector<UnifiedEvent> out;
  auto events = ChangeFeed(db).Read(0, 10000);
  EXPECT_THAT(events, ::dotdo::testing::IsOk());
  if (events.ok()) {
    for (auto& e : *events) {
      if (e.key == key) out.push_back(e);
    }
  }
  return out;
}

}  // namespace dotdo::testing
