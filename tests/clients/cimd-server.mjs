// An https server on loopback serving Client ID Metadata Documents for the
// client tests, with a certificate from make-cimd-certs.sh:
//
//   node cimd-server.mjs --certs <dir>
//
// GET /clients/<name>.json answers a document whose client_id is exactly the
// URL it was fetched from. It prints "listening on https://127.0.0.1:<port>",
// then one "fetched <path>" line per request (so the tests can show that the
// authorization server fetched the document), and runs until SIGTERM.
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { certs: { type: 'string' } } });
const tls = { key: readFileSync(join(args.certs, 'key.pem')), cert: readFileSync(join(args.certs, 'cert.pem')) };

// Every client test's loopback redirect URI (ts-client.mjs, py_client.py,
// rmcp/src/main.rs).
const REDIRECT_URIS = ['http://127.0.0.1:33419/callback', 'http://127.0.0.1:33420/callback', 'http://127.0.0.1:33421/callback'];

let origin;
const server = createServer(tls, (request, response) => {
  const url = new URL(request.url, origin);
  console.log(`fetched ${request.method} ${url.pathname} (accept: ${request.headers.accept ?? '-'})`);
  const match = /^\/clients\/([a-z0-9-]+)\.json$/.exec(url.pathname);
  if (request.method !== 'GET' || !match || url.search) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const document = {
    client_id: `${origin}${url.pathname}`,
    client_name: `simply-mcp-oauth client test (${match[1]}, CIMD)`,
    client_uri: origin,
    redirect_uris: REDIRECT_URIS,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
  response.end(JSON.stringify(document));
});
server.listen(0, '127.0.0.1', () => {
  origin = `https://127.0.0.1:${server.address().port}`;
  console.log(`listening on ${origin}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
