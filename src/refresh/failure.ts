/**
 * How a refresh transaction ends when it does not simply succeed: a malformed response, a failed or
 * lost request, a grant that needs a new consent, a fenced write lost to a newer grant.
 * @module
 */
import { GaveUp } from '../oauth/retry.ts';
import { classifyFailure } from '../oauth/classify.ts';
import {
  OAuthError,
  ReauthRequiredError,
  ServerUnavailableError,
  StoreError,
  TokenManagerError,
  TokenResponseError,
  type ReauthReason,
} from '../errors.ts';
import { markReauthRequired, type Grant } from '../grant/grant.ts';
import type { Lease } from '../locks/lock.ts';
import type { ResponseCapture } from '../oauth/http.ts';
import { isAmbiguousResponse, salvageRefreshToken, type OAuthClient } from '../oauth/client.ts';
import { introspect } from './introspection.ts';
import type { WriteResult } from '../storage/grant-store.ts';
import type { Unpersisted } from './write-behind.ts';
import type { RefreshContext, RefreshOutcome } from './refresh-context.ts';

/**
 * The server rotated the grant but the store refused the result: the new grant exists only here.
 * Thrown inside the refresh transaction only, and turned into a result at its edge (`refreshGrant`).
 */
export class PersistFailed extends Error {
  readonly unpersisted: Unpersisted;
  readonly storeError: StoreError;
  constructor(unpersisted: Unpersisted, cause: unknown) {
    super('persist failed');
    this.unpersisted = unpersisted;
    this.storeError = new StoreError('The store failed while persisting a rotated refresh token; it is kept in memory and the write is retried', { cause });
  }
}

/** Thrown inside the retry loop when the server confirms the refresh token is no longer active. */
export class RotationLost extends Error {}


/** A fenced write lost to a newer grant (another rotation, a new consent) or to a revocation. */
export function adoptNewer(key: string, { current }: Extract<WriteResult, { ok: false }>): RefreshOutcome {
  if (current === undefined) throw new ReauthRequiredError(key, 'no_grant');
  if (current.status !== 'active') throw new ReauthRequiredError(key, current.reauthReason ?? 'invalid_grant');
  return { grant: current, refreshed: false };
}


/**
 * A malformed token response. When it was a success that carries a new refresh token, the server
 * rotated: the new refresh token is persisted even though the access token is unusable. When it may
 * have rotated but the new token cannot be read (a success too large, cut short, not JSON, or no
 * status seen), the outcome is ambiguous, like a lost response: the in-flight marker stays and the
 * old refresh token is never presented again unless introspection says it is still active.
 */
export async function refuseResponse(ctx: RefreshContext, oauth: OAuthClient, stored: Grant, capture: ResponseCapture, error: unknown, lease: Lease): Promise<RefreshOutcome> {
  const refreshToken = salvageRefreshToken(capture, stored.refreshToken);
  let lost = false;
  if (refreshToken !== undefined) {
    const now = ctx.policy.now();
    const written = await persist(ctx, {
      ...stored,
      refreshToken,
      rotations: stored.rotations + 1,
      refreshExpiresAt: now + ctx.policy.refreshTokenLifetimeMs,
      expiresAt: Math.min(stored.expiresAt, now),
      refreshStartedAt: undefined,
    }, stored.refreshToken, lease);
    if (!written.ok) return adoptNewer(stored.key, written);
  } else if (!isAmbiguousResponse(capture)) {
    await clearMarker(ctx, stored, lease.signal);
  } else {
    // The answer is complete (or refused): the server is done with the request, no need to wait.
    const status = await introspect(ctx.server, ctx.policy, oauth, stored.refreshToken, lease.signal);
    if (status === 'active') await clearMarker(ctx, stored, lease.signal);
    else if (status === 'inactive' || status === 'unsupported') lost = true;
    // 'unavailable': the marker stays; the next refresher asks again before presenting anything.
  }
  const refused = error instanceof TokenResponseError
    ? new TokenResponseError(error.message)
    : new TokenResponseError('The token endpoint sent an unusable response', { cause: error });
  if (lost) {
    // Without introspection a success the SDK cannot read is taken as a rotation whose result is lost.
    const outcome = await reauth(ctx, stored, 'rotation_lost').catch((reason: unknown) => {
      if (reason instanceof ReauthRequiredError) return undefined;
      throw reason;
    });
    if (outcome !== undefined) return outcome;
  }
  throw refused;
}

