/**
 * Deadlines of store and lock operations without a timer per operation: every operation of a store
 * (or a lock backend) has the same timeout, so deadlines expire in the order the operations started. Pending operations sit in
 * one insertion-ordered set and a single timer, armed for the oldest, rejects those past their
 * deadline. An operation costs a set insertion and deletion, not a `setTimeout`/`clearTimeout` pair
 * and a `Promise.race`.
 * @module
 */

interface Pending {
  readonly deadline: number;
  readonly reject: (error: unknown) => void;
  readonly timeoutError: () => Error;
}

/** @internal */
export class Deadlines {
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #pending = new Set<Pending>();
  #timer: NodeJS.Timeout | undefined;

  /** `now`: a monotonic clock in ms (real time: the deadline is a real timer's). */
  constructor(timeoutMs: number, now: () => number = () => performance.now()) {
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  /**
   * Settles like `operation`, or rejects with `timeoutError()` once the timeout has passed.
   *
   * @example
   * ```ts
   * const deadlines = new Deadlines(5_000);
   * const value = await deadlines.race(keyv.get(key), () => new StoreError('A store read did not finish within 5000 ms'));
   * ```
   */
  race<T>(operation: Promise<T>, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { deadline: this.#now() + this.#timeoutMs, reject, timeoutError };
      this.#pending.add(pending);
      this.#timer ??= this.#arm(this.#timeoutMs);
      operation.then(
        (value) => {
          this.#pending.delete(pending);
          resolve(value);
        },
        (error: unknown) => {
          this.#pending.delete(pending);
          reject(error);
        },
      );
    });
  }

  #arm(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(delayMs)));
    // A store operation in flight does not keep the process alive by its deadline alone.
    timer.unref();
    return timer;
  }

  #expire(): void {
    this.#timer = undefined;
    const now = this.#now();
    for (const pending of this.#pending) {
      if (pending.deadline > now) {
        this.#timer = this.#arm(pending.deadline - now);
        return;
      }
      this.#pending.delete(pending);
      pending.reject(pending.timeoutError());
    }
  }
}
