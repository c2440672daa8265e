/**
 * Rollback detection: the highest rotation count this process has seen for each grant, so that an
 * older copy of a grant written back to the store (a restored backup, someone with write access to
 * the store) is refused instead of making the SDK present an already-rotated refresh token.
 * Bounded: the marks of the least recently seen grants are forgotten first.
 * @module
 */
import { RecordError } from '../errors.ts';
import type { Grant } from '../grant/grant.ts';

interface Mark {
  /** Identifies the grant (one consent): a new consent under the same key starts a new count. */
  createdAt: number;
  rotations: number;
}

/** @internal */
export class RollbackGuard {
  readonly #marks = new Map<string, Mark>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /**
   * Records a grant read from the store.
   * @throws {RecordError} when it is an older copy of a grant this process has seen further rotated.
   */
  check(grant: Grant): void {
    const mark = this.#marks.get(grant.key);
    if (mark !== undefined && mark.createdAt === grant.createdAt && grant.rotations <= mark.rotations) {
      if (grant.rotations === mark.rotations) return;
      throw new RecordError('A stored grant is older than one this process has already seen (rolled back): refused, the rotated-away refresh token is not presented');
    }
    this.#record(grant, mark);
  }

  /** Records a grant read or written. */
  see(grant: Grant): void {
    this.#record(grant, this.#marks.get(grant.key));
  }

  #record(grant: Grant, mark: Mark | undefined): void {
    if (mark !== undefined && mark.createdAt === grant.createdAt && mark.rotations >= grant.rotations) return;
    if (mark !== undefined) {
      // Updated in place (no allocation), moved to the back of the eviction order.
      this.#marks.delete(grant.key);
      mark.createdAt = grant.createdAt;
      mark.rotations = grant.rotations;
      this.#marks.set(grant.key, mark);
      return;
    }
    if (this.#marks.size >= this.#maxEntries) this.#marks.delete(this.#marks.keys().next().value!);
    this.#marks.set(grant.key, { createdAt: grant.createdAt, rotations: grant.rotations });
  }
}
