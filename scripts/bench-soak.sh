#!/usr/bin/env bash
# Soak of the native server on memory storage with short lifetimes (access
# tokens 5 s, refresh tokens 10 s, codes 5 s): 5 minutes of load that keeps
# creating records which expire, and the server's RSS (VmRSS) over time. The
# sweeper removes expired records every 60 s, so RSS saw-tooths within a
# minute; "flat" means the peaks do not climb from minute to minute.
#
#   bash scripts/bench-soak.sh [--minutes N] [--warmup SECONDS]
#
# Load, both at once: wrk (16 connections) POSTing client_credentials grants to
# /token (the machine client the server is started with, see bench-server.sh;
# each request stores a grant and an access token that expire after 5 s), and
# scripts/bench-soak.mjs (8
# concurrent loops of full HTTP flows with the public demo-client: consent,
# code exchange, /mcp, refresh; nothing revoked). RSS is read after a warm-up
# (default 70 s: past the first sweep), then every 5 s. Server built with
# `cargo build --profile bench`. Needs wrk, curl, node.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=5 warmup=70
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    *) echo "usage: $0 [--minutes N] [--warmup SECONDS]" >&2; exit 2 ;;
  esac
done
duration=$((minutes * 60))

command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
source scripts/bench-server.sh
build_server

out=target/bench
mkdir -p "$out"

start_server "$work/server.log" --storage memory \
  --token-expiration 5 --refresh-token-expiration 10 --code-expiration 5
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status"; }
metrics() { curl -fsS -H 'Accept: application/json' "$base/metrics"; }
echo "==> server at $base (pid $server_pid), RSS at rest $(rss) kB" >&2
rss_rest=$(rss)

load_client

total=$((warmup + duration))
echo "==> load for ${total}s (warm-up ${warmup}s, then ${minutes} min measured)" >&2
wrk -t1 -c16 -d"${total}s" --latency -s "$work/token.lua" "$base/token" >"$out/soak-wrk.txt" 2>&1 &
pids+=("$!"); wrk_pid=$!
node scripts/bench-soak.mjs "$base" "$total" 8 >"$out/soak-flows.json" &
pids+=("$!"); flows_pid=$!

sleep "$warmup"
rss_start=$(rss)
metrics_start=$(metrics)
samples=("0 $rss_start")
echo "==> after warm-up: RSS $rss_start kB; records $metrics_start" >&2
for ((t = 5; t <= duration; t += 5)); do
  sleep 5
  samples+=("$t $(rss)")
  [ $((t % 60)) = 0 ] && echo "    ${t}s: RSS $(rss) kB" >&2
done
rss_end=$(rss)
metrics_end=$(metrics)
wait "$wrk_pid" "$flows_pid" || true
echo "==> waiting 65 s with no load (one sweep)" >&2
sleep 65
rss_idle=$(rss)
metrics_idle=$(metrics)

printf '%s\n' "${samples[@]}" >"$out/soak-rss.txt"
node - "$out/soak-rss.txt" "$rss_rest" "$rss_start" "$rss_end" "$rss_idle" "$metrics_start" "$metrics_end" "$metrics_idle" \
  "$out/soak-wrk.txt" "$out/soak-flows.json" "$minutes" <<'JS'
const fs = require('fs');
const [file, rest, start, end, idle, mStart, mEnd, mIdle, wrkFile, flowsFile, minutes] = process.argv.slice(2);
const samples = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
const perMinute = [];
for (const [t, kb] of samples) {
  const m = Math.min(Math.floor(t / 60), Number(minutes) - 1);
  perMinute[m] = Math.max(perMinute[m] ?? 0, kb);
}
const wrk = fs.readFileSync(wrkFile, 'utf8');
const requests = /(\d+) requests in/.exec(wrk)?.[1];
const rps = /Requests\/sec:\s+([\d.]+)/.exec(wrk)?.[1];
const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(wrk)?.[1] ?? '0';
const sockets = /Socket errors: (.*)/.exec(wrk)?.[1] ?? 'none';
const flows = JSON.parse(fs.readFileSync(flowsFile, 'utf8'));
const first = perMinute[0], last = perMinute[perMinute.length - 1];
const flat = last <= first * 1.1;
console.log(`\n## Soak: memory storage, tokens 5 s, refresh tokens 10 s, codes 5 s, sweep every 60 s, ${minutes} min`);
console.log(`load: wrk -t1 -c16 client_credentials on /token: ${requests} requests (${rps}/s), non-2xx ${non2xx}, socket errors ${sockets};`);
console.log(`      full HTTP flows (consent, exchange, /mcp, refresh), 8 loops: ${flows.flows} flows, ${flows.errors} errors${flows.first_error ? ` (first: ${flows.first_error})` : ''};`);
console.log(`      slowest flow ${flows.slowest_ms} ms, ${flows.flows_over_1s} flows over 1 s (wrk's latency figures leave out its timeouts, > 2 s)`);
console.log(`RSS: at rest ${mb(rest)}; after warm-up ${mb(start)}; end ${mb(end)}; ${mb(idle)} after 65 s idle (one sweep)`);
console.log(`peak RSS per minute: ${perMinute.map(mb).join(', ')}`);
console.log(`live records (metrics): after warm-up ${mStart}; end ${mEnd}; idle ${mIdle}`);
console.log(`memory ${flat ? 'stays flat' : 'GROWS'}: last minute's peak ${mb(last)} vs first minute's ${mb(first)} (${((last / first - 1) * 100).toFixed(1)}%)`);
JS
