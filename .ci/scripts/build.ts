/**
 * `npm run build`: the package's `dist/`. `tsc -p tsconfig.build.json` type-checks `src/` and emits
 * the declarations (one `.d.ts` per source file, TSDoc kept, relative imports rewritten to `.js` by
 * `rewrite-declaration-imports.ts`); a second, unchecked `tsc` run emits the JavaScript without
 * comments into a staging directory, and rollup bundles it: one file per package entry point (the
 * `exports` and `bin` of package.json), everything the main entry point imports statically in one
 * shared chunk (`dist/chunks/core.js`), and every dynamic `import()` of the sources (the refresh
 * transaction, openid-client's seam, consent, revocation, the CLI's commands) a chunk loaded on first
 * use. A process that only serves a stored token loads 2 files of the SDK instead of ~55 modules
 * (`bench/cold-start.ts`).
 *
 * Dependencies, peers and built-ins (every bare or `node:` specifier) stay imports: nothing from
 * `node_modules` is bundled. Any rollup warning fails the build.
 *
 * `node .ci/scripts/build.ts [--out-dir DIR] [--no-declarations]` (defaults: `dist`, with declarations
 * and the type check; the cold-start bench builds into `.tmp/` without them).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { rollup, type RollupLog } from 'rollup';
import { rewriteDeclarationImports } from './rewrite-declaration-imports.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' }, 'no-declarations': { type: 'boolean' } } });
const outDir = resolve(ROOT, values['out-dir'] ?? 'dist');
const declarations = values['no-declarations'] !== true;
const staging = join(ROOT, '.tmp', `build-${process.pid}`);

interface PackageJson {
  exports: Record<string, string | { default?: string }>;
  bin: Record<string, string>;
}

/** `{ 'providers/index': 'providers/index.js' }`: every `./dist/*.js` the package's exports and bin name. */
function entryPoints(pkg: PackageJson): Record<string, string> {
  const targets = [...Object.values(pkg.exports).map((target) => (typeof target === 'string' ? target : target.default)), ...Object.values(pkg.bin)];
  const entries: Record<string, string> = {};
  for (const target of targets) {
    const match = target === undefined ? null : /^\.\/dist\/(.+)\.js$/.exec(target);
    if (match) entries[match[1]!] = `${match[1]!}.js`;
  }
  return entries;
}

/** The modules `entry` imports statically, directly or not (dynamic `import()`s excluded), and itself. */
function staticClosure(entry: string, moduleInfo: (id: string) => { importedIds: readonly string[] } | null): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    pending.push(...(moduleInfo(id)?.importedIds.filter((imported) => isAbsolute(imported)) ?? []));
  }
  return seen;
}

rmSync(outDir, { recursive: true, force: true });
rmSync(staging, { recursive: true, force: true });
try {
  const tsc = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), ...args], { cwd: ROOT, stdio: 'inherit' });
  // The declarations keep the TSDoc (editors show it); this run is also the type check.
  if (declarations) tsc('--outDir', join(staging, 'types'), '--emitDeclarationOnly');
  // The JavaScript without comments (a third of the bytes a process parses at start): already
  // type-checked above, so emitted without a second check.
  tsc('--outDir', join(staging, 'js'), '--declaration', 'false', '--removeComments', '--noCheck');

  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  const input = Object.fromEntries(Object.entries(entryPoints(pkg)).map(([name, file]) => [name, join(staging, 'js', file)]));
  const warnings: RollupLog[] = [];
  const bundle = await rollup({
    input,
    // Bare specifiers (dependencies, optional peers) and `node:` built-ins are the user's to resolve.
    external: (id) => !id.startsWith('.') && !isAbsolute(id),
    onwarn: (warning) => void warnings.push(warning),
  });
  const main = join(staging, 'js', 'index.js');
  let core: Set<string> | undefined;
  const { output } = await bundle.write({
    dir: outDir,
    format: 'es',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name].js',
    generatedCode: 'es2015',
    // Everything the main entry point imports statically is one chunk (one file to load, not five):
    // the other entry points that share modules with it import that chunk.
    manualChunks: (id, { getModuleInfo }) => {
      core ??= staticClosure(main, getModuleInfo);
      return core.has(id) ? 'core' : undefined;
    },
  });
  await bundle.close();
  if (warnings.length > 0) throw new Error(`rollup warned:\n${warnings.map((warning) => `  ${warning.code ?? ''}: ${warning.message}`).join('\n')}`);

  let declarationFiles = 0;
  if (declarations) {
    cpSync(join(staging, 'types'), outDir, { recursive: true });
    declarationFiles = rewriteDeclarationImports(outDir);
  }
  const chunks = output.filter((file) => file.type === 'chunk');
  console.log(`built ${outDir}: ${chunks.filter((chunk) => chunk.isEntry).length} entry points, ${chunks.filter((chunk) => !chunk.isEntry).length} chunks${declarations ? `, declarations (${declarationFiles} rewritten to .js imports)` : ''}`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}
