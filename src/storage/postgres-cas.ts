/**
 * Compare-and-set on a `@keyv/postgres` store: one statement on the adapter's own pool (an
 * `UPDATE ... WHERE value = $expected`, re-checked by PostgreSQL on the newest row version when a
 * concurrent update commits first), answering the current value when it did not write.
 * @module
 */
import { statementName } from '../util/statement-name.ts';
import type { CasResult, RecordCas } from './cas.ts';

/** What is used of a `@keyv/postgres` adapter. */
interface KeyvPostgresLike {
  opts: { dialect: 'postgres'; schema: string; table: string };
  /** Passes its arguments to `pg`'s `pool.query`, which also takes a named statement (`{ name, text, values }`). */
  query(sql: string | { name: string; text: string; values: unknown[] }, values?: unknown[]): Promise<Array<Record<string, unknown>>>;
}

/** A {@link RecordCas} over a `@keyv/postgres` adapter, or `undefined` when `store` is not one. */
export function postgresRecordCas(store: object): RecordCas | undefined {
  const adapter = store as Partial<KeyvPostgresLike>;
  if (adapter.opts?.dialect !== 'postgres' || typeof adapter.query !== 'function') return undefined;
  const { schema, table } = adapter.opts;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) return undefined;
  const postgres = adapter as KeyvPostgresLike;
  const sql = `WITH written AS (UPDATE ${schema}.${table} SET value = $3 WHERE key = $1 AND value = $2 RETURNING 1)
    SELECT (SELECT count(*) FROM written)::int AS written, (SELECT value FROM ${schema}.${table} WHERE key = $1) AS current`;
  // Named: prepared once per connection of the adapter's pool, not parsed and planned per write.
  const name = statementName(sql);
  return {
    async compareAndSet(key: string, expected: string, next: string): Promise<CasResult> {
      const [row] = await postgres.query({ name, text: sql, values: [key, expected, next] });
      if (row?.written === 1) return { ok: true };
      return { ok: false, current: typeof row?.current === 'string' ? row.current : undefined };
    },
  };
}
