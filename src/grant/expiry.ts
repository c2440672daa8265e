/**
 * Pure decisions about when an access token is refreshed. Time is always an argument.
 * @module
 */

/** The most an access token's hand-out cut-off is moved before its real expiry. */
export const MAX_EXPIRY_MARGIN_MS = 5_000;

/** When to start refreshing a token, and until when it may still be handed out. */
export interface RefreshTiming {
  /** Epoch ms from which a refresh is started (in the background while the token is still usable). */
  refreshAt: number;
  /** Epoch ms from which the token is no longer handed out: callers wait for the refresh. */
  usableUntil: number;
}

/**
 * The effective refresh window: `refreshWindowMs`, but never more than half the token's lifetime, so a
 * short-lived token is not refreshed on every call.
 *
 * @example
 * ```ts
 * effectiveWindowMs(60_000, 3_600_000); // 60_000
 * effectiveWindowMs(60_000, 10_000);    // 5_000
 * ```
 */
export function effectiveWindowMs(refreshWindowMs: number, lifetimeMs: number): number {
  return Math.max(0, Math.min(refreshWindowMs, lifetimeMs / 2));
}

/**
 * Computes when a token issued at `issuedAt` and expiring at `expiresAt` is refreshed.
 * `jitter` in [0, 1) moves the refresh start later by up to half the window, so that grants issued
 * together do not all refresh at the same moment; 0 starts at the beginning of the window.
 *
 * @example
 * ```ts
 * const { refreshAt, usableUntil } = refreshTiming({ issuedAt: 0, expiresAt: 3_600_000 }, 60_000, 0);
 * // refreshAt === 3_540_000, usableUntil === 3_595_000
 * ```
 */
export function refreshTiming(
  token: { issuedAt: number; expiresAt: number },
  refreshWindowMs: number,
  jitter: number,
): RefreshTiming {
  const lifetimeMs = Math.max(0, token.expiresAt - token.issuedAt);
  const windowMs = effectiveWindowMs(refreshWindowMs, lifetimeMs);
  const usableUntil = token.expiresAt - Math.min(MAX_EXPIRY_MARGIN_MS, windowMs / 2);
  const refreshAt = Math.min(token.expiresAt - windowMs + jitter * (windowMs / 2), usableUntil);
  return { refreshAt, usableUntil };
}

/** What a caller of `getAccessToken` must do with a token at time `now`. */
export type TokenState = 'fresh' | 'refresh_ahead' | 'expired';

/**
 * Classifies a token at `now`: `fresh` (hand it out), `refresh_ahead` (hand it out and refresh in the
 * background) or `expired` (wait for a refresh).
 *
 * @example
 * ```ts
 * tokenState(timing, Date.now()) === 'expired';
 * ```
 */
export function tokenState(timing: RefreshTiming, now: number): TokenState {
  if (now < timing.refreshAt) return 'fresh';
  if (now < timing.usableUntil) return 'refresh_ahead';
  return 'expired';
}
