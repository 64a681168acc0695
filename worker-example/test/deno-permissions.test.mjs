// The Deno entry's network permission, as `npm run deno:dev` grants it: the
// listen address and the metadata hosts the operator names, never the whole
// network (Deno cannot keep fetch to public addresses; see README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** The --allow-net flag of the deno:dev task, expanded by sh as npm does, with `env`. */
function allowNet(env) {
  const flags = scripts['deno:dev'].split(/\s+/).filter((flag) => flag.startsWith('--allow-net'));
  assert.equal(flags.length, 1, scripts['deno:dev']);
  return execFileSync('sh', ['-c', `printf '%s' ${flags[0]}`], { env: { PATH: process.env.PATH, ...env } }).toString();
}

test('deno:dev grants the network only to its listen address and CIMD_HOSTS', () => {
  assert.equal(allowNet({}), '--allow-net=127.0.0.1:8000');
  assert.equal(allowNet({ PORT: '9000', HOSTNAME: '0.0.0.0' }), '--allow-net=0.0.0.0:9000');
  assert.equal(
    allowNet({ CIMD_HOSTS: 'app.example,tools.example:443' }),
    '--allow-net=127.0.0.1:8000,app.example,tools.example:443',
  );
});
