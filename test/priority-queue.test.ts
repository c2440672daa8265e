import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PriorityQueue } from '../src/scheduling/priority-queue.ts';
import { keepAliveDueAt } from '../src/scheduling/keep-alive.ts';

describe('priority queue (keep-alive schedule)', () => {
  it('behaves like a sorted list under any sequence of upserts, deletes and pops', () => {
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
    const operation = fc.oneof(
      fc.record({ op: fc.constant('upsert' as const), id, at: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ op: fc.constant('delete' as const), id }),
      fc.record({ op: fc.constant('pop' as const) }),
    );
    fc.assert(fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
      const queue = new PriorityQueue<number>();
      const model = new Map<string, number>();
      for (const operation of operations) {
        if (operation.op === 'upsert') {
          queue.upsert(operation.id, operation.at, operation.at);
          model.set(operation.id, operation.at);
        } else if (operation.op === 'delete') {
          assert.equal(queue.delete(operation.id), model.delete(operation.id));
        } else {
          const popped = queue.pop();
          const earliest = Math.min(...model.values());
          if (model.size === 0) assert.equal(popped, undefined);
          else {
            assert.equal(popped?.at, earliest);
            assert.equal(model.get(popped!.id), earliest);
            model.delete(popped!.id);
          }
        }
        assert.equal(queue.size, model.size);
        if (model.size > 0) assert.equal(queue.peek()?.at, Math.min(...model.values()));
      }
    }), { numRuns: 1_000 });
  });

  it('schedules a grant before its refresh token lapses, or after maxIdleMs, whichever is first', () => {
    assert.equal(keepAliveDueAt({ refreshExpiresAt: 1_000, issuedAt: 0 }, 100, Number.POSITIVE_INFINITY), 900);
    assert.equal(keepAliveDueAt({ refreshExpiresAt: 1_000, issuedAt: 0 }, 100, 500), 500);
  });
});
