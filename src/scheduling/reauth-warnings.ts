/**
 * `reauthSoon`: announce once per grant and deadline that a grant is about to die (its refresh token
 * lapses unused, or its absolute lifetime ends), so the app can ask the user in time.
 * @module
 */
import { grantDeadline, type Grant } from '../grant/grant.ts';

/** What a warning says. */
export interface ReauthWarning {
  key: string;
  at: number;
  reason: 'idle' | 'max_lifetime';
}

/** Remembers which deadlines were announced, for at most `maxEntries` grants (oldest forgotten first). @internal */
export class ReauthWarnings {
  readonly #announced = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #maxGrantLifetimeMs: number;
  readonly #warningMs: number;

  constructor(options: { maxEntries: number; maxGrantLifetimeMs: number; reauthWarningMs: number }) {
    this.#maxEntries = options.maxEntries;
    this.#maxGrantLifetimeMs = options.maxGrantLifetimeMs;
    this.#warningMs = options.reauthWarningMs;
  }

  /** The warning to emit for `grant` at `now`, once per deadline; `undefined` when none is due. */
  check(grant: Grant, now: number): ReauthWarning | undefined {
    const deadline = grantDeadline(grant, this.#maxGrantLifetimeMs);
    if (now < deadline.at - this.#warningMs || this.#announced.get(grant.key) === deadline.at) return undefined;
    this.#announced.delete(grant.key);
    this.#announced.set(grant.key, deadline.at);
    if (this.#announced.size > this.#maxEntries) this.#announced.delete(this.#announced.keys().next().value!);
    return { key: grant.key, at: deadline.at, reason: deadline.reason };
  }
}
