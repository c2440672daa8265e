/**
 * Options of {@link createTokenManager}, validated eagerly with messages that name the option.
 * @module
 */
import { createHash } from 'node:crypto';
import type Keyv from 'keyv';
import { ConfigurationError } from './errors.ts';
import type { Fetch } from './oauth/http.ts';
import type { GrantLock } from './locks/lock.ts';
import { createEncryptionCodec, type EncryptionOptions } from './grant/encryption.ts';
import { plainCodec, type RecordCodec } from './grant/codec.ts';
import { bool, duration, isKeyvLike, nonEmptyString, oneOf, stringOption, url } from './util/validate.ts';
import { resolveClientKey, type ClientKey, type ClientPrivateKey } from './oauth/client-key.ts';
import { resolveDPoP, type DPoPOptions, type DPoPPolicy } from './grant/dpop-key.ts';
import { withRequiredScopes } from './consent/scope.ts';
import { sameIssuer } from './grant/issuer.ts';
import { loggerOption, type Logger } from './util/log.ts';

/** How the client authenticates at the token endpoint. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/**
 * Options of {@link createTokenManager}. Every duration is in milliseconds.
 *
 * @example
 * ```ts
 * const options: TokenManagerOptions = {
 *   issuer: 'https://idp.example.com',
 *   clientId: 'my-app',
 *   clientSecret: process.env.CLIENT_SECRET,
 *   redirectUri: 'https://app.example.com/callback',
 * };
 * ```
 */
export interface TokenManagerOptions {
  /** The authorization server's issuer identifier (its metadata is fetched from it unless `discovery` says otherwise). */
  issuer: string | URL;
  /**
   * Where the server's metadata comes from: `'oidc'` (OpenID Connect Discovery), `'oauth2'` (RFC 8414
   * `/.well-known/oauth-authorization-server`), or `false` (no request: `metadata` gives the endpoints).
   * Fetched on first need, not at creation, and cached in the store for a day. Default `'oidc'`.
   */
  discovery?: 'oidc' | 'oauth2' | false;
  /** Fetch the metadata from this exact URL (e.g. one with a trailing slash). Default: derived from `issuer`. */
  discoveryUrl?: string | URL;
  /**
   * Server metadata (`authorization_endpoint`, `token_endpoint`, `revocation_endpoint`,
   * `introspection_endpoint`, `jwks_uri`, ...) laid over what discovery returned, or the whole metadata
   * with `discovery: false`. Default `{}`.
   */
  metadata?: Record<string, unknown>;
  /** `false` for plain OAuth 2.0: no `openid` scope, no ID token required or validated, no `nonce`. Default `true`. */
  openid?: boolean;
  /**
   * How to ask for a refresh token: `'scope'` (the `offline_access` scope), `'access_type'`
   * (`access_type=offline`, Google), or `'none'` (the server always issues one). Default `'scope'`.
   */
  offlineAccess?: 'scope' | 'access_type' | 'none';
  /** The `prompt` parameter of the consent request, or `false` to send none. Default `'consent'`. */
  prompt?: string | false;
  /**
   * `'auto'`: after an ambiguous failure, ask the server's introspection endpoint only once it has shown
   * that it introspects refresh tokens (it answered `active: true` for one known to be live, checked
   * after a consent); `'off'`: never. Default `'auto'`.
   */
  introspection?: 'auto' | 'off';
  /**
   * Prefix of every store key this manager writes, so managers of different providers (or clients) can
   * share one store. Default: derived from `issuer` and `clientId`. `''` keeps the v0.1 layout.
   */
  namespace?: string;
  clientId: string;
  /** Omit for a public client (PKCE only, `clientAuthMethod: 'none'`). */
  clientSecret?: string | undefined;
  /** Default: `client_secret_post` with a secret, `private_key_jwt` with a `clientPrivateKey`, `none` without either. */
  clientAuthMethod?: ClientAuthMethod;
  /**
   * The client's private key for `private_key_jwt` (RFC 7523 client assertions on every token,
   * revocation and introspection request): a private JWK (RSA, EC P-256/384/521 or Ed25519; its `alg`
   * is used when set) or a private `CryptoKey` with the `sign` usage. Imported as a non-extractable key.
   */
  clientPrivateKey?: ClientPrivateKey;
  /** The `kid` of `clientPrivateKey` sent in the assertion header. Default: the JWK's `kid`, else none. */
  clientPrivateKeyId?: string;
  /**
   * DPoP (RFC 9449): sender-constrained access tokens (and, for a public client, refresh tokens). One
   * key pair per grant, made at consent and stored with the grant (encrypted with it under
   * `encryption`). `true` means ES256; `{ algorithm }` picks another. Default: off.
   */
  dpop?: boolean | DPoPOptions;
  /** The redirect URI registered at the server; the callback URL must start with it. */
  redirectUri: string | URL;
  /** Scope to ask for. `openid` (unless `openid: false`) and, with `offlineAccess: 'scope'`, `offline_access` are added. */
  scope?: string;
  /** Extra authorization request parameters, e.g. `{ audience: 'https://api.example.com' }`. */
  authorizationParams?: Record<string, string>;
  /** Where grants are kept. Default: a SQLite file at `sqlitePath` through `node:sqlite`. */
  store?: Keyv;
  /**
   * Encrypt grants and pending consents at rest (AES-256-GCM, bound to their store key). Strongly
   * recommended for any shared store. See README, Security.
   */
  encryption?: EncryptionOptions;
  /** Path of the default SQLite store. Default `./offline-tokens.sqlite`. */
  sqlitePath?: string;
  /** One refresh per grant at a time across processes. Default: in-process, or the SQLite file lock for the default store. */
  lock?: GrantLock;
  /** Refresh this long before the access token expires (never more than half its lifetime). Default 60 000. */
  refreshWindowMs?: number;
  /** Refresh token lifetime assumed when the server sends no `refresh_expires_in`. Default 14 days. */
  refreshTokenLifetimeMs?: number;
  /**
   * The server's absolute limit on a grant's life (e.g. a maximum rotation time), counted from the
   * consent. Past it the grant is reported dead (`expired`) without a request. Default: none.
   */
  maxGrantLifetimeMs?: number;
  /** Emit `reauthSoon` this long before a grant's refresh token or its absolute lifetime runs out. Default 3 days. */
  reauthWarningMs?: number;
  /** Most grants kept in memory (least recently used evicted; re-read from the store on next use). Default 10 000. */
  maxCachedGrants?: number;
  /** Most resource access tokens (`getAccessToken(key, { resource })`) cached per grant, least recently used evicted. Default 16. */
  maxTokensPerGrant?: number;
  /** Total time one refresh may take, retries included. Default 30 000. */
  refreshTimeoutMs?: number;
  /** Time one HTTP request may take. Default 10 000. */
  requestTimeoutMs?: number;
  /** Most retries of a transient failure within `refreshTimeoutMs`. Default 4. */
  maxRetries?: number;
  /** First retry delay, doubled (with jitter) on each retry. Default 250. */
  retryMinDelayMs?: number;
  /** Time one store operation may take. Default 5 000. */
  storeTimeoutMs?: number;
  /**
   * For servers without token introspection: how long after a refresh request was sent the server
   * still accepts the old refresh token (its reuse grace period). A request that may have reached the
   * server is sent again only within it. Default 0 (see README, Failure behaviour).
   */
  rotationGracePeriodMs?: number;
  /** How long a consent may take between `startAuthorization` and the callback. Default 600 000. */
  pendingAuthorizationTtlMs?: number;
  /** Largest response body accepted from the authorization server, in bytes. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Allow an `http://` issuer, for local development only. Default false. */
  allowInsecureRequests?: boolean;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** `fetch` used for every request to the authorization server. Default `globalThis.fetch`. */
  fetch?: Fetch;
  /**
   * Where to log rotations, retries, adoptions, lock waits and persist failures: any object with
   * `debug/info/warn/error(fields, message)`, e.g. pino or `console`. Never receives a token. Default: none.
   */
  logger?: Logger;
}

