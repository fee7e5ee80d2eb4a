#!/usr/bin/env bash
# Fuzz smoke mode for CI: a few thousand libFuzzer runs of each cargo-fuzz target, from the
# committed seeds, with a fixed seed, in a throwaway corpus. Installs cargo-fuzz if missing.
# cargo-fuzz needs nightly `-Z` flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
# Usage: fuzz/smoke.sh [RUNS]   (default 3000; see fuzz/README.md for longer runs by hand)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3000}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in spec_load state_decode; do
  mkdir -p "$work/$target"
  dict=()
  if [ "$target" = spec_load ]; then dict=(-dict=fuzz/spec.dict); fi
  start=$SECONDS
  if ! cargo fuzz run -a "$target" "$work/$target" "fuzz/seeds/$target" -- \
      -runs="$runs" -seed=1 "${dict[@]}" >"$work/$target.log" 2>&1; then
    tail -n 60 "$work/$target.log"
    echo "fuzz smoke: $target FAILED; the input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
  echo "fuzz smoke: $target, $runs runs without a crash ($((SECONDS - start)) s with the build)"
done
