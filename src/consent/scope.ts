/**
 * The scope of a consent request.
 * @module
 */

/** Adds `openid` and `offline_access` to a scope string, keeping its order and dropping duplicates. */
export function withRequiredScopes(scope: string): string {
  const scopes = new Set(['openid', ...scope.split(/\s+/).filter(Boolean), 'offline_access']);
  return [...scopes].join(' ');
}
