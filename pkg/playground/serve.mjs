// Serves pkg/ on a loopback address so the playground can load the package
// (src/, dist/) as ES modules:
//
//   node pkg/playground/serve.mjs [port]      (default 8000; 0 picks a free one)
//
// then open the printed URL. Only files under pkg/ are served, only to this
// computer.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
};

const server = createServer((request, response) => {
  let path;
  try {
    path = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
  } catch {
    response.writeHead(400).end(); // a malformed %-escape must not end the server
    return;
  }
  let file = normalize(join(root, path));
  if (!file.startsWith(root) || (request.method !== 'GET' && request.method !== 'HEAD')) {
    response.writeHead(404).end();
    return;
  }
  try {
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    const size = statSync(file).size;
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'cache-control': 'no-store' });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  } catch {
    response.writeHead(404, { 'content-type': 'text/plain' }).end(path.endsWith(`${sep}`) ? 'not found' : 'not found (run bash scripts/build-pkg.sh for dist/)');
  }
});

server.listen(Number(process.argv[2] ?? 8000), '127.0.0.1', () => {
  console.log(`playground: http://127.0.0.1:${server.address().port}/playground/`);
});
