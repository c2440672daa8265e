/**
 * The refresh transaction, run under the grant's lock:
 * re-read the store → adopt a grant another refresher already rotated → else mark the refresh as in
 * flight, call the server (retrying transient failures within the lease), persist the rotated grant,
 * and only then hand it out.
 * @module
 */
import { canAdopt, type RefreshRequest } from '../grant/adopt.ts';
import { followSignal, sleep } from '../util/abort.ts';
import { backoffDelayMs, type BackoffPolicy } from '../util/backoff.ts';
import { GaveUp, retryTransient } from '../oauth/retry.ts';
import { classifyFailure } from '../oauth/classify.ts';
import {
  LockError,
  OAuthError,
  ReauthRequiredError,
  ServerUnavailableError,
  StoreError,
  TokenManagerError,
  TokenResponseError,
  type ReauthReason,
} from '../errors.ts';
import { applyRefresh, applyRotation, markReauthRequired, type Grant, type TokenSet } from '../grant/grant.ts';
import type { Lease, GrantLock } from '../locks/lock.ts';
import type { ResponseCapture } from '../oauth/http.ts';
import { isAmbiguousResponse, parseTokenResponse, requestRefresh, salvageRefreshToken, type OAuthClient } from '../oauth/client.ts';
import type { ServerConnection } from '../oauth/server.ts';
import { confirmRotationLost, introspect } from './introspection.ts';
import { watchLease } from './lease-watch.ts';
import { markerWaitMs } from './marker-wait.ts';
import type { GrantStore, WriteResult } from '../storage/grant-store.ts';
import type { Unpersisted } from './write-behind.ts';
import type { TokenManagerEvents } from '../events.ts';
import type { Logger } from '../util/log.ts';
import type { RefreshObserver } from './observer.ts';

/** Time kept between the end of a server call and the end of the lease, for the write (at most a quarter of the lease). */
export const LEASE_MARGIN_MS = 2_000;

/** Store reads while waiting for another process's refresh: every 20 ms, then less often, up to 250 ms. */
const WATCH_BACKOFF: BackoffPolicy = { minMs: 20, maxMs: 250 };
/** A preallocated abort reason: `abort()` without one builds a DOMException with a stack each time. */
const WATCH_DONE = new Error('The refresh transaction ended');

/** The settings the refresh transaction follows (a subset of the manager's options). @internal */
export interface RefreshPolicy {
  /** Clock, epoch ms. */
  now: () => number;
  refreshWindowMs: number;
  refreshTokenLifetimeMs: number;
  maxGrantLifetimeMs: number;
  refreshTimeoutMs: number;
  requestTimeoutMs: number;
  maxRetries: number;
  retryMinDelayMs: number;
  rotationGracePeriodMs: number;
}

/** What the refresh transaction needs. @internal */
export interface RefreshContext {
  store: GrantStore;
  lock: GrantLock;
  server: ServerConnection;
  policy: RefreshPolicy;
  emit: <E extends keyof TokenManagerEvents>(event: E, payload: TokenManagerEvents[E]) => void;
  /** Where to log (never a token). */
  log?: Logger | undefined;
  /** Told when each refresh transaction starts and ends (metrics, traces). */
  observer?: RefreshObserver | undefined;
}

/**
 * The server rotated the grant but the store refused the result: the new grant exists only here.
 * Thrown inside this module only, and turned into a result at its edge.
 */
class PersistFailed extends Error {
  readonly unpersisted: Unpersisted;
  readonly storeError: StoreError;
  constructor(unpersisted: Unpersisted, cause: unknown) {
    super('persist failed');
    this.unpersisted = unpersisted;
    this.storeError = new StoreError('The store failed while persisting a rotated refresh token; it is kept in memory and the write is retried', { cause });
  }
}

/** Thrown inside the retry loop when the server confirms the refresh token is no longer active. */
class RotationLost extends Error {}

/** An access token issued for the resource(s) of a refresh request (RFC 8707). */
export interface ResourceToken {
  accessToken: string;
  /** Epoch ms. */
  issuedAt: number;
  /** Epoch ms. */
  expiresAt: number;
  scope: string | undefined;
}

