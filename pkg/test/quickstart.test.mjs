// The seed's Quick Start and configuration surface, as a Simply-MCP user writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOAuthProvider, SimplyMCPOAuthProvider, InMemoryStorage } from '../src/node.js';

const seedClients = [
  {
    clientId: 'my-client',
    clientSecret: 'my-secret',
    redirectUris: ['http://localhost:3000/callback'],
    scopes: ['read', 'write'],
  },
];

test('the Quick Start code works unchanged', async () => {
  const provider = await createOAuthProvider({ clients: seedClients });
  const stats = await provider.getStats();
  assert.deepEqual(stats, { clients: 1, tokens: 0, refreshTokens: 0, authorizationCodes: 0 });
  assert.deepEqual(await provider.listClients(), ['my-client']);
});

test('explicit InMemoryStorage, the seed defaults, and storage methods', async () => {
  const storage = new InMemoryStorage({ name: 'MyOAuthStorage', debug: true });
  await storage.connect();
  const provider = await createOAuthProvider({
    clients: seedClients,
    storage,
    tokenExpiration: 3600,
    refreshTokenExpiration: 86400,
  });
  const health = await storage.healthCheck();
  assert.equal(health.healthy, true);
  assert.equal(typeof health.message, 'string');
  assert.equal(typeof health.responseTimeMs, 'number');
  assert.ok(health.timestamp > Date.UTC(2024, 0, 1), 'timestamp is Unix milliseconds');
  assert.equal(Object.getPrototypeOf(health.components), Object.prototype, 'a plain object, not a Map');
  assert.equal(typeof health.components.atomicity, 'string');
  const stats = await storage.getStats();
  assert.equal(stats.clientCount, 1);
  assert.equal(stats.tokenCount, 0);
  assert.equal(stats.refreshTokenCount, 0);
  assert.equal(stats.authorizationCodeCount, 0);
  assert.deepEqual(await storage.listClients(), ['my-client']);
  assert.equal(storage.name, 'MyOAuthStorage');
  await storage.disconnect();
  await storage.disconnect();
  assert.equal((await provider.healthCheck()).healthy, true);
});

test('constructor + initialize, idempotent', async () => {
  const provider = new SimplyMCPOAuthProvider({ clients: seedClients });
  await provider.initialize();
  await provider.initialize();
  assert.equal((await provider.getStats()).clients, 1);
});

test('two providers over one storage: the second initialize is restart-safe', async () => {
  const storage = new InMemoryStorage();
  await createOAuthProvider({ clients: seedClients, storage });
  const again = await createOAuthProvider({ clients: seedClients, storage });
  assert.deepEqual(await again.listClients(), ['my-client']);
});

test('configuration errors name the field', async () => {
  const cases = [
    [{ clients: [{ clientId: 'c', redirectUris: 'http://localhost/cb' }] }, /clients\[0\]\.redirectUris must be an array of strings/],
    [{ clients: [{ redirectUris: ['http://localhost/cb'] }] }, /clients\[0\]\.clientId is required/],
    [{ clients: [{ clientId: 'c', redirectUris: ['http://evil.example/cb'] }] }, /clients\[0\]\.redirectUris\[0\]/],
    [{ tokenExpiration: -5 }, /tokenExpiration must be a positive whole number/],
    [{ codeExpiration: 1.5 }, /codeExpiration/],
    [{ refreshGraceSeconds: -1 }, /refreshGraceSeconds must be a whole number of seconds, 0 or more/],
    [{ refreshGraceSeconds: 301 }, /refreshGraceSeconds must be between 0 and 300 seconds/],
    [{ issuer: 'ftp://x' }, /issuer/],
    [{ clients: {} }, /clients must be an array/],
    [{ storage: {} }, /storage must be an InMemoryStorage or KvStorage/],
  ];
  for (const [config, pattern] of cases) {
    await assert.rejects(createOAuthProvider(config), (error) => {
      assert.match(error.message, pattern);
      assert.ok(error instanceof Error);
      return true;
    });
    assert.throws(() => new SimplyMCPOAuthProvider(config), pattern);
  }
});
