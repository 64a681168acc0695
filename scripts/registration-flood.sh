#!/usr/bin/env bash
# A registration flood, and the store's size under it, as tables:
#
#  1. days on the fake clock (examples/registration_flood.rs): the HTTP layer
#     with the default limits and MemoryStorage, every attempt from a new
#     address, so only the ceiling for everyone (registerTotal) holds it back;
#     registrations that never complete expire after registrationLifetime, so
#     the store levels off instead of growing;
#  2. the real server (simply-mcp-oauth-server, memory storage) on loopback for
#     --seconds, --connections clients POSTing /register as fast as it answers;
#     the store's client count read from /metrics (JSON) every second. Every
#     request comes from 127.0.0.1, so the per-address limit (registerPerIp)
#     holds it back first.
#
#   bash scripts/registration-flood.sh [--hours 72] [--rate 10] [--seconds 10] [--connections 16]
set -euo pipefail
cd "$(dirname "$0")/.."

hours=72 rate=10 seconds=10 connections=16
while [ $# -gt 0 ]; do
  case "$1" in
    --hours) hours=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    *) echo "usage: $0 [--hours H] [--rate PER_SECOND] [--seconds S] [--connections N]" >&2; exit 2 ;;
  esac
done

echo "## 1. $hours simulated hours, $rate attempts per second (fake clock)"
echo
cargo run --quiet --release --features rate-limit --example registration_flood -- --hours "$hours" --rate "$rate"

echo
echo "## 2. the server on loopback: $connections connections for $seconds s"
echo
cargo build --quiet --release --features server --bin simply-mcp-oauth-server
log=$(mktemp)
bash scripts/native-server.sh target/release/simply-mcp-oauth-server >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$log" | head -1)
[ -n "$base" ] || { cat "$log" >&2; exit 1; }

node - "$base" "$seconds" "$connections" <<'JS'
const [base, seconds, connections] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const body = JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' });
const counts = { requests: 0, 201: 0, 429: 0, other: 0 };
const end = Date.now() + seconds * 1000;
async function client() {
  while (Date.now() < end) {
    const r = await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await r.arrayBuffer();
    counts.requests++;
    if (r.status === 201 || r.status === 429) counts[r.status]++;
    else counts.other++;
  }
}
const clients = (await (await fetch(`${base}/metrics`, { headers: { accept: 'application/json' } })).json()).clients;
console.log(`clients stored before: ${clients}\n`);
console.log('| second | requests | 201 | 429 | other | clients stored |');
console.log('|-------:|---------:|----:|----:|------:|---------------:|');
const workers = Array.from({ length: connections }, client);
for (let s = 1; s <= seconds; s++) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const stored = (await (await fetch(`${base}/metrics`, { headers: { accept: 'application/json' } })).json()).clients;
  console.log(`| ${s} | ${counts.requests} | ${counts[201]} | ${counts[429]} | ${counts.other} | ${stored} |`);
}
await Promise.all(workers);
JS
