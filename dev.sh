#!/usr/bin/env bash
# The two entry points of the README.
#   ./dev.sh run [dotdo args...]   set up, build (Release) and run the dotdo CLI on ./data
#   ./dev.sh test                  set up, build (Debug + checks) and run every test with CTest
# Extra: ./dev.sh bench <suite> [--quick], ./dev.sh asan (sanitizer build + tests).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
configure() {  # dir, cmake args...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  fi
}

cmd=${1:-run}; shift || true
case "$cmd" in
  run)
    configure build/release -DCMAKE_BUILD_TYPE=Release -DDOTDO_BUILD_TESTS=OFF
    cmake --build build/release --target dotdo_cli -j "$jobs"
    if [ $# -eq 0 ]; then set -- info; fi
    exec ./build/release/tools/dotdo/dotdo --data ./data "$@"
    ;;
  test)
    configure build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOTDO_BUILD_TESTS=ON -DDOTDO_BUILD_BENCH=ON
    cmake --build build/test -j "$jobs"
    cd build/test && exec ctest --output-on-failure -j "$jobs" --timeout 600 "$@"
    ;;
  asan)
    configure build/asan -DCMAKE_BUILD_TYPE=Debug -DDOTDO_BUILD_TESTS=ON -DDOTDO_SANITIZE=ON
    cmake --build build/asan -j "$jobs"
    cd build/asan && exec ctest --output-on-failure -j "$jobs" --timeout 900 "$@"
    ;;
  bench)
    configure build/release -DCMAKE_BUILD_TYPE=Release -DDOTDO_BUILD_TESTS=OFF
    cmake --build build/release --target dotdo_bench -j "$jobs"
    exec ./build/release/bench/dotdo-bench "$@"
    ;;
  *)
    echo "usage: ./dev.sh run [args...] | test | asan | bench <suite> [--quick]" >&2
    exit 2
    ;;
esac
