// LocalObjectStore multipart uploads: parts are files under uploads/<upload id>/, assembled into a
// temp file and committed like a put (see docs/formats/object_store.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json.h"
#include "objectstore/local_object_store_impl.h"
#include "core/sha256.h"

namespace dotdo {

namespace fs = std::filesystem;
using internal::ErrnoStatus;

namespace {
Result<ObjectPutOptions> LoadUpload(LocalObjectStore::Impl& impl, std::string_view key, std::string_view upload_id) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
  if (!internal::IsValidUploadId(upload_id))
    return InvalidArgumentError("invalid upload id '" + std::string(upload_id.substr(0, 64)) +
                                "': expected the 32 hex digits CreateMultipartUpload returned");
  auto text = internal::ReadSmallFile(impl.uploads_ / std::string(upload_id) / "upload.json");
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound)
      return NotFoundError("no multipart upload '" + std::string(upload_id) + "' (completed, aborted or never created)");
    return text.status();
  }
  const std::string unreadable = "multipart upload record '" + std::string(upload_id) + "' is unreadable";
  auto parsed = internal::ParseJson(*text, "it");
  if (!parsed.ok()) return DataLossError(unreadable + ": " + parsed.status().message());
  const Json& j = *parsed;
  return internal::CatchAll(unreadable, [&]() -> Result<ObjectPutOptions> {
    if (j.at("key").get<std::string>() != key)
      return NotFoundError("multipart upload '" + std::string(upload_id) + "' belongs to another key");
    ObjectPutOptions o;
    o.content_type = j.at("content_type").get<std::string>();
    o.metadata = j.at("metadata").get<std::map<std::string, std::string>>();
    o.storage_class = j.at("storage_class").get<std::string>();
    o.if_match = j.at("if_match").get<std::string>();
    o.if_none_match = j.at("if_none_match").get<bool>();
    return o;
  }, StatusCode::kDataLoss);
}

std::string PartName(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "part-%05d", n);
  return buf;
}
}  // namespace

Result<std::string> LocalObjectStore::CreateMultipartUpload(std::string_view key, const ObjectPutOptions& options) {
  DOTDO_RETURN_IF_ERROR(ValidateObjectKey(key));
  DOTDO_RETURN_IF_ERROR(internal::ValidatePutOptions(options));
  const std::string id = internal::RandomHex(16);
  const fs::path dir = impl_->uploads_ / id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ErrnoStatus(ec.value(), "cannot create '" + dir.string() + "'");
  const fs::path tmp = impl_->NewTmpPath();
  internal::Cleanup cleanup{tmp};
  {
    internal::Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (f.fd < 0) return ErrnoStatus(errno, "cannot create temp file '" + tmp.string() + "'");
    DOTDO_ASSIGN_OR_RETURN(std::string text, internal::DumpJsonChecked(internal::OptionsToJson(key, options),
                                                                       "object key, content type or metadata"));
    DOTDO_RETURN_IF_ERROR(internal::WriteAll(f.fd, text, tmp));
    if (impl_->options_.sync && ::fsync(f.fd) != 0) return ErrnoStatus(errno, "cannot sync '" + tmp.string() + "'");
  }
  if (::rename(tmp.c_str(), (dir / "upload.json").c_str()) != 0)
    return ErrnoStatus(errno, "cannot record multipart upload in '" + dir.string() + "'");
  DOTDO_RETURN_IF_ERROR(impl_->SyncDir(dir));
  return id;
}

Result<std::string> LocalObjectStore::UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                                 std::string_view data) {
  if (part_number < 1 || part_number > 10000)
    return InvalidArgumentError("part number " + std::to_string(part_number) + " is outside 1..10000");
  DOTDO_RETURN_IF_ERROR(LoadUpload(*impl_, key, upload_id).status());
  std::string_view rest = data;
  DOTDO_ASSIGN_OR_RETURN(Impl::TmpObject t, impl_->WriteTmp([&rest](char* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::min(cap, rest.size());
    std::memcpy(buf, rest.data(), n);
    rest.remove_prefix(n);
    return n;
  }));
  internal::Cleanup cleanup{t.path};
  const fs::path dir = impl_->uploads_ / std::string(upload_id);
  if (::rename(t.path.c_str(), (dir / PartName(part_number)).c_str()) != 0) {
    if (errno == ENOENT) return NotFoundError("multipart upload '" + std::string(upload_id) + "' was completed or aborted");
    return ErrnoStatus(errno, "cannot store part in '" + dir.string() + "'");
  }
  DOTDO_RETURN_IF_ERROR(impl_->SyncDir(dir));
  return t.etag;
}