/**
 * The outcome of a refresh transaction: the grant to serve and whether this transaction got it from
 * the server (else: adopted from the store), or a rotated grant the store refused, which the caller
 * must hold and write later (`error` is what to report meanwhile).
 */
export type RefreshOutcome =
  | { grant: Grant; refreshed: boolean; resourceToken?: ResourceToken }
  | { unpersisted: Unpersisted; error: StoreError };

/**
 * Runs one refresh transaction for `key` under the lock. Returns the grant to serve: adopted from the
 * store when another refresher got there first, else freshly rotated and already persisted.
 */
export async function refreshGrant(ctx: RefreshContext, key: string, request: RefreshRequest, signal: AbortSignal): Promise<RefreshOutcome> {
  // While another process holds the lock, watch the store: once its rotation lands, adopt it and stop
  // waiting, instead of taking the lock in turn only to read what is already there.
  // Aborted when the transaction ends, when the watcher adopts, or when `signal` (long-lived) aborts.
  const waiting = new AbortController();
  const unfollow = followSignal(signal, waiting);
  let acquired = false;
  let adopted: Grant | undefined;
  void (async () => {
    for (let attempt = 0; ; attempt++) {
      await sleep(backoffDelayMs(WATCH_BACKOFF, attempt), waiting.signal);
      if (acquired) return;
      const stored = await ctx.store.getGrant(key, waiting.signal).catch(() => undefined);
      if (acquired || waiting.signal.aborted) return;
      if (stored !== undefined && canAdopt(stored, ctx.policy.now(), ctx.policy.refreshWindowMs, request)) {
        adopted = stored;
        waiting.abort(WATCH_DONE);
        return;
      }
    }
  })().catch(() => {});
  const waitStartedAt = performance.now();
  try {
    return await ctx.lock.withLock(key, (lease) => {
      acquired = true;
      ctx.log?.debug({ key, lockWaitMs: Math.round(performance.now() - waitStartedAt) }, 'offline-tokens: grant lock acquired');
      return refreshUnderLock(ctx, key, request, lease);
    }, { signal: waiting.signal });
  } catch (error) {
    if (adopted !== undefined && !acquired) {
      ctx.log?.info({ key, rotations: adopted.rotations, lockWaitMs: Math.round(performance.now() - waitStartedAt) }, 'offline-tokens: adopted the grant another process rotated while waiting for the lock');
      return { grant: adopted, refreshed: false };
    }
    if (error instanceof PersistFailed) return { unpersisted: error.unpersisted, error: error.storeError };
    throw error;
  } finally {
    acquired = true;
    unfollow();
    waiting.abort(WATCH_DONE);
  }
}

/** A fenced write lost to a newer grant (another rotation, a new consent) or to a revocation. */
function adoptNewer(key: string, { current }: Extract<WriteResult, { ok: false }>): RefreshOutcome {
  if (current === undefined) throw new ReauthRequiredError(key, 'no_grant');
  if (current.status !== 'active') throw new ReauthRequiredError(key, current.reauthReason ?? 'invalid_grant');
  return { grant: current, refreshed: false };
}

