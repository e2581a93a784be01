// FaultyObjectStore: fault bookkeeping and the forwarding overrides (see faulty_object_store.h).
#include "objectstore/faulty_object_store.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <string>

namespace dotdo::internal {
namespace {

const char* OpName(ObjectOp op) {
  switch (op) {
    case ObjectOp::kPut: return "Put";
    case ObjectOp::kPutStream: return "PutStream";
    case ObjectOp::kPutAddressed: return "PutAddressed";
    case ObjectOp::kGet: return "Get";
    case ObjectOp::kGetStream: return "GetStream";
    case ObjectOp::kHead: return "Head";
    case ObjectOp::kList: return "List";
    case ObjectOp::kDelete: return "Delete";
    case ObjectOp::kCopy: return "Copy";
    case ObjectOp::kCreateMultipartUpload: return "CreateMultipartUpload";
    case ObjectOp::kUploadPart: return "UploadPart";
    case ObjectOp::kCompleteMultipartUpload: return "CompleteMultipartUpload";
    case ObjectOp::kAbortMultipartUpload: return "AbortMultipartUpload";
  }
  return "?";
}

Status Injected(StatusCode code, ObjectOp op, std::string_view key) {
  return Status(code, std::string("injected object store fault: ") + OpName(op) + " '" + std::string(key) + "'");
}

}  // namespace

bool IsMutating(ObjectOp op) {
  switch (op) {
    case ObjectOp::kGet:
    case ObjectOp::kGetStream:
    case ObjectOp::kHead:
    case ObjectOp::kList:
      return false;
    default:
      return true;
  }
}

void FaultyObjectStore::Arm(const ObjectFault& fault) {
  std::lock_guard<std::mutex> lock(mu_);
  armed_.push_back(Armed{fault, std::max<int64_t>(fault.nth, 1)});
}

void FaultyObjectStore::Disarm() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_.clear();
}

int64_t FaultyObjectStore::injected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_;
}

int64_t FaultyObjectStore::calls(ObjectOp op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_[static_cast<int>(op)];
}

int64_t FaultyObjectStore::mutating_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  for (int i = 0; i < kObjectOpCount; ++i) {
    if (IsMutating(static_cast<ObjectOp>(i))) n += calls_[i];
  }
  return n;
}

void FaultyObjectStore::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_.clear();
  injected_ = 0;
  std::fill(std::begin(calls_), std::end(calls_), 0);
}

Status FaultyObjectStore::Decide(ObjectOp op, std::string_view key, std::optional<uint64_t>* stream_limit) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_[static_cast<int>(op)];
  Status result;
  for (size_t i = 0; i < armed_.size();) {
    Armed& a = armed_[i];
    const bool counts = a.fault.op ? *a.fault.op == op : IsMutating(op);
    if (!counts || --a.remaining > 0) {
      ++i;
      continue;
    }
    if (result.ok() && !(stream_limit && stream_limit->has_value())) {
      if (a.fault.after_bytes && op == ObjectOp::kPutStream && stream_limit) {
        *stream_limit = *a.fault.after_bytes;
      } else {
        result = Injected(a.fault.code, op, key);
      }
      ++injected_;
    }
    if (a.fault.repeat) {
      a.remaining = 1;
      ++i;
    } else {
      armed_.erase(armed_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return result;
}

Result<ObjectInfo> FaultyObjectStore::Put(std::string_view key, std::string_view data, const ObjectPutOptions& options) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kPut, key));
  return base_.Put(key, data, options);
}

Result<ObjectInfo> FaultyObjectStore::PutStream(std::string_view key, const ObjectReader& reader,
                                                const ObjectPutOptions& options) {
  std::optional<uint64_t> limit;
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kPutStream, key, &limit));
  if (!limit) return base_.PutStream(key, reader, options);
  // Fail from inside the stream once `limit` bytes went through: the wrapped store must abort.
  auto produced = std::make_shared<uint64_t>(0);
  const std::string k(key);
  ObjectReader failing = [&reader, produced, fail_at = *limit, k](char* buf, size_t cap) -> Result<size_t> {
    if (*produced >= fail_at) return Injected(StatusCode::kUnavailable, ObjectOp::kPutStream, k);
    const size_t want = static_cast<size_t>(std::min<uint64_t>(cap, fail_at - *produced));
    DOTDO_ASSIGN_OR_RETURN(size_t n, reader(buf, want));
    if (n == 0) return size_t{0};  // the stream ended before the fault point
    *produced += n;
    return n;
  };
  return base_.PutStream(key, failing, options);
}

Result<ObjectInfo> FaultyObjectStore::PutAddressed(const AddressFn& key_for, std::string_view data,
                                                   const ObjectPutOptions& options) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kPutAddressed, "<content address>"));
  return base_.PutAddressed(key_for, data, options);
}

Result<std::string> FaultyObjectStore::Get(std::string_view key, const ObjectGetOptions& options) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kGet, key));
  return base_.Get(key, options);
}

Result<ObjectInfo> FaultyObjectStore::GetStream(std::string_view key, const ObjectWriter& writer,
                                                const ObjectGetOptions& options) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kGetStream, key));
  return base_.GetStream(key, writer, options);
}

Result<ObjectInfo> FaultyObjectStore::Head(std::string_view key) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kHead, key));
  return base_.Head(key);
}

Result<ObjectListResult> FaultyObjectStore::List(const ObjectListOptions& options) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kList, options.prefix));
  return base_.List(options);
}

Status FaultyObjectStore::Delete(std::string_view key, const ObjectDeleteOptions& options) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kDelete, key));
  return base_.Delete(key, options);
}

Result<ObjectInfo> FaultyObjectStore::Copy(std::string_view source_key, std::string_view dest_key,
                                           const ObjectCopyOptions& options) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kCopy, dest_key));
  return base_.Copy(source_key, dest_key, options);
}

Result<std::string> FaultyObjectStore::CreateMultipartUpload(std::string_view key, const ObjectPutOptions& options) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kCreateMultipartUpload, key));
  return base_.CreateMultipartUpload(key, options);
}

Result<std::string> FaultyObjectStore::UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                                  std::string_view data) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kUploadPart, key));
  return base_.UploadPart(key, upload_id, part_number, data);
}

Result<ObjectInfo> FaultyObjectStore::CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                                              const std::vector<ObjectCompletedPart>& parts) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kCompleteMultipartUpload, key));
  return base_.CompleteMultipartUpload(key, upload_id, parts);
}

Status FaultyObjectStore::AbortMultipartUpload(std::string_view key, std::string_view upload_id) {
  DOTDO_RETURN_IF_ERROR(Decide(ObjectOp::kAbortMultipartUpload, key));
  return base_.AbortMultipartUpload(key, upload_id);
}

}  // namespace dotdo::internal
