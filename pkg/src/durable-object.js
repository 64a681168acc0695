// The Durable Object class that stores the provider's grants on Cloudflare
// Workers, SQLite-backed and strongly consistent. Export it from your Worker
// and bind it (see worker-example/wrangler.toml):
//
//   export { OAuthStorageObject } from 'simply-mcp-oauth';
//   storage: new DurableObjectStorage(env.OAUTH_STORE)
//
// A DurableObjectStorage sends each storage operation to the object that owns
// its grant (a shard chosen from the grant id); the object runs it here, next
// to its data, and answers in the same RPC.
import { DurableObject } from 'cloudflare:workers';
import { KvStorage, executeStorageOperation } from './core.js';
import { DurableObjectSqlHost } from './adapters/durable-object-sql.js';

export class OAuthStorageObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.host = new DurableObjectSqlHost(ctx.storage);
    this.store = new KvStorage(this.host, { name: 'OAuthStorageObject' });
  }

  /** One encoded storage operation in, its encoded reply out. */
  run(request) {
    return executeStorageOperation(this.store, request);
  }

  alarm() {
    this.host.sweepExpired();
  }
}
