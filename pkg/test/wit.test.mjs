// wit/simply-mcp-oauth.wit is the single source of truth for the host
// interface: the JS adapters implement exactly its kv functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DenoKvHost, DurableObjectSqlHost, WorkersKvHost } from '../src/node.js';

const wit = readFileSync(new URL('../../wit/simply-mcp-oauth.wit', import.meta.url), 'utf8');

function kvFunctions() {
  const body = /interface kv \{([\s\S]*?)\n\}/.exec(wit)[1];
  const names = [...body.matchAll(/^\s*%?([a-z][a-z0-9-]*)\s*:\s*func\(/gm)].map((m) => m[1]);
  return names.map((name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase()));
}

function methods(cls) {
  return Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor' && typeof cls.prototype[n] === 'function');
}

test('the WIT kv interface declares the seven host functions', () => {
  assert.deepEqual(kvFunctions().sort(), ['capabilities', 'commit', 'delete', 'get', 'getVersioned', 'list', 'put']);
});

test('the Deno KV adapter (atomic) implements every WIT kv function and nothing else', () => {
  assert.deepEqual(methods(DenoKvHost).sort(), kvFunctions().sort());
});

test('the Workers KV adapter implements every WIT kv function, and says it is not atomic', () => {
  assert.deepEqual(methods(WorkersKvHost).sort(), kvFunctions().sort());
  assert.equal(new WorkersKvHost({ get() {} }).capabilities().atomic, false);
});

test('the Durable Object SQL adapter (atomic) implements every WIT kv function, plus its alarm sweep', () => {
  assert.deepEqual(methods(DurableObjectSqlHost).filter((m) => m !== 'sweepExpired').sort(), kvFunctions().sort());
  assert.throws(() => new DurableObjectSqlHost({}), /SQLite-backed Durable Object/);
});
