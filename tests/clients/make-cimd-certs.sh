#!/usr/bin/env bash
# A throwaway CA and a server certificate for 127.0.0.1 / localhost, for the
# https Client ID Metadata Document server of the client tests
# (cimd-server.mjs). The authorization server trusts the CA through
# SIMPLY_MCP_OAUTH_CIMD_CA_FILE. Usage: make-cimd-certs.sh <dir>
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout ca.key -out ca.pem -subj "/CN=simply-mcp-oauth client tests CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout key.pem -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out cert.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
