/**
 * The store contract: what a Keyv store must do for the SDK to keep grants on it, as a `node:test`
 * suite run through the SDK's own view of the store. The SDK runs it against each store it is used
 * with; run it against yours.
 * @module
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type Keyv from 'keyv';
import { ConfigurationError } from '../errors.ts';
import type { Grant } from '../grant/grant.ts';
import type { GrantLock } from '../locks/lock.ts';
import { GrantStore, type PendingAuthorization } from '../storage/grant-store.ts';
import { findRecordCas } from '../storage/find-cas.ts';
import { nonEmptyString } from '../util/validate.ts';
import { makeGrant, makePending } from './fixtures.ts';

/**
 * The store under test, for {@link runStoreContract}.
 *
 * @example
 * ```ts
 * const subject: StoreContractSubject = {
 *   name: 'my store',
 *   create: () => new Keyv({ store: new KeyvMyStore(process.env.MY_URL!) }),
 * };
 * ```
 */
export interface StoreContractSubject {
  /** Names the suite: `store contract: <name>`. */
  name: string;
  /**
   * A Keyv on the store, as you would give it to the token manager. Called once, before the first
   * test; every test uses fresh keys, so the store need not be empty. The suite disconnects it once
   * it is done.
   */
  create(): Keyv | Promise<Keyv>;
  /**
   * The lock you would give the token manager with this store, when the store needs one: a store
   * whose `delete()` cannot tell two concurrent callers apart (@keyv/postgres reads then deletes) gets
   * single-use pending authorizations only from callers holding the lock on `pending:<state>`, as the
   * token manager does. Called once, before the first test; the suite closes it once it is done.
   */
  lock?(): GrantLock | Promise<GrantLock>;
}

/**
 * Registers the store contract as a `node:test` suite named `store contract: <name>`: grants read
 * back as written, replaced and deleted; fenced writes that write only over the refresh token they
 * expect; pending authorizations that are taken once, by one of several concurrent callers, and
 * expire. Call it at the top level of a test file run with `node --test`.
 *
 * @example
 * ```ts
 * // test/my-store.test.ts, run with `node --test`
 * import Keyv from 'keyv';
 * import { runStoreContract } from 'offline-tokens/testing';
 *
 * runStoreContract({
 *   name: 'my store',
 *   create: () => new Keyv({ store: new KeyvMyStore(process.env.MY_URL!) }),
 * });
 * ```
 */
