#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build dotdo, and fetches the pinned SQLite
# amalgamation (from the npm package better-sqlite3) into third_party/, verifying its checksum.
# Idempotent: when everything is present it only checks and returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config ca-certificates
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libxxhash-dev libzstd-dev liblz4-dev libboost-graph-dev
  redis-server libhiredis-dev
  libhnswlib-dev libfaiss-dev libcpp-httplib-dev libcurl4-openssl-dev wrk
  libre2-dev
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
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$SQLITE_PKG" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$SQLITE_DIR"
  cp "$tmp/package/deps/sqlite3/sqlite3.c" "$tmp/package/deps/sqlite3/sqlite3.h" "$SQLITE_DIR/"
  if ! verify_sqlite; then
    echo "setup: checksum mismatch for the SQLite amalgamation from $SQLITE_PKG" >&2
    rm -rf "$SQLITE_DIR"
    exit 1
  fi
fi
