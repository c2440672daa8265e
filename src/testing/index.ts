/**
 * The SDK's contract suites, for `node:test`: run them against a lock backend you wrote or a Keyv
 * store you bring, at the top level of a test file run with `node --test`.
 *
 * @example
 * ```ts
 * import Keyv from 'keyv';
 * import { createLeaseLock } from 'offline-tokens';
 * import { runLockContract, runStoreContract } from 'offline-tokens/testing';
 *
 * runLockContract({ name: 'my backend', open: (options) => createLeaseLock(new MyLeaseBackend(), options) });
 * runStoreContract({ name: 'my store', create: () => new Keyv({ store: new KeyvMyStore() }) });
 * ```
 * @module
 */
export { runLockContract, type LockContractSubject } from './lock-contract.ts';
export { runStoreContract, type StoreContractSubject } from './store-contract.ts';
export { makeGrant, makePending } from './fixtures.ts';
export type { PendingAuthorization } from '../storage/pending.ts';
