// DurableObjectSqlHost (pkg/src/adapters/durable-object-sql.js) on a real
// SQLite-backed Durable Object in workerd: versioned reads, checked commits
// that are all or nothing, and prefix listing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

let mf;
let object;

before(async () => {
  mf = new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL('./fixtures/sql-host-object.js', import.meta.url)),
    modulesRoot: fileURLToPath(new URL('../..', import.meta.url)),
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }],
    compatibilityDate: '2026-04-26',
    durableObjects: { OBJECT: { className: 'SqlHostObject', useSQLite: true } },
  });
  const namespace = await mf.getDurableObjectNamespace('OBJECT');
  object = namespace.get(namespace.idFromName('one'));
});

after(async () => {
  await mf?.dispose();
});

const call = (method, ...args) => object.call(method, args);

test('a checked commit applies once: of two commits checking one version, one wins', async () => {
  assert.equal(await call('commit', [{ key: 'k', version: null }], [{ type: 'set', key: 'k', value: 'v1', ttlSeconds: 0 }]), true);
  assert.equal(await call('commit', [{ key: 'k', version: null }], [{ type: 'set', key: 'k', value: 'v2', ttlSeconds: 0 }]), false, 'k exists now');
  const read = await call('getVersioned', 'k');
  assert.equal(read.value, 'v1');
  const move = (value) => call('commit', [{ key: 'k', version: read.version }], [{ type: 'set', key: 'k', value, ttlSeconds: 0 }]);
  const [a, b] = await Promise.all([move('a'), move('b')]);
  assert.equal(Number(a) + Number(b), 1, 'exactly one of two checked commits applies');
  const after = await call('getVersioned', 'k');
  assert.notEqual(after.version, read.version);
  assert.equal(await call('commit', [{ key: 'k', version: after.version }], [{ type: 'delete', key: 'k' }]), true);
  assert.equal(await call('get', 'k'), null);
});

test('a commit that throws part-way writes nothing', async () => {
  assert.match(await object.failingCommit('half'), /poisoned value/);
  assert.equal(await call('get', 'half:1'), null, 'the first write was rolled back');
  assert.equal(await call('get', 'half:2'), null);
});

test('rows with a TTL are kept until it passes; listing pages by prefix, in order', async () => {
  await call('put', 'ttl', 'x', 1);
  assert.equal(await call('get', 'ttl'), 'x');
  for (let i = 0; i < 7; i++) await call('put', `p:${i}`, 'x', 0);
  await call('put', 'q:0', 'x', 0);
  const first = await call('list', 'p:', null, 5);
  const second = await call('list', 'p:', first.cursor, 5);
  assert.deepEqual([...first.keys, ...second.keys], ['p:0', 'p:1', 'p:2', 'p:3', 'p:4', 'p:5', 'p:6']);
  assert.equal(second.cursor, null);
  assert.deepEqual({ ...(await call('capabilities')) }, { atomic: true, minTtlSeconds: 1, consistentReads: true });
});