export function runStoreContract(subject: StoreContractSubject): void {
  const name = nonEmptyString(subject?.name, 'name');
  if (typeof subject.create !== 'function') throw new ConfigurationError('Expected `create` to be a function');
  if (subject.lock !== undefined && typeof subject.lock !== 'function') throw new ConfigurationError('Expected `lock` to be a function');

  describe(`store contract: ${name}`, () => {
    let keyv: Keyv | undefined;
    let store: GrantStore;
    /** Two views of the store through its compare-and-set (two processes), when it has one. */
    let casStores: [GrantStore, GrantStore] | undefined;
    let lock: GrantLock | undefined;
    before(async () => {
      keyv = await subject.create();
      lock = await subject.lock?.();
      store = new GrantStore(keyv, { operationTimeoutMs: 5_000 });
      const cas = findRecordCas(keyv);
      if (cas !== undefined) casStores = [new GrantStore(keyv, { operationTimeoutMs: 5_000, cas }), new GrantStore(keyv, { operationTimeoutMs: 5_000, cas })];
    });
    after(async () => {
      await lock?.close?.();
      await keyv?.disconnect();
    });

    /** The fenced-write cases, through `view()` (skipped when it is `undefined`). */
    function fencedWriteTests(path: string, view: () => GrantStore | undefined): void {
      test(`${path}: a fenced write over the refresh token it expects writes`, async (t) => {
        const store = view();
        if (store === undefined) return t.skip('this store offers no compare-and-set');
        const grant = makeGrant(`user-${randomUUID()}`);
        await store.setGrant(grant);
        const rotated = rotate(grant, 'refresh-2');
        assert.deepEqual(await store.setGrant(rotated, undefined, { refreshToken: grant.refreshToken }), { ok: true });
        assert.deepEqual(await store.getGrant(grant.key), rotated);
      });

      test(`${path}: a fenced write over a stale refresh token writes nothing and returns the current grant`, async (t) => {
        const store = view();
        if (store === undefined) return t.skip('this store offers no compare-and-set');
        const grant = makeGrant(`user-${randomUUID()}`);
        await store.setGrant(grant);
        // Another process rotated first.
        const theirs = rotate(grant, 'refresh-theirs');
        await store.setGrant(theirs);
        const ours = rotate(grant, 'refresh-ours');
        assert.deepEqual(await store.setGrant(ours, undefined, { refreshToken: grant.refreshToken }), { ok: false, current: theirs });
        assert.deepEqual(await store.getGrant(grant.key), theirs);
      });

      test(`${path}: a fenced write on a missing grant writes nothing and returns no current grant`, async (t) => {
        const store = view();
        if (store === undefined) return t.skip('this store offers no compare-and-set');
        const grant = makeGrant(`user-${randomUUID()}`);
        assert.deepEqual(await store.setGrant(grant, undefined, { refreshToken: grant.refreshToken }), { ok: false, current: undefined });
        assert.equal(await store.getGrant(grant.key), undefined);
      });
    }

    /** Takes a pending authorization as the token manager does: under the lock, when there is one. */
    function takePending(state: string): Promise<PendingAuthorization | undefined> {
      if (lock === undefined) return store.takePending(state);
      return lock.withLock(`pending:${state}`, () => store.takePending(state));
    }

    test('a grant written is read back as it was', async () => {
      const grant = makeGrant(`user-${randomUUID()}`);
      assert.deepEqual(await store.setGrant(grant), { ok: true });
      assert.deepEqual(await store.getGrant(grant.key), grant);
    });

    test('a grant never written reads as undefined', async () => {
      assert.equal(await store.getGrant(`missing-${randomUUID()}`), undefined);
    });

    test('a rotated grant replaces the previous one; a deleted grant reads as undefined', async () => {
      const grant = makeGrant(`user-${randomUUID()}`);
      await store.setGrant(grant);
      const rotated = rotate(grant, 'refresh-2');
      await store.setGrant(rotated);
      assert.deepEqual(await store.getGrant(grant.key), rotated);
      await store.deleteGrant(grant.key);
      assert.equal(await store.getGrant(grant.key), undefined);
    });

    fencedWriteTests('read then write', () => store);

    describe('compare-and-set (when the store offers one)', () => {
      fencedWriteTests('compare-and-set', () => casStores?.[0]);

      test('two racers fence on the same refresh token: exactly one writes, the other gets its grant', async (t) => {
        if (casStores === undefined) return t.skip('this store offers no compare-and-set: fenced writes rely on the lock');
        const [ours, theirs] = casStores;
        for (let i = 0; i < 50; i++) {
          const grant = makeGrant(`race-${randomUUID()}`);
          await ours.setGrant(grant);
          await theirs.getGrant(grant.key);
          const a = rotate(grant, `refresh-a-${i}`);
          const b = rotate(grant, `refresh-b-${i}`);
          const fence = { refreshToken: grant.refreshToken };
          const [ra, rb] = await Promise.all([ours.setGrant(a, undefined, fence), theirs.setGrant(b, undefined, fence)]);
          assert.equal(Number(ra.ok) + Number(rb.ok), 1, `iteration ${i}: exactly one racer writes`);
          const winner = ra.ok ? a : b;
          assert.deepEqual(ra.ok ? rb : ra, { ok: false, current: winner });
          assert.deepEqual(await store.getGrant(grant.key), winner);
        }
      });

      test('a record changed by another writer but still holding the refresh token is written over', async (t) => {
        if (casStores === undefined) return t.skip('this store offers no compare-and-set');
        const [ours, theirs] = casStores;
        const grant = makeGrant(`marker-${randomUUID()}`);
        await ours.setGrant(grant);
        // Another process marks the refresh as in flight (same refresh token, another record).
        assert.deepEqual(await theirs.setGrant({ ...grant, refreshStartedAt: grant.issuedAt + 1 }, undefined, { refreshToken: grant.refreshToken }), { ok: true });
        const rotated = rotate(grant, 'refresh-2');
        assert.deepEqual(await ours.setGrant(rotated, undefined, { refreshToken: grant.refreshToken }), { ok: true });
        assert.deepEqual(await store.getGrant(grant.key), rotated);
      });
    });

    test('a pending authorization is taken once', async () => {
      const state = randomUUID();
      const pending = makePending();
      await store.putPending(state, pending, 60_000);
      assert.deepEqual(await takePending(state), pending);
      assert.equal(await takePending(state), undefined);
      assert.equal(await takePending(randomUUID()), undefined);
    });

    test('concurrent takes of one pending authorization: exactly one gets it', async () => {
      for (let round = 0; round < 20; round++) {
        const state = randomUUID();
        await store.putPending(state, makePending(), 60_000);
        const taken = await Promise.all(Array.from({ length: 3 }, () => takePending(state)));
        assert.equal(taken.filter((pending) => pending !== undefined).length, 1, `round ${round}`);
      }
    });

    test('a pending authorization expires after its ttl', async () => {
      // Keyv's TTL runs on real time: keep it tiny.
      const state = randomUUID();
      await store.putPending(state, makePending(), 30);
      await sleep(100);
      assert.equal(await takePending(state), undefined);
    });
  });
}

/** `grant` after one rotation to `refreshToken`. */
function rotate(grant: Grant, refreshToken: string): Grant {
  return { ...grant, refreshToken, accessToken: `access-for-${refreshToken}`, rotations: grant.rotations + 1 };
}

