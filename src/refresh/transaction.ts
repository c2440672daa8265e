/**
 * The refresh transaction, run under the grant's lock:
 * re-read the store → adopt a grant another refresher already rotated → else mark the refresh as in
 * flight, call the server (retrying transient failures within the lease), persist the rotated grant,
 * and only then hand it out.
 * @module
 */
import { canAdopt, rotatesAtOnce, type RefreshRequest } from '../grant/adopt.ts';
import { missingScopes } from '../grant/resource.ts';
import { followSignal, sleep } from '../util/abort.ts';
import { backoffDelayMs, type BackoffPolicy } from '../util/backoff.ts';
import { retryTransient } from '../oauth/retry.ts';
import { classifyFailure } from '../oauth/classify.ts';
import { ConfigurationError, LockError, ReauthRequiredError, ServerUnavailableError } from '../errors.ts';
import { applyRefresh, applyRotation, type Grant, type TokenSet } from '../grant/grant.ts';
import type { Lease } from '../locks/lock.ts';
import type { PreparedMark } from '../storage/grant-store.ts';
import type { ResponseCapture } from '../oauth/http.ts';
import { parseTokenResponse, requestRefresh } from '../oauth/client.ts';
import { confirmRotationLost, introspect } from './introspection.ts';
import { watchLease } from './lease-watch.ts';
import { adoptNewer, handleFailure, PersistFailed, persist, reauth, refuseResponse, RotationLost } from './failure.ts';
import { markerWaitMs } from './marker-wait.ts';
import type { RefreshContext, RefreshOutcome } from './refresh-context.ts';

export type { RefreshContext, RefreshOutcome, RefreshPolicy, ResourceToken } from './refresh-context.ts';

/** Time kept between the end of a server call and the end of the lease, for the write (at most a quarter of the lease). */
export const LEASE_MARGIN_MS = 2_000;

/** Store reads while waiting for another process's refresh: every 20 ms, then less often, up to 250 ms. */
const WATCH_BACKOFF: BackoffPolicy = { minMs: 20, maxMs: 250 };
/** A preallocated abort reason: `abort()` without one builds a DOMException with a stack each time. */
const WATCH_DONE = new Error('The refresh transaction ended');

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
  const { clock } = ctx.policy;
  const waitStartedAt = clock.monotonicMs();
  // A lock that reads the grant with its lease also writes the in-flight marker in that round trip
  // when the record is still the one this process last saw and would be rotated at once.
  let premark: PreparedMark | undefined;
  const prepare = async (): Promise<PreparedMark | undefined> => (premark = await ctx.store.prepareMark(key, (seen) => {
    const { policy } = ctx;
    const now = policy.now();
    return rotatesAtOnce(seen, now, policy.refreshWindowMs, policy.maxGrantLifetimeMs, request) ? { ...seen, refreshStartedAt: now } : undefined;
  }));
  try {
    return await ctx.lock.withLock(key, (lease) => {
      acquired = true;
      ctx.log?.debug({ key, lockWaitMs: Math.round(clock.monotonicMs() - waitStartedAt) }, 'offline-tokens: grant lock acquired');
      return refreshUnderLock(ctx, key, request, lease, lease.premarked === true ? premark : undefined);
    }, { signal: waiting.signal, premark: prepare });
  } catch (error) {
    if (adopted !== undefined && !acquired) {
      ctx.log?.info({ key, rotations: adopted.rotations, lockWaitMs: Math.round(clock.monotonicMs() - waitStartedAt) }, 'offline-tokens: adopted the grant another process rotated while waiting for the lock');
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

/** `marked`: the in-flight marker written with the lease (the record read is the grant before it). */
async function refreshUnderLock(ctx: RefreshContext, key: string, request: RefreshRequest, lease: Lease, marked: PreparedMark | undefined): Promise<RefreshOutcome> {
  const { store, policy } = ctx;
  const stored = await store.getGrant(key, lease.signal, lease.prefetched);
  if (marked !== undefined) store.markLanded(marked);
  if (stored === undefined) throw new ReauthRequiredError(key, 'no_grant');
  if (stored.status !== 'active') throw new ReauthRequiredError(key, stored.reauthReason ?? 'invalid_grant');
  if (canAdopt(stored, policy.now(), policy.refreshWindowMs, request)) return { grant: stored, refreshed: false };
  if (policy.now() >= stored.createdAt + policy.maxGrantLifetimeMs) return reauth(ctx, stored, 'expired');
  // A scope beyond the consent is refused here: the server would refuse it, and some rotate first.
  const beyond = request.scope === undefined || request.resource !== undefined ? [] : missingScopes(request.scope, stored.scope);
  if (beyond.length > 0) throw new ConfigurationError(`Expected \`scope\` within the consented scope; not consented: ${beyond.join(' ')}`);

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

  const startedAt = marked?.grant.refreshStartedAt ?? policy.now();
  const attemptsEndAt = policy.clock.monotonicMs() + deadlineMs;
  if (marked === undefined) {
    const written = await store.setGrant({ ...stored, refreshStartedAt: startedAt }, lease.signal, { refreshToken: stored.refreshToken });
    if (!written.ok) return adoptNewer(key, written);
  }

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
      ctx.onAttempt?.();
      try {
        return await requestRefresh(oauth, stored.refreshToken, attemptSignal, capture, stored.dpopKey, request.resource, request.scope);
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
      clock: policy.clock,
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
          if (policy.clock.monotonicMs() + delayMs > attemptsEndAt) {
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
  if (request.resource !== undefined || request.scope !== undefined) return persistForResource(ctx, stored, tokens, receivedAt, lease);
  const next = applyRefresh(stored, tokens, receivedAt, policy.refreshTokenLifetimeMs);
  const written = await persist(ctx, next, stored.refreshToken, lease);
  if (!written.ok) return adoptNewer(key, written);
  return { grant: next, refreshed: true };
}

/**
 * A refresh for a resource or a narrower scope: the rotated refresh token is persisted (the grant's own access token
 * stays), and the resource's access token is handed to the caller, never stored.
 */
async function persistForResource(ctx: RefreshContext, stored: Grant, tokens: TokenSet, receivedAt: number, lease: Lease): Promise<RefreshOutcome> {
  const next = applyRotation(stored, tokens, receivedAt, ctx.policy.refreshTokenLifetimeMs);
  const written = await persist(ctx, next, stored.refreshToken, lease);
  if (!written.ok) return adoptNewer(stored.key, written);
  const resourceToken = { accessToken: tokens.accessToken, issuedAt: receivedAt, expiresAt: receivedAt + tokens.expiresInMs, scope: tokens.scope };
  return { grant: next, refreshed: true, resourceToken };
}
