/**
 * The SDK's view of the user's Keyv: grants (read, fenced writes as results, listing), on top of
 * {@link KeyvRecords} (failures as {@link StoreError}, pending consents, server state).
 * @module
 */
import type Keyv from 'keyv';
import { RecordError, StoreError, TokenManagerError } from '../errors.ts';
import type { Grant } from '../grant/grant.ts';
import { decodeGrant, encodeGrant } from '../grant/record.ts';
import { RollbackGuard } from './rollback-guard.ts';
import { adapterKey, type CasResult, type RecordCas } from './cas.ts';
import { KeyvRecords, type KeyvRecordsOptions } from './keyv-records.ts';
import { RememberedRecords } from './remembered.ts';
import { landed, staleWrite, WRITTEN, type WriteResult } from './fenced-write.ts';

export type { PendingAuthorization } from './pending.ts';
export type { WriteResult } from './fenced-write.ts';

/** An in-flight marker prepared for the lock's acquisition round trip ({@link GrantStore.prepareMark}). @internal */
export interface PreparedMark {
  /** The grant as marked. */
  grant: Grant;
  /** Its record (Keyv level). */
  value: string;
  /** The raw record it replaces (as the adapter stores it). */
  expected: string;
  /** Its raw record. */
  next: string;
}

/** Compare-and-set attempts on records whose refresh token still matches the fence but that changed otherwise. */
const MAX_CAS_ATTEMPTS = 4;

/** Options of {@link GrantStore}. @internal */
export interface GrantStoreOptions extends KeyvRecordsOptions {
  /** How many grants' rotation counts are remembered for rollback detection (default 10,000). */
  maxTrackedGrants?: number;
  /**
   * The backend's atomic compare-and-set (`findRecordCas`): a fenced write is then one round trip
   * instead of a read and a write. Default: none, the generic read-then-write under the lock lease.
   */
  cas?: RecordCas | undefined;
}

/** @internal */
export class GrantStore extends KeyvRecords {
  readonly #rollback: RollbackGuard;
  /** Grants just read from plaintext records while encryption is on: to be re-encrypted. */
  readonly #plaintext = new WeakSet<Grant>();
  readonly #cas: RecordCas | undefined;
  /** With a CAS: the stored value (Keyv level) last read or written per grant key, and its refresh token. */
  readonly #seen = new RememberedRecords();

  constructor(keyv: Keyv, options: GrantStoreOptions) {
    super(keyv, options);
    this.#rollback = new RollbackGuard(options.maxTrackedGrants ?? 10_000);
    this.#cas = options.cas;
  }

  /** Whether fenced writes are an atomic compare-and-set (else a read then a write). */
  get compareAndSet(): boolean {
    return this.#cas !== undefined;
  }

  /** Reads a grant. `undefined` means "nothing stored"; a failure throws {@link StoreError}. */
  async getGrant(key: string, signal?: AbortSignal, prefetched?: string | null): Promise<Grant | undefined> {
    const storeKey = this.#grantKey(key);
    if (prefetched !== undefined && typeof this.keyv.deserialize === 'function') {
      // Read by the lock with the lease, in the same round trip: the raw value Keyv stores.
      const value = prefetched === null ? undefined : (await this.keyv.deserialize(prefetched) as { value?: unknown } | undefined)?.value;
      return this.#decodeStored(key, storeKey, value, prefetched ?? undefined);
    }
    const stored = await this.run('read', () => this.keyv.get(storeKey), signal);
    return this.#decodeStored(key, storeKey, stored);
  }

  /** `serialized`: the raw record `stored` was deserialized from, when known (read with a lease, or answered by a compare-and-set). */
  #decodeStored(key: string, storeKey: string, stored: unknown, serialized?: string): Grant | undefined {
    if (stored === undefined || stored === null) {
      this.#seen.forget(key);
      return undefined;
    }
    const grant = decodeGrant(this.codec.decode(storeKey, stored, 'grant'));
    if (grant.key !== key) throw new RecordError('A stored grant was written for another key: it is not used');
    if (!this.owns(grant)) throw new RecordError('A stored grant belongs to another issuer or client: it is not used');
    this.#rollback.check(grant);
    if (this.codec.isPlaintext?.(stored) === true) this.#plaintext.add(grant);
    if (this.#cas !== undefined && typeof stored === 'string') this.#seen.remember(grant, stored, serialized);
    return grant;
  }


