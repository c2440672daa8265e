/**
 * Issuer identifiers, compared as the same server a trailing slash apart (`https://idp.example.com`
 * and `https://idp.example.com/`): configurations and servers write them both ways.
 * @module
 */

/**
 * Whether two issuer identifiers name the same server.
 *
 * @example
 * ```ts
 * sameIssuer('https://idp.example.com/', 'https://idp.example.com'); // true
 * ```
 */
export function sameIssuer(a: string, b: string): boolean {
  return a === b || a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
