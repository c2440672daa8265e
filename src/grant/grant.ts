/**
 * The grant: what the SDK keeps per user key, and the pure functions that derive a new grant from a
 * token response.
 * @module
 */
import type { ReauthReason } from '../errors.ts';
import type { StoredDPoPKey } from './dpop-key.ts';

/**
 * Whether a grant can still be refreshed.
 *
 * @example
 * ```ts
 * for await (const grant of tokens.listGrants({ status: 'reauth_required' satisfies GrantStatus })) notify(grant.key);
 * ```
 */
export type GrantStatus = 'active' | 'reauth_required';

/**
 * The full stored grant, secrets included. Never leaves the SDK: callers see {@link GrantInfo}.
 * @internal
 */
export interface Grant {
  /** The caller's key (user id, tenant id, ...). */
  key: string;
  issuer: string;
  clientId: string;
  /** `sub` of the ID token, when one was received. */
  subject: string | undefined;
  /** Scope granted by the server (space separated). */
  scope: string;
  refreshToken: string;
  accessToken: string;
  /** Epoch ms at which the access token expires, from the time its response was received. */
  expiresAt: number;
  /** Epoch ms at which the access token was received. */
  issuedAt: number;
  /** Epoch ms after which the refresh token is expected to be dead unless rotated. */
  refreshExpiresAt: number;
  /** Epoch ms at which the user consented (start of the grant). */
  createdAt: number;
  /** How many times the refresh token was rotated. Also the record's generation for fenced writes. */
  rotations: number;
  status: GrantStatus;
  /** Why the grant needs consent again, when `status` is `reauth_required`. */
  reauthReason: ReauthReason | undefined;
  /**
   * Set just before a refresh request is sent and cleared by the write that stores its result.
   * Found set on a later read, it means a refresher died mid-flight and the rotation may be lost.
   */
  refreshStartedAt: number | undefined;
  /** The grant's DPoP key, when its tokens are DPoP-bound (`dpop` option). Absent in older records. */
  dpopKey?: StoredDPoPKey;
}

/**
 * What the SDK tells about a grant: metadata only, no token.
 *
 * @example
 * ```ts
 * const info = await tokens.getGrant('user-42');
 * if (info?.status === 'reauth_required') askUserBack(info.reauthReason);
 * ```
 */
export interface GrantInfo {
  /** Your key for the user (the one given to `startAuthorization`). */
  key: string;
  /** The issuer the grant was obtained from. */
  issuer: string;
  /** The client the grant was issued to. */
  clientId: string;
  /** The user at the provider (the ID token's `sub`), when known. */
  subject: string | undefined;
  /** The granted scope, space-separated. */
  scope: string;
  /** Epoch ms at which the current access token expires. */
  expiresAt: number;
  /** Epoch ms after which the refresh token is expected to be dead unless rotated. */
  refreshExpiresAt: number;
  /** Epoch ms at which the user consented. */
  createdAt: number;
  /** How many times the refresh token was rotated. */
  rotations: number;
  /** `active`, or `reauth_required` once the grant died (the user must consent again). */
  status: GrantStatus;
  /** Why the grant died, when `status` is `reauth_required`. */
  reauthReason: ReauthReason | undefined;
}

/**
 * A validated token endpoint response.
 * @internal
 */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  /** Lifetime of the access token in ms. */
  expiresInMs: number;
  /** Lifetime of the refresh token in ms, from a non-standard `refresh_expires_in` when sent. */
  refreshExpiresInMs: number | undefined;
  scope: string | undefined;
  subject: string | undefined;
}

/**
 * When the grant dies unless something happens: its refresh token lapses (sliding, unless rotated) or
 * its absolute lifetime ends (cannot be extended). `reason` says which comes first.
 *
 * @example
 * ```ts
 * grantDeadline(grant, 90 * 86_400_000); // { at: ..., reason: 'idle' }
 * ```
 */