/** Options with defaults applied. @internal */
export interface ResolvedOptions {
  issuer: URL;
  /** The issuer identifier exactly as configured (`iss` values are compared as strings). */
  issuerId: string;
  discovery: 'oidc' | 'oauth2' | false;
  discoveryUrl: URL | undefined;
  metadata: Record<string, unknown>;
  openid: boolean;
  offlineAccess: 'scope' | 'access_type' | 'none';
  prompt: string | false;
  introspection: 'auto' | 'off';
  namespace: string;
  clientId: string;
  clientSecret: string | undefined;
  clientAuthMethod: ClientAuthMethod;
  clientKey: ClientKey | undefined;
  dpop: DPoPPolicy | undefined;
  redirectUri: string;
  scope: string;
  authorizationParams: Record<string, string>;
  store: Keyv | undefined;
  codec: RecordCodec;
  sqlitePath: string;
  lock: GrantLock | undefined;
  refreshWindowMs: number;
  refreshTokenLifetimeMs: number;
  maxGrantLifetimeMs: number;
  reauthWarningMs: number;
  maxCachedGrants: number;
  maxTokensPerGrant: number;
  refreshTimeoutMs: number;
  requestTimeoutMs: number;
  maxRetries: number;
  retryMinDelayMs: number;
  storeTimeoutMs: number;
  rotationGracePeriodMs: number;
  pendingAuthorizationTtlMs: number;
  maxResponseBytes: number;
  allowInsecureRequests: boolean;
  now: () => number;
  fetch: Fetch;
  logger: Logger | undefined;
}

