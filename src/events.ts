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
  refreshed: { key: string; rotations: number; expiresAt: number };
  /** A refresh failed (the error is also thrown to callers waiting for it). */
  refreshFailed: { key: string; error: TokenManagerError };
  /** The grant is dead; its status was persisted. Emitted once per transition. */
  reauthRequired: { key: string; reason: ReauthReason };
  /**
   * The grant will die at `at` (epoch ms) unless the user consents again (`max_lifetime`) or it is
   * used or kept alive before then (`idle`). Emitted once per grant and deadline in a process.
   */
  reauthSoon: { key: string; at: number; reason: 'idle' | 'max_lifetime' };
  /** A rotated grant could not be written; it is held in memory and the write is retried. */
  persistFailed: { key: string; error: TokenManagerError; attempt: number };
  /** A grant held in memory after a failed write has now been persisted. */
  persisted: { key: string; rotations: number };
}

/** Name of an event of {@link TokenManagerEvents}. */
export type TokenManagerEventName = keyof TokenManagerEvents;
