// Types of the public API (every entry point: node, workers, deno, web).

/** A configured client (the seed's `clients[]`). */
export interface ClientConfig {
  clientId: string;
  /** Omit for a public client (PKCE, `token_endpoint_auth_method: none`). */
  clientSecret?: string;
  /** Exact redirect URIs; loopback http URIs match on any port (RFC 8252). */
  redirectUris: string[];
  scopes?: string[];
}

export interface ProviderConfig {
  /** Issuer URL (https, or http on loopback). Default `http://localhost`: set it for anything but local use. */
  issuer?: string;
  clients?: ClientConfig[];
  /** Access-token lifetime in seconds. Default 3600. */
  tokenExpiration?: number;
  /** Refresh-token lifetime in seconds, renewed at each rotation. Default 86400. */
  refreshTokenExpiration?: number;
  /**
   * Seconds after a rotation during which the previous refresh token is still
   * accepted and answered with the same successor: several processes of one
   * MCP client refreshing at once, or a retry after a lost response, all get
   * the one new token. After it, presenting that token is reuse (RFC 9700
   * §4.14.2) and revokes the grant with all its tokens. `0`: no grace, the
   * previous token is reuse at once. 0 to 300; default 30.
   */
  refreshGraceSeconds?: number;
  /** Authorization-code lifetime in seconds. Default 600. */
  codeExpiration?: number;
  /** The protected resource tokens are for (RFC 8707). Default `<issuer>/mcp`. */
  resource?: string;
  extraResources?: string[];
  /** Default: the union of the clients' scopes, or `["mcp"]`. */
  scopesSupported?: string[];
  /** Default true. */
  allowDynamicRegistration?: boolean;
  /**
   * Turns on OAuth Client ID Metadata Documents: a `client_id` that is an https
   * URL is fetched with this function, validated and cached (within
   * `Cache-Control` max-age, 5 minutes to 24 hours; `no-store` honoured), and
   * the metadata advertises `client_id_metadata_document_supported`.
   *
   * Return what `fetch` returns, or `{ status, headers, body }` with `body` a
   * string. The provider accepts only a 200 (a 3xx or an opaque redirect is
   * refused as a redirect) and at most 5 KB, counted while it reads the body.
   * The network rules are yours: reach only public addresses, do not follow
   * redirects, bound the time. On Cloudflare Workers:
   * `(url) => fetch(url, { redirect: "manual", signal: AbortSignal.timeout(5000) })`
   * with the `global_fetch_strictly_public` compatibility flag.
   */
  fetchClientMetadata?: (url: string) => Promise<ClientMetadataResponse>;
  /**
   * Development only: accept metadata URLs on loopback hosts (http or https on
   * localhost, 127.0.0.0/8, [::1]). Default false.
   */
  cimdAllowLoopback?: boolean;
  /** Default `new InMemoryStorage()`. */
  storage?: InMemoryStorage | KvStorage;
  /**
   * Seconds a dynamically registered client lives until its first token is
   * issued; then it stays. Default and maximum 86400.
   */
  registrationLifetime?: number;
  /**
   * Rules of the in-memory limiter (per isolate or process): `limit` requests
   * per `period` seconds, bursts up to `limit`. `false` for a rule (or for
   * all) turns it off. Defaults: `DEFAULT_RATE_LIMITS`.
   */
  rateLimits?: false | Partial<Record<RateLimitBucket, RateLimitRule | false | null>>;
  /**
   * A limiter of your own instead (e.g. `workersRateLimiter(...)`): answers
   * the seconds to wait (a 429 with Retry-After), or 0 to go ahead. `false`:
   * no limits. A limiter that throws lets the request through.
   */
  rateLimiter?: RateLimiter | false;
  /**
   * The client address of a request, the key of the per-IP limits. Default
   * on Workers: `CF-Connecting-IP`; elsewhere none (per-IP limits then do not
   * apply). Deno: keep `info.remoteAddr.hostname` from `Deno.serve`'s handler.
   */
  clientIp?: (request: Request) => string | undefined | null;
}

