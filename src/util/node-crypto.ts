/**
 * `node:crypto`, loaded on first call instead of by a static import: the modules a cold start runs
 * through (serving a stored, valid token) never need it, and loading it (with the stream modules it
 * pulls in) is a measurable part of a new process's start.
 * @module
 */

/**
 * The `node:crypto` module, loaded synchronously on first use (`process.getBuiltinModule`).
 *
 * @example
 * ```ts
 * const id = nodeCrypto().randomUUID();
 * ```
 */
export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}
