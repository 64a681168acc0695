// `deno test`: the Deno server started in-process on a free loopback port,
// with Deno KV in memory; the same end-to-end checks as the Worker's tests.
//
//   deno test --no-check --allow-read --allow-net=127.0.0.1 --unstable-kv deno/
import * as oauth from 'oauth4webapi';
import { start } from './main.js';
import {
  CONFIDENTIAL_CLIENT,
  badTokensFlow,
  confidentialClientFlow,
  csrfFlow,
  denyFlow,
  handBuiltFlow,
  oauth4webapiFlow,
  wrongRedirectFlow,
} from '../test/flow.mjs';

const DEMO_USER = 'bob';

async function withServer(body) {
  const server = await start({ port: 0, kvPath: ':memory:', demoUser: DEMO_USER, clients: [CONFIDENTIAL_CLIENT] });
  try {
    await body((url, init) => fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000), ...init }), server.issuer);
  } finally {
    await server.close();
  }
}

Deno.test('discovery from a 401, registration, consent, token, /mcp, refresh, revoke, 401', () =>
  withServer((send, issuer) => handBuiltFlow(send, issuer, { demoUser: DEMO_USER })),
);

Deno.test('the full flow driven by oauth4webapi', () =>
  withServer((send, issuer) => oauth4webapiFlow(oauth, send, issuer, { demoUser: DEMO_USER })),
);

Deno.test('a pre-registered confidential client, client_secret_basic', () =>
  withServer((send, issuer) => confidentialClientFlow(oauth, send, issuer)),
);

Deno.test('deny, wrong redirect URI, forged consent, bad tokens', () =>
  withServer(async (send, issuer) => {
    await denyFlow(send, issuer);
    await wrongRedirectFlow(send, issuer);
    await csrfFlow(send, issuer);
    await badTokensFlow(send, issuer);
  }),
);
