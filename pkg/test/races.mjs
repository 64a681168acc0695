// The races every atomic store must win, through the provider's JS API:
// shared by the Node tests (Map hosts, InMemoryStorage) and the Deno KV tests.
import { authorize } from './helpers.mjs';

const REDIRECT = 'https://app.example/cb';
export const RACE_CLIENTS = [{ clientId: 'conf', clientSecret: 'conf-secret', redirectUris: [REDIRECT], scopes: ['read'] }];
const creds = { clientId: 'conf', clientSecret: 'conf-secret' };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error: error.code ?? String(error) }));

/** 50 exchanges of one code at once: exactly one succeeds, the rest are `invalid_grant`. */
export async function raceExchanges(provider, n = 50) {
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: REDIRECT });
  const exchange = () => provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
  const outcomes = await Promise.all(Array.from({ length: n }, () => settle(exchange())));
  const winners = outcomes.filter((o) => o.value);
  check(winners.length === 1, `${winners.length} exchanges succeeded: ${JSON.stringify(outcomes.map((o) => o.error ?? 'ok'))}`);
  check(outcomes.every((o) => o.value || o.error === 'invalid_grant'), `unexpected: ${JSON.stringify(outcomes)}`);
  return outcomes;
}

/**
 * 50 refreshes of one refresh token at once, within the refresh grace period:
 * every one succeeds with the same successor (the losers of the race retry
 * the previous token and are given the same one), so the grant keeps one live
 * chain, and the successor works.
 */
export async function raceRefreshes(provider, n = 50) {
  const { code, verifier } = await authorize(provider, { clientId: 'conf', redirectUri: REDIRECT });
  const tokens = await provider.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
  const refresh = () => provider.exchangeRefreshToken({ ...creds, refreshToken: tokens.refresh_token });
  const outcomes = await Promise.all(Array.from({ length: n }, () => settle(refresh())));
  check(
    outcomes.every((o) => o.value),
    `every racer must get tokens: ${JSON.stringify(outcomes.map((o) => o.error ?? 'ok'))}`,
  );
  const successors = new Set(outcomes.map((o) => o.value.refresh_token));
  check(successors.size === 1, `${successors.size} different successors: one grant forked into several chains`);
  const [successor] = successors;
  const next = await provider.exchangeRefreshToken({ ...creds, refreshToken: successor });
  check(next.refresh_token && next.refresh_token !== successor, 'the one chain goes on');
  return { successes: outcomes.filter((o) => o.value).length };
}
