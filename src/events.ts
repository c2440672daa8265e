/**
 * The events a token manager emits. Payloads carry keys and metadata, never a token.
 * @module
 */
import type { ReauthReason, TokenManagerError } from './errors.ts';

/**
 * Event name → payload.
 *
 * @example
 * ```ts
 * tokens.on('reauthRequired', ({ key, reason }) => emailUser(key, reason));
 * tokens.on('refreshFailed', ({ key, error }) => log.warn({ key, code: error.code }));
 * ```
 */
export interface TokenManagerEvents {
  /** A refresh succeeded and its result was persisted. */
  refreshed: {
    /** The grant's key. */
    key: string;
    /** Rotations of the grant's refresh token so far. */
    rotations: number;
    /** Epoch ms at which the new access token expires. */
    expiresAt: number;
  };
  /** A refresh failed (the error is also thrown to callers waiting for it). */
  refreshFailed: {
    /** The grant's key. */
    key: string;
    /** Why (its `code` says what to do: `ERR_REAUTH_REQUIRED`, `ERR_SERVER_UNAVAILABLE`...). */
    error: TokenManagerError;
  };
  /** The grant is dead; its status was persisted. Emitted once per transition. */
  reauthRequired: {
    /** The grant's key. */
    key: string;
    /** Why the grant died. */
    reason: ReauthReason;
  };
  /**
   * The grant will die at `at` (epoch ms) unless the user consents again (`max_lifetime`) or it is
   * used or kept alive before then (`idle`). Emitted once per grant and deadline in a process.
   */
  reauthSoon: {
    /** The grant's key. */
    key: string;
    /** Epoch ms at which the grant dies. */
    at: number;
    /** `idle`: unused too long (use it or keep it alive); `max_lifetime`: the server's absolute lifetime ends (consent again). */
    reason: 'idle' | 'max_lifetime';
  };
  /** A rotated grant could not be written; it is held in memory and the write is retried. */
  persistFailed: {
    /** The grant's key. */
    key: string;
    /** The store's failure. */
    error: TokenManagerError;
    /** Failed writes of this grant so far (1 for the first). */
    attempt: number;
  };
  /** A grant held in memory after a failed write has now been persisted. */
  persisted: {
    /** The grant's key. */
    key: string;
    /** Rotations of the grant's refresh token so far. */
    rotations: number;
  };
}

/**
 * Name of an event of {@link TokenManagerEvents}.
 *
 * @example
 * ```ts
 * const logged: TokenManagerEventName[] = ['reauthRequired', 'persistFailed'];
 * for (const name of logged) tokens.on(name, (payload) => log.warn(payload, name));
 * ```
 */
export type TokenManagerEventName = keyof TokenManagerEvents;
