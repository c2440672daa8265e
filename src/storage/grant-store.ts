/**
 * The SDK's view of the user's Keyv: grants and pending authorizations, with store failures turned
 * into {@link StoreError} (Keyv 5 swallows them by default, so an outage would read as "no grant").
 * @module
 */
import type Keyv from 'keyv';
import { raceSignal } from '../util/abort.ts';
import { RecordError, StoreError, TokenManagerError } from '../errors.ts';
import type { Grant } from '../grant/grant.ts';
import { decodeGrant, encodeGrant } from '../grant/record.ts';
import { plainCodec, type RecordCodec } from '../grant/codec.ts';
import { sameIssuer } from '../grant/issuer.ts';
import { RollbackGuard } from './rollback-guard.ts';
import { adapterKey, type RecordCas } from './cas.ts';

/** Raw records remembered for compare-and-set (the last read or written per key), at most this many. */
const MAX_REMEMBERED = 1_024;
/** Compare-and-set attempts on records whose refresh token still matches the fence but that changed otherwise. */
const MAX_CAS_ATTEMPTS = 4;

/**
 * A consent in progress, kept under its `state` until the callback, single use.
 * @internal
 */
export interface PendingAuthorization {
  key: string;
  /** The issuer and client the consent was started for: checked on the callback. */
  issuer: string;
  clientId: string;
  codeVerifier: string;
  /** OpenID Connect only. */
  nonce: string | undefined;
  redirectUri: string;
  scope: string;
  /** Epoch ms after which the callback is refused. */
  expiresAt: number;
}


/** Options of {@link GrantStore}. @internal */
export interface GrantStoreOptions {
  /** Deadline of one store operation. */
  operationTimeoutMs: number;
  codec?: RecordCodec;
  /** Prefix of every key (`<namespace>:grant:<key>`); `''` for the v0.1 layout (`grant:<key>`). Default `''`. */
  namespace?: string;
  /**
   * The issuer and client whose records this store reads: a record of another (or under another key)
   * is a {@link RecordError}, never used. Default: not checked.
   */
  owner?: { issuer: string; clientId: string };
  /** How many grants' rotation counts are remembered for rollback detection (default 10,000). */
  maxTrackedGrants?: number;
  /**
   * The backend's atomic compare-and-set (`findRecordCas`): a fenced write is then one round trip
   * instead of a read and a write. Default: none, the generic read-then-write under the lock lease.
   */
  cas?: RecordCas | undefined;
}

/** @internal */
export class GrantStore {
  readonly keyv: Keyv;
  readonly #timeoutMs: number;
  readonly #codec: RecordCodec;
  readonly #prefix: string;
  readonly #owner: { issuer: string; clientId: string } | undefined;
  readonly #rollback: RollbackGuard;
  /** Grants just read from plaintext records while encryption is on: to be re-encrypted. */
  readonly #plaintext = new WeakSet<Grant>();
  readonly #cas: RecordCas | undefined;
  /** With a CAS: the stored value (Keyv level) last read or written per grant key, and its refresh token. */
  readonly #seen = new Map<string, { refreshToken: string; value: string }>();

