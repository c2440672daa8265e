/**
 * Progress lines for long tests. The test runner shows `t.diagnostic()` and `console.log` output only
 * once a test (or, under `node --test`, a whole file) has finished; a test that runs for a minute would
 * leave the terminal silent. `progress()` writes one line to stderr at once; `npm test` (`test/run.ts`)
 * passes stderr through live, prefixed with the file's name, so no stretch of the run is silent.
 * Never put a token or a secret in a progress line (the leak check reads them too).
 *
 * @example
 * progress(`${done}/${ITERATIONS} kills`);
 */
export function progress(message: string): void {
  process.stderr.write(`progress: ${message}\n`);
}

/**
 * Calls {@link progress} at most every `everyMs` (default 5 s), with the line `line()` builds then.
 * @example
 * const tick = throttledProgress(() => `${done}/${ITERATIONS} kills`);
 * for (...) { ...; tick(); }
 */
export function throttledProgress(line: () => string, everyMs = 5_000, now: () => number = Date.now): () => void {
  let last = now();
  return () => {
    if (now() - last < everyMs) return;
    last = now();
    progress(line());
  };
}
