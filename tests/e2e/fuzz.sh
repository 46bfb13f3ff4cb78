#!/usr/bin/env bash
# Builds every libFuzzer target under fuzz/ with clang and runs each for a bounded number of
# inputs, starting from its seed corpus. Skips (77) when clang is not installed.
set -euo pipefail
command -v clang++ >/dev/null || { echo "clang++ not found: fuzzing skipped"; exit 77; }
build="$MXLM_WORK/build"
mkdir -p "$build"
CXX=clang++ cmake -S "$MXLM_SOURCE_DIR/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" >/dev/null
runs="${MXLM_FUZZ_RUNS:-100000}"
for target in "$build"/*_fuzz; do
  name=$(basename "$target")
  corpus="$MXLM_WORK/corpus/$name"
  mkdir -p "$corpus"
  seeds="$MXLM_SOURCE_DIR/fuzz/corpus/$name"
  [ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
  echo "== $name: $runs runs"
  "$target" -runs="$runs" -max_len=4096 -seed=1 "$corpus" 2>&1 | tail -n 3
done
