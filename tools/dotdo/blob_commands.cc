// `dotdo blob ...`: the BlobStore from the shell. Bytes stream from a file or stdin into the
// namespace's object store at <data-dir>/objects/<ns>/ (a LocalObjectStore) and back out to a file
// or stdout; metadata lives in <data-dir>/<ns>.sqlite. Results are JSON on stdout, except
// `blob get` without -o, which writes the raw bytes.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "cli.h"
#include "dotdo/blob.h"

namespace dotdo::cli {
namespace {

struct BlobArgs {
  std::string key;
  std::string source;  // file path or "-"
  std::string output;  // file path; empty = stdout
  std::string content_type;
  std::string metadata = "{}";
  std::string prefix;
  std::string cursor;
  std::string where = "{}";
  int64_t limit = 100;
  std::string expires = "1h";
  std::string disposition;
  bool upload = false;
  uint64_t max_size = 0;
  std::string secret;
  std::string url_base;
  std::string grace = "1h";
};

struct Opened {
  std::unique_ptr<BlobStore> blobs;
};

// The namespace's blob store; --secret and --url-base override the host's configuration.
Result<Opened> OpenBlobs(Context& ctx, const BlobArgs& a, bool create) {
  DOTDO_ASSIGN_OR_RETURN(Namespace * ns, ctx.OpenNamespace(create));
  Opened o;
  DOTDO_ASSIGN_OR_RETURN(o.blobs, ns->OpenBlobs({.signing_secret = a.secret, .url_base = a.url_base}));
  return o;
}

// Closes a FILE* we opened (never stdin/stdout).
struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr && f != stdin && f != stdout) std::fclose(f);
  }
};

Result<Json> RunPut(Context& ctx, const BlobArgs& a) {
  if (a.source.empty()) return InvalidArgumentError("missing data: give a file path, or - to read stdin");
  DOTDO_ASSIGN_OR_RETURN(Json metadata, ParseJsonArg("--metadata", a.metadata));
  BlobPutRequest req;
  req.key = a.key;
  req.content_type = a.content_type;
  req.metadata = std::move(metadata);
  std::unique_ptr<FILE, FileCloser> in(a.source == "-" ? stdin : std::fopen(a.source.c_str(), "rb"));
  if (!in) return NotFoundError("cannot read file '" + a.source + "'");
  if (a.source != "-") {
    struct stat st;
    if (::fstat(::fileno(in.get()), &st) != 0 || !S_ISREG(st.st_mode))
      return InvalidArgumentError("'" + a.source + "' is not a regular file");
    req.content_length = static_cast<uint64_t>(st.st_size);  // a file changing underfoot fails the put
  }
  DOTDO_ASSIGN_OR_RETURN(Opened o, OpenBlobs(ctx, a, /*create=*/true));
  FILE* f = in.get();
  DOTDO_ASSIGN_OR_RETURN(BlobInfo info, o.blobs->PutStream(req, [f](char* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::fread(buf, 1, cap, f);
    if (n == 0 && std::ferror(f)) return UnavailableError("read error on the input");
    return n;
  }));
  return BlobInfoToJson(info);
}

