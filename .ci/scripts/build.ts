/**
 * `npm run build`: the package's `dist/`. `tsc -p tsconfig.build.json` compiles `src/` into a staging
 * directory; rollup bundles that JavaScript into one file per package entry point (the `exports` and
 * `bin` of package.json) plus shared chunks in `dist/chunks/`, and every dynamic `import()` of the
 * sources (the refresh transaction, openid-client's seam, consent, revocation, the CLI's commands)
 * stays a chunk loaded on first use. A process that only serves a stored token thus loads a handful of
 * files instead of ~55 modules (`bench/cold-start.ts`). The declarations stay tsc's, one `.d.ts` per
 * source file, their relative imports rewritten to `.js` (`rewrite-declaration-imports.ts`).
 *
 * Dependencies, peers and built-ins (every bare or `node:` specifier) stay imports: nothing from
 * `node_modules` is bundled. Any rollup warning fails the build.
 *
 * `node .ci/scripts/build.ts [--out-dir DIR] [--no-declarations]` (defaults: `dist`, with declarations;
 * the cold-start bench builds into `.tmp/` without them).
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

rmSync(outDir, { recursive: true, force: true });
rmSync(staging, { recursive: true, force: true });
try {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', staging, ...(declarations ? [] : ['--declaration', 'false'])], { cwd: ROOT, stdio: 'inherit' });

  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  const input = Object.fromEntries(Object.entries(entryPoints(pkg)).map(([name, file]) => [name, join(staging, file)]));
  const warnings: RollupLog[] = [];
  const bundle = await rollup({
    input,
    // Bare specifiers (dependencies, optional peers) and `node:` built-ins are the user's to resolve.
    external: (id) => !id.startsWith('.') && !isAbsolute(id),
    onwarn: (warning) => void warnings.push(warning),
  });
  const { output } = await bundle.write({ dir: outDir, format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name].js', generatedCode: 'es2015' });
  await bundle.close();
  if (warnings.length > 0) throw new Error(`rollup warned:\n${warnings.map((warning) => `  ${warning.code ?? ''}: ${warning.message}`).join('\n')}`);

  let declarationFiles = 0;
  if (declarations) {
    cpSync(staging, outDir, { recursive: true, filter: (source) => !source.endsWith('.js') });
    declarationFiles = rewriteDeclarationImports(outDir);
  }
  const chunks = output.filter((file) => file.type === 'chunk');
  console.log(`built ${outDir}: ${chunks.filter((chunk) => chunk.isEntry).length} entry points, ${chunks.filter((chunk) => !chunk.isEntry).length} chunks${declarations ? `, declarations (${declarationFiles} rewritten to .js imports)` : ''}`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}