async function refreshUnderLock(ctx: RefreshContext, key: string, request: RefreshRequest, lease: Lease): Promise<RefreshOutcome> {
  const { store, policy } = ctx;
  const stored = await store.getGrant(key, lease.signal, lease.prefetched);
  if (stored === undefined) throw new ReauthRequiredError(key, 'no_grant');
  if (stored.status !== 'active') throw new ReauthRequiredError(key, stored.reauthReason ?? 'invalid_grant');
  if (canAdopt(stored, policy.now(), policy.refreshWindowMs, request)) return { grant: stored, refreshed: false };
  if (policy.now() >= stored.createdAt + policy.maxGrantLifetimeMs) return reauth(ctx, stored, 'expired');

  // A marker left by a refresher that died (or gave up) after its request may have reached the
  // server. That request may even be processed later (a buffering proxy, a slow server): give it the
  // time of a request, counted from the marker (written by another host's clock), before asking
  // whether the token is still active.
  const oauth = await ctx.server.client(lease.signal);
  const suspect = stored.refreshStartedAt !== undefined;
  if (suspect) {
    await sleep(markerWaitMs(policy.now() - stored.refreshStartedAt!, policy.requestTimeoutMs), lease.signal);
    if (await confirmRotationLost(ctx.server, ctx.policy, oauth, stored.refreshToken, lease.signal)) return reauth(ctx, stored, 'rotation_lost');
  }

  // Requests must end before the lease can run out: while the lease is renewed, an answer is awaited
  // (up to `requestTimeoutMs`, enforced per request); once it is no longer renewed, the request is
  // abandoned `marginMs` before the lease ends. New attempts stop at `refreshTimeoutMs`.
  const remainingMs = lease.remainingMs();
  const marginMs = Math.min(LEASE_MARGIN_MS, remainingMs / 4);
  if (!(remainingMs - marginMs > 0)) throw new LockError('The lock lease is too short to refresh safely');
  const deadlineMs = policy.refreshTimeoutMs;

  const startedAt = policy.now();
  const attemptsEndAt = performance.now() + deadlineMs;
  const marked = await store.setGrant({ ...stored, refreshStartedAt: startedAt }, lease.signal, { refreshToken: stored.refreshToken });
  if (!marked.ok) return adoptNewer(key, marked);

  const capture: ResponseCapture = {};
  let reachedServer = suspect;
  let inFlight = false;
  let abortedInFlight = false;
  let ambiguousRetried = false;
  let response;
  const leaseBound = watchLease(lease, marginMs);
  try {
    response = await retryTransient(async (attemptSignal) => {
      // An attempt aborted in flight (the lease lost, the caller gone), or still in flight when the
      // loop ends, may have reached the server: ambiguous, whatever error the abort surfaces as.
      inFlight = true;
      try {
        return await requestRefresh(oauth, stored.refreshToken, attemptSignal, capture, stored.dpopKey, request.resource);
      } catch (error) {
        if (attemptSignal.aborted) abortedInFlight = true;
        throw error;
      } finally {
        inFlight = false;
      }
    }, {
      deadlineMs,
      hardDeadlineMs: Number.POSITIVE_INFINITY,
      hardSignal: leaseBound.signal,
      retries: policy.maxRetries,
      minDelayMs: policy.retryMinDelayMs,
      signal: lease.signal,
      now: policy.now,
      onTransient: async (failure) => {
        ctx.log?.warn({ key, status: failure.status, retryAfterMs: failure.retryAfterMs, mayHaveReachedServer: failure.mayHaveReachedServer, timedOut: failure.timedOut }, 'offline-tokens: refresh attempt failed transiently; retrying');
        if (!failure.mayHaveReachedServer) return;
        reachedServer = true;
        // The request may have rotated the token at the server with the response lost. One that
        // timed out may still be processed: give it the time of a request before asking.
        if (failure.timedOut) await sleep(policy.requestTimeoutMs, lease.signal);
        // Ask until the server answers (it may be down for a moment) or the time is up.
        let status = await introspect(ctx.server, ctx.policy, oauth, stored.refreshToken, lease.signal);
        for (let attempt = 0; status === 'unavailable'; attempt++) {
          const delayMs = backoffDelayMs({ minMs: policy.retryMinDelayMs, maxMs: policy.retryMinDelayMs * 64 }, attempt);
          if (performance.now() + delayMs > attemptsEndAt) {
            throw new ServerUnavailableError('Could not ask the authorization server whether a failed refresh went through');
          }
          await sleep(delayMs, lease.signal);
          status = await introspect(ctx.server, ctx.policy, oauth, stored.refreshToken, lease.signal);
        }
        if (status === 'inactive') throw new RotationLost();
        if (status === 'active') return;
        if (policy.now() - startedAt < policy.rotationGracePeriodMs) return;
        // A success status was seen before the body failed (e.g. trickled past the timeout): the server
        // rotated; sending the old token again would only trip its reuse detection.
        if (capture.status !== undefined && capture.status >= 200 && capture.status < 300) throw new RotationLost();
        if (ambiguousRetried) throw new RotationLost();
        ambiguousRetried = true;
      },
    });
  } catch (error) {
    if (classifyFailure(error, policy.now()).kind === 'bad_response') return refuseResponse(ctx, oauth, stored, capture, error, lease);
    return handleFailure(ctx, stored, error, reachedServer || inFlight || abortedInFlight, lease);
  } finally {
    leaseBound.stop();
  }

  const receivedAt = policy.now();
  let tokens;
  try {
    tokens = parseTokenResponse(response);
  } catch (error) {
    return refuseResponse(ctx, oauth, stored, capture, error, lease);
  }
  if (request.resource !== undefined) return persistForResource(ctx, stored, tokens, receivedAt, lease);
  const next = applyRefresh(stored, tokens, receivedAt, policy.refreshTokenLifetimeMs);
  const written = await persist(ctx, next, stored.refreshToken, lease.signal);
  if (!written.ok) return adoptNewer(key, written);
  return { grant: next, refreshed: true };
}