Result<Json> RunGet(Context& ctx, const BlobArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(Opened o, OpenBlobs(ctx, a, /*create=*/false));
  if (a.output.empty()) {
    DOTDO_ASSIGN_OR_RETURN(BlobInfo info, o.blobs->GetStream(a.key, [](std::string_view chunk) -> Status {
      if (std::fwrite(chunk.data(), 1, chunk.size(), stdout) != chunk.size()) return UnavailableError("cannot write to stdout");
      return OkStatus();
    }));
    std::fflush(stdout);
    return Json(nullptr);  // the bytes were the output
  }
  // A special file (FIFO, /dev/null, a terminal) is written in place, never replaced.
  struct stat out_st {};
  if (::stat(a.output.c_str(), &out_st) == 0 && !S_ISREG(out_st.st_mode)) {
    if (S_ISDIR(out_st.st_mode)) return InvalidArgumentError("'" + a.output + "' is a directory");
    std::unique_ptr<FILE, FileCloser> out(std::fopen(a.output.c_str(), "wb"));
    if (!out) return InvalidArgumentError("cannot write file '" + a.output + "'");
    FILE* f = out.get();
    DOTDO_ASSIGN_OR_RETURN(BlobInfo info, o.blobs->GetStream(a.key, [f](std::string_view chunk) -> Status {
      if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) return UnavailableError("cannot write the output file");
      return OkStatus();
    }));
    if (std::fflush(f) != 0) return UnavailableError("cannot write file '" + a.output + "'");
    return BlobInfoToJson(info);
  }
  // A regular file is written under a fresh name next to it (mkstemp: O_CREAT|O_EXCL, so a planted
  // file or symlink is never followed), synced and renamed over it: a failed download leaves no
  // partial file and the old content intact.
  std::string tmp = a.output + ".dotdo-partial-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return InvalidArgumentError("cannot write file '" + a.output + "'");
  ::fchmod(fd, 0644);
  std::unique_ptr<FILE, FileCloser> out(::fdopen(fd, "wb"));
  if (!out) {
    ::close(fd);
    std::remove(tmp.c_str());
    return UnavailableError("cannot write file '" + a.output + "'");
  }
  FILE* f = out.get();
  auto info = o.blobs->GetStream(a.key, [f](std::string_view chunk) -> Status {
    if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) return UnavailableError("cannot write the output file");
    return OkStatus();
  });
  const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  out.reset();
  if (!info.ok() || !flushed || std::rename(tmp.c_str(), a.output.c_str()) != 0) {
    std::remove(tmp.c_str());
    if (!info.ok()) return info.status();
    return UnavailableError("cannot write file '" + a.output + "'");
  }
  return BlobInfoToJson(*info);
}

Result<Json> RunSign(Context& ctx, const BlobArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(int64_t expires_ms, ParseDurationMillis(a.expires));
  DOTDO_ASSIGN_OR_RETURN(Opened o, OpenBlobs(ctx, a, /*create=*/true));
  std::string url;
  if (a.upload) {
    if (a.max_size == 0) return InvalidArgumentError("--upload needs --max-size (bytes)");
    DOTDO_ASSIGN_OR_RETURN(url, o.blobs->GetUploadUrl({.key = a.key, .content_type = a.content_type,
                                                       .max_size = a.max_size, .expires_in_ms = expires_ms}));
  } else {
    DOTDO_ASSIGN_OR_RETURN(url, o.blobs->GetSignedUrl(a.key, {.expires_in_ms = expires_ms, .disposition = a.disposition}));
  }
  return Json{{"key", a.key}, {"method", a.upload ? "PUT" : "GET"}, {"url", url},
              {"expiresAt", FormatIso8601(ctx.db->NowMillis() + expires_ms)}};
}

Json ListToJson(const BlobPage& page) { return PageToJson(page, BlobInfoToJson); }

