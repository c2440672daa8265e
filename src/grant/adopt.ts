/**
 * Pure decision: may a grant read from the store be served as it is, instead of refreshing?
 * @module
 */
import { refreshTiming, tokenState } from './expiry.ts';
import type { Grant } from './grant.ts';

/** What the caller asked for. */
export interface RefreshRequest {
  /** The caller wants a new access token even if the current one looks valid. */
  force: boolean;
  /** `rotations` of the grant the caller last saw, when it saw one. */
  seenRotations: number | undefined;
  /** RFC 8707 resource(s) the new access token is for: never in the store, so always a refresh. */
  resource?: readonly string[] | undefined;
  /** A scope narrower than the consented one (canonical, see `normalizeScope`): never in the store, so always a refresh. */
  scope?: string | undefined;
}

/**
 * True when `stored` can be served without a refresh: it is active, its token is not yet in the
 * refresh window, and — for a forced refresh — someone else refreshed after the caller's last view.
 *
 * @example
 * ```ts
 * if (canAdopt(stored, now, 60_000, { force: false, seenRotations: 3 })) return stored;
 * ```
 */
export function canAdopt(stored: Grant, now: number, refreshWindowMs: number, request: RefreshRequest): boolean {
  if (stored.status !== 'active') return false;
  if (request.resource !== undefined || request.scope !== undefined) return false;
  if (request.force && (request.seenRotations === undefined || stored.rotations <= request.seenRotations)) return false;
  return tokenState(refreshTiming(stored, refreshWindowMs, 0), now) === 'fresh';
}

/**
 * True when a refresher that holds the lock and reads `stored` goes straight to the server: an
 * active grant that cannot be adopted, within its lifetime, with no in-flight marker and no narrower
 * scope or resource asked. Such a grant's in-flight marker can be written with the lease itself.
 *
 * @example
 * ```ts
 * if (rotatesAtOnce(seen, Date.now(), 60_000, maxGrantLifetimeMs, { force: true, seenRotations: seen.rotations })) premark(seen);
 * ```
 */
export function rotatesAtOnce(stored: Grant, now: number, refreshWindowMs: number, maxGrantLifetimeMs: number, request: RefreshRequest): boolean {
  return stored.status === 'active' && request.resource === undefined && request.scope === undefined && stored.refreshStartedAt === undefined
    && now < stored.createdAt + maxGrantLifetimeMs && !canAdopt(stored, now, refreshWindowMs, request);
}