Result<ObjectInfo> LocalObjectStore::CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                                             const std::vector<ObjectCompletedPart>& parts) {
  DOTDO_ASSIGN_OR_RETURN(ObjectPutOptions options, LoadUpload(*impl_, key, upload_id));
  if (parts.empty()) return InvalidArgumentError("a multipart upload needs at least one part");
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].part_number < 1 || parts[i].part_number > 10000)
      return InvalidArgumentError("part number " + std::to_string(parts[i].part_number) + " is outside 1..10000");
    if (i > 0 && parts[i].part_number <= parts[i - 1].part_number)
      return InvalidArgumentError("parts must be listed in strictly ascending part-number order");
  }
  const fs::path dir = impl_->uploads_ / std::string(upload_id);
  Impl::TmpObject t;
  t.path = impl_->NewTmpPath();
  internal::Cleanup cleanup{t.path};
  internal::Sha256 combined;
  {
    internal::Fd out(::open(t.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (out.fd < 0) return ErrnoStatus(errno, "cannot create temp file '" + t.path.string() + "'");
    std::vector<char> buf(internal::kChunk);
    for (const ObjectCompletedPart& p : parts) {
      internal::Fd in(::open((dir / PartName(p.part_number)).c_str(), O_RDONLY | O_CLOEXEC));
      if (in.fd < 0)
        return InvalidArgumentError("part " + std::to_string(p.part_number) + " of upload '" + std::string(upload_id) +
                                    "' was not uploaded");
      internal::Sha256 sha;
      for (;;) {
        ssize_t n = ::read(in.fd, buf.data(), buf.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return ErrnoStatus(errno, "cannot read part " + std::to_string(p.part_number));
        }
        if (n == 0) break;
        std::string_view chunk(buf.data(), static_cast<size_t>(n));
        sha.Update(chunk);
        DOTDO_RETURN_IF_ERROR(internal::WriteAll(out.fd, chunk, t.path));
        t.size += static_cast<uint64_t>(n);
      }
      auto digest = sha.Finish();
      if (internal::HexEncode(digest.data(), digest.size()) != p.etag)
        return InvalidArgumentError("the ETag given for part " + std::to_string(p.part_number) +
                                    " does not match the uploaded part");
      combined.Update(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
    }
    if (impl_->options_.sync && ::fsync(out.fd) != 0) return ErrnoStatus(errno, "cannot sync '" + t.path.string() + "'");
    struct stat st;
    if (::fstat(out.fd, &st) != 0) return ErrnoStatus(errno, "cannot stat '" + t.path.string() + "'");
    t.ino = static_cast<uint64_t>(st.st_ino);
  }
  t.etag = combined.FinishHex() + "-" + std::to_string(parts.size());
  ObjectInfo info = internal::InfoFromOptions(options);
  {
    std::lock_guard<std::mutex> lock(impl_->LockFor(key));
    DOTDO_ASSIGN_OR_RETURN(info, impl_->CommitLocked(key, t, std::move(info), options.if_match, options.if_none_match));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);  // leftover parts are garbage, not state
  return info;
}

Status LocalObjectStore::AbortMultipartUpload(std::string_view key, std::string_view upload_id) {
  DOTDO_RETURN_IF_ERROR(LoadUpload(*impl_, key, upload_id).status());
  std::error_code ec;
  fs::remove_all(impl_->uploads_ / std::string(upload_id), ec);
  if (ec) return ErrnoStatus(ec.value(), "cannot remove multipart upload '" + std::string(upload_id) + "'");
  return OkStatus();
}

}  // namespace dotdo