const CommandGroup kBlobCommands(60, [](CLI::App& app, Context& ctx) {
  auto a = std::make_shared<BlobArgs>();
  auto* blob = app.add_subcommand(
      "blob", "BlobStore: binary objects; bytes under <data-dir>/objects/<ns>/, metadata in <ns>.sqlite");
  blob->require_subcommand(1);
  auto key_arg = [a](CLI::App* cmd) { cmd->add_option("key", a->key, "Blob key")->required(); };
  auto signing_args = [a](CLI::App* cmd) {
    cmd->add_option("--secret", a->secret, "HMAC secret, >= 32 bytes (default: $DOTDO_BLOB_SECRET, else the namespace key file <data-dir>/keys/<ns>.blob-signing, made with mode 0600 on first use)");
    cmd->add_option("--url-base", a->url_base, "Prefix of blob URLs, e.g. https://files.example.com/ns (default: none)");
  };

  auto* put = blob->add_subcommand("put", "Store a blob from a file or stdin (streamed; equal bytes are stored once)");
  key_arg(put);
  put->add_option("source", a->source, "File path, or - for stdin");
  put->add_option("--content-type", a->content_type, "Content type (default application/octet-stream)");
  put->add_option("--metadata", a->metadata, "User metadata, a JSON object (default {})");
  put->callback([&ctx, a] { ctx.Finish(RunPut(ctx, *a)); });

  auto* get = blob->add_subcommand("get", "Write a blob's bytes to stdout, or to a file with -o (then print its metadata)");
  key_arg(get);
  get->add_option("-o,--output", a->output, "Output file (default: stdout)");
  get->callback([&ctx, a] {
    auto r = RunGet(ctx, *a);
    if (!r.ok()) return ctx.Fail(r.status());
    if (!r->is_null()) ctx.Print(*r);
  });

  auto* head = blob->add_subcommand("head", "Show a blob's metadata");
  key_arg(head);
  head->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Opened o, OpenBlobs(ctx, *a, false));
      DOTDO_ASSIGN_OR_RETURN(BlobInfo info, o.blobs->Head(a->key));
      return BlobInfoToJson(info);
    }());
  });

  auto* rm = blob->add_subcommand("rm", "Delete a blob (its bytes go with the last key that references them)");
  key_arg(rm);
  rm->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Opened o, OpenBlobs(ctx, *a, false));
      DOTDO_RETURN_IF_ERROR(o.blobs->Delete(a->key));
      return Json{{"deleted", a->key}};
    }());
  });

  auto* ls = blob->add_subcommand("ls", "List blobs by key");
  ls->add_option("--prefix", a->prefix, "Only keys starting with this");
  ls->add_option("--limit", a->limit, "Page size, 1..1000 (default 100)")->check(CLI::Range(1, 1000));
  ls->add_option("--cursor", a->cursor, "next_cursor of the previous page");
  ls->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Opened o, OpenBlobs(ctx, *a, false));
      DOTDO_ASSIGN_OR_RETURN(BlobPage page, o.blobs->List({.prefix = a->prefix, .limit = a->limit, .cursor = a->cursor}));
      return ListToJson(page);
    }());
  });

  auto* query = blob->add_subcommand("query", "Find blobs by metadata, e.g. '{\"metadata.w\":{\"$gt\":100}}'");
  query->add_option("where", a->where, "JSON where clause, @file or - for stdin")->required();
  query->add_option("--limit", a->limit, "At most this many, 1..1000 (default 100)")->check(CLI::Range(1, 1000));
  query->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(std::string text, ReadArgText(a->where));
      DOTDO_ASSIGN_OR_RETURN(Json where, ParseJsonArg("where", text));
      DOTDO_ASSIGN_OR_RETURN(Opened o, OpenBlobs(ctx, *a, false));
      DOTDO_ASSIGN_OR_RETURN(auto found, o.blobs->Query({.where = std::move(where), .limit = a->limit}));
      Json items = Json::array();
      for (const auto& b : found) items.push_back(BlobInfoToJson(b));
      return Json{{"items", items}};
    }());
  });

  auto* sign = blob->add_subcommand("sign", "Print a presigned GET URL (or PUT URL with --upload)");
  key_arg(sign);
  sign->add_option("--expires", a->expires, "Lifetime: 30s, 15m, 1h, 7d (default 1h, at most 7d)");
  sign->add_option("--disposition", a->disposition, "Content-Disposition for GET, e.g. attachment");
  sign->add_flag("--upload", a->upload, "Sign an upload (PUT) instead of a download");
  sign->add_option("--max-size", a->max_size, "Largest accepted upload in bytes (required with --upload)");
  sign->add_option("--content-type", a->content_type, "Required Content-Type of the upload");
  signing_args(sign);
  sign->callback([&ctx, a] { ctx.Finish(RunSign(ctx, *a)); });

  auto* sweep = blob->add_subcommand(
      "sweep", "Remove stored objects no blob references (left by crashes), once older than --grace");
  sweep->add_option("--grace", a->grace, "Keep unreferenced objects younger than this: 0, 10m, 1h (default 1h)");
  sweep->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(int64_t grace_ms, ParseDurationMillis(a->grace));
      if (grace_ms < 0) return InvalidArgumentError("--grace must not be negative");
      DOTDO_ASSIGN_OR_RETURN(Namespace * ns, ctx.OpenNamespace(/*create=*/false));
      DOTDO_ASSIGN_OR_RETURN(auto blobs, ns->OpenBlobs({.orphan_grace_ms = grace_ms}));
      DOTDO_ASSIGN_OR_RETURN(BlobSweepReport r, blobs->SweepOrphans(ns->db().NowMillis()));
      return Json{{"removed", r.removed}, {"removedBytes", r.removed_bytes}, {"keptInGrace", r.kept_in_grace}};
    }());
  });

  auto* stats = blob->add_subcommand("stats", "Blob count, logical bytes, stored objects and bytes (dedup savings)");
  stats->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(Opened o, OpenBlobs(ctx, *a, false));
      DOTDO_ASSIGN_OR_RETURN(BlobStats s, o.blobs->Stats());
      return Json{{"blobs", s.blobs}, {"logicalBytes", s.logical_bytes}, {"objects", s.objects}, {"storedBytes", s.stored_bytes}};
    }());
  });
});

}  // namespace
}  // namespace dotdo::cli
