#!/usr/bin/env bash
# Builds the npm package in pkg/: the wasm module (profile wasm-release:
# opt-level "z", lto, panic abort; `cargo build --release` stays the native
# speed profile), its wasm-bindgen
# bindings (--target web, initialised per runtime by pkg/src/*.js), and an
# optimised module (wasm-opt -Oz from npm binaryen@132.0.0, with the flags
# below). Prints the sizes.
#
#   bash scripts/build-pkg.sh           the shipped, size-optimised module
#   bash scripts/build-pkg.sh --speed   opt-level 3 and wasm-opt -O3 instead: for
#                                       measuring what size costs in speed (it
#                                       is over the size budget; not shipped)
set -euo pipefail
cd "$(dirname "$0")/.."

# -Oz, run until it changes nothing more (--converge); --low-memory-unused lets
# it fold constant offsets into loads and stores: rustc's wasm32 layout puts
# the 1 MB stack first (growing down) and the data above it, so nothing lives
# in the low 1 KB. The producers section only names the tools.
rust_opt=() wasm_opt=(-Oz --converge --low-memory-unused --strip-producers)
case "${1:-}" in
  "") ;;
  --speed) rust_opt=(--config 'profile.wasm-release.opt-level=3') wasm_opt=(-O3) ;;
  *) echo "usage: $0 [--speed]" >&2; exit 2 ;;
esac

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (found: ${have:-none}); this takes a few minutes"
  cargo install wasm-bindgen-cli --version "$want"
fi

cargo rustc --locked --lib --profile wasm-release --target wasm32-unknown-unknown --crate-type cdylib "${rust_opt[@]}"
rm -rf pkg/dist
# --experimental-reset-state-function: pkg/src/contain.js replaces an instance
# that trapped without a panic (a panic asks for it from Rust).
wasm-bindgen --target web --experimental-reset-state-function --out-dir pkg/dist --out-name simply_mcp_oauth \
  target/wasm32-unknown-unknown/wasm-release/simply_mcp_oauth.wasm

(cd pkg && { [ -x node_modules/.bin/wasm-opt ] || npm ci --no-audit --no-fund; })
raw=pkg/dist/simply_mcp_oauth_bg.wasm
pkg/node_modules/.bin/wasm-opt "${wasm_opt[@]}" "$raw" -o "$raw.opt"
mv "$raw.opt" "$raw"
# For the benchmark table (not part of the package's files).
echo "wasm-release ($([ "${wasm_opt[0]}" = -Oz ] && echo 'opt-level z, -Oz' || echo 'opt-level 3, -O3: not shipped'))" >pkg/dist/build-profile.txt

bytes=$(wc -c < "$raw")
gzipped=$(gzip -9 -c "$raw" | wc -c)
printf 'pkg/dist/simply_mcp_oauth_bg.wasm: %d bytes raw, %d bytes gzipped (%.1f KB)\n' \
  "$bytes" "$gzipped" "$(echo "$gzipped / 1024" | bc -l)"
