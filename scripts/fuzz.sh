#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/) for a set time, one after
# the other, and prints a table: target, seconds, executions, crashes. Exits
# non-zero when any target crashed (the input is kept; see the log lines).
#
#   bash scripts/fuzz.sh                    600 s per target (a real campaign)
#   bash scripts/fuzz.sh --seconds 15       the short pass CI runs
#   bash scripts/fuzz.sh --targets uri,params --seconds 60
#
# Stable Rust: targets are built with `-s none` (no sanitizer). cargo-fuzz's
# default, AddressSanitizer, needs `-Zsanitizer`, which only nightly accepts;
# libFuzzer's coverage instrumentation (`-Cpasses=sancov-module` and the
# `-Cllvm-args=-sanitizer-coverage-*` flags) is stable. The crate forbids
# `unsafe`, so a sanitizer would find little that a panic does not show.
#
# cargo-fuzz 0.13.2 is installed if missing. Each target reads its seeds from
# fuzz/corpus/<target>/ and writes what it learns to a scratch corpus under
# $FUZZ_WORK (default target/fuzz-work, kept between runs, never committed);
# logs and crash inputs go there too.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600
targets=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--targets a,b,...]" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "--seconds takes a whole number" >&2; exit 2 ;; esac

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz 0.13.2" ]; then
  cargo install cargo-fuzz --version 0.13.2
fi

work=${FUZZ_WORK:-$PWD/target/fuzz-work}
mkdir -p "$work"
if [ -z "$targets" ]; then
  targets=$(cd fuzz && cargo fuzz list | tr '\n' ',')
fi

(cd fuzz && cargo fuzz build -s none)

rows=() failed=0
for target in ${targets//,/ }; do
  corpus="$work/corpus/$target" artifacts="$work/artifacts/$target" log="$work/$target.log"
  mkdir -p "$corpus" "$artifacts"
  before=$(ls "$artifacts" | wc -l)
  start=$(date +%s)
  status=0
  # -timeout: one input taking 30 s is a hang, even on a busy machine.
  (cd fuzz && cargo fuzz run -s none "$target" "$corpus" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$artifacts/") >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  crashes=$(( $(ls "$artifacts" | wc -l) - before ))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # it died without leaving an input (build error, OOM of the runner)
  fi
  if [ "$crashes" -ne 0 ]; then
    failed=1
    echo "$target: crashed, see $log and $artifacts/" >&2
  fi
  rows+=("| $target | $elapsed | ${execs:-?} | $crashes |")
  echo "$target: ${elapsed}s, ${execs:-?} executions, $crashes crashes" >&2
done

echo
echo "| target | seconds | executions | crashes |"
echo "|---|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
exit "$failed"
