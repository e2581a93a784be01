// FaultyObjectStore: an armed fault fails exactly the Nth counted call (any mutating call by
// default, or one operation), before the wrapped store sees it; repeat fails every call after it;
// reads are counted but not failed unless named; the code is the one asked for; a streamed put
// fails from inside its reader after the chosen bytes and the wrapped store then stores nothing.
#include <gtest/gtest.h>

#include <cstring>

#include "objectstore/faulty_object_store.h"
#include "testing/test_util.h"

namespace dotdo::internal {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

class FaultyObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = LocalObjectStore::Open(dir_.path() / "objects");
    ASSERT_THAT(s, IsOk());
    base_ = std::move(s).value();
    faulty_ = std::make_unique<FaultyObjectStore>(*base_);
  }

  ScratchDir dir_;
  std::unique_ptr<LocalObjectStore> base_;
  std::unique_ptr<FaultyObjectStore> faulty_;
};

TEST_F(FaultyObjectStoreTest, NthMutatingCallFailsBeforeReachingTheStore) {
  faulty_->Arm({.nth = 3});
  DOTDO_ASSERT_OK(faulty_->Put("a", "1"));
  EXPECT_THAT(faulty_->Get("a"), IsOk());  // reads do not count
  DOTDO_ASSERT_OK(faulty_->Copy("a", "b"));
  EXPECT_THAT(faulty_->Delete("a"), StatusIs(StatusCode::kUnavailable, "injected object store fault: Delete 'a'"));
  DOTDO_EXPECT_OK(base_->Head("a"));  // the delete never reached the store
  DOTDO_EXPECT_OK(faulty_->Delete("a"));  // one-shot
  EXPECT_EQ(faulty_->injected(), 1);
  EXPECT_EQ(faulty_->calls(ObjectOp::kDelete), 2);
  EXPECT_EQ(faulty_->mutating_calls(), 4);
}

TEST_F(FaultyObjectStoreTest, FaultOnOneOperationRepeatsUntilDisarmed) {
  faulty_->Arm({.op = ObjectOp::kPut, .repeat = true});
  EXPECT_THAT(faulty_->Put("a", "1"), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(faulty_->Put("b", "2"), StatusIs(StatusCode::kUnavailable));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto upload, faulty_->CreateMultipartUpload("m"));  // not a Put
  DOTDO_ASSERT_OK_AND_ASSIGN(auto etag, faulty_->UploadPart("m", upload, 1, "part"));
  DOTDO_ASSERT_OK(faulty_->CompleteMultipartUpload("m", upload, {{.part_number = 1, .etag = etag}}));
  EXPECT_THAT(base_->Head("a"), StatusIs(StatusCode::kNotFound));
  faulty_->Disarm();
  DOTDO_ASSERT_OK(faulty_->Put("a", "1"));
  EXPECT_EQ(faulty_->injected(), 2);
}

TEST_F(FaultyObjectStoreTest, ReadFaultWithDataLoss) {
  DOTDO_ASSERT_OK(faulty_->Put("a", "1"));
  faulty_->Arm({.op = ObjectOp::kGet, .code = StatusCode::kDataLoss});
  EXPECT_THAT(faulty_->Get("a"), StatusIs(StatusCode::kDataLoss));
  EXPECT_EQ(*faulty_->Get("a"), "1");
}

TEST_F(FaultyObjectStoreTest, MultipartCallsCanFail) {
  faulty_->Arm({.op = ObjectOp::kCompleteMultipartUpload});
  DOTDO_ASSERT_OK_AND_ASSIGN(auto upload, faulty_->CreateMultipartUpload("m"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto etag, faulty_->UploadPart("m", upload, 1, "part"));
  EXPECT_THAT(faulty_->CompleteMultipartUpload("m", upload, {{.part_number = 1, .etag = etag}}),
              StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(base_->Head("m"), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK(faulty_->CompleteMultipartUpload("m", upload, {{.part_number = 1, .etag = etag}}));
  EXPECT_EQ(*base_->Get("m"), "part");
}

TEST_F(FaultyObjectStoreTest, StreamFailsAfterTheChosenBytesAndStoresNothing) {
  DOTDO_ASSERT_OK(faulty_->Put("s", "old"));
  const std::string bytes(1 << 20, 'x');
  size_t pos = 0;
  auto reader = [&](char* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::min(cap, bytes.size() - pos);
    std::memcpy(buf, bytes.data() + pos, n);
    pos += n;
    return n;
  };
  faulty_->Arm({.op = ObjectOp::kPutStream, .after_bytes = 300'000});
  EXPECT_THAT(faulty_->PutStream("s", reader), StatusIs(StatusCode::kUnavailable, "PutStream 's'"));
  EXPECT_EQ(pos, 300'000u);
  EXPECT_EQ(*base_->Get("s"), "old") << "an interrupted put leaves the previous object";
  pos = 0;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, faulty_->PutStream("s", reader));
  EXPECT_EQ(info.size, bytes.size());
}

TEST_F(FaultyObjectStoreTest, StreamShorterThanTheFaultPointCompletes) {
  faulty_->Arm({.op = ObjectOp::kPutStream, .after_bytes = 1000});
  bool done = false;
  DOTDO_ASSERT_OK(faulty_->PutStream("s", [&](char* buf, size_t) -> Result<size_t> {
    if (done) return size_t{0};
    done = true;
    buf[0] = 'a';
    return size_t{1};
  }));
  EXPECT_EQ(*base_->Get("s"), "a");
}

}  // namespace
}  // namespace dotdo::internal
