// Deno: reads the module next to this file (needs --allow-read for it).
import init from '../dist/simply_mcp_oauth.js';

await init({ module_or_path: await Deno.readFile(new URL('../dist/simply_mcp_oauth_bg.wasm', import.meta.url)) });

export * from './core.js';
