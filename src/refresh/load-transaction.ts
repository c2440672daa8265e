/**
 * The refresh transaction, imported on the first refresh: a process that only serves cached or stored
 * valid tokens never loads it, nor openid-client behind it (a cold start reads the store and nothing
 * else).
 * @module
 */
import type { refreshGrant } from './transaction.ts';

let loading: Promise<typeof refreshGrant> | undefined;

/**
 * Resolves `refreshGrant`, importing its module once.
 *
 * @example
 * ```ts
 * const refreshGrant = await loadRefreshGrant();
 * const outcome = await refreshGrant(ctx, key, { force: true, seenRotations: undefined }, signal);
 * ```
 */
export function loadRefreshGrant(): Promise<typeof refreshGrant> {
  return loading ??= import('./transaction.ts').then((module) => module.refreshGrant, (error: unknown) => {
    loading = undefined;
    throw error;
  });
}
