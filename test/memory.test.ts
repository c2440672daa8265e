/**
 * Flat memory: 100,000 `getAccessToken` calls on cached grants and 100,000 on unknown keys leave less
 * than 64 bytes per call on the heap right after one forced GC (no event-loop turn in between). Run
 * in a child process started with `--expose-gc` (`test/support/heap-probe.ts`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const MAX_BYTES_PER_CALL = 64;

test('getAccessToken allocates nothing that outlives the call (cached grants and unknown keys)', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--conditions=source', 'test/support/heap-probe.ts'], {
    env: process.env,
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { calls: number; cachedBytesPerCall: number; unknownBytesPerCall: number };
  console.log(`heap growth after one forced GC: ${result.cachedBytesPerCall.toFixed(2)} B/call (cached), ${result.unknownBytesPerCall.toFixed(2)} B/call (unknown keys), ${result.calls} calls each`);
  assert.equal(result.calls, 100_000);
  assert.ok(result.cachedBytesPerCall < MAX_BYTES_PER_CALL, `cached: ${result.cachedBytesPerCall} B/call`);
  assert.ok(result.unknownBytesPerCall < MAX_BYTES_PER_CALL, `unknown keys: ${result.unknownBytesPerCall} B/call`);
});
