#!/usr/bin/env bash
# Starts the native server (simply-mcp-oauth-server, or the rmcp example
# server, which takes the same --bind) on a free loopback port for a test or
# a bench, with only the settings the caller gives: the caller's
# SIMPLY_MCP_OAUTH_* and REDIS_* variables are not passed on.
#
#   bash scripts/native-server.sh BINARY [NAME=VALUE ...] [-- SERVER FLAGS ...]
#
# The server replaces this script (exec), so the caller's process id is the
# server's: a signal stops it, /proc/PID shows its memory. It prints
# `listening on http://127.0.0.1:PORT` then `issuer: URL` on stdout; callers
# wait for the line they need. Used by scripts/test-clients.sh,
# scripts/bench-server.sh (bench-load.sh, bench-soak.sh),
# scripts/registration-flood.sh, tests/browser/lib/servers.mjs and the Rust
# end-to-end tests (tests/e2e/mod.rs).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BINARY [NAME=VALUE ...] [-- SERVER FLAGS ...]" >&2; exit 2; }
binary=$1
shift
settings=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case "$1" in
    [A-Za-z_]*=*) settings+=("$1") ;;
    *) echo "$0: '$1' is not NAME=VALUE (server flags go after --)" >&2; exit 2 ;;
  esac
  shift
done
[ $# -gt 0 ] && shift

for name in $(compgen -e); do
  case "$name" in
    SIMPLY_MCP_OAUTH_* | REDIS_*) unset "$name" ;;
  esac
done
# A free loopback port, unless the caller names the address (a restart on
# the port the first run got).
bind=(--bind 127.0.0.1:0)
for flag in "$@"; do
  case "$flag" in --bind | --bind=*) bind=() ;; esac
done
exec env ${settings[@]+"${settings[@]}"} "$binary" ${bind[@]+"${bind[@]}"} "$@"
