// Cold start of the wasm package in Node: in fresh processes, the time from
// module instantiation (initSync: compile + instantiate, from bytes already
// read) to the first answered request (provider.fetch of the AS metadata, body
// read). Prints one JSON line with the medians over the runs.
//
//   node pkg/bench/coldstart.mjs [runs]      (default 15)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const WASM = new URL('../dist/simply_mcp_oauth_bg.wasm', import.meta.url);

if (process.argv[2] === '--child') {
  // core.js only wraps prototypes when imported; nothing touches wasm until initSync.
  const { initSync } = await import('../dist/simply_mcp_oauth.js');
  const { createOAuthProvider } = await import('../src/core.js');
  const bytes = readFileSync(WASM);
  // Node loads its Request/Response classes (undici) lazily, on first use: a
  // cost of Node, paid before the clock starts and reported apart.
  const w0 = performance.now();
  new Response(await new Request('http://127.0.0.1/', { method: 'POST', body: 'x' }).text(), { headers: new Headers() });
  const web_classes_ms = performance.now() - w0;
  const t0 = performance.now();
  initSync({ module: bytes });
  const t1 = performance.now();
  const provider = await createOAuthProvider({ issuer: 'http://127.0.0.1:8080' });
  const response = await provider.fetch(new Request('http://127.0.0.1:8080/.well-known/oauth-authorization-server'));
  const metadata = await response.json();
  const t2 = performance.now();
  if (response.status !== 200 || !metadata.token_endpoint) throw new Error(`unexpected answer ${response.status}`);
  // performance.now() counts from the process's time origin (its start).
  console.log(JSON.stringify({ web_classes_ms, instantiate_ms: t1 - t0, first_answer_ms: t2 - t0, since_process_start_ms: t2 }));
} else {
  const runs = Number(process.argv[2] ?? 15);
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child'], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`cold-start child failed: ${child.stderr}`);
    samples.push(JSON.parse(child.stdout));
  }
  const median = (key) => {
    const xs = samples.map((s) => s[key]).sort((a, b) => a - b);
    const mid = xs.length >> 1;
    const value = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
    return Math.round(value * 100) / 100;
  };
  console.log(
    JSON.stringify({
      cold_start: true,
      runs,
      instantiate_ms: median('instantiate_ms'),
      first_answer_ms: median('first_answer_ms'),
      web_classes_ms: median('web_classes_ms'),
      since_process_start_ms: median('since_process_start_ms'),
      wasm_bytes: readFileSync(WASM).length,
    }),
  );
}
