/**
 * The manager's watch over idle grants: the keep-alive that rotates them before they lapse, and the
 * `reauthSoon` warnings for grants about to die, fed by every grant cached or scanned.
 * @module
 */
import type { TokenManagerError } from '../errors.ts';
import type { TokenManagerEventName, TokenManagerEvents } from '../events.ts';
import type { Grant } from '../grant/grant.ts';
import { startKeepAlive, type KeepAlive, type KeepAliveOptions } from '../scheduling/keep-alive.ts';
import { ReauthWarnings } from '../scheduling/reauth-warnings.ts';
import type { GrantStore } from '../storage/grant-store.ts';

/** What the watch needs from the manager. @internal */
export interface GrantWatchHost {
  /** Clock, epoch ms. */
  now: () => number;
  store: GrantStore;
  /** Rotates the grant of `key` now (across the fleet), unless it moved past `seenRotations`. */
  rotate(key: string, seenRotations: number): Promise<Grant>;
  emit<E extends TokenManagerEventName>(event: E, payload: TokenManagerEvents[E]): void;
}

/** Keep-alive and `reauthSoon` warnings of one manager. @internal */
export class GrantWatch {
  readonly #host: GrantWatchHost;
  readonly #warnings: ReauthWarnings;
  #keepAlive: KeepAlive | undefined;

  constructor(host: GrantWatchHost, options: { maxCachedGrants: number; maxGrantLifetimeMs: number; reauthWarningMs: number }) {
    this.#host = host;
    this.#warnings = new ReauthWarnings({ ...options, maxEntries: options.maxCachedGrants });
  }

  /** A grant was put in the cache: keep it alive, warn if it is about to die. */
  onCached(grant: Grant): void {
    this.#keepAlive?.track(grant);
    this.#warnIfDying(grant);
  }

  /** Starts the keep-alive (or returns the one running). */
  startKeepAlive(options: KeepAliveOptions): KeepAlive {
    this.#keepAlive ??= startKeepAlive({
      now: this.#host.now,
      listGrants: () => this.#scanGrants(),
      rotate: (key, seenRotations) => this.#host.rotate(key, seenRotations),
      onError: (key, error) => this.#host.emit('refreshFailed', { key, error }),
    }, options);
    return this.#keepAlive;
  }

  /** Stops the keep-alive, if running. */
  stopKeepAlive(): void {
    this.#keepAlive?.stop();
    this.#keepAlive = undefined;
  }

  /** Every stored grant, announcing those about to die; unreadable records are reported as `refreshFailed`. */
  async *#scanGrants(): AsyncGenerator<Grant> {
    for await (const grant of this.#host.store.listGrants((key, error) => this.#host.emit('refreshFailed', { key, error: error as TokenManagerError }))) {
      if (grant.status === 'active') this.#warnIfDying(grant);
      yield grant;
    }
  }

  /** Emits `reauthSoon` once per grant and deadline when the deadline is near. */
  #warnIfDying(grant: Grant): void {
    const warning = this.#warnings.check(grant, this.#host.now());
    if (warning !== undefined) this.#host.emit('reauthSoon', warning);
  }
}
