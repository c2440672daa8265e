/**
 * The write-behind of rotated grants the store refused. The server already rotated: the new grant
 * exists only here until the store takes it, so it is never dropped. Each is retried with backoff
 * and written before anything else touches its key (`flush`), and one last time on close.
 * @module
 */
import type { TokenManagerError } from '../errors.ts';
import type { Grant } from '../grant/grant.ts';
import type { GrantStore } from '../storage/grant-store.ts';
import { backoffDelayMs, type BackoffPolicy } from '../util/backoff.ts';

/** Persist retries: 0.5 s doubling up to 30 s. */
const PERSIST_BACKOFF: BackoffPolicy = { minMs: 500, maxMs: 30_000 };

/** A rotated grant the store refused, with the refresh token it was rotated from (its write's fence). */
export interface Unpersisted {
  grant: Grant;
  rotatedFrom: string;
}

interface Held extends Unpersisted {
  attempt: number;
  timer: NodeJS.Timeout | undefined;
}

/** What the write-behind reports to its owner. */
export interface WriteBehindHooks {
  /** A grant is held (the store refused it); `attempt` counts the failed writes. */
  onHeld(grant: Grant, error: TokenManagerError, attempt: number): void;
  /** A held grant was written. */
  onPersisted(grant: Grant): void;
}

/** Holds and retries rotated grants the store refused. @internal */
export class WriteBehind {
  readonly #held = new Map<string, Held>();
  readonly #store: GrantStore;
  readonly #hooks: WriteBehindHooks;
  readonly #signal: AbortSignal;

  /** `signal` ends the background retries (the manager closing). */
  constructor(store: GrantStore, hooks: WriteBehindHooks, signal: AbortSignal) {
    this.#store = store;
    this.#hooks = hooks;
    this.#signal = signal;
  }

  /** The held grant of `key`, newer than what the store has. */
  get(key: string): Grant | undefined {
    return this.#held.get(key)?.grant;
  }

  /** Keeps a rotated grant the store refused, and schedules a retry of its write. */
  hold(unpersisted: Unpersisted, error: TokenManagerError): void {
    const { grant } = unpersisted;
    const previous = this.#held.get(grant.key);
    const attempt = (previous?.attempt ?? 0) + 1;
    clearTimeout(previous?.timer);
    const timer = setTimeout(() => {
      this.flush(grant.key, this.#signal).catch(() => {});
    }, backoffDelayMs(PERSIST_BACKOFF, attempt - 1));
    timer.unref();
    this.#held.set(grant.key, { ...unpersisted, attempt, timer });
    this.#hooks.onHeld(grant, error, attempt);
  }

  /**
   * Writes the held grant of `key`, if any (fenced: a newer grant in the store, e.g. a new consent,
   * wins and the held one is dropped). The caller may touch the key only once this resolves.
   */
  async flush(key: string, signal: AbortSignal | undefined): Promise<void> {
    const held = this.#held.get(key);
    if (held === undefined) return;
    let written;
    try {
      written = await this.#store.setGrant(held.grant, signal, { refreshToken: held.rotatedFrom });
    } catch (error) {
      if (this.#held.get(key) === held && !signal?.aborted) this.hold(held, error as TokenManagerError);
      throw error;
    }
    if (this.#held.get(key) !== held) return;
    this.discard(key);
    if (written.ok) this.#hooks.onPersisted(held.grant);
  }

  /** Writes every held grant once; throws the first failure after trying all, and stops retrying. */
  async flushAll(): Promise<void> {
    let failure: unknown;
    for (const key of [...this.#held.keys()]) {
      try {
        await this.flush(key, undefined);
      } catch (error) {
        failure ??= error;
      }
    }
    // A failed last write re-armed its retry timer: nothing retries after this.
    for (const held of this.#held.values()) clearTimeout(held.timer);
    if (failure !== undefined) throw failure;
  }

  /** Forgets the held grant of `key` (a new consent or a revocation replaced it). */
  discard(key: string): void {
    clearTimeout(this.#held.get(key)?.timer);
    this.#held.delete(key);
  }
}
