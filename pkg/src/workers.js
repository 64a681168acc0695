// Cloudflare Workers: wrangler imports the .wasm as a compiled WebAssembly.Module
// (CompiledWasm), which is instantiated synchronously at module load.
import module from '../dist/simply_mcp_oauth_bg.wasm';
import { initSync } from '../dist/simply_mcp_oauth.js';
import { setDefaultClientIp } from './client-ip.js';

initSync({ module });

// Cloudflare sets CF-Connecting-IP to the visitor's address (a client's own
// value is replaced), so it is the key of the per-IP rate limits here.
setDefaultClientIp((request) => request.headers.get('cf-connecting-ip') ?? undefined);

export * from './core.js';
export { OAuthStorageObject } from './durable-object.js';