export function grantDeadline(grant: Pick<Grant, 'refreshExpiresAt' | 'createdAt'>, maxGrantLifetimeMs: number): { at: number; reason: 'idle' | 'max_lifetime' } {
  const absolute = grant.createdAt + maxGrantLifetimeMs;
  return absolute < grant.refreshExpiresAt ? { at: absolute, reason: 'max_lifetime' } : { at: grant.refreshExpiresAt, reason: 'idle' };
}

/** Strips the secrets off a grant. */
export function toGrantInfo(grant: Grant): GrantInfo {
  return {
    key: grant.key,
    issuer: grant.issuer,
    clientId: grant.clientId,
    subject: grant.subject,
    scope: grant.scope,
    expiresAt: grant.expiresAt,
    refreshExpiresAt: grant.refreshExpiresAt,
    createdAt: grant.createdAt,
    rotations: grant.rotations,
    status: grant.status,
    reauthReason: grant.reauthReason,
  };
}

/** Context for building a grant from a token response. */
export interface GrantContext {
  key: string;
  issuer: string;
  clientId: string;
  /** Scope that was requested, used when the response has none. */
  requestedScope: string;
  /** Refresh token lifetime to assume when the server does not send `refresh_expires_in`. */
  refreshTokenLifetimeMs: number;
  /** The DPoP key the code was exchanged with, if any. */
  dpopKey?: StoredDPoPKey | undefined;
}

/**
 * The grant created by the authorization code exchange.
 * `receivedAt` is the time the response arrived: expiries count from there, not from the request.
 */
export function createGrant(tokens: TokenSet & { refreshToken: string }, context: GrantContext, receivedAt: number): Grant {
  return {
    key: context.key,
    issuer: context.issuer,
    clientId: context.clientId,
    subject: tokens.subject,
    scope: tokens.scope ?? context.requestedScope,
    refreshToken: tokens.refreshToken,
    accessToken: tokens.accessToken,
    expiresAt: receivedAt + tokens.expiresInMs,
    issuedAt: receivedAt,
    refreshExpiresAt: receivedAt + (tokens.refreshExpiresInMs ?? context.refreshTokenLifetimeMs),
    createdAt: receivedAt,
    rotations: 0,
    status: 'active',
    reauthReason: undefined,
    refreshStartedAt: undefined,
    ...(context.dpopKey !== undefined ? { dpopKey: context.dpopKey } : {}),
  };
}

/**
 * The grant after a refresh made for a resource: the refresh token rotates (as in any refresh), but
 * the grant's own access token stays, since the new one is for the resource only.
 */
export function applyRotation(grant: Grant, tokens: TokenSet, receivedAt: number, refreshTokenLifetimeMs: number): Grant {
  const rotated = tokens.refreshToken !== undefined && tokens.refreshToken !== grant.refreshToken;
  return {
    ...grant,
    subject: grant.subject ?? tokens.subject,
    refreshToken: rotated ? tokens.refreshToken! : grant.refreshToken,
    refreshExpiresAt: rotated || tokens.refreshExpiresInMs !== undefined
      ? receivedAt + (tokens.refreshExpiresInMs ?? refreshTokenLifetimeMs)
      : grant.refreshExpiresAt,
    rotations: grant.rotations + 1,
    status: 'active',
    reauthReason: undefined,
    refreshStartedAt: undefined,
  };
}

/** The grant after a refresh: rotated (see {@link applyRotation}), with the new access token. */
export function applyRefresh(grant: Grant, tokens: TokenSet, receivedAt: number, refreshTokenLifetimeMs: number): Grant {
  return {
    ...applyRotation(grant, tokens, receivedAt, refreshTokenLifetimeMs),
    scope: tokens.scope ?? grant.scope,
    accessToken: tokens.accessToken,
    expiresAt: receivedAt + tokens.expiresInMs,
    issuedAt: receivedAt,
  };
}

/** The grant marked as needing the user's consent again. Kept in the store, never deleted. */
export function markReauthRequired(grant: Grant, reason: ReauthReason): Grant {
  return { ...grant, status: 'reauth_required', reauthReason: reason, refreshStartedAt: undefined };
}
