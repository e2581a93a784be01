// dotdo-bench blob: BlobStore put/get throughput against plain file write/read of the same bytes in
// the same run, and dedup savings.
//
// Fsync policy, the same for the bytes on both sides: a put's bytes are durable when it returns.
// Ours: LocalObjectStore with sync = true, sync_sidecar = false (data temp file fsync + rename +
// directory fsync; the self-healing sidecar renamed without fsync — the configuration the CLI uses,
// since blob metadata lives in SQLite) and the metadata commit in a file-backed namespace (WAL,
// synchronous=NORMAL, the project default). Baseline ("file_write_fsync"): write a temp file, fsync
// it, rename it into place, fsync the directory — the cheapest durable atomic file write. Reads on
// both sides come from the page cache.
//
// Cases: put_16m / get_16m (MB/s), put_4k / get_4k (ops/s), dedup_savings (percent of bytes not
// stored when 10 distinct 64 KiB contents are put under 100 keys). Each figure is the best of many
// short interleaved rounds (ours, baseline, ours, ...), so that a burst of load from other processes
// on a shared machine hits one round of either side rather than the whole measurement.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench.h"
#include "dotdo/blob.h"

namespace dotdo::bench {
namespace {

namespace fs = std::filesystem;

bool WriteDurable(const fs::path& dir, const std::string& name, std::string_view data) {
  const fs::path tmp = dir / (name + ".tmp"), dest = dir / name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = done == data.size() && ::fsync(fd) == 0;
  ::close(fd);
  ok = ok && ::rename(tmp.c_str(), dest.c_str()) == 0;
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ok = ok && dfd >= 0 && ::fsync(dfd) == 0;
  if (dfd >= 0) ::close(dfd);
  return ok;
}

std::string ReadWhole(const fs::path& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  off_t size = ::lseek(fd, 0, SEEK_END);
  out.resize(static_cast<size_t>(size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}

// Distinct content per call: the buffer's first 8 bytes carry a counter (so dedup never kicks in).
void Stamp(std::string& buf, uint64_t n) { std::memcpy(buf.data(), &n, sizeof n); }

int Fail(const Status& s) {
  std::fprintf(stderr, "blob bench failed: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

DOTDO_BENCH_SUITE(blob) {
  const fs::path root = options.data_dir;
  const fs::path files = root / "files";
  fs::create_directories(files);
  auto db = Database::Open(root, "bench");
  if (!db.ok()) return Fail(db.status());
  auto objects = LocalObjectStore::Open(root / "objects", {.sync = true, .sync_sidecar = false});
  if (!objects.ok()) return Fail(objects.status());
  auto blobs = BlobStore::Open(**db, **objects);
  if (!blobs.ok()) return Fail(blobs.status());
  BlobStore& store = **blobs;
  std::mt19937_64 rng(options.seed);
  auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i + 8 <= n; i += 8) {
      uint64_t v = rng();
      std::memcpy(s.data() + i, &v, 8);
    }
    return s;
  };
  uint64_t stamp = 1;
  Status failure;
  auto check = [&](const Status& s) {
    if (!s.ok() && failure.ok()) failure = s;
  };

  // --- 16 MiB objects ---
  {
    const size_t size = 16u << 20;
    const int rounds = options.quick ? 4 : 10;
    std::string buf = random_bytes(size);
    int i = 0, j = 0;
    auto put = RunInterleaved(
        rounds,
        [&] {
          Stamp(buf, stamp++);
          BlobPutRequest r;
          r.key = "big/" + std::to_string(i++);
          check(store.Put(r, buf).status());
        },
        [&] {
          Stamp(buf, stamp++);
          if (!WriteDurable(files, "big-" + std::to_string(j++), buf)) check(UnavailableError("baseline write failed"));
        });
    const double mb = static_cast<double>(size) / (1 << 20);
    Report({"blob", "put_16m", "MB_per_s", "file_write_fsync", mb / put.ours, mb / put.baseline, true,
            "16 MiB distinct objects, durable (fsync) on both sides; best of " + std::to_string(rounds)});
    int gi = 0, gj = 0;
    size_t sink = 0;
    auto get = RunInterleaved(
        options.quick ? 15 : 40,
        [&] {
          auto b = store.Get("big/" + std::to_string(gi++ % i));
          check(b.status());
          if (b.ok()) sink += b->data.size();
        },
        [&] { sink += ReadWhole(files / ("big-" + std::to_string(gj++ % j))).size(); });
    Report({"blob", "get_16m", "MB_per_s", "file_read", mb / get.ours, mb / get.baseline, true,
            "whole 16 MiB object into memory, page cache warm; read " + std::to_string(sink >> 20) + " MiB"});
  }

  // --- 4 KiB objects ---
  {
    const size_t size = 4096;
    const int n = options.quick ? 60 : 150;
    const int put_rounds = options.quick ? 6 : 10;
    std::string buf = random_bytes(size);
    int i = 0, j = 0;
    auto put = RunInterleaved(
        put_rounds,
        [&] {
          for (int k = 0; k < n; ++k) {
            Stamp(buf, stamp++);
            BlobPutRequest r;
            r.key = "small/" + std::to_string(i++);
            check(store.Put(r, buf).status());
          }
        },
        [&] {
          for (int k = 0; k < n; ++k) {
            Stamp(buf, stamp++);
            if (!WriteDurable(files, "small-" + std::to_string(j++), buf)) check(UnavailableError("baseline write failed"));
          }
        });
    Report({"blob", "put_4k", "ops_per_s", "file_write_fsync", n / put.ours, n / put.baseline, true,
            std::to_string(n) + " distinct 4 KiB puts per round, durable (fsync) on both sides; best of " +
                std::to_string(put_rounds)});
    const int reads = options.quick ? 1000 : 3000;
    const int get_rounds = options.quick ? 10 : 20;
    size_t sink = 0;
    std::vector<int> order(reads);
    for (auto& o : order) o = static_cast<int>(rng() % static_cast<uint64_t>(i));
    auto get = RunInterleaved(
        get_rounds,
        [&] {
          for (int k = 0; k < reads; ++k) {
            auto b = store.Get("small/" + std::to_string(order[k]));
            check(b.status());
            if (b.ok()) sink += b->data.size();
          }
        },
        [&] {
          for (int k = 0; k < reads; ++k) sink += ReadWhole(files / ("small-" + std::to_string(order[k] % j))).size();
        });
    Report({"blob", "get_4k", "ops_per_s", "file_read", reads / get.ours, reads / get.baseline, true,
            std::to_string(reads) + " random 4 KiB gets per round (metadata lookup + object read vs open/read/close); best of " +
                std::to_string(get_rounds)});
  }

  // --- dedup ---
  {
    auto before = store.Stats();
    check(before.status());
    std::vector<std::string> contents;
    for (int c = 0; c < 10; ++c) contents.push_back(random_bytes(64 * 1024));
    for (int k = 0; k < 100; ++k) {
      BlobPutRequest r;
      r.key = "dedup/" + std::to_string(k);
      check(store.Put(r, contents[static_cast<size_t>(k) % contents.size()]).status());
    }
    auto after = store.Stats();
    check(after.status());
    if (before.ok() && after.ok()) {
      const double logical = static_cast<double>(after->logical_bytes - before->logical_bytes);
      const double stored = static_cast<double>(after->stored_bytes - before->stored_bytes);
      Report({"blob", "dedup_savings", "percent_bytes_saved", "", 100.0 * (1.0 - stored / logical), 0, true,
              "100 blobs of 64 KiB over 10 distinct contents: " + std::to_string(static_cast<int64_t>(logical)) +
                  " logical bytes, " + std::to_string(static_cast<int64_t>(stored)) + " stored"});
    }
  }
  if (!failure.ok()) return Fail(failure);
  return 0;
}

}  // namespace dotdo::bench
