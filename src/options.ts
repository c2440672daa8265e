/**
 * Options of {@link createTokenManager}: what a user may pass (`resolve-options.ts` validates them).
 * @module
 */
import type Keyv from 'keyv';
import type { Fetch } from './oauth/http.ts';
import type { GrantLock } from './locks/lock.ts';
import type { EncryptionOptions } from './grant/encryption.ts';
import type { ClientPrivateKey } from './oauth/client-key.ts';
import type { DPoPOptions } from './grant/dpop-key.ts';
import type { Logger } from './util/log.ts';
import type { Clock } from './util/clock.ts';

/**
 * How the client authenticates at the token endpoint.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...options, clientSecret: process.env.CLIENT_SECRET, clientAuthMethod: 'client_secret_basic' });
 * ```
 */
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
  /** The client's identifier at the authorization server. */
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
  /**
   * The clock. A {@link Clock} `{ wallMs(), monotonicMs() }` governs decisions (wall time) and deadlines
   * (monotonic time: retry budgets, lock waits, leases); a bare `() => number` (epoch ms) governs
   * decisions only, with deadlines on the real monotonic clock. Default: `Date.now` and `performance.now`.
   */
  now?: (() => number) | Clock;
  /** `fetch` used for every request to the authorization server. Default `globalThis.fetch`. */
  fetch?: Fetch;
  /**
   * Where to log rotations, retries, adoptions, lock waits and persist failures: any object with
   * `debug/info/warn/error(fields, message)`, e.g. pino or `console`. Never receives a token. Default: none.
   */
  logger?: Logger;
}
