#!/usr/bin/env bash
# Runs every benchmark and prints one table: verify, code exchange, refresh and
# a full flow on native MemoryStorage and RedisStorage (benches/ops.rs, profile
# bench = release at opt-level 3, with benches/criterion.rs's estimates beside
# them) and on the wasm package in Node over InMemoryStorage and KvStorage
# (pkg/bench/bench.mjs); Redis verify, a bare redis-crate GET and
# redis-benchmark GET taking turns at the same concurrency; native verify again
# with portable SHA-256 (no SHA instructions, as in wasm); wasm cold start and
# size; the host calls of every step on each key-value host (Map, Deno KV,
# Durable Object, Workers KV). With two or more CPUs, redis-server runs on CPU 0 and every client
# (our benchmarks, redis-benchmark) on CPU 1, so they do not trade places.
#
#   bash scripts/bench.sh            measure (a few minutes; rebuilds pkg/dist)
#   bash scripts/bench.sh --smoke    build and run everything once, tiny counts (CI)
#   --no-build-pkg                   use pkg/dist as it is
# Raw results (JSON lines): target/bench/results.jsonl. Needs node, redis-server,
# redis-cli and redis-benchmark (Debian: redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0 build_pkg=1
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --no-build-pkg) build_pkg=0 ;;
    *) echo "usage: $0 [--smoke] [--no-build-pkg]" >&2; exit 2 ;;
  esac
done
concurrency=${BENCH_REDIS_CONCURRENCY:-16}

for tool in node redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is not on PATH (Debian: nodejs, redis-server, redis-tools)" >&2; exit 1; }
done

out=target/bench
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"

# A redis-server of our own on a free loopback port, for the bench and redis-benchmark.
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
redis_dir=$(mktemp -d)
pin_server=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_server=(taskset -c 0) pin_client=(taskset -c 1); fi
"${pin_server[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" >"$redis_dir/log" 2>&1 &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$redis_dir"; }
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
export REDIS_URL=redis://127.0.0.1:$port BENCH_REDIS_CONCURRENCY=$concurrency

printf '{"machine":true,"cpu":%s,"cores":%s,"load":%s,"node":"%s","redis":"%s","smoke":%s}\n' \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//' | node -e 'process.stdin.on("data",d=>console.log(JSON.stringify(String(d).trim())))')" \
  "$(nproc)" "\"$(cut -d' ' -f1-3 /proc/loadavg)\"" "$(node --version)" \
  "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" "$([ $smoke = 1 ] && echo true || echo false)" >>"$results"

if [ ! -f pkg/dist/simply_mcp_oauth_bg.wasm ] || { [ $smoke = 0 ] && [ $build_pkg = 1 ]; }; then
  echo "==> bash scripts/build-pkg.sh" >&2
  bash scripts/build-pkg.sh >&2
fi

# A private copy of the package: other jobs (build-pkg.sh, test-wasm.sh) may
# rebuild pkg/dist while the benchmarks run.
snapshot=$out/pkg
rm -rf "$snapshot"
mkdir -p "$snapshot/test"
cp -r pkg/src pkg/dist pkg/bench pkg/package.json "$snapshot/"
cp pkg/test/hosts.mjs pkg/test/helpers.mjs "$snapshot/test/"

# Smoke: the test profile, without --bench, so ops runs each operation a few times.
native_bench() { # features, log name
  if [ $smoke = 1 ]; then set -- test "$@"; else set -- bench "$@"; fi
  echo "==> cargo $1 --bench ops --features $2$([ $smoke = 1 ] && echo ' (smoke)')" >&2
  cargo "$1" --locked --bench ops --features "$2" --no-run >&2
  "${pin_client[@]}" cargo "$1" --locked --bench ops --features "$2" 2>&1 | tee "$out/$3.log" | grep '^{' >>"$results" || true
}
native_bench server,redis native
grep -q '"native redis"' "$results" || { cat "$out/native.log" >&2; echo "bench.sh: the native bench failed" >&2; exit 1; }
# The same native operations under criterion: its medians and 95% confidence
# intervals go beside the table's figures (smoke: each benchmark runs once).
export CRITERION_HOME=$out/criterion
rm -rf "$CRITERION_HOME"
if [ $smoke = 1 ]; then
  echo "==> cargo test --bench criterion --features server,redis (smoke)" >&2
  cargo test --locked --bench criterion --features server,redis >"$out/criterion.log" 2>&1 || true
  [ "$(grep -c '^Success' "$out/criterion.log")" = 8 ] || { cat "$out/criterion.log" >&2; echo "bench.sh: benches/criterion.rs failed" >&2; exit 1; }
else
  echo "==> cargo bench --bench criterion --features server,redis" >&2
  cargo bench --locked --bench criterion --features server,redis --no-run >&2
  "${pin_client[@]}" cargo bench --locked --bench criterion --features server,redis >"$out/criterion.log" 2>&1 \
    || { cat "$out/criterion.log" >&2; echo "bench.sh: benches/criterion.rs failed" >&2; exit 1; }
  node -e '
    const fs = require("fs"), path = require("path");
    for (const [group, backend] of [["memory", "native memory"], ["redis", "native redis"]]) {
      for (const op of ["verify", "exchange", "refresh", "full_flow"]) {
        const file = path.join(process.argv[1], group, op, "new", "estimates.json");
        if (!fs.existsSync(file)) continue;
        const { point_estimate, confidence_interval: ci } = JSON.parse(fs.readFileSync(file, "utf8")).median;
        console.log(JSON.stringify({ criterion: true, backend, op, median_ns: point_estimate, low_ns: ci.lower_bound, high_ns: ci.upper_bound }));
      }
    }' "$CRITERION_HOME" >>"$results"
fi

BENCH_MEMORY_ONLY=1 BENCH_MEMORY_LABEL="native memory, portable SHA-256" native_bench sha2/force-soft native-soft
grep -q '"native memory, portable SHA-256"' "$results" || { cat "$out/native-soft.log" >&2; echo "bench.sh: the portable-SHA bench failed" >&2; exit 1; }

echo "==> node pkg/bench/bench.mjs" >&2
"${pin_client[@]}" node "$snapshot/bench/bench.mjs" $([ $smoke = 1 ] && echo --smoke) >>"$results"

echo "==> node pkg/bench/coldstart.mjs" >&2
node "$snapshot/bench/coldstart.mjs" "$([ $smoke = 1 ] && echo 2 || echo 15)" >>"$results"
raw=$snapshot/dist/simply_mcp_oauth_bg.wasm
printf '{"module_size":true,"raw":%d,"gzipped":%d}\n' "$(wc -c <"$raw")" "$(gzip -9 -c "$raw" | wc -c)" >>"$results"

# Counted, not timed: host calls per step on every key-value host (Deno KV real).
echo "==> deno run pkg/bench/host-calls.mjs" >&2
pkg/node_modules/.bin/deno run --no-check --allow-read --unstable-kv "$snapshot/bench/host-calls.mjs" >"$out/host-calls.md"

node scripts/bench-table.mjs "$results"
printf '\nHost calls per step, steady state (pkg/bench/host-calls.mjs; counted, not timed):\n\n'
cat "$out/host-calls.md"
