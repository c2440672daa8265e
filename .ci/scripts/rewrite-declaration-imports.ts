/**
 * Used by `build.ts` after `tsc`: `rewriteRelativeImportExtensions` rewrites `./x.ts` to `./x.js` in
 * the emitted JavaScript but not in the declarations (TypeScript 7 keeps the specifier as written),
 * so a consumer without `skipLibCheck` would fail on `dist/*.d.ts`. This rewrites the relative `.ts`
 * specifiers of every `**\/*.d.ts` under a directory to `.js`, which resolve to the `.d.ts` next to them.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `from './x.ts'`, `import('../y/z.ts')`, `import './w.ts'`: relative specifiers only. */
const RELATIVE_TS = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g;

/** Rewrites the declarations under `dir` in place; returns how many files changed. */
export function rewriteDeclarationImports(dir: string): number {
  let rewritten = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path, 'utf8');
    const next = text.replace(RELATIVE_TS, (_match, head: string, quote: string, specifier: string) => `${head}${quote}${specifier}.js${quote}`);
    if (next !== text) {
      writeFileSync(path, next);
      rewritten++;
    }
  }
  return rewritten;
}