export type RateLimitBucket =
  | 'registerPerIp'
  | 'registerTotal'
  | 'tokenPerIp'
  | 'tokenPerClient'
  | 'authorizePerIp'
  | 'introspectPerIp'
  | 'revokePerIp';
export interface RateLimitRule {
  limit: number;
  period: number;
}
export type RateLimiter = (bucket: RateLimitBucket, key: string) => number | Promise<number>;
export const DEFAULT_RATE_LIMITS: Readonly<Record<RateLimitBucket, Readonly<RateLimitRule>>>;
/** The in-memory limiter (GCRA) with `rateLimits` over the defaults; `now` in milliseconds, for tests. */
export function memoryRateLimiter(rateLimits?: ProviderConfig['rateLimits'], options?: { now?: () => number }): RateLimiter;
/**
 * Cloudflare's Rate Limiting bindings by bucket (`{ registerPerIp: env.OAUTH_RATE_REGISTER }`); a bucket
 * without one uses `fallback` (default: the in-memory limiter with `rateLimits`). A refusal waits `period` (60).
 */
export function workersRateLimiter(
  bindings?: Partial<Record<RateLimitBucket, { limit(options: { key: string }): Promise<{ success: boolean }> }>>,
  options?: { period?: number; fallback?: RateLimiter; rateLimits?: ProviderConfig['rateLimits'] },
): RateLimiter;
/** The limit key of an address: IPv4 as is, IPv6 by its /64. */
export function clientIpKey(address: string | undefined | null): string | undefined;

export interface HealthCheck {
  healthy: boolean;
  message: string;
  responseTimeMs: number;
  /** Unix milliseconds. */
  timestamp: number;
  components: Record<string, string>;
  errors?: string[];
}

export interface StorageStats {
  tokenCount: number;
  refreshTokenCount: number;
  authorizationCodeCount: number;
  clientCount: number;
  memoryUsage?: number;
  activeConnections?: number;
}

export interface ProviderStats {
  clients: number;
  tokens: number;
  refreshTokens: number;
  authorizationCodes: number;
}

export interface StorageOptions {
  name?: string;
  debug?: boolean;
  /** Key prefix for KvStorage; for DurableObjectStorage, the prefix of the object names. Default `oauth:`. */
  keyPrefix?: string;
}

export interface DurableObjectStorageOptions extends StorageOptions {
  /**
   * How many objects grants are spread over (by grant id). Default 32, at most
   * 1024. Part of the data layout: keep it fixed for a deployment.
   */
  shards?: number;
}

interface StorageMethods {
  readonly name: string;
  connect(): Promise<void>;
  /** Idempotent. */
  disconnect(): Promise<void>;
  /** Never rejects. */
  healthCheck(): Promise<HealthCheck>;
  getStats(): Promise<StorageStats>;
  listClients(): Promise<string[]>;
  free(): void;
}

export class InMemoryStorage implements StorageMethods {
  constructor(options?: StorageOptions);
  readonly name: string;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  healthCheck(): Promise<HealthCheck>;
  getStats(): Promise<StorageStats>;
  listClients(): Promise<string[]>;
  free(): void;
}

/** Capabilities of a key-value host (WIT `kv-capabilities`). */
export interface KvCapabilities {
  atomic: boolean;
  minTtlSeconds: number;
  consistentReads: boolean;
}

/** The host interface `kv` of wit/simply-mcp-oauth.wit, in JS. */
export interface KvHost {
  get(key: string): Promise<string | null> | string | null;
  /** `ttlSeconds` 0 means no expiry. */
  put(key: string, value: string, ttlSeconds: number): Promise<void> | void;
  delete(key: string): Promise<void> | void;
  list(prefix: string, cursor: string | null, limit: number): Promise<KvPage> | KvPage;
  /** The value with its version; required when `capabilities().atomic` (else `get` is used). */
  getVersioned?(key: string): Promise<KvVersioned | null> | KvVersioned | null;
  /**
   * Every mutation if and only if every check holds, atomically; `false` when
   * a check failed. Required when `capabilities().atomic` (else the writes
   * are made one by one).
   */
  commit?(checks: KvCheck[], mutations: KvMutation[]): Promise<boolean> | boolean;
  capabilities?(): KvCapabilities;
}

