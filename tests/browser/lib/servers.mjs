// The two servers under test, each on a free loopback port: the native demo
// server (the `simply-mcp-oauth-server` binary) and the Worker in local
// workerd through Miniflare (tests/clients/worker-server.mjs). Each resolves
// once it printed its issuer; `stop()` ends the process it started.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function started(child, name) {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 60_000);
    const read = (chunk) => {
      output += chunk;
      const issuer = /^issuer: (\S+)$/m.exec(output)?.[1];
      if (issuer) {
        clearTimeout(timer);
        resolve(issuer);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it started:\n${output}`));
    });
  });
}

async function run(name, command, args) {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const issuer = await started(child, name);
  return {
    issuer,
    stop() {
      if (child.exitCode !== null) return Promise.resolve();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The native demo server: SIMPLY_MCP_OAUTH_SERVER names the binary (default target/debug). */
export function startNative() {
  const binary = process.env.SIMPLY_MCP_OAUTH_SERVER ?? `${ROOT}target/debug/simply-mcp-oauth-server`;
  return run('simply-mcp-oauth-server', binary, ['--bind', '127.0.0.1:0']);
}

/** The Worker bundle (worker-example/dist, `npm run build` there) in Miniflare. */
export function startWorker() {
  const script = process.env.WORKER_SCRIPT ?? `${ROOT}worker-example/dist/index.js`;
  return run('worker', process.execPath, [`${ROOT}tests/clients/worker-server.mjs`, '--script', script]);
}

/** The playground's static server (pkg/playground/serve.mjs, the README's command) on a free port. */
export async function startPlayground() {
  const child = spawn(process.execPath, [`${ROOT}pkg/playground/serve.mjs`, '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const found = /^playground: (\S+)$/m.exec(output)?.[1];
      if (found) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`serve.mjs exited (${code}): ${output}`)));
  });
  return {
    url,
    stop() {
      if (child.exitCode !== null) return Promise.resolve();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
