/**
 * Small helpers for cancellation: every async entry point takes an `AbortSignal` and rejects with
 * `signal.reason`.
 * @module
 */

/** Rejects with `signal.reason` as soon as `signal` aborts, else settles like `promise`. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Waits `ms` milliseconds, or rejects with `signal.reason` when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Aborts `controller` (with the same reason) when `signal` aborts, until the returned function is
 * called. Unlike `AbortSignal.any`, nothing is left registered on a long-lived `signal` once the
 * caller is done (`AbortSignal.any` keeps its dependents until a later GC cycle drops them).
 */
export function followSignal(signal: AbortSignal | undefined, controller: AbortController): () => void {
  if (signal === undefined) return noop;
  if (signal.aborted) {
    controller.abort(signal.reason);
    return noop;
  }
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function noop(): void {}

/**
 * Runs `fn` with a signal that aborts when `a` or `b` does, and unregisters from both when it settles
 * (for calls that combine a caller's signal with a long-lived one).
 */
export async function withEitherSignal<T>(a: AbortSignal | undefined, b: AbortSignal | undefined, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (a === undefined || b === undefined) return fn(a ?? b);
  const controller = new AbortController();
  const unfollowA = followSignal(a, controller);
  const unfollowB = followSignal(b, controller);
  try {
    return await fn(controller.signal);
  } finally {
    unfollowA();
    unfollowB();
  }
}

/** A signal that aborts when any of the given signals does; `undefined` entries are ignored. */
export function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

/** Throws `signal.reason` when `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}