/**
 * Writes the result of a rotation from `rotatedFrom`, fenced on it, releasing the lease in the same
 * round trip when it can (`lease.writeAndRelease`); a store failure becomes {@link PersistFailed}.
 * Not stopped by a lease lost meanwhile (a late renewal on a starved process): the server already
 * rotated, the fence keeps the write from replacing anything newer, and a stored copy beats the only
 * one in this process's memory. The store's operation timeout bounds it.
 */
export async function persist(ctx: RefreshContext, grant: Grant, rotatedFrom: string, lease: Lease): Promise<WriteResult> {
  try {
    return await ctx.store.setGrant(grant, undefined, { refreshToken: rotatedFrom, writeAndRelease: lease.writeAndRelease });
  } catch (error) {
    throw new PersistFailed({ grant, rotatedFrom }, error);
  }
}

export async function handleFailure(ctx: RefreshContext, stored: Grant, error: unknown, reachedServer: boolean, lease: Lease): Promise<RefreshOutcome> {
  const { key } = stored;
  if (error instanceof RotationLost) return reauth(ctx, stored, 'rotation_lost');
  const failure = classifyFailure(error instanceof GaveUp ? error.lastError : error, ctx.policy.now());
  // The last attempt itself may have reached the server (e.g. aborted in flight at the lease bound).
  if (failure.kind === 'transient' && failure.mayHaveReachedServer) reachedServer = true;
  if (failure.kind === 'invalid_grant' && !(error instanceof GaveUp)) {
    // A lost race is not a revocation: another refresher may have rotated the token meanwhile.
    const current = await ctx.store.getGrant(key, lease.signal);
    if (current !== undefined && current.status === 'active' && current.refreshToken !== stored.refreshToken) return { grant: current, refreshed: false };
    const reason: ReauthReason = reachedServer ? 'rotation_lost' : ctx.policy.now() >= stored.refreshExpiresAt ? 'expired' : 'invalid_grant';
    return reauth(ctx, stored, reason);
  }
  if (!reachedServer) await clearMarker(ctx, stored, lease.signal);
  if (lease.signal.aborted) throw lease.signal.reason;
  if (error instanceof GaveUp) {
    throw new ServerUnavailableError('The authorization server did not answer the refresh in time', { cause: error.lastError, retryAfterMs: error.retryAfterMs });
  }
  if (failure.kind === 'oauth') throw new OAuthError(failure.error, failure.status, { cause: error });
  if (failure.kind === 'bad_response') throw new TokenResponseError('The token endpoint sent an unusable response', { cause: error });
  if (error instanceof TokenManagerError) throw error;
  throw new ServerUnavailableError('The refresh request failed', { cause: error });
}

/** Persists the grant as needing consent again, emits `reauthRequired` and throws (or adopts a newer grant found instead). */
export async function reauth(ctx: RefreshContext, stored: Grant, reason: ReauthReason): Promise<RefreshOutcome> {
  const written = await ctx.store.setGrant(markReauthRequired(stored, reason), undefined, { refreshToken: stored.refreshToken });
  if (!written.ok) return adoptNewer(stored.key, written);
  ctx.emit('reauthRequired', { key: stored.key, reason });
  throw new ReauthRequiredError(stored.key, reason);
}

/** Best effort: the request provably did not reach the server, so the in-flight marker goes. */
export async function clearMarker(ctx: RefreshContext, stored: Grant, signal: AbortSignal): Promise<void> {
  await ctx.store.setGrant({ ...stored, refreshStartedAt: undefined }, signal, { refreshToken: stored.refreshToken }).catch(() => {});
}
