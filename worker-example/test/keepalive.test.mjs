// The first request of every MCP client is an unauthenticated POST /mcp, and
// some clients write its body after its headers. The Worker's 401 must leave
// the kept-alive connection usable for the discovery request that follows.
// Over a real loopback socket to Miniflare's workerd, 100 times.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { workerOptions } from './miniflare.mjs';

const bundle = fileURLToPath(new URL('../dist/index.js', import.meta.url));
let mf;
let origin;

before(async () => {
  mf = new Miniflare({ ...workerOptions(bundle, { bindings: { ISSUER: 'http://127.0.0.1', DEMO_USER: 'alice' } }), host: '127.0.0.1', port: 0 });
  origin = await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

/** Reads responses off one socket: `next()` resolves to { status, headers, body } in order. */
function responses(socket) {
  let buffer = Buffer.alloc(0);
  let waiting = null;
  const tryParse = () => {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    if (headers['transfer-encoding'] === 'chunked') {
      const close = buffer.indexOf('\r\n0\r\n\r\n', end);
      if (close < 0) return null;
      const body = buffer.subarray(end + 4, close + 7).toString();
      buffer = buffer.subarray(close + 7);
      return { status: Number(head[0].split(' ')[1]), headers, body };
    }
    if (buffer.length < end + 4 + length) return null;
    const body = buffer.subarray(end + 4, end + 4 + length).toString();
    buffer = buffer.subarray(end + 4 + length);
    return { status: Number(head[0].split(' ')[1]), headers, body };
  };
  const settle = () => {
    if (!waiting) return;
    const parsed = tryParse();
    if (parsed) {
      const { resolve } = waiting;
      waiting = null;
      resolve(parsed);
    }
  };
  socket.on('data', (chunk) => { buffer = Buffer.concat([buffer, chunk]); settle(); });
  socket.on('close', () => waiting?.reject(new Error('the server closed the connection')));
  socket.on('error', (error) => waiting?.reject(error));
  return {
    next: () => new Promise((resolve, reject) => { waiting = { resolve, reject }; settle(); }),
  };
}

test('a 401 sent before a late body arrives keeps the connection usable, 100 times', async () => {
  const { hostname, port, host } = new URL(origin);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
  for (let trial = 0; trial < 100; trial++) {
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const reader = responses(socket);
    socket.write(`POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    await sleep(30);
    socket.write(body);
    const challenge = await reader.next();
    assert.equal(challenge.status, 401, `trial ${trial}`);
    assert.match(challenge.headers['www-authenticate'], /scope="mcp"/);
    socket.write(`GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const discovery = await reader.next();
    assert.equal(discovery.status, 200, `trial ${trial}: the connection stayed usable`);
    assert.match(discovery.body, /authorization_servers/);
    socket.destroy();
  }
});
