#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build dotdo, and fetches the pinned SQLite
# amalgamation (from the npm package better-sqlite3) and the pinned DuckDB C library (libduckdb.so
# and duckdb.h, from DuckDB's npm packages) into third_party/, verifying their checksums.
# Idempotent: when everything is present it only checks and returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config ca-certificates
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libxxhash-dev libzstd-dev liblz4-dev libboost-graph-dev
  redis-server libhiredis-dev
  libhnswlib-dev libfaiss-dev libcpp-httplib-dev libcurl4-openssl-dev wrk
  libre2-dev libavro-dev
  libnats-dev nats-server libexpat1-dev
  chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm fetches the SQLite amalgamation; machines that already have Node.js keep theirs.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# SQLite 3.53.2 amalgamation, as shipped in better-sqlite3@12.11.1.
SQLITE_DIR=third_party/sqlite
SQLITE_PKG=better-sqlite3@12.11.1
SQLITE_C_SHA256=60d2f39a3726cd6b9021da6f4e868608d66fbb6528a9f513dc8ffcc640493422
SQLITE_H_SHA256=9e69a1353a4288450b0d5239ede11fc7f1f4c8e5eb07491fc8317eacb5b7de7e

verify_sqlite() {
  [ -f "$SQLITE_DIR/sqlite3.c" ] && [ -f "$SQLITE_DIR/sqlite3.h" ] || return 1
  echo "$SQLITE_C_SHA256  $SQLITE_DIR/sqlite3.c" | sha256sum -c --status - || return 1
  echo "$SQLITE_H_SHA256  $SQLITE_DIR/sqlite3.h" | sha256sum -c --status - || return 1
}

if ! verify_sqlite; then
  echo "setup: fetching SQLite amalgamation from npm ($SQLITE_PKG)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$SQLITE_PKG" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$SQLITE_DIR"
  cp "$tmp/package/deps/sqlite3/sqlite3.c" "$tmp/package/deps/sqlite3/sqlite3.h" "$SQLITE_DIR/"
  if ! verify_sqlite; then
    echo "setup: checksum mismatch for the SQLite amalgamation from $SQLITE_PKG" >&2
    rm -rf "$SQLITE_DIR" "$tmp"
    exit 1
  fi
  rm -rf "$tmp"
fi

# DuckDB 1.4.4 C API: the shared library from the platform bindings package, the header from the
# source package (package/src/duckdb/src/include/duckdb.h, self-contained). Used by the benchmarks and
# cross-check tests (and the tiering layer); linked through the CMake target dotdo::duckdb with an rpath.
DUCKDB_DIR=third_party/duckdb
DUCKDB_LIB_PKG=@duckdb/node-bindings-linux-x64@1.4.4-r.4
DUCKDB_HDR_PKG=duckdb@1.4.4
DUCKDB_SO_SHA256=1ef33048e12235115ac0d277a0aaccbb560e33248144f488b5ac005cd9ba81b5
DUCKDB_H_SHA256=cbe6a827284375c5a646b8f27dbd3a00808ce8738b5bbb49c190cb1e08540281

verify_duckdb() {
  [ -f "$DUCKDB_DIR/libduckdb.so" ] && [ -f "$DUCKDB_DIR/duckdb.h" ] || return 1
  echo "$DUCKDB_SO_SHA256  $DUCKDB_DIR/libduckdb.so" | sha256sum -c --status - || return 1
  echo "$DUCKDB_H_SHA256  $DUCKDB_DIR/duckdb.h" | sha256sum -c --status - || return 1
}

if ! verify_duckdb; then
  echo "setup: fetching DuckDB from npm ($DUCKDB_LIB_PKG, $DUCKDB_HDR_PKG)"
  tmp=$(mktemp -d)
  (cd "$tmp" && mkdir lib hdr \
     && (cd lib && npm pack --silent "$DUCKDB_LIB_PKG" >/dev/null && tar xzf ./*.tgz package/libduckdb.so) \
     && (cd hdr && npm pack --silent "$DUCKDB_HDR_PKG" >/dev/null \
         && tar xzf ./*.tgz package/src/duckdb/src/include/duckdb.h))
  mkdir -p "$DUCKDB_DIR"
  cp "$tmp/lib/package/libduckdb.so" "$tmp/hdr/package/src/duckdb/src/include/duckdb.h" "$DUCKDB_DIR/"
  rm -rf "$tmp"
  if ! verify_duckdb; then
    echo "setup: checksum mismatch for DuckDB from $DUCKDB_LIB_PKG / $DUCKDB_HDR_PKG" >&2
    rm -rf "$DUCKDB_DIR"
    exit 1
  fi
fi

# The independent Avro reader of the Iceberg table tests (npm avsc, pinned by the committed lock
# file) in third_party/npm-iceberg. Skipped when the installed lock file matches the committed one.
NPM_ICEBERG_SRC=scripts/npm/iceberg
NPM_ICEBERG_DIR=third_party/npm-iceberg
if ! cmp -s "$NPM_ICEBERG_SRC/package-lock.json" "$NPM_ICEBERG_DIR/package-lock.json" \
   || [ ! -f "$NPM_ICEBERG_DIR/node_modules/avsc/package.json" ]; then
  echo "setup: installing the Iceberg test readers from npm ($NPM_ICEBERG_SRC)"
  mkdir -p "$NPM_ICEBERG_DIR"
  cp "$NPM_ICEBERG_SRC/package.json" "$NPM_ICEBERG_SRC/package-lock.json" "$NPM_ICEBERG_DIR/"
  (cd "$NPM_ICEBERG_DIR" && npm ci --silent --ignore-scripts --no-audit --no-fund)
fi

# s3rver (an S3-compatible server in Node.js) for the S3ObjectStore integration tests, from the
# committed lockfile in scripts/npm/s3 (pinned versions with integrity hashes), into
# third_party/npm-s3. Skipped when the installed tree matches the lockfile.
S3_DIR=third_party/npm-s3
if ! cmp -s scripts/npm/s3/package-lock.json "$S3_DIR/package-lock.json" || [ ! -x "$S3_DIR/node_modules/.bin/s3rver" ]; then
  echo "setup: installing s3rver from scripts/npm/s3/package-lock.json"
  mkdir -p "$S3_DIR"
  cp scripts/npm/s3/package.json scripts/npm/s3/package-lock.json "$S3_DIR/"
  npm ci --prefix "$S3_DIR" --ignore-scripts --no-audit --no-fund --silent
fi

# puppeteer-core (which downloads no browser; the test drives Debian's /usr/bin/chromium headless)
# for the web console's browser test, from the committed lockfile in scripts/npm/web, into
# third_party/npm-web. Skipped when the installed tree matches the lockfile.
WEB_DIR=third_party/npm-web
if ! cmp -s scripts/npm/web/package-lock.json "$WEB_DIR/package-lock.json" \
   || [ ! -f "$WEB_DIR/node_modules/puppeteer-core/package.json" ]; then
  echo "setup: installing puppeteer-core from scripts/npm/web/package-lock.json"
  mkdir -p "$WEB_DIR"
  cp scripts/npm/web/package.json scripts/npm/web/package-lock.json "$WEB_DIR/"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$WEB_DIR" --ignore-scripts --no-audit --no-fund --silent
fi
