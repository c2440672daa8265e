/**
 * Run with `node --expose-gc --conditions=source test/support/heap-probe.ts`: heap growth per
 * `getAccessToken` call, measured right after one forced GC (no event-loop turn in between), for
 * calls on cached grants and calls on unknown keys. Prints one JSON line.
 */
import { createTokenManager, ReauthRequiredError } from 'offline-tokens';
import { startAuthorizationServer } from './authorization-server.ts';
import { connect, managerOptions } from './harness.ts';

const CALLS = Number(process.env.HEAP_PROBE_CALLS ?? 100_000);
const GRANTS = 20;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const idp = await startAuthorizationServer();
const tokens = await createTokenManager(managerOptions(idp, 'post'));
const keys = Array.from({ length: GRANTS }, (_, i) => `cached-${i}`);
for (const key of keys) await connect(tokens, idp, key);

async function cached(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await tokens.getAccessToken(keys[i % GRANTS]!);
}
async function unknown(count: number, offset: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    try {
      await tokens.getAccessToken(`unknown-${offset + i}`);
      throw new Error('an unknown key got a token');
    } catch (error) {
      if (!(error instanceof ReauthRequiredError)) throw error;
    }
  }
}

/** Heap growth per call of `run(CALLS)`, right after one forced GC. */
async function perCall(run: (count: number) => Promise<void>): Promise<number> {
  await run(2_000); // warm up (JIT, inline caches, lazily created state)
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  await run(CALLS);
  gc!();
  const after = process.memoryUsage().heapUsed;
  return (after - before) / CALLS;
}

const result = {
  calls: CALLS,
  cachedBytesPerCall: await perCall(cached),
  unknownBytesPerCall: await perCall((count) => unknown(count, 1_000_000 * Math.random())),
};
await tokens.close();
await idp.close();
console.log(JSON.stringify(result));
