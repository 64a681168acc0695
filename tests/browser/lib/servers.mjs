// The two servers under test, each on a free loopback port: the native demo
// server (the `simply-mcp-oauth-server` binary) and the Worker in local
// workerd through Miniflare (tests/clients/worker-server.mjs). Each resolves
// once it printed its issuer; `stop()` ends the process it started.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Resolves to the first capture of `ready` in the child's output (stdout or stderr). */
function started(child, name, ready) {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 60_000);
    const read = (chunk) => {
      output += chunk;
      const found = ready.exec(output)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
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

/** Starts `command`; resolves once it printed `ready` to { found, stop() }. */
async function run(name, command, args, ready = /^issuer: (\S+)$/m) {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const found = await started(child, name, ready);
  return {
    found,
    stop() {
      if (child.exitCode !== null) return Promise.resolve();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * The native demo server, started by scripts/native-server.sh (none of our
 * SIMPLY_MCP_OAUTH_* / REDIS_* variables passed on): SIMPLY_MCP_OAUTH_SERVER
 * names the binary (default target/debug).
 */
export async function startNative() {
  const binary = process.env.SIMPLY_MCP_OAUTH_SERVER ?? `${ROOT}target/debug/simply-mcp-oauth-server`;
  const { found, stop } = await run('simply-mcp-oauth-server', 'bash', [`${ROOT}scripts/native-server.sh`, binary]);
  return { issuer: found, stop };
}

/** The Worker bundle (worker-example/dist, `npm run build` there) in Miniflare. */
export async function startWorker() {
  const script = process.env.WORKER_SCRIPT ?? `${ROOT}worker-example/dist/index.js`;
  const { found, stop } = await run('worker', process.execPath, [`${ROOT}tests/clients/worker-server.mjs`, '--script', script]);
  return { issuer: found, stop };
}

/** The playground's static server (pkg/playground/serve.mjs, the README's command) on a free port. */
export async function startPlayground() {
  const { found, stop } = await run('serve.mjs', process.execPath, [`${ROOT}pkg/playground/serve.mjs`, '0'], /^playground: (\S+)$/m);
  return { url: found, stop };
}
