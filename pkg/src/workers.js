// Cloudflare Workers: wrangler imports the .wasm as a compiled WebAssembly.Module
// (CompiledWasm), which is instantiated synchronously at module load.
import module from '../dist/simply_mcp_oauth_bg.wasm';
import { initSync } from '../dist/simply_mcp_oauth.js';

initSync({ module });

export * from './core.js';
export { OAuthStorageObject } from './durable-object.js';