const DAY_MS = 86_400_000;

/**
 * Every option name, for refusing unknown ones (a typo must not be silently ignored). A record over
 * `keyof TokenManagerOptions`, so an option added to the interface and not here fails to compile.
 */
const OPTION_NAMES = {
  issuer: true, discovery: true, discoveryUrl: true, metadata: true, openid: true,
  offlineAccess: true, prompt: true, introspection: true, namespace: true, clientId: true,
  clientSecret: true, clientAuthMethod: true, clientPrivateKey: true, clientPrivateKeyId: true,
  dpop: true, redirectUri: true, scope: true, authorizationParams: true, store: true,
  encryption: true, sqlitePath: true, lock: true, refreshWindowMs: true,
  refreshTokenLifetimeMs: true, maxGrantLifetimeMs: true, reauthWarningMs: true,
  maxCachedGrants: true, maxTokensPerGrant: true, refreshTimeoutMs: true, requestTimeoutMs: true,
  maxRetries: true, retryMinDelayMs: true, storeTimeoutMs: true, rotationGracePeriodMs: true,
  pendingAuthorizationTtlMs: true, maxResponseBytes: true, allowInsecureRequests: true, now: true,
  fetch: true, logger: true,
} satisfies Record<keyof TokenManagerOptions, true>;
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([...Object.keys(OPTION_NAMES), 'signal']);

/**
 * Validates options and applies defaults.
 * @throws {ConfigurationError} naming the first invalid or unknown option.
 */
