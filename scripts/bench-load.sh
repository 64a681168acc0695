#!/usr/bin/env bash
# Load test of the native server (simply-mcp-oauth-server) with wrk on loopback:
# the token endpoint and the protected /mcp route, on memory and on Redis (a
# redis-server of our own on a free port), 64 connections, 30 s each.
#
#   bash scripts/bench-load.sh [--duration SECONDS] [--connections N] [--storage memory|redis|both]
#
# Token endpoint: POST /token, grant_type=client_credentials, by the machine
# client the server is started with (--client-id, a random secret per run;
# client_secret_basic): /register never grants client_credentials. Each request
# authenticates the client (a storage read and a salted SHA-256) and stores a
# new grant with its access token: a write. (The demo client is public, and a
# refresh grant would need every connection to follow its own rotating token.)
# /mcp: POST initialize (JSON-RPC) with a user's bearer token obtained
# beforehand through the consent flow (scripts/user-token.mjs; /mcp answers a
# client_credentials token 403): a token verification (one storage read) per
# request.
#
# The server is built with `cargo build --profile bench` (release settings at
# opt-level 3). Tokens live 120 s (--token-expiration 120) so that 30 s of
# client_credentials load does not pile up an hour of grants. Raw wrk output:
# target/bench/wrk-*.txt. Needs wrk (installed with apt-get when missing),
# curl, redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=30 connections=64 storages="memory redis"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --storage) storages=$([ "$2" = both ] && echo "memory redis" || echo "$2"); shift 2 ;;
    *) echo "usage: $0 [--duration SECONDS] [--connections N] [--storage memory|redis|both]" >&2; exit 2 ;;
  esac
done
threads=$(nproc)
load_before=$(cut -d" " -f1-3 /proc/loadavg)

command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
for tool in curl redis-server redis-cli node; do
  command -v "$tool" >/dev/null || { echo "bench-load.sh: $tool is not on PATH" >&2; exit 1; }
done

source scripts/bench-server.sh
build_server

out=target/bench
mkdir -p "$out"
rm -f "$out"/wrk-*.txt

# Parses wrk --latency output into one table row.
summarise() { # storage route file
  local rps p50 p99 non2xx sockerr
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$3")
  p50=$(awk '$1 == "50%" { print $2 }' "$3")
  p99=$(awk '$1 == "99%" { print $2 }' "$3")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$3")
  sockerr=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' "$3")
  printf '| %-7s | %-44s | %12s | %9s | %9s | %7s | %-34s |\n' "$1" "$2" "$rps" "$p50" "$p99" "${non2xx:-0}" "${sockerr:-none}"
}

rows=()
for storage in $storages; do
  args=(--storage "$storage")
  if [ "$storage" = redis ]; then
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    args+=(--redis-url "redis://127.0.0.1:$port")
  fi
  start_server "$work/server-$storage.log" --token-expiration 120 "${args[@]}"
  echo "==> $storage: server at $base" >&2

  load_client
  echo "==> wrk POST /token ($storage), $connections connections, ${duration}s" >&2
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$work/token.lua" "$base/token" | tee "$out/wrk-$storage-token.txt" >&2
  rows+=("$(summarise "$storage" "POST /token (client_credentials, basic auth)" "$out/wrk-$storage-token.txt")")

  token=$(node scripts/user-token.mjs "$base")
  cat >"$work/mcp.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer $token"
LUA
  status=$(curl -sS -o /dev/null -w '%{http_code}' "$base/mcp" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}')
  [ "$status" = 200 ] || { echo "bench-load.sh: /mcp answered $status by hand" >&2; exit 1; }
  echo "==> wrk POST /mcp ($storage), $connections connections, ${duration}s" >&2
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$work/mcp.lua" "$base/mcp" | tee "$out/wrk-$storage-mcp.txt" >&2
  rows+=("$(summarise "$storage" "POST /mcp initialize (bearer token)" "$out/wrk-$storage-mcp.txt")")

  rss=$(awk '/^VmRSS/ { print $2, $3 }' "/proc/$server_pid/status")
  echo "==> $storage: server RSS after the load: $rss" >&2
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
done

printf '\n## Load test: wrk -t%s -c%s -d%ss --latency on loopback, server built with --profile bench (opt-level 3)\n' "$threads" "$connections" "$duration"
printf 'machine: %s, %s cores shared by wrk, the server and redis-server; load average before: %s\n\n' \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" "$(nproc)" "$load_before"
printf '| %-7s | %-44s | %12s | %9s | %9s | %7s | %-34s |\n' storage route requests/s p50 p99 non-2xx "socket errors"
printf '|---------|----------------------------------------------|-------------:|----------:|----------:|--------:|------------------------------------|\n'
printf '%s\n' "${rows[@]}"
failed=0
for f in "$out"/wrk-*-token.txt "$out"/wrk-*-mcp.txt; do
  [ -f "$f" ] || continue
  if grep -q 'Non-2xx or 3xx responses' "$f" || grep -q 'Socket errors' "$f"; then failed=1; fi
done
[ $failed = 0 ] && echo "errors: none (no non-2xx responses, no socket errors)" || { echo "ERRORS: see target/bench/wrk-*.txt"; exit 1; }
