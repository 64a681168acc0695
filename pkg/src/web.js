// Browsers and bundlers: call `await ready()` once before using anything; it
// fetches the .wasm next to the generated bindings unless given a source.
import init from '../dist/simply_mcp_oauth.js';

export * from './core.js';

let loading;
/** Loads the module once; `source` may be a URL, a Response, bytes or a WebAssembly.Module. */
export function ready(source) {
  loading ??= init(source === undefined ? undefined : { module_or_path: source });
  return loading.then(() => undefined);
}
