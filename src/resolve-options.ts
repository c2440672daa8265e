/**
 * The options of {@link createTokenManager} validated eagerly, with messages that name the option,
 * and their defaults applied.
 * @module
 */
import { nodeCrypto } from './util/node-crypto.ts';
import type Keyv from 'keyv';
import { ConfigurationError } from './errors.ts';
import type { Fetch } from './oauth/http.ts';
import type { GrantLock } from './locks/lock.ts';
import { createEncryptionCodec } from './grant/encryption.ts';
import { plainCodec, type RecordCodec } from './grant/codec.ts';
import { bool, duration, isKeyvLike, nonEmptyString, oneOf, stringOption, url } from './util/validate.ts';
import { resolveClientKey, type ClientKey } from './oauth/client-key.ts';
import { resolveDPoP, type DPoPPolicy } from './grant/dpop-key.ts';
import { withRequiredScopes } from './consent/scope.ts';
import { sameIssuer } from './grant/issuer.ts';
import { loggerOption, type Logger } from './util/log.ts';
import { systemClock, toClock, type Clock } from './util/clock.ts';
import type { ClientAuthMethod, TokenManagerOptions } from './options.ts';

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
  /** Clock, epoch ms: `clock.wallMs`. */
  now: () => number;
  /** The one clock: wall time for decisions, monotonic time for deadlines. */
  clock: Clock;
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
  const clock = toClock(options.now);
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
    // Date.now itself for the real clock: the cached `getAccessToken` path calls it on every hit.
    now: clock === systemClock ? Date.now : clock.wallMs.bind(clock),
    clock,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    logger: loggerOption(options.logger),
  };
}

/**
 * The default namespace: a short digest of the issuer and client id, so two providers, or two clients
 * of one provider, never share a store key.
 */
function defaultNamespace(issuer: URL, clientId: string): string {
  const digest = nodeCrypto().createHash('sha256').update(`${issuer.href.replace(/\/+$/, '')}\n${clientId}`).digest('base64url');
  return `ot.${digest.slice(0, 16)}`;
}
