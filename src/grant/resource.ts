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
