#!/usr/bin/env bash
# Headless Chromium (Debian's, driven by playwright-core from tests/browser/)
# clicking through what a person sees:
#   - the connected-apps page (/apps) of the native demo server and of the
#     Worker (in local workerd through Miniflare): approve an app, see it,
#     revoke it, its token gets 401 at once;
#   - the playground (pkg/playground/): the whole flow in the page, and
#     against the native demo server and the Worker.
# Installs what is missing (chromium from Debian, npm ci in tests/browser and
# worker-example) and builds what it needs (pkg/dist when missing or older
# than the sources, the server binary, the Worker bundle). Network: Debian and
# the npm registry; all test traffic stays on 127.0.0.1.
#
#   bash scripts/test-browser.sh
#   UPDATE_SCREENSHOTS=1 bash scripts/test-browser.sh    also rewrites docs/*.png
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
run=$root/tests/browser/.run
started=$(date +%s)

export CI=${CI:-true} WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_audit=false npm_config_fund=false

step() { printf '\n==> %s\n' "$*"; }

step "chromium (Debian)"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update && apt-get install -y chromium chromium-driver
fi
/usr/bin/chromium --version 2>/dev/null | tail -1

step "tests/browser: npm ci (playwright-core, no browser download)"
if [ ! -f tests/browser/node_modules/playwright-core/package.json ] ||
  [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund </dev/null)
fi

step "pkg/dist (the npm package's wasm build)"
wasm=$root/pkg/dist/simply_mcp_oauth_bg.wasm
if [ ! -f "$wasm" ] || [ -n "$(find src pkg/src Cargo.toml Cargo.lock -newer "$wasm" -print -quit)" ]; then
  timeout 900 bash scripts/build-pkg.sh </dev/null
else
  echo "pkg/dist is up to date"
fi

step "cargo build --features server --bin simply-mcp-oauth-server"
timeout 900 cargo build --locked --features server --bin simply-mcp-oauth-server </dev/null

step "the Worker: worker-example's npm packages, the wrangler bundle"
if [ ! -d worker-example/node_modules/miniflare ] || [ ! -x worker-example/node_modules/.bin/wrangler ]; then
  (cd worker-example && timeout 600 npm ci --no-audit --no-fund </dev/null)
fi
rm -rf "$run/worker-dist"
mkdir -p "$run"
(cd worker-example && timeout 180 node_modules/.bin/wrangler deploy --dry-run --outdir "$run/worker-dist" \
  >"$run/wrangler-bundle.log" 2>&1 </dev/null) || { cat "$run/wrangler-bundle.log"; exit 1; }
echo "bundled to tests/browser/.run/worker-dist"

step "headless Chromium: connected apps (native, Worker) and the playground (in page, native, Worker)"
SIMPLY_MCP_OAUTH_SERVER=$root/target/debug/simply-mcp-oauth-server \
WORKER_SCRIPT=$run/worker-dist/index.js \
  timeout 600 node --test --test-concurrency=1 --test-timeout=180000 tests/browser/*.test.mjs </dev/null

echo "browser tests: $(($(date +%s) - started)) s"
