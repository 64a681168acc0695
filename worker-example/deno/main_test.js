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
  postConsent,
  readConsentPage,
  unvettedErrorFlow,
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
    await unvettedErrorFlow(send, issuer);
    await csrfFlow(send, issuer);
    await badTokensFlow(send, issuer);
  }),
);

Deno.test('a metadata-document client served on loopback, with CIMD_ALLOW_LOOPBACK', async () => {
  const { REDIRECT_URI, authorizeUrl, consent } = await import('../test/flow.mjs');
  let fetched = 0;
  const docServer = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, (request) => {
    fetched += 1;
    const clientId = request.url;
    return Response.json({ client_id: clientId, client_name: 'Loopback CIMD', redirect_uris: [REDIRECT_URI] });
  });
  const docUrl = `http://127.0.0.1:${docServer.addr.port}/client.json`;
  const refused = await start({ port: 0, kvPath: ':memory:', demoUser: DEMO_USER });
  const server = await start({ port: 0, kvPath: ':memory:', demoUser: DEMO_USER, cimdAllowLoopback: true });
  try {
    const send = (url, init) => fetch(url, { redirect: 'manual', ...init });
    const asOf = async (issuer) => (await send(`${issuer}/.well-known/oauth-authorization-server`)).json();
    const off = await authorizeUrl(await asOf(refused.issuer), { client_id: docUrl });
    const offPage = await send(String(off.url));
    if (offPage.status !== 400) throw new Error(`without the switch: ${offPage.status}`);
    await offPage.body?.cancel();
    const as = await asOf(server.issuer);
    if (as.client_id_metadata_document_supported !== true) throw new Error('no CIMD flag');
    const { url, verifier } = await authorizeUrl(as, { client_id: docUrl });
    const code = (await consent(send, server.issuer, url)).searchParams.get('code');
    const token = await send(as.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, client_id: docUrl }),
    });
    if (token.status !== 200) throw new Error(`token: ${token.status} ${await token.text()}`);
    await token.body?.cancel();
    if (fetched !== 1) throw new Error(`fetched ${fetched} times, not once`);
  } finally {
    await server.close();
    await refused.close();
    await docServer.shutdown();
  }
});

Deno.test('registrations over the per-IP limit get 429 too_many_requests with Retry-After', async () => {
  const server = await start({ port: 0, kvPath: ':memory:', demoUser: DEMO_USER, rateLimits: { registerPerIp: { limit: 2, period: 3600 } } });
  try {
    const register = () =>
      fetch(`${server.issuer}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' }),
      });
    for (const expected of [201, 201]) {
      const response = await register();
      await response.body?.cancel();
      if (response.status !== expected) throw new Error(`status ${response.status}, expected ${expected}`);
    }
    const refused = await register();
    const body = await refused.json();
    if (refused.status !== 429 || body.error !== 'too_many_requests' || refused.headers.get('retry-after') !== '1800') {
      throw new Error(`not limited: ${refused.status} ${JSON.stringify(body)} retry-after ${refused.headers.get('retry-after')}`);
    }
  } finally {
    await server.close();
  }
});

// One HTTP/1.1 request with the Host header given (fetch sets its own).
async function rawGet(port, host, path) {
  const connection = await Deno.connect({ hostname: '127.0.0.1', port });
  try {
    await connection.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    const chunks = [];
    const buffer = new Uint8Array(4096);
    for (let n; (n = await connection.read(buffer)) !== null; ) chunks.push(buffer.slice(0, n));
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
  } finally {
    try { connection.close(); } catch { /* closed by the server */ }
  }
}

Deno.test('without ISSUER, only loopback hosts are served; others get "set ISSUER"', async () => {
  const server = await start({ port: 0, kvPath: ':memory:', loopbackOnly: true });
  try {
    const port = server.server.addr.port;
    const metadata = '/.well-known/oauth-authorization-server';
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `127.9.8.7:${port}`]) {
      const answer = await rawGet(port, host, metadata);
      if (!answer.startsWith('HTTP/1.1 200')) throw new Error(`${host}: ${answer}`);
    }
    const answer = await rawGet(port, 'evil.example', metadata);
    if (!answer.startsWith('HTTP/1.1 500') || !answer.includes('set ISSUER') || answer.includes('evil.example')) {
      throw new Error(`a foreign host: ${answer}`);
    }
  } finally {
    await server.close();
  }
});

Deno.test('the consent POST counts against the /authorize limit of its address', async () => {
  const server = await start({ port: 0, kvPath: ':memory:', demoUser: DEMO_USER, rateLimits: { authorizePerIp: { limit: 1, period: 3600 } } });
  try {
    const registration = await fetch(`${server.issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' }),
    });
    const { client_id } = await registration.json();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id,
      redirect_uri: 'http://127.0.0.1/cb',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
    });
    const form = await readConsentPage(await fetch(`${server.issuer}/authorize?${query}`));
    const decision = await postConsent(fetch, server.issuer, { ...form, decision: 'approve' });
    await decision.body?.cancel();
    if (decision.status !== 429) throw new Error(`the decision was not counted: ${decision.status}`);
  } finally {
    await server.close();
  }
});

Deno.test('secret guesses at /introspect and /revoke are limited per address', async () => {
  const server = await start({
    port: 0,
    kvPath: ':memory:',
    demoUser: DEMO_USER,
    clients: [CONFIDENTIAL_CLIENT],
    rateLimits: { introspectPerIp: { limit: 2, period: 60 }, revokePerIp: { limit: 2, period: 60 } },
  });
  try {
    for (const path of ['/introspect', '/revoke']) {
      const guess = async (secret) => {
        const response = await fetch(`${server.issuer}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: 'a.b', client_id: CONFIDENTIAL_CLIENT.clientId, client_secret: secret }),
        });
        await response.body?.cancel();
        return response;
      };
      for (const secret of ['guess-1', 'guess-2']) {
        const status = (await guess(secret)).status;
        if (status !== 401) throw new Error(`${path}: status ${status}, expected 401`);
      }
      const refused = await guess(CONFIDENTIAL_CLIENT.clientSecret);
      if (refused.status !== 429 || refused.headers.get('retry-after') !== '30') {
        throw new Error(`${path} not limited: ${refused.status} retry-after ${refused.headers.get('retry-after')}`);
      }
    }
  } finally {
    await server.close();
  }
});
