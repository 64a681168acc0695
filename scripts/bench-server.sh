# Shared by bench-load.sh and bench-soak.sh (sourced, not run): the native
# server built for measuring, started on a free loopback port with a
# configured machine client (--client-id, a random secret per run) for
# client_credentials load, and every process started here stopped on exit.

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Builds the server with --profile bench (release at opt-level 3, into
# target/release); sets $server_bin.
build_server() {
  echo "==> cargo build --profile bench --features server,redis --bin simply-mcp-oauth-server" >&2
  cargo build --locked --profile bench --features server,redis --bin simply-mcp-oauth-server >&2
  server_bin=target/release/simply-mcp-oauth-server
}

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# The configured machine client: /register never grants client_credentials.
machine_client=bench-machine
machine_secret=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")

# Starts the server (scripts/native-server.sh: a free loopback port, none of
# the caller's SIMPLY_MCP_OAUTH_* / REDIS_* variables) with its log in $1 and
# the other arguments as its flags; sets $base (http://address) and $server_pid.
start_server() {
  local log=$1
  shift
  # Request logging off (RUST_LOG=warn) unless the caller sets RUST_LOG: at
  # the default level every request is two log lines, which would measure the
  # log file and, over a soak, fill the disk.
  # Rate limits off too (unless the caller's SIMPLY_MCP_OAUTH_RATE_LIMITS says
  # otherwise): the load comes from one address, at rates far past what one
  # client would send.
  # The machine client's secret goes in the server's environment, not in its
  # command line, which other local users can read.
  bash scripts/native-server.sh "$server_bin" RUST_LOG="${RUST_LOG:-warn}" \
    SIMPLY_MCP_OAUTH_RATE_LIMITS="${SIMPLY_MCP_OAUTH_RATE_LIMITS:-off}" \
    SIMPLY_MCP_OAUTH_CLIENT_SECRET="$machine_secret" -- --client-id "$machine_client" "$@" >"$log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 200); do
    base=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$log")
    [ -n "$base" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$log" >&2
  echo "$(basename "$0"): the server did not start" >&2
  exit 1
}

# The machine client's Basic credentials in $basic, and $work/token.lua
# (wrk's POST /token, grant_type=client_credentials), after one such request
# by hand, which must succeed.
load_client() {
  basic=$(printf '%s:%s' "$machine_client" "$machine_secret" | base64 -w0)
  curl -fsS "$base/token" -H "authorization: Basic $basic" -d 'grant_type=client_credentials&scope=mcp' >/dev/null
  cat >"$work/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=mcp"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
}
