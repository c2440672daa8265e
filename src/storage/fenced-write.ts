/**
 * The outcome of a fenced grant write, and the decision whether an earlier attempt already landed.
 * @module
 */
import type { Grant } from '../grant/grant.ts';

/**
 * The outcome of a fenced write: written, or not because the store holds a different grant — a newer
 * one (another rotation, a new consent) or none (revoked). `current` holds tokens: never log it.
 */
export type WriteResult = { ok: true } | { ok: false; current: Grant | undefined };

export const WRITTEN: WriteResult = { ok: true };

export function staleWrite(current: Grant | undefined): WriteResult {
  return { ok: false, current };
}

/**
 * Whether the store already holds `grant`, rotated from `rotatedFrom`: an earlier attempt of this very
 * write that timed out, then landed (a compare-and-set is one command, which a frozen server runs later).
 */
export function landed(current: Grant | undefined, grant: Grant, rotatedFrom: string): boolean {
  return current !== undefined && grant.refreshToken !== rotatedFrom && current.refreshToken === grant.refreshToken
    && current.accessToken === grant.accessToken && current.status === grant.status;
}
