/**
 * The scope of a consent request.
 * @module
 */

/** Which scopes a consent always asks for. */
export interface RequiredScopes {
  /** Add `openid` (OpenID Connect). */
  openid: boolean;
  /** Add `offline_access` (servers that issue refresh tokens for that scope). */
  offlineAccess: boolean;
}

/**
 * Adds the required scopes to a scope string, keeping its order and dropping duplicates.
 *
 * @example
 * ```ts
 * withRequiredScopes('email', { openid: true, offlineAccess: true }); // 'openid email offline_access'
 * ```
 */
export function withRequiredScopes(scope: string, required: RequiredScopes): string {
  const scopes = new Set([...(required.openid ? ['openid'] : []), ...scope.split(/\s+/).filter(Boolean), ...(required.offlineAccess ? ['offline_access'] : [])]);
  return [...scopes].join(' ');
}
