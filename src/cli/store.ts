/**
 * `--store`: where the CLI keeps grants. `sqlite:PATH` (the SDK's default store and its file lock),
 * `redis://...` (needs `@keyv/redis` and `redis`), `postgres://...` (needs `@keyv/postgres` and `pg`).
 * @module
 */
import type Keyv from 'keyv';
import type { GrantLock } from '../index.ts';
import { CliError, EXIT, usageError } from './errors.ts';

/** The store options of the token manager for a `--store` value. */
export type StoreChoice = { sqlitePath: string } | { store: Keyv; lock: GrantLock };

export const DEFAULT_STORE = 'sqlite:./offline-tokens.sqlite';

/** Opens the store `spec` names; an optional package that is not installed is named in the error. */
export async function openStore(spec: string): Promise<StoreChoice> {
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === '') throw usageError('`--store sqlite:PATH` needs a path');
    return { sqlitePath: path };
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) {
    const redis = await importOptional(() => import('../redis.ts'), '@keyv/redis redis');
    return { store: redis.createRedisStore({ url: spec }), lock: redis.createRedisLock({ url: spec }) };
  }
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) {
    const [{ default: KeyvPostgres }, { default: KeyvClass }, postgres] = await Promise.all([
      importOptional(() => import('@keyv/postgres'), '@keyv/postgres pg'),
      import('keyv'),
      importOptional(() => import('../postgres.ts'), '@keyv/postgres pg'),
    ]);
    return {
      store: new KeyvClass({ store: new KeyvPostgres({ uri: spec }) }),
      lock: postgres.createPostgresLock({ connectionString: spec }),
    };
  }
  throw usageError(`Unknown store ${JSON.stringify(spec.replace(/\/\/[^@/]*@/, '//***@'))}: use sqlite:PATH, redis://... or postgres://...`);
}

/** Imports an optional peer dependency, or explains which packages to install. */
async function importOptional<T>(load: () => Promise<T>, packages: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new CliError(EXIT.failure, `This store needs optional packages that are not installed: run \`npm install ${packages}\``);
    }
    throw error;
  }
}