/** A value and its version (WIT `versioned`). */
export interface KvVersioned {
  value: string;
  version: string;
}

/** A precondition of `commit`: the key still has `version`, or (`null`) does not exist. */
export interface KvCheck {
  key: string;
  version: string | null;
}

/** One write of `commit`; `ttlSeconds` 0 means no expiry. */
export type KvMutation =
  | { type: 'set'; key: string; value: string; ttlSeconds: number }
  | { type: 'delete'; key: string };

export interface KvPage {
  keys: string[];
  cursor: string | null;
}

export class KvStorage implements StorageMethods {
  constructor(host: KvHost, options?: StorageOptions);
  readonly name: string;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  healthCheck(): Promise<HealthCheck>;
  getStats(): Promise<StorageStats>;
  listClients(): Promise<string[]>;
  free(): void;
}

/**
 * Storage on SQLite-backed Durable Objects (Cloudflare Workers), sharded by
 * grant id: strongly consistent single use, one RPC per token request.
 * `namespace` is the binding of the OAuthStorageObject class (env.OAUTH_STORE).
 */
export class DurableObjectStorage implements StorageMethods {
  constructor(namespace: unknown, options?: DurableObjectStorageOptions);
  readonly name: string;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  healthCheck(): Promise<HealthCheck>;
  getStats(): Promise<StorageStats>;
  listClients(): Promise<string[]>;
  free(): void;
}

/**
 * The Durable Object class DurableObjectStorage talks to (Workers entry only).
 * Export it from the Worker's main module and bind it under
 * `durable_objects.bindings`, with a `new_sqlite_classes` migration.
 */
export class OAuthStorageObject {
  constructor(ctx: unknown, env: unknown);
  /** One encoded storage operation in, its encoded reply out. */
  run(request: string): Promise<string>;
  alarm(): void;
}

/** A SQLite-backed Durable Object's `ctx.storage` as an atomic `kv` host. */
export class DurableObjectSqlHost implements KvHost {
  constructor(storage: unknown);
  get(key: string): string | null;
  put(key: string, value: string, ttlSeconds: number): void;
  delete(key: string): void;
  list(prefix: string, cursor: string | null, limit: number): KvPage;
  getVersioned(key: string): KvVersioned | null;
  commit(checks: KvCheck[], mutations: KvMutation[]): boolean;
  capabilities(): KvCapabilities;
  /** Drops expired rows (the object's alarm calls it); returns how many. */
  sweepExpired(): number;
}

/** Inside a Durable Object: runs one encoded storage operation on `storage`. */
export function executeStorageOperation(storage: KvStorage, request: string): Promise<string>;

/** Cloudflare Workers KV (no atomics, 60 s minimum TTL). */
export class WorkersKvHost implements KvHost {
  constructor(namespace: unknown);
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string, cursor: string | null, limit: number): Promise<KvPage>;
  getVersioned(key: string): Promise<KvVersioned | null>;
  commit(checks: KvCheck[], mutations: KvMutation[]): Promise<boolean>;
  capabilities(): KvCapabilities;
}

/** Deno KV (atomic through versionstamp checks). */
export class DenoKvHost implements KvHost {
  constructor(kv: unknown, options?: { root?: unknown[] });
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string, cursor: string | null, limit: number): Promise<KvPage>;
  getVersioned(key: string): Promise<KvVersioned | null>;
  commit(checks: KvCheck[], mutations: KvMutation[]): Promise<boolean>;
  capabilities(): KvCapabilities;
}

/** What a verified access token stands for. Frozen: the same object may answer later calls. */
/** Options of `authenticate`. */
export interface AuthenticateOptions {
  /** Also accept tokens that stand for no user (client_credentials, MCP's SEP-1046). Default false. */
  allowMachineClients?: boolean;
}

export interface AuthInfo {
  readonly clientId: string;
  readonly subject: string | null;
  readonly scopes: readonly string[];
  readonly resource: string;
  readonly props: Readonly<Record<string, unknown>>;
  /** Unix seconds. */
  readonly expiresAt: number;
  readonly grantId: string;
}

