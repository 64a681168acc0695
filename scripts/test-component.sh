#!/usr/bin/env bash
# Builds component/ (world `oauth-provider` of wit/simply-mcp-oauth.wit) for
# wasm32-wasip2, transpiles it to JS with jco and runs component/check.mjs:
# the provider under Node with a Map as the `kv` import (metadata,
# registration, client_credentials, authenticate, stats, health, 503 on a
# store failure). Node tools come from component/package-lock.json into
# component/node_modules; nothing is installed globally except the rustup target.
#
# Usage: scripts/test-component.sh   (exits non-zero on any failure)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPONENT="$ROOT/component"

need() { command -v "$1" >/dev/null 2>&1 || { echo "test-component: '$1' is required" >&2; exit 1; }; }
need cargo
need rustup
need node
need npm

echo "==> rustup target add wasm32-wasip2"
rustup target add wasm32-wasip2 >/dev/null

echo "==> cargo build --release --target wasm32-wasip2 (component/)"
(cd "$COMPONENT" && cargo build --release --target wasm32-wasip2)
WASM="$COMPONENT/target/wasm32-wasip2/release/simply_mcp_oauth_component.wasm"
test -s "$WASM"
echo "    $(wc -c <"$WASM") bytes: $WASM"

echo "==> npm ci (jco and preview2-shim, pinned in component/package-lock.json)"
cd "$COMPONENT"
npm ci --no-audit --no-fund

echo "==> the component's world (jco wit)"
npx --no-install jco wit "$WASM"

echo "==> jco transpile --instantiation async -> component/out/"
rm -rf out
npx --no-install jco transpile "$WASM" -o out --name oauth --instantiation async --quiet

echo "==> node component/check.mjs"
node check.mjs
