// FaultyObjectStore: an ObjectStore decorator for tests that fails chosen calls of the store it
// wraps, the object-store counterpart of the fault-injecting SQLite VFS. An armed fault fails the
// Nth (or every) call of one operation — or of any mutating operation — before it reaches the
// wrapped store, so nothing is stored, removed or read; a streamed put can instead fail after a
// chosen number of bytes, from inside the reader, which exercises the wrapped store's abort path
// (contract: an interrupted put stores nothing).
//
// Error codes (absl/status/status.h guidance): the default is kUnavailable — a failed request to an
// S3-like service or an EIO from the disk is transient, and the caller may retry the whole call.
// kDataLoss is for simulating an object that is unrecoverably gone or corrupt (use it on reads);
// any other code may be given as well.
//
// Thread-safety: safe to call from several threads (the fault bookkeeping has its own mutex; the
// wrapped store is itself thread-safe). Ownership: the wrapped store must outlive the decorator.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "dotdo/object_store.h"

namespace dotdo::internal {

enum class ObjectOp {
  kPut,
  kPutStream,
  kPutAddressed,
  kGet,
  kGetStream,
  kHead,
  kList,
  kDelete,
  kCopy,
  kCreateMultipartUpload,
  kUploadPart,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
};
inline constexpr int kObjectOpCount = 13;

// Put, PutStream, PutAddressed, Delete, Copy and the four multipart calls.
bool IsMutating(ObjectOp op);

struct ObjectFault {
  // The operation whose calls count. Default: every mutating operation (IsMutating).
  std::optional<ObjectOp> op;
  // Fail the nth counted call after Arm (1 = the next one). Default 1.
  int64_t nth = 1;
  // Also fail every counted call after the nth. Default false.
  bool repeat = false;
  // The status code of the failure. Default kUnavailable (see the file comment).
  StatusCode code = StatusCode::kUnavailable;
  // PutStream only: let the call through and fail the reader once it has produced this many bytes
  // (0 = at its first read). Default unset: fail before the call.
  std::optional<uint64_t> after_bytes;
};

class FaultyObjectStore final : public ObjectStore {
 public:
  explicit FaultyObjectStore(ObjectStore& base) : base_(base) {}

  void Arm(const ObjectFault& fault);
  void Disarm();
  // Failures injected / calls seen (failed ones included) since construction or Reset.
  int64_t injected() const;
  int64_t calls(ObjectOp op) const;
  int64_t mutating_calls() const;
  void Reset();

  Result<ObjectInfo> Put(std::string_view key, std::string_view data, const ObjectPutOptions& options = {}) override;
  Result<ObjectInfo> PutStream(std::string_view key, const ObjectReader& reader,
                               const ObjectPutOptions& options = {}) override;
  Result<ObjectInfo> PutAddressed(const AddressFn& key_for, std::string_view data,
                                  const ObjectPutOptions& options = {}) override;
  Result<std::string> Get(std::string_view key, const ObjectGetOptions& options = {}) override;
  Result<ObjectInfo> GetStream(std::string_view key, const ObjectWriter& writer,
                               const ObjectGetOptions& options = {}) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<ObjectListResult> List(const ObjectListOptions& options = {}) override;
  Status Delete(std::string_view key, const ObjectDeleteOptions& options = {}) override;
  Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                          const ObjectCopyOptions& options = {}) override;
  Result<std::string> CreateMultipartUpload(std::string_view key, const ObjectPutOptions& options = {}) override;
  Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                 std::string_view data) override;
  Result<ObjectInfo> CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                             const std::vector<ObjectCompletedPart>& parts) override;
  Status AbortMultipartUpload(std::string_view key, std::string_view upload_id) override;

 private:
  struct Armed {
    ObjectFault fault;
    int64_t remaining = 1;
  };
  // What a call of `op` on `key` should do: OK to go ahead, or the injected failure. For a PutStream
  // fault with after_bytes, *stream_limit is set and the call goes ahead.
  Status Decide(ObjectOp op, std::string_view key, std::optional<uint64_t>* stream_limit = nullptr);

  ObjectStore& base_;
  mutable std::mutex mu_;
  std::vector<Armed> armed_;             // GUARDED_BY(mu_)
  int64_t injected_ = 0;                 // GUARDED_BY(mu_)
  int64_t calls_[kObjectOpCount] = {};   // GUARDED_BY(mu_)
};

}  // namespace dotdo::internal
