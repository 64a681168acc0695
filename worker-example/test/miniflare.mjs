// Miniflare options for the bundled Worker in either storage mode, shared by
// the tests and scripts/bench-edge.mjs' sibling checks.

/** `mode`: "durable-object" (OAUTH_STORE bound to SQLite-backed OAuthStorageObjects) or "kv". */
export function workerOptions(scriptPath, { mode = 'durable-object', bindings = {}, durableObjects } = {}) {
  const options = {
    modules: true,
    scriptPath,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-26',
    kvNamespaces: ['OAUTH_KV'],
    bindings: { STORAGE_MODE: mode, ...bindings },
    cf: false, // no fetch of the Request.cf placeholder from the network
  };
  if (mode === 'durable-object') {
    options.durableObjects = durableObjects ?? { OAUTH_STORE: { className: 'OAuthStorageObject', useSQLite: true } };
  }
  return options;
}
