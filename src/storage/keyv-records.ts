/**
 * The SDK's records in the user's Keyv, with store failures turned into {@link StoreError} (Keyv 5
 * swallows them by default, so an outage would read as "no grant"): the plumbing every record shares
 * (deadline, codec, namespace, owner), and the small records beside the grants — pending consents and
 * what is remembered about the authorization server. Grants are {@link GrantStore}'s.
 * @module
 */
import type Keyv from 'keyv';
import { raceSignal } from '../util/abort.ts';
import { RecordError, StoreError, TokenManagerError } from '../errors.ts';
import { plainCodec, type RecordCodec } from '../grant/codec.ts';
import { sameIssuer } from '../grant/issuer.ts';
import { parsePending, type PendingAuthorization } from './pending.ts';
import { Deadlines } from '../util/deadlines.ts';

/** What every record of a store follows. @internal */
export interface KeyvRecordsOptions {
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
}

/** @internal */
export class KeyvRecords {
  readonly keyv: Keyv;
  readonly #timeoutMs: number;
  /** `undefined` for an in-memory `Map` store: its operations cannot hang, so they get no deadline. */
  readonly #deadlines: Deadlines | undefined;
  protected readonly codec: RecordCodec;
  /** `<namespace>:` or `''`. */
  protected readonly prefix: string;
  readonly #owner: { issuer: string; clientId: string } | undefined;

  constructor(keyv: Keyv, options: KeyvRecordsOptions) {
    // Without this, Keyv 5 resolves `get` to undefined and `set` to false when the store fails.
    keyv.throwOnErrors = true;
    this.keyv = keyv;
    this.#timeoutMs = options.operationTimeoutMs;
    this.#deadlines = keyv.store instanceof Map ? undefined : new Deadlines(options.operationTimeoutMs);
    this.codec = options.codec ?? plainCodec;
    this.prefix = options.namespace === undefined || options.namespace === '' ? '' : `${options.namespace}:`;
    this.#owner = options.owner;
  }

  /** Whether a record belongs to this store's issuer and client. */
  protected owns(record: { issuer: string; clientId: string }): boolean {
    return this.#owner === undefined
      || (record.clientId === this.#owner.clientId && sameIssuer(record.issuer, this.#owner.issuer));
  }

  /** Keeps a pending authorization until `pending.expiresAt` (`ttlMs` from now). */
  async putPending(state: string, pending: PendingAuthorization, ttlMs: number, signal?: AbortSignal): Promise<void> {
    const storeKey = this.#pendingKey(state);
    const value = this.codec.encode(storeKey, JSON.stringify(pending));
    const ok = await this.run('write', () => this.keyv.set(storeKey, value, ttlMs), signal);
    if (ok === false) throw new StoreError('The store did not acknowledge writing a pending authorization');
  }

  /**
   * Reads and deletes a pending authorization. Returns `undefined` when it is unknown or when another
   * caller took it first (the delete found nothing). Stores whose `delete` cannot tell two concurrent
   * callers apart (@keyv/postgres 2 reads then deletes) need the caller to hold a lock on the state.
   */
  async takePending(state: string, signal?: AbortSignal): Promise<PendingAuthorization | undefined> {
    const storeKey = this.#pendingKey(state);
    const stored = await this.run('read', () => this.keyv.get(storeKey), signal);
    if (stored === undefined || stored === null) return undefined;
    const deleted = await this.run('delete', () => this.keyv.delete(storeKey), signal);
    if (deleted === false) return undefined;
    const pending = parsePending(this.codec.decode(storeKey, stored, 'pending'));
    if (pending !== undefined && !this.owns(pending)) throw new RecordError('A pending consent belongs to another issuer or client: it is not used');
    return pending;
  }

  /** What is remembered about the authorization server (metadata cache, introspection), or `undefined`. */
  async readServerState(signal?: AbortSignal): Promise<unknown> {
    const storeKey = `${this.prefix}server`;
    const stored = await this.run('read', () => this.keyv.get(storeKey), signal);
    if (stored === undefined || stored === null) return undefined;
    try {
      return JSON.parse(this.codec.decode(storeKey, stored, 'server'));
    } catch {
      return undefined;
    }
  }

  /** Writes what is remembered about the authorization server. */
  async writeServerState(state: object, signal?: AbortSignal): Promise<void> {
    const storeKey = `${this.prefix}server`;
    const ok = await this.run('write', () => this.keyv.set(storeKey, this.codec.encode(storeKey, JSON.stringify(state))), signal);
    if (ok === false) throw new StoreError('The store did not acknowledge writing the server state');
  }

  #pendingKey(state: string): string {
    return `${this.prefix}pending:${state}`;
  }

  /** Runs one store operation within the operation deadline; a failure becomes a {@link StoreError}. */
  protected run<T>(operation: string, fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const failed = (error: unknown): never => {
      if (error instanceof TokenManagerError || (signal?.aborted && error === signal.reason)) throw error;
      throw new StoreError(`A store ${operation} failed`, { cause: error });
    };
    let done: Promise<T>;
    try {
      done = fn();
    } catch (error) {
      return Promise.reject(error).catch(failed);
    }
    // One shared deadline timer for all operations (not a timer, a race and an abort per operation).
    if (this.#deadlines !== undefined) done = this.#deadlines.race(done, () => new StoreError(`A store ${operation} did not finish within ${this.#timeoutMs} ms`));
    return raceSignal(done, signal).catch(failed);
  }
}