/** What `fetchClientMetadata` resolves to: a `Response`, or this shape. */
export type ClientMetadataResponse =
  | Response
  | {
      status: number;
      /** A `Headers`, or a plain object with lowercase names. */
      headers?: Headers | Record<string, string>;
      body: string;
    };

/** A checked authorization request, to show consent for. */
export interface AuthorizationRequest {
  clientId: string;
  clientName: string | null;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  codeChallenge: string;
  resource: string;
  /** `clientId` is the URL of the client's metadata document: show that URL on consent. */
  metadataDocument: boolean;
  /** Every redirect URI of the client is loopback: warn on consent that any local program could receive the code. */
  loopbackOnly: boolean;
}

export interface Approval {
  subject: string;
  /** A subset of the requested scopes; default all of them. */
  scopes?: string[];
  props?: Record<string, unknown>;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

export interface Introspection {
  active: boolean;
  scope?: string;
  client_id?: string;
  sub?: string;
  aud?: string;
  iss?: string;
  exp?: number;
  iat?: number;
  token_type?: 'access_token' | 'refresh_token';
}

export interface ClientMetadata {
  redirect_uris: string[];
  token_endpoint_auth_method?: 'none' | 'client_secret_basic' | 'client_secret_post';
  grant_types?: string[];
  response_types?: string[];
  client_name?: string;
  scope?: string;
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  client_id_issued_at: number;
  client_secret_expires_at?: number;
  redirect_uris: string[];
  token_endpoint_auth_method: string;
  grant_types: string[];
  response_types: string[];
  client_name?: string;
  scope: string;
}

export interface GrantSummary {
  grantId: string;
  clientId: string;
  scopes: string[];
  resource: string;
  createdAt: number;
  expiresAt: number;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret?: string;
}

/** An OAuth error: `code` is the RFC 6749 error code. */
export class OAuthError extends Error {
  readonly code: string;
  readonly status?: number;
}

export class SimplyMCPOAuthProvider {
  constructor(config?: ProviderConfig);
  readonly issuer: string;
  /** Stores the configured clients; idempotent. */
  initialize(): Promise<void>;
  /** Every OAuth endpoint but /authorize (metadata, token, register, revoke, introspect). */
  fetch(request: Request): Promise<Response>;
  /**
   * For the protected route. A token without a user (the client_credentials grant of a configured
   * machine client) gets a 403 `insufficient_scope` unless `options.allowMachineClients` is true.
   */
  authenticate(request: Request, requiredScopes?: string[], options?: AuthenticateOptions): Promise<{ auth: AuthInfo; response?: never } | { response: Response; auth?: never }>;
  parseAuthorizationRequest(request: Request): Promise<{ request: AuthorizationRequest; response?: never } | { response: Response; request?: never }>;
  /** Resolves to the URL to redirect the user to. */
  completeAuthorization(request: AuthorizationRequest, approval: Approval): Promise<string>;
  denyAuthorization(request: AuthorizationRequest): Promise<string>;
  exchangeAuthorizationCode(args: ClientCredentials & { code: string; redirectUri: string; codeVerifier: string; resource?: string }): Promise<TokenResponse>;
  exchangeRefreshToken(args: ClientCredentials & { refreshToken: string; scope?: string; resource?: string }): Promise<TokenResponse>;
  revokeToken(args: ClientCredentials & { token: string; tokenTypeHint?: string }): Promise<void>;
  introspectToken(args: ClientCredentials & { token: string }): Promise<Introspection>;
  registerClient(metadata: ClientMetadata): Promise<RegisteredClient>;
  verifyAccessToken(token: string): Promise<AuthInfo>;
  listGrants(subject: string): Promise<GrantSummary[]>;
  revokeGrant(subject: string, grantId: string): Promise<boolean>;
  deleteClient(clientId: string): Promise<boolean>;
  listClients(): Promise<string[]>;
  getStats(): Promise<ProviderStats>;
  /** Never rejects. */
  healthCheck(): Promise<HealthCheck>;
  free(): void;
}

export function createOAuthProvider(config?: ProviderConfig): Promise<SimplyMCPOAuthProvider>;

/** Browsers only (the `web` entry): loads the module once. */
export function ready(source?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;
