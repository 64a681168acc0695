#!/usr/bin/env bash
# Runs every test and check of the project from a fresh machine of this kind:
# installs what is missing (Rust components and targets), then formatting,
# lints, the wasm build, the feature combinations and all test suites.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: rustfmt, clippy, wasm32-unknown-unknown"
installed_components=$(rustup component list --installed)
for component in rustfmt clippy; do
  grep -q "^$component" <<<"$installed_components" || rustup component add "$component"
done
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "redis-server and redis-cli (for the Redis backend tests, standalone and cluster)"
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  apt-get update && apt-get install -y redis-server redis-tools
fi

step "libsqlite3-dev (examples/sqlite_kv_host: the conformance suite on a KvHost over the system SQLite)"
if ! dpkg -s libsqlite3-dev >/dev/null 2>&1; then
  apt-get update && apt-get install -y libsqlite3-dev
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets --all-features -- -D warnings"
cargo clippy --locked --all-targets --all-features -- -D warnings

step "feature combinations build"
cargo check --locked --lib --no-default-features
cargo check --locked --all-targets --features server
cargo check --locked --lib --features redis

step "the core builds for wasm32-unknown-unknown"
cargo build --locked --lib --target wasm32-unknown-unknown

step "tests (unit, conformance on memory, Redis and a Redis Cluster, faults and races, provider flows, HTTP endpoints, server end to end on memory and Redis, doc tests, the SQLite KvHost example)"
cargo test --locked --all-features

step "the rmcp example server's own tests"
cargo test --locked --all-features --example rmcp_server

step "the server binary without the redis feature refuses Redis storage"
cargo test --locked --features server --bin simply-mcp-oauth-server


# The WebAssembly side: npm package (size budget, node --test, deno test), the
# Worker in local workerd and the Deno example, the conformance suite in wasm
# under Node and headless Chromium.
bash scripts/test-wasm.sh

step "headless Chromium: connected apps (native, Worker) and the playground (in page, native, Worker)"
bash scripts/test-browser.sh

step "the official MCP clients (TypeScript and Python SDKs, DCR and CIMD) and the conformance runner, against the native server and the Worker"
bash scripts/test-clients.sh

step "benchmarks build and run once (bash scripts/bench.sh measures; bench-load.sh and bench-soak.sh load the server)"
bash scripts/bench.sh --smoke --no-build-pkg

step "fuzzing: a short pass of every cargo-fuzz target on stable (bash scripts/fuzz.sh runs 600 s each)"
bash scripts/fuzz.sh --seconds 10

step "the wasm32-wasip2 component of wit/ (world oauth-provider) under jco"
bash scripts/test-component.sh
