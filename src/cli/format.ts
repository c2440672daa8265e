/**
 * What the CLI prints about a grant: metadata only, never a token.
 * @module
 */
import type { GrantInfo } from '../index.ts';

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** A grant as `field value` lines. */
export function grantSummary(grant: GrantInfo): string {
  const rows: Array<[string, string]> = [
    ['key', grant.key],
    ['status', grant.reauthReason === undefined ? grant.status : `${grant.status} (${grant.reauthReason})`],
    ['subject', grant.subject ?? '-'],
    ['scope', grant.scope],
    ['issuer', grant.issuer],
    ['consented', iso(grant.createdAt)],
    ['rotations', String(grant.rotations)],
    ['access token expires', iso(grant.expiresAt)],
    ['refresh token expires', iso(grant.refreshExpiresAt)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n');
}

/** A grant as one line of `list`. */
export function grantLine(grant: GrantInfo): string {
  const status = grant.reauthReason === undefined ? grant.status : `${grant.status}:${grant.reauthReason}`;
  return [grant.key, status, grant.subject ?? '-', `refresh-expires=${iso(grant.refreshExpiresAt)}`, `rotations=${grant.rotations}`].join('\t');
}

/** A grant as JSON (the fields of {@link GrantInfo}, times as ISO strings too). */
export function grantJson(grant: GrantInfo): string {
  return JSON.stringify({ ...grant, reauthReason: grant.reauthReason ?? null, subject: grant.subject ?? null });
}

export { iso };
