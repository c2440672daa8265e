/**
 * Names for PostgreSQL prepared statements: `pg` prepares a named statement once per connection
 * instead of parsing and planning its text on every query.
 * @module
 */
import { nodeCrypto } from './node-crypto.ts';

const names = new Map<string, string>();

/**
 * A stable statement name for `text` (a digest of it: the same text always gets the same name, on
 * every connection and in every process).
 *
 * @example
 * ```ts
 * await pool.query({ name: statementName(sql), text: sql, values: [key] });
 * ```
 */
export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `offline_tokens_${nodeCrypto().createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}
