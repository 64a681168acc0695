#!/usr/bin/env bash
# The WebAssembly side: builds the npm package, checks the size budget, runs
# the JS API tests (node --test), the Deno KV adapter tests (deno test), the
# Worker and Deno examples end to end, and the conformance suite compiled to wasm under Node and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Gzipped module budget: 185 KB = 189,440 B. Issue 13 brought the module
# under 175 KB; issue 18's security fixes (rate limits on /introspect and
# /revoke, the metadata-fetch bounds and failure memory, trap recovery, the
# refresh grace period, the page for unvetted clients) added 3.9 KB. README,
# Performance, and scripts/wasm-breakdown.py show where the bytes are.
BUDGET_BYTES=$((185 * 1024))

step "npm package: dependencies, bindings (wasm-bindgen-cli from Cargo.lock), wasm-opt"
(cd pkg && npm ci --no-audit --no-fund)
bash scripts/build-pkg.sh
gzipped=$(gzip -9 -c pkg/dist/simply_mcp_oauth_bg.wasm | wc -c)
echo "module: $gzipped bytes gzipped; budget $BUDGET_BYTES ($((BUDGET_BYTES - gzipped)) left)"
if [ "$gzipped" -gt "$BUDGET_BYTES" ]; then
  echo "the module is $gzipped bytes gzipped, over the budget of $BUDGET_BYTES" >&2
  exit 1
fi

step "JS API (node --test)"
(cd pkg && npm test)

step "Deno KV adapter (deno test)"
(cd pkg && npm run test:deno)

step "worker-example: the Worker in local workerd (Miniflare) and the Deno example"
bash scripts/test-worker.sh

step "every test target built for wasm32, the conformance suite run under Node (wasm-bindgen-test); native-only test files are gated"
cargo test --locked --target wasm32-unknown-unknown --features testing

step "chromium and chromedriver"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi

step "conformance suite in wasm under headless Chromium"
WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver \
  WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/scripts/webdriver.json" \
  cargo test --locked --target wasm32-unknown-unknown --features testing --test memory_storage --test wasm_kv_storage
