/**
 * Forced garbage collection for sections that measure the heap or want each timed run to start
 * without the previous run's garbage.
 * @module
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let cached: (() => void) | null | undefined;

/**
 * `globalThis.gc` when node runs with `--expose-gc`; otherwise the same function taken from a new
 * context after setting the flag at run time (as Jest's `--logHeapUsage` does), so `npm run bench`
 * needs no flag and the other sections keep running without a global `gc`. `undefined` when neither
 * works.
 *
 * @example
 * ```ts
 * const gc = forcedGc();
 * if (gc === undefined) context.note('no forced GC: heap figures include garbage');
 * ```
 */
export function forcedGc(): (() => void) | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return (cached = exposed);
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    cached = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}

/** Three forced full collections (weak references and finalizers settle over more than one); nothing without a forced GC. */
export function collectGarbage(): void {
  const gc = forcedGc();
  for (let i = 0; gc !== undefined && i < 3; i++) gc();
}

/** `process.memoryUsage().heapUsed` after {@link collectGarbage}. */
export function heapUsedAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
