#!/usr/bin/env bash
# The Worker and Deno examples (worker-example/), end to end: npm ci, the
# Worker bundled by wrangler and tested in local workerd through Miniflare
# (node --test) in Durable Object and KV-only modes, then the Deno server tested
# with `deno test`, then one smoke pass of the edge benchmark (scripts/bench-edge.mjs).
# Needs pkg/dist (bash scripts/build-pkg.sh; scripts/test-wasm.sh builds it).
# Network: the npm registry only (workerd and deno ship in npm packages).
set -euo pipefail
cd "$(dirname "$0")/../worker-example"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -f ../pkg/dist/simply_mcp_oauth_bg.wasm ]; then
  echo "pkg/dist is missing: run bash scripts/build-pkg.sh first" >&2
  exit 1
fi

export CI=true WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_audit=false npm_config_fund=false

step "worker-example: npm ci"
timeout 600 npm ci --no-audit --no-fund </dev/null

step "worker-example: wrangler bundle + Miniflare end-to-end tests (node --test)"
timeout 300 npm test </dev/null

step "worker-example: Deno server end-to-end tests (deno test)"
timeout 300 npm run test:deno </dev/null

step "edge benchmark against @cloudflare/workers-oauth-provider, once (node scripts/bench-edge.mjs measures)"
(cd .. && timeout 300 node scripts/bench-edge.mjs --smoke </dev/null)