  constructor(keyv: Keyv, options: GrantStoreOptions) {
    // Without this, Keyv 5 resolves `get` to undefined and `set` to false when the store fails.
    keyv.throwOnErrors = true;
    this.keyv = keyv;
    this.#timeoutMs = options.operationTimeoutMs;
    this.#codec = options.codec ?? plainCodec;
    this.#prefix = options.namespace === undefined || options.namespace === '' ? '' : `${options.namespace}:`;
    this.#owner = options.owner;
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
      return this.#decodeStored(key, storeKey, value);
    }
    const stored = await this.#run('read', () => this.keyv.get(storeKey), signal);
    return this.#decodeStored(key, storeKey, stored);
  }

  #decodeStored(key: string, storeKey: string, stored: unknown): Grant | undefined {
    if (stored === undefined || stored === null) {
      this.#seen.delete(key);
      return undefined;
    }
    const grant = decodeGrant(this.#codec.decode(storeKey, stored, 'grant'));
    if (grant.key !== key) throw new RecordError('A stored grant was written for another key: it is not used');
    if (!this.#owns(grant)) throw new RecordError('A stored grant belongs to another issuer or client: it is not used');
    this.#rollback.check(grant);
    if (this.#codec.isPlaintext?.(stored) === true) this.#plaintext.add(grant);
    if (this.#cas !== undefined && typeof stored === 'string') this.#remember(key, grant.refreshToken, stored);
    return grant;
  }

  #remember(key: string, refreshToken: string, value: string): void {
    this.#seen.delete(key);
    this.#seen.set(key, { refreshToken, value });
    if (this.#seen.size > MAX_REMEMBERED) this.#seen.delete(this.#seen.keys().next().value!);
  }

  /** Whether a record belongs to this store's issuer and client. */
  #owns(record: { issuer: string; clientId: string }): boolean {
    return this.#owner === undefined
      || (record.clientId === this.#owner.clientId && sameIssuer(record.issuer, this.#owner.issuer));
  }

  /** Whether `grant` was just read from a plaintext record while encryption is on (see {@link GrantStore.reencryptGrant}). */
  wasPlaintext(grant: Grant): boolean {
    return this.#plaintext.has(grant);
  }

  /** Re-encrypts the grant of `key` if it is still stored in clear. Call it under the grant's lock: this is a read then a write. */
  async reencryptGrant(key: string, signal?: AbortSignal): Promise<void> {
    const storeKey = this.#grantKey(key);
    const stored = await this.#run('read', () => this.keyv.get(storeKey), signal);
    if (this.#codec.isPlaintext?.(stored) !== true) return;
    const value = this.#codec.encode(storeKey, encodeGrant(decodeGrant(this.#codec.decode(storeKey, stored, 'grant'))));
    await this.#run('write', () => this.keyv.set(storeKey, value), signal);
  }

  /**
   * Writes a grant. Resolves only once the store acknowledged it. With `fence`, the write happens only
   * if the stored grant still holds `fence.refreshToken` (nobody rotated, re-consented or revoked
   * since it was read); otherwise nothing is written and the result carries what the store holds.
   * Keyv offers no compare-and-set, so this is a read then a write: the lock lease covers the gap.
   */
  async setGrant(grant: Grant, signal?: AbortSignal, fence?: { refreshToken: string }): Promise<WriteResult> {
    if (fence !== undefined && this.#cas !== undefined) return this.#compareAndSetGrant(this.#cas, grant, fence.refreshToken, signal);
    if (fence !== undefined) {
      const current = await this.getGrant(grant.key, signal);
      if (current?.refreshToken !== fence.refreshToken) return staleWrite(current);
    }
    const storeKey = this.#grantKey(grant.key);
    const value = this.#codec.encode(storeKey, encodeGrant(grant));
    this.#seen.delete(grant.key);
    const ok = await this.#run('write', () => this.keyv.set(storeKey, value), signal);
    if (ok === false) throw new StoreError('The store did not acknowledge writing a grant');
    this.#rollback.see(grant);
    if (this.#cas !== undefined) this.#remember(grant.key, grant.refreshToken, value);
    return WRITTEN;
  }

  /**
   * A fenced write as one compare-and-set on the stored record last seen (read or written here), when
   * it still holds the fence's refresh token; a record changed otherwise (a marker) is compared again
   * with what the store answered. Nothing seen yet: one read first.
   */
  async #compareAndSetGrant(cas: RecordCas, grant: Grant, rotatedFrom: string, signal: AbortSignal | undefined): Promise<WriteResult> {
    const storeKey = this.#grantKey(grant.key);
    const casKey = adapterKey(this.keyv, storeKey);
    const value = this.#codec.encode(storeKey, encodeGrant(grant));
    let seen = this.#seen.get(grant.key);
    if (seen === undefined || seen.refreshToken !== rotatedFrom) {
      const current = await this.getGrant(grant.key, signal);
      if (landed(current, grant, rotatedFrom)) return WRITTEN;
      if (current?.refreshToken !== rotatedFrom) return staleWrite(current);
      seen = this.#seen.get(grant.key);
      if (seen === undefined) throw new StoreError('The store answered a record it cannot compare');
    }
    const next = await this.#serialize(value);
    for (let attempt = 1; ; attempt++) {
      const expected = await this.#serialize(seen.value);
      const result = await this.#run('write', () => cas.compareAndSet(casKey, expected, next), signal);
      if (result.ok) {
        this.#remember(grant.key, grant.refreshToken, value);
        return WRITTEN;
      }
      const stored = result.current === undefined ? undefined : (await this.keyv.deserialize!(result.current) as { value?: unknown } | undefined)?.value;
      const current = this.#decodeStored(grant.key, storeKey, stored);
      if (landed(current, grant, rotatedFrom)) return WRITTEN;
      if (current?.refreshToken !== rotatedFrom || attempt === MAX_CAS_ATTEMPTS) return staleWrite(current);
      seen = this.#seen.get(grant.key)!;
    }
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
        const prefix = `${this.#prefix}grant:`;
        if (!storeKey.startsWith(prefix)) continue;
        const key = storeKey.slice(prefix.length);
        let grant: Grant;
        try {
          grant = decodeGrant(this.#codec.decode(storeKey, value, 'grant'));
          if (grant.key !== key) throw new RecordError('A stored grant was written for another key: it is not used');
        } catch (error) {
          onError(key, error);
          continue;
        }
        // Another manager's grant in a shared namespace: not ours to list.
        if (this.#owns(grant)) yield grant;
      }
    } catch (error) {
      if (error instanceof TokenManagerError) throw error;
      throw new StoreError('Listing the store failed', { cause: error });
    }
  }

  /** Deletes a grant. */
  async deleteGrant(key: string, signal?: AbortSignal): Promise<void> {
    this.#seen.delete(key);
    await this.#run('delete', () => this.keyv.delete(this.#grantKey(key)), signal);
  }

  /** Keeps a pending authorization until `pending.expiresAt` (`ttlMs` from now). */
  async putPending(state: string, pending: PendingAuthorization, ttlMs: number, signal?: AbortSignal): Promise<void> {
    const storeKey = this.#pendingKey(state);
    const value = this.#codec.encode(storeKey, JSON.stringify(pending));
    const ok = await this.#run('write', () => this.keyv.set(storeKey, value, ttlMs), signal);
    if (ok === false) throw new StoreError('The store did not acknowledge writing a pending authorization');
  }

  /**
   * Reads and deletes a pending authorization. Returns `undefined` when it is unknown or when another
   * caller took it first (the delete found nothing). Stores whose `delete` cannot tell two concurrent
   * callers apart (@keyv/postgres 2 reads then deletes) need the caller to hold a lock on the state.
   */
  async takePending(state: string, signal?: AbortSignal): Promise<PendingAuthorization | undefined> {
    const storeKey = this.#pendingKey(state);
    const stored = await this.#run('read', () => this.keyv.get(storeKey), signal);
    if (stored === undefined || stored === null) return undefined;
    const deleted = await this.#run('delete', () => this.keyv.delete(storeKey), signal);
    if (deleted === false) return undefined;
    const pending = parsePending(this.#codec.decode(storeKey, stored, 'pending'));
    if (pending !== undefined && !this.#owns(pending)) throw new RecordError('A pending consent belongs to another issuer or client: it is not used');
    return pending;
  }

  /** What is remembered about the authorization server (metadata cache, introspection), or `undefined`. */
  async readServerState(signal?: AbortSignal): Promise<unknown> {
    const storeKey = `${this.#prefix}server`;
    const stored = await this.#run('read', () => this.keyv.get(storeKey), signal);
    if (stored === undefined || stored === null) return undefined;
    try {
      return JSON.parse(this.#codec.decode(storeKey, stored, 'server'));
    } catch {
      return undefined;
    }
  }

  /** Writes what is remembered about the authorization server. */
  async writeServerState(state: object, signal?: AbortSignal): Promise<void> {
    const storeKey = `${this.#prefix}server`;
    const ok = await this.#run('write', () => this.keyv.set(storeKey, this.#codec.encode(storeKey, JSON.stringify(state))), signal);
    if (ok === false) throw new StoreError('The store did not acknowledge writing the server state');
  }

  /** The key the store's Keyv adapter holds `key`'s grant under (for a lock that reads it with the lease). */
  adapterGrantKey(key: string): string {
    return adapterKey(this.keyv, this.#grantKey(key));
  }

  #grantKey(key: string): string {
    return `${this.#prefix}grant:${key}`;
  }

  #pendingKey(state: string): string {
    return `${this.#prefix}pending:${state}`;
  }

  async #run<T>(operation: string, fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    // A plain timer, not an aborted AbortController: aborting builds a DOMException with a stack on
    // every operation (measured: 6-12 µs each).
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreError(`A store ${operation} did not finish within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      return await raceSignal(Promise.race([fn(), timeout]), signal);
    } catch (error) {
      if (error instanceof TokenManagerError || (signal?.aborted && error === signal.reason)) throw error;
      throw new StoreError(`A store ${operation} failed`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The outcome of a fenced write: written, or not because the store holds a different grant — a newer
 * one (another rotation, a new consent) or none (revoked). `current` holds tokens: never log it.
 */
export type WriteResult = { ok: true } | { ok: false; current: Grant | undefined };

const WRITTEN: WriteResult = { ok: true };

function staleWrite(current: Grant | undefined): WriteResult {
  return { ok: false, current };
}

/**
 * Whether the store already holds `grant`, rotated from `rotatedFrom`: an earlier attempt of this very
 * write that timed out, then landed (a compare-and-set is one command, which a frozen server runs later).
 */
function landed(current: Grant | undefined, grant: Grant, rotatedFrom: string): boolean {
  return current !== undefined && grant.refreshToken !== rotatedFrom && current.refreshToken === grant.refreshToken
    && current.accessToken === grant.accessToken && current.status === grant.status;
}

function parsePending(raw: string): PendingAuthorization | undefined {
  try {
    const value = JSON.parse(raw) as Partial<PendingAuthorization>;
    if (
      typeof value.key === 'string' && typeof value.codeVerifier === 'string'
      && (value.nonce === undefined || typeof value.nonce === 'string')
      && typeof value.issuer === 'string' && typeof value.clientId === 'string'
      && typeof value.redirectUri === 'string' && typeof value.scope === 'string' && typeof value.expiresAt === 'number'
    ) {
      return value as PendingAuthorization;
    }
  } catch {
    // fall through: an unreadable pending authorization is treated as unknown
  }
  return undefined;
}
