/**
 * Resource indicators (RFC 8707): validation of the `resource` a caller asks a token for, and the
 * pure decision of what a rotation for a resource changes in the grant.
 * @module
 */
import { ConfigurationError } from '../errors.ts';

/**
 * The resource(s) of a call as a sorted list without duplicates: one identity per set, whatever the
 * order the caller wrote them in.
 * @throws {ConfigurationError} naming `name` for anything but absolute URIs without a fragment.
 */
export function normalizeResource(value: unknown, name = 'resource'): readonly string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new ConfigurationError(`Expected \`${name}\` to name at least one resource`);
  const resources = list.map((item) => {
    let parsed: URL | undefined;
    try {
      parsed = typeof item === 'string' || item instanceof URL ? new URL(item) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.hash !== '') throw new ConfigurationError(`Expected \`${name}\` to be an absolute URI without a fragment, or an array of them`);
    return typeof item === 'string' ? item : parsed.href;
  });
  return [...new Set(resources)].sort();
}

/** RFC 6749 §3.3 `scope-token`: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The scope of a call (a space-separated string or a list of scope tokens) as one canonical string:
 * sorted, without duplicates, so `'b a'` and `['a', 'b']` are the same cached token.
 * @throws {ConfigurationError} naming `name` for anything but non-empty RFC 6749 scope tokens.
 *
 * @example
 * ```ts
 * normalizeScope('email openid email'); // 'email openid'
 * ```
 */
export function normalizeScope(value: unknown, name = 'scope'): string {
  const list = typeof value === 'string' ? value.split(' ').filter(Boolean) : Array.isArray(value) ? value : undefined;
  if (list === undefined || list.length === 0 || !list.every((item) => typeof item === 'string' && SCOPE_TOKEN.test(item))) {
    throw new ConfigurationError(`Expected \`${name}\` to be a non-empty space-separated string of scope tokens, or an array of them`);
  }
  return [...new Set(list as string[])].sort().join(' ');
}

/**
 * Scope tokens of `requested` the consented `granted` scope lacks (empty: a down-scope the server can
 * grant). An unknown consented scope (`''`, the server never said) lacks nothing: the server decides.
 *
 * @example
 * ```ts
 * missingScopes('email openid', 'openid email profile'); // []
 * ```
 */
export function missingScopes(requested: string, granted: string): string[] {
  if (granted.length === 0) return [];
  const consented = new Set(granted.split(' '));
  return requested.split(' ').filter((scope) => !consented.has(scope));
}