  /** Whether `grant` was just read from a plaintext record while encryption is on (see {@link GrantStore.reencryptGrant}). */
  wasPlaintext(grant: Grant): boolean {
    return this.#plaintext.has(grant);
  }

  /** Re-encrypts the grant of `key` if it is still stored in clear. Call it under the grant's lock: this is a read then a write. */
  async reencryptGrant(key: string, signal?: AbortSignal): Promise<void> {
    const storeKey = this.#grantKey(key);
    const stored = await this.run('read', () => this.keyv.get(storeKey), signal);
    if (this.codec.isPlaintext?.(stored) !== true) return;
    const value = this.codec.encode(storeKey, encodeGrant(decodeGrant(this.codec.decode(storeKey, stored, 'grant'))));
    await this.run('write', () => this.keyv.set(storeKey, value), signal);
  }

  /**
   * Writes a grant. Resolves only once the store acknowledged it. With `fence`, the write happens only
   * if the stored grant still holds `fence.refreshToken` (nobody rotated, re-consented or revoked
   * since it was read); otherwise nothing is written and the result carries what the store holds.
   * Keyv offers no compare-and-set, so this is a read then a write: the lock lease covers the gap.
   * With the backend's compare-and-set, `fence.writeAndRelease` (a lease's, on the same server: see
   * `Lease.writeAndRelease`) does the compare-and-set instead, releasing the lease when it writes.
   */
  async setGrant(grant: Grant, signal?: AbortSignal, fence?: { refreshToken: string; writeAndRelease?: ((expected: string, next: string) => Promise<CasResult>) | undefined }): Promise<WriteResult> {
    if (fence !== undefined && this.#cas !== undefined) {
      const { writeAndRelease } = fence;
      const cas = this.#cas;
      return this.#compareAndSetGrant(writeAndRelease === undefined ? cas.compareAndSet.bind(cas) : (_key, expected, next) => writeAndRelease(expected, next), grant, fence.refreshToken, signal);
    }
    if (fence !== undefined) {
      const current = await this.getGrant(grant.key, signal);
      if (current?.refreshToken !== fence.refreshToken) return staleWrite(current);
    }
    const storeKey = this.#grantKey(grant.key);
    const value = this.codec.encode(storeKey, encodeGrant(grant));
    this.#seen.forget(grant.key);
    const ok = await this.run('write', () => this.keyv.set(storeKey, value), signal);
    if (ok === false) throw new StoreError('The store did not acknowledge writing a grant');
    this.#rollback.see(grant);
    if (this.#cas !== undefined) this.#seen.remember(grant, value);
    return WRITTEN;
  }

  /**
   * A fenced write as one compare-and-set on the stored record last seen (read or written here), when
   * it still holds the fence's refresh token; a record changed otherwise (a marker) is compared again
   * with what the store answered. Nothing seen yet: one read first.
   */
  async #compareAndSetGrant(compareAndSet: RecordCas['compareAndSet'], grant: Grant, rotatedFrom: string, signal: AbortSignal | undefined): Promise<WriteResult> {
    const storeKey = this.#grantKey(grant.key);
    const casKey = adapterKey(this.keyv, storeKey);
    const value = this.codec.encode(storeKey, encodeGrant(grant));
    let seen = this.#seen.get(grant.key);
    if (seen === undefined || seen.grant.refreshToken !== rotatedFrom) {
      const current = await this.getGrant(grant.key, signal);
      if (landed(current, grant, rotatedFrom)) return WRITTEN;
      if (current?.refreshToken !== rotatedFrom) return staleWrite(current);
      seen = this.#seen.get(grant.key);
      if (seen === undefined) throw new StoreError('The store answered a record it cannot compare');
    }
    const next = await this.#serialize(value);
    for (let attempt = 1; ; attempt++) {
      const expected = seen.serialized ?? await this.#serialize(seen.value);
      const result = await this.run('write', () => compareAndSet(casKey, expected, next), signal);
      if (result.ok) {
        this.#seen.remember(grant, value, next);
        return WRITTEN;
      }
      const stored = result.current === undefined ? undefined : (await this.keyv.deserialize!(result.current) as { value?: unknown } | undefined)?.value;
      const current = this.#decodeStored(grant.key, storeKey, stored, result.current);
      if (landed(current, grant, rotatedFrom)) return WRITTEN;
      if (current?.refreshToken !== rotatedFrom || attempt === MAX_CAS_ATTEMPTS) return staleWrite(current);
      seen = this.#seen.get(grant.key)!;
    }
  }

