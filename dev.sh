#!/usr/bin/env bash
# The two entry points of the README.
#   ./dev.sh run [dotdo args...]   set up, build (Release) and run the dotdo CLI on ./data; without
#                                  arguments `dotdo serve` (HTTP API + console, Ctrl-C stops)
#   ./dev.sh test                  set up, build (Debug + checks) and run every test with CTest
# Extra: ./dev.sh bench <suite> [--quick], ./dev.sh asan (sanitizer build + tests),
#        ./dev.sh fuzz [seconds per target] (clang libFuzzer + ASan/UBSan over tests/fuzz/).
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
    if [ $# -eq 0 ]; then set -- serve; fi  # prints the console URL, serves until Ctrl-C
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
  fuzz)
    secs=${1:-60}
    if ! command -v clang++ >/dev/null 2>&1; then
      echo "fuzz: clang++ is not installed (apt-get install clang); CTest still replays the corpus" >&2
      exit 2
    fi
    if [ ! -f build/fuzz/build.ninja ]; then
      CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOTDO_BUILD_BENCH=OFF \
        -DDOTDO_FUZZ=ON -DDOTDO_SANITIZE=ON -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link \
        -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
    fi
    targets=(json_parse json_path filter document_update presigned_url cli_args)
    cmake --build build/fuzz --target "${targets[@]/#/fuzz_}" -j "$jobs"
    for t in "${targets[@]}"; do
      # New inputs go to build/fuzz/corpus/<t>; crashes to build/fuzz/findings/ — copy a fixed
      # crash into tests/fuzz/corpus/<t>/ as repro-<what>.* so CTest replays it from then on.
      mkdir -p "build/fuzz/corpus/$t" build/fuzz/findings
      ./build/fuzz/tests/fuzz/fuzz_$t -max_total_time="$secs" -max_len=65536 -timeout=10 \
        -artifact_prefix="build/fuzz/findings/$t-" "build/fuzz/corpus/$t" "tests/fuzz/corpus/$t"
    done
    ;;
  bench)
    configure build/release -DCMAKE_BUILD_TYPE=Release -DDOTDO_BUILD_TESTS=OFF
    cmake --build build/release --target dotdo_bench -j "$jobs"
    exec ./build/release/bench/dotdo-bench "$@"
    ;;
  *)
    echo "usage: ./dev.sh run [args...] | test | asan | fuzz [seconds] | bench <suite> [--quick]" >&2
    exit 2
    ;;
esac
