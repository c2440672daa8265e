/**
 * Ending a grant: RFC 7009 revocation of its refresh token at the server, then its deletion from the
 * store, under the grant's lock so that no refresh interleaves.
 * @module
 */
import { ServerUnavailableError } from '../errors.ts';
import type { Grant } from '../grant/grant.ts';
import type { GrantLock } from '../locks/lock.ts';
import { revokeRefreshToken } from '../oauth/client.ts';
import type { ServerConnection } from '../oauth/server.ts';
import type { GrantStore } from '../storage/grant-store.ts';
import { anySignal } from '../util/abort.ts';

/** What {@link revokeGrant} needs. @internal */
export interface RevokeContext {
  store: GrantStore;
  lock: GrantLock;
  server: ServerConnection;
  requestTimeoutMs: number;
  /** A rotated grant held in memory (newer than the store's), if any. */
  held(key: string): Grant | undefined;
  /** Called under the lock once the grant is deleted: drop every in-memory copy. */
  forget(key: string): void;
}

/**
 * What a revocation did.
 *
 * @example
 * ```ts
 * const { revokedAtServer } = await tokens.revoke('user-42');
 * if (!revokedAtServer) console.warn('deleted here; the refresh token may still be live at the server');
 * ```
 */
export interface RevokeResult {
  /**
   * Whether the server confirmed revoking the refresh token. `false` when no revocation endpoint is
   * known (set `metadata.revocation_endpoint`) or no grant was stored: the token may still be live.
   */
  revokedAtServer: boolean;
}

/**
 * Revokes the grant of `key` at the server when it has a revocation endpoint, then deletes it. A
 * revocation the server refuses still deletes the grant and throws {@link ServerUnavailableError}.
 */
export async function revokeGrant(ctx: RevokeContext, key: string, signal: AbortSignal | undefined): Promise<RevokeResult> {
  return ctx.lock.withLock(key, async (lease) => {
    const grant = ctx.held(key) ?? await ctx.store.getGrant(key, lease.signal);
    let failure: unknown;
    let revokedAtServer = false;
    // No grant, no request: the server is not even asked for its metadata.
    const oauth = grant === undefined ? undefined : await ctx.server.client(lease.signal);
    if (grant !== undefined && oauth?.supportsRevocation === true) {
      try {
        await revokeRefreshToken(oauth, grant.refreshToken, anySignal(lease.signal, AbortSignal.timeout(ctx.requestTimeoutMs)));
        revokedAtServer = true;
      } catch (error) {
        failure = error;
      }
    }
    await ctx.store.deleteGrant(key, lease.signal);
    ctx.forget(key);
    if (failure !== undefined) {
      if (lease.signal.aborted) throw lease.signal.reason;
      throw new ServerUnavailableError('The grant was deleted, but the server did not confirm revoking its refresh token', { cause: failure });
    }
    return { revokedAtServer };
  }, { signal });
}