  /**
   * With the compare-and-set: the in-flight marker `mark` makes of the grant last seen for `key`
   * (`undefined`: none), as the raw values a lock reading the record with its lease can compare and
   * write in the same round trip (`WithLockOptions.premark`). {@link GrantStore.markLanded} once it did.
   */
  async prepareMark(key: string, mark: (seen: Grant) => Grant | undefined): Promise<PreparedMark | undefined> {
    const seen = this.#seen.get(key);
    if (this.#cas === undefined || seen === undefined) return undefined;
    const grant = mark(seen.grant);
    if (grant === undefined) return undefined;
    const value = this.codec.encode(this.#grantKey(key), encodeGrant(grant));
    return { grant, value, expected: seen.serialized ?? await this.#serialize(seen.value), next: await this.#serialize(value) };
  }

  /** The prepared marker was written with the lease: it is the record the next compare-and-set expects. */
  markLanded(prepared: PreparedMark): void {
    this.#seen.remember(prepared.grant, prepared.value, prepared.next);
  }

  /** The raw value Keyv stores for `value` without a TTL (as `keyv.set` writes it). */
  async #serialize(value: string): Promise<string> {
    return await this.keyv.serialize!({ value, expires: undefined }) as string;
  }

  /**
   * Every stored grant, for keep-alive. Records that cannot be decoded are passed to `onError` and
   * skipped. Throws when the store cannot be listed.
   */
  async *listGrants(onError: (key: string, error: unknown) => void): AsyncGenerator<Grant> {
    if (typeof this.keyv.iterator !== 'function') {
      throw new StoreError('This store cannot be listed (its Keyv adapter has no iterator): keep-alive sees only grants used in this process');
    }
    try {
      for await (const [storeKey, value] of this.keyv.iterator(this.keyv.namespace) as AsyncIterable<[string, unknown]>) {
        const prefix = `${this.prefix}grant:`;
        if (!storeKey.startsWith(prefix)) continue;
        const key = storeKey.slice(prefix.length);
        let grant: Grant;
        try {
          grant = decodeGrant(this.codec.decode(storeKey, value, 'grant'));
          if (grant.key !== key) throw new RecordError('A stored grant was written for another key: it is not used');
        } catch (error) {
          onError(key, error);
          continue;
        }
        // Another manager's grant in a shared namespace: not ours to list.
        if (this.owns(grant)) yield grant;
      }
    } catch (error) {
      if (error instanceof TokenManagerError) throw error;
      throw new StoreError('Listing the store failed', { cause: error });
    }
  }

  /** Deletes a grant. */
  async deleteGrant(key: string, signal?: AbortSignal): Promise<void> {
    this.#seen.forget(key);
    await this.run('delete', () => this.keyv.delete(this.#grantKey(key)), signal);
  }

  /** The key the store's Keyv adapter holds `key`'s grant under (for a lock that reads it with the lease). */
  adapterGrantKey(key: string): string {
    return adapterKey(this.keyv, this.#grantKey(key));
  }

  #grantKey(key: string): string {
    return `${this.prefix}grant:${key}`;
  }

}
