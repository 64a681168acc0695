// Node.js: the module is read from disk next to this file and compiled synchronously.
import { readFileSync } from 'node:fs';
import { initSync } from '../dist/simply_mcp_oauth.js';

initSync({ module: readFileSync(new URL('../dist/simply_mcp_oauth_bg.wasm', import.meta.url)) });

export * from './core.js';
