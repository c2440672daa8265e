/**
 * Bounding a request by the lock lease: abort it before the lease can run out, however often the
 * lease is renewed meanwhile.
 * @module
 */
import type { Lease } from '../locks/lock.ts';

/**
 * A signal aborted (with a `TimeoutError`: the request may have reached the server) once the lease has
 * less than `marginMs` left. Re-armed each time it fires while the lease keeps being renewed.
 */
export function watchLease(lease: Lease, marginMs: number): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    const leftMs = lease.remainingMs() - marginMs;
    if (leftMs <= 0) {
      controller.abort(new DOMException('The lock lease is about to run out', 'TimeoutError'));
      return;
    }
    timer = setTimeout(check, Math.min(leftMs, 2 ** 31 - 1));
  };
  if (Number.isFinite(lease.remainingMs())) check();
  return { signal: controller.signal, stop: () => clearTimeout(timer) };
}
