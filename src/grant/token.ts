/**
 * The access token as handed to callers of `getToken`: the token with what a job needs to use it.
 * @module
 */
import type { Grant } from './grant.ts';

/**
 * What {@link TokenManager.getToken} resolves: the access token and its metadata.
 *
 * @example
 * ```ts
 * const { accessToken, tokenType, expiresAt } = await tokens.getToken('user-42');
 * await fetch(api, { headers: { authorization: `${tokenType} ${accessToken}` } });
 * if (expiresAt - Date.now() < 60_000) console.log('the token is about to expire');
 * ```
 */
export interface TokenResult {
  /** The access token. A secret: never log it. */
  readonly accessToken: string;
  /** `DPoP` for a grant bound to a DPoP key (send a proof, see `dpopProof`), else `Bearer`. */
  readonly tokenType: 'Bearer' | 'DPoP';
  /** Epoch ms at which the access token expires. */
  readonly expiresAt: number;
  /** Scope granted by the server (space separated). */
  readonly scope: string;
}

/** The {@link TokenResult} of a grant, frozen: it is shared by every caller of a cached entry. */
export function toTokenResult(grant: Grant): TokenResult {
  return Object.freeze({ accessToken: grant.accessToken, tokenType: grant.dpopKey !== undefined ? 'DPoP' : 'Bearer', expiresAt: grant.expiresAt, scope: grant.scope });
}