/**
 * A refresh for a resource: the rotated refresh token is persisted (the grant's own access token
 * stays), and the resource's access token is handed to the caller, never stored.
 */
async function persistForResource(ctx: RefreshContext, stored: Grant, tokens: TokenSet, receivedAt: number, lease: Lease): Promise<RefreshOutcome> {
  const next = applyRotation(stored, tokens, receivedAt, ctx.policy.refreshTokenLifetimeMs);
  const written = await persist(ctx, next, stored.refreshToken, lease.signal);
  if (!written.ok) return adoptNewer(stored.key, written);
  const resourceToken = { accessToken: tokens.accessToken, issuedAt: receivedAt, expiresAt: receivedAt + tokens.expiresInMs, scope: tokens.scope };
  return { grant: next, refreshed: true, resourceToken };
}

/**
 * A malformed token response. When it was a success that carries a new refresh token, the server
 * rotated: the new refresh token is persisted even though the access token is unusable. When it may
 * have rotated but the new token cannot be read (a success too large, cut short, not JSON, or no
 * status seen), the outcome is ambiguous, like a lost response: the in-flight marker stays and the
 * old refresh token is never presented again unless introspection says it is still active.
 */
async function refuseResponse(ctx: RefreshContext, oauth: OAuthClient, stored: Grant, capture: ResponseCapture, error: unknown, lease: Lease): Promise<RefreshOutcome> {
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
    }, stored.refreshToken, lease.signal);
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

/** Writes the result of a rotation from `rotatedFrom`, fenced on it; a store failure becomes {@link PersistFailed}. */
async function persist(ctx: RefreshContext, grant: Grant, rotatedFrom: string, signal: AbortSignal): Promise<WriteResult> {
  try {
    return await ctx.store.setGrant(grant, signal, { refreshToken: rotatedFrom });
  } catch (error) {
    throw new PersistFailed({ grant, rotatedFrom }, error);
  }
}

async function handleFailure(ctx: RefreshContext, stored: Grant, error: unknown, reachedServer: boolean, lease: Lease): Promise<RefreshOutcome> {
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
async function reauth(ctx: RefreshContext, stored: Grant, reason: ReauthReason): Promise<RefreshOutcome> {
  const written = await ctx.store.setGrant(markReauthRequired(stored, reason), undefined, { refreshToken: stored.refreshToken });
  if (!written.ok) return adoptNewer(stored.key, written);
  ctx.emit('reauthRequired', { key: stored.key, reason });
  throw new ReauthRequiredError(stored.key, reason);
}

/** Best effort: the request provably did not reach the server, so the in-flight marker goes. */
async function clearMarker(ctx: RefreshContext, stored: Grant, signal: AbortSignal): Promise<void> {
  await ctx.store.setGrant({ ...stored, refreshStartedAt: undefined }, signal, { refreshToken: stored.refreshToken }).catch(() => {});
}
