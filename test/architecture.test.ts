/**
 * The dependency rules of `src/` (README, Development), checked on the import graph: every relative
 * import of every source file, type-only imports included.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** file (relative to src) → the src files it imports (relative to src). */
const graph = new Map(sourceFiles(SRC).map((file) => {
  const text = readFileSync(file, 'utf8');
  const imports = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => relative(SRC, resolve(dirname(file), match[1]!)));
  return [relative(SRC, file), imports] as const;
}));

/** The room of a file: its folder, or the file itself at the top. */
const room = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file);

const BACKENDS = new Set(['locks/sqlite.ts', 'locks/redis.ts', 'locks/postgres.ts', 'locks/lease.ts', 'storage/sqlite.ts', 'storage/redis.ts']);
const ENTRY_POINTS = new Set(['index.ts', 'redis.ts', 'postgres.ts', 'defaults.ts']);

/** Which rooms each room may import, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  // errors.ts re-exports the error families of errors/, which import nothing outside errors/.
  'errors.ts': ['errors'],
  errors: [],
  providers: ['errors.ts'],
  util: ['errors.ts'],
  grant: ['errors.ts', 'util'],
  oauth: ['errors.ts', 'util', 'grant'],
  locks: ['errors.ts', 'util'],
  storage: ['errors.ts', 'util', 'grant'],
  scheduling: ['errors.ts', 'util', 'grant'],
  consent: ['errors.ts', 'util', 'grant', 'oauth', 'locks', 'storage'],
  refresh: ['errors.ts', 'util', 'grant', 'oauth', 'locks', 'storage', 'events.ts'],
  'events.ts': ['errors.ts', 'scheduling'],
  'options.ts': ['errors.ts', 'util', 'grant', 'locks', 'oauth'],
  'resolve-options.ts': ['errors.ts', 'util', 'grant', 'locks', 'oauth', 'consent', 'providers', 'options.ts'],
  // The CLI is a user of the package: it sees only the public entry points.
  cli: ['index.ts', 'redis.ts', 'postgres.ts'],
  telemetry: ['errors.ts', 'util', 'refresh'],
  // manager/: what the face stands on (its parts wired together, the calls beside handing out tokens).
  manager: ['errors.ts', 'util', 'grant', 'oauth', 'locks', 'storage', 'scheduling', 'refresh', 'events.ts', 'resolve-options.ts'],
  'manager.ts': ['errors.ts', 'util', 'grant', 'oauth', 'locks', 'storage', 'scheduling', 'consent', 'refresh', 'events.ts', 'options.ts', 'resolve-options.ts', 'manager'],
};

test('src has no import cycles', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    assert.notEqual(state.get(file), 'visiting', `import cycle: ${[...path, file].join(' → ')}`);
    state.set(file, 'visiting');
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
});

test('every room imports only the rooms below it', () => {
  const violations: string[] = [];
  for (const [file, imports] of graph) {
    const allowed = ALLOWED[room(file)];
    if (allowed === undefined) continue; // entry points, defaults, testing, providers: checked below
    for (const target of imports) {
      if (room(target) !== room(file) && !allowed.includes(room(target))) violations.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('only the composition root and the entry points import a concrete backend', () => {
  const violations: string[] = [];
  for (const [file, imports] of graph) {
    if (ENTRY_POINTS.has(file) || room(file) === 'testing' || room(file) === 'locks' || room(file) === 'storage') continue;
    for (const target of imports) if (BACKENDS.has(target)) violations.push(`${file} → ${target}`);
  }
  assert.deepEqual(violations, []);
});

test('refresh/ sees the lock interface and the grant store, never a backend', () => {
  for (const [file, imports] of graph) {
    if (room(file) !== 'refresh') continue;
    for (const target of imports) {
      if (room(target) === 'locks') assert.equal(target, 'locks/lock.ts', `${file} → ${target}`);
      if (room(target) === 'storage') assert.equal(target, 'storage/grant-store.ts', `${file} → ${target}`);
    }
  }
});

test('index.ts only re-exports', () => {
  const text = readFileSync(join(SRC, 'index.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    assert.match(line, /^(export\b|[\w\s,{}]+$|\} from '|type\b)/, `index.ts: ${line}`);
  }
});

test('no module statically imports node:sqlite (it warns on Node 22 for every user)', () => {
  for (const file of graph.keys()) {
    const text = readFileSync(join(SRC, file), 'utf8');
    assert.doesNotMatch(text, /^import (?!type )[^;]*'node:sqlite'/m, file);
  }
});

test('manager/ is seen only by manager.ts (the face stands on it; nothing below reaches up)', () => {
  for (const [file, imports] of graph) {
    if (room(file) === 'manager' || file === 'manager.ts') continue;
    for (const target of imports) assert.notEqual(room(target), 'manager', `${file} → ${target}`);
  }
});

test('no file in src/ is over 250 lines (one concept per file)', () => {
  const long = [...graph.keys()]
    .map((file) => ({ file, lines: readFileSync(join(SRC, file), 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > 250);
  assert.deepEqual(long, []);
});