export function resolveOptions(options: TokenManagerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('Expected options to be an object');
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) throw new ConfigurationError(`Unknown option \`${name}\``);
  }
  const issuer = url(options.issuer, 'issuer');
  const redirectUri = url(options.redirectUri, 'redirectUri').href;
  const allowInsecureRequests = bool(options.allowInsecureRequests, 'allowInsecureRequests', false);
  if (!allowInsecureRequests && issuer.protocol !== 'https:') {
    throw new ConfigurationError('Expected `issuer` to be an https URL (set `allowInsecureRequests: true` for local development)');
  }
  const discovery = oneOf(options.discovery, 'discovery', ['oidc', 'oauth2', false] as const, 'oidc');
  const discoveryUrl = options.discoveryUrl === undefined ? undefined : url(options.discoveryUrl, 'discoveryUrl');
  if (discoveryUrl !== undefined && discovery === false) throw new ConfigurationError('Expected no `discoveryUrl` with `discovery: false`');
  const metadata = options.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new ConfigurationError('Expected `metadata` to be an object');
  for (const field of ['authorization_endpoint', 'token_endpoint', 'revocation_endpoint', 'introspection_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
    if (metadata[field] !== undefined) url(metadata[field], `metadata.${field}`);
  }
  if (metadata.issuer !== undefined && (typeof metadata.issuer !== 'string' || !sameIssuer(metadata.issuer, issuer.href))) {
    throw new ConfigurationError('Expected `metadata.issuer` to be the `issuer`');
  }
  if (discovery === false && (metadata.token_endpoint === undefined || metadata.authorization_endpoint === undefined)) {
    throw new ConfigurationError('Expected `metadata.authorization_endpoint` and `metadata.token_endpoint` with `discovery: false`');
  }
  const openid = bool(options.openid, 'openid', true);
  const offlineAccess = oneOf(options.offlineAccess, 'offlineAccess', ['scope', 'access_type', 'none'] as const, 'scope');
  const prompt = options.prompt === false ? false : options.prompt === undefined ? 'consent' : nonEmptyString(options.prompt, 'prompt');
  const introspection = oneOf(options.introspection, 'introspection', ['auto', 'off'] as const, 'auto');
  const clientId = nonEmptyString(options.clientId, 'clientId');
  const clientSecret = options.clientSecret === undefined ? undefined : nonEmptyString(options.clientSecret, 'clientSecret');
  const clientAuthMethod = options.clientAuthMethod
    ?? (clientSecret !== undefined ? 'client_secret_post' : options.clientPrivateKey !== undefined ? 'private_key_jwt' : 'none');
  if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'].includes(clientAuthMethod)) {
    throw new ConfigurationError("Expected `clientAuthMethod` to be 'client_secret_basic', 'client_secret_post', 'private_key_jwt' or 'none'");
  }
  if (clientAuthMethod.startsWith('client_secret') && clientSecret === undefined) {
    throw new ConfigurationError(`Expected \`clientSecret\` to be set for \`clientAuthMethod\` '${clientAuthMethod}'`);
  }
  if (clientAuthMethod === 'private_key_jwt' && options.clientPrivateKey === undefined) {
    throw new ConfigurationError("Expected `clientPrivateKey` to be set for `clientAuthMethod` 'private_key_jwt'");
  }
  if (clientAuthMethod !== 'private_key_jwt' && (options.clientPrivateKey !== undefined || options.clientPrivateKeyId !== undefined)) {
    throw new ConfigurationError("Expected `clientPrivateKey` and `clientPrivateKeyId` only with `clientAuthMethod` 'private_key_jwt'");
  }
  const clientKey = clientAuthMethod === 'private_key_jwt'
    ? resolveClientKey(options.clientPrivateKey!, options.clientPrivateKeyId === undefined ? undefined : nonEmptyString(options.clientPrivateKeyId, 'clientPrivateKeyId'))
    : undefined;
  const scope = options.scope === undefined ? '' : stringOption(options.scope, 'scope');
  const authorizationParams = options.authorizationParams ?? {};
  if (typeof authorizationParams !== 'object' || authorizationParams === null || Object.values(authorizationParams).some((v) => typeof v !== 'string')) {
    throw new ConfigurationError('Expected `authorizationParams` to be an object of strings');
  }
  if (options.store !== undefined && !isKeyvLike(options.store)) throw new ConfigurationError('Expected `store` to be a Keyv instance');
  if (options.lock !== undefined && typeof options.lock?.withLock !== 'function') throw new ConfigurationError('Expected `lock` to have a `withLock` method');
  if (options.now !== undefined && typeof options.now !== 'function') throw new ConfigurationError('Expected `now` to be a function');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new ConfigurationError('Expected `fetch` to be a function');
  const namespace = options.namespace === undefined ? defaultNamespace(issuer, clientId) : stringOption(options.namespace, 'namespace');
  if (/\s/.test(namespace)) throw new ConfigurationError('Expected `namespace` to contain no white space');
  return {
    issuer,
    issuerId: typeof options.issuer === 'string' ? options.issuer : issuer.href,
    discovery,
    discoveryUrl,
    metadata: { ...metadata },
    openid,
    offlineAccess,
    prompt,
    introspection,
    namespace,
    clientId,
    clientSecret,
    clientAuthMethod,
    clientKey,
    dpop: resolveDPoP(options.dpop),
    redirectUri,
    scope: withRequiredScopes(scope, { openid, offlineAccess: offlineAccess === 'scope' }),
    authorizationParams: { ...authorizationParams },
    store: options.store,
    codec: options.encryption === undefined ? plainCodec : createEncryptionCodec(options.encryption),
    sqlitePath: options.sqlitePath === undefined ? './offline-tokens.sqlite' : nonEmptyString(options.sqlitePath, 'sqlitePath'),
    lock: options.lock,
    refreshWindowMs: duration(options.refreshWindowMs, 'refreshWindowMs', 60_000, 0),
    refreshTokenLifetimeMs: duration(options.refreshTokenLifetimeMs, 'refreshTokenLifetimeMs', 14 * DAY_MS, 1),
    maxGrantLifetimeMs: duration(options.maxGrantLifetimeMs, 'maxGrantLifetimeMs', Number.MAX_SAFE_INTEGER, 1),
    reauthWarningMs: duration(options.reauthWarningMs, 'reauthWarningMs', 3 * DAY_MS, 0),
    maxCachedGrants: duration(options.maxCachedGrants, 'maxCachedGrants', 10_000, 1),
    maxTokensPerGrant: duration(options.maxTokensPerGrant, 'maxTokensPerGrant', 16, 1),
    refreshTimeoutMs: duration(options.refreshTimeoutMs, 'refreshTimeoutMs', 30_000, 1),
    requestTimeoutMs: duration(options.requestTimeoutMs, 'requestTimeoutMs', 10_000, 1),
    maxRetries: duration(options.maxRetries, 'maxRetries', 4, 0),
    retryMinDelayMs: duration(options.retryMinDelayMs, 'retryMinDelayMs', 250, 1),
    storeTimeoutMs: duration(options.storeTimeoutMs, 'storeTimeoutMs', 5_000, 1),
    rotationGracePeriodMs: duration(options.rotationGracePeriodMs, 'rotationGracePeriodMs', 0, 0),
    pendingAuthorizationTtlMs: duration(options.pendingAuthorizationTtlMs, 'pendingAuthorizationTtlMs', 600_000, 1),
    maxResponseBytes: duration(options.maxResponseBytes, 'maxResponseBytes', 1 << 20, 1024),
    allowInsecureRequests,
    now: options.now ?? Date.now,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    logger: loggerOption(options.logger),
  };
}

/**
 * The default namespace: a short digest of the issuer and client id, so two providers, or two clients
 * of one provider, never share a store key.
 */
function defaultNamespace(issuer: URL, clientId: string): string {
  const digest = createHash('sha256').update(`${issuer.href.replace(/\/+$/, '')}\n${clientId}`).digest('base64url');
  return `ot.${digest.slice(0, 16)}`;
}
