/**
 * Keep-alive for idle grants: a refresh token that is not used for its lifetime (14 days by default)
 * dies. The keep-alive rotates each grant before that, once across the fleet (the refresh runs under
 * the grant's lock and adopts a rotation another process made), with one timer for all grants (a
 * priority queue keyed by due time) and a cap on concurrent requests to the server.
 * @module
 */
import { ReauthRequiredError, type TokenManagerError } from '../errors.ts';
import type { Grant } from '../grant/grant.ts';
import { duration } from '../util/validate.ts';
import { PriorityQueue } from './priority-queue.ts';

/**
 * Options of `startKeepAlive`. Durations in ms.
 *
 * @example
 * ```ts
 * tokens.startKeepAlive({ leadTimeMs: 2 * 86_400_000, concurrency: 4 });
 * ```

 */
export interface KeepAliveOptions {
  /** Rotate a grant this long before its refresh token would lapse. Default 2 days. */
  leadTimeMs?: number;
  /** Also rotate a grant that has not been refreshed for this long. Default: never (`Infinity`). */
  maxIdleMs?: number;
  /** Most keep-alive refreshes in flight at once. Default 4. */
  concurrency?: number;
  /** How often the store is scanned for grants other processes added. Default 1 hour. */
  rescanIntervalMs?: number;
}

/**
 * What one pass over the due grants did.
 *
 * @example
 * ```ts
 * const report = await tokens.startKeepAlive().runDue();
 * console.log(`${report.rotated}/${report.due} rotated, ${report.dead} need consent, ${report.failed} retried later`);
 * ```
 */
export interface KeepAliveReport {
  /** Grants that were due. */
  due: number;
  /** Due grants now rotated (by this process or, adopted, by another). */
  rotated: number;
  /** Due grants that needed consent again; they leave the schedule. */
  dead: number;
  /** Due grants whose refresh failed for now; retried later. */
  failed: number;
}

/**
 * The handle `startKeepAlive` returns.
 *
 * @example
 * ```ts
 * const keepAlive = tokens.startKeepAlive({ leadTimeMs: 86_400_000 });
 * await keepAlive.ready;
 * console.log(`${keepAlive.size} grants kept alive`);
 * process.once('SIGTERM', () => keepAlive.stop());
 * ```
 */
export interface KeepAlive {
  /** Resolves after the first scan of the store. */
  readonly ready: Promise<void>;
  /** Number of grants scheduled. */
  readonly size: number;
  /** Processes every grant due now (the timer does this on its own; tests call it after moving the clock). */
  runDue(): Promise<KeepAliveReport>;
  /** Schedules (or reschedules) a grant. */
  track(grant: Grant): void;
  /** Stops the timer and the rescans; rotations in flight finish. */
  stop(): void;
}

/** What the keep-alive needs from the token manager. @internal */
export interface KeepAliveHost {
  now(): number;
  listGrants(): AsyncIterable<Grant>;
  /** Rotates `key` unless another process rotated it after `seenRotations`; resolves with the grant now stored. */
  rotate(key: string, seenRotations: number): Promise<Grant>;
  onError(key: string, error: TokenManagerError): void;
}

/** Retry delay for a grant whose keep-alive refresh failed. */
const RETRY_AFTER_FAILURE_MS = 5 * 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When a grant must be rotated to stay alive: before its refresh token lapses, or once it has been
 * idle for `maxIdleMs`.
 *
 * @example
 * ```ts
 * keepAliveDueAt(grant, 2 * 86_400_000, Infinity); // grant.refreshExpiresAt - 2 days
 * ```
 */
export function keepAliveDueAt(grant: Pick<Grant, 'refreshExpiresAt' | 'issuedAt'>, leadTimeMs: number, maxIdleMs: number): number {
  return Math.min(grant.refreshExpiresAt - leadTimeMs, grant.issuedAt + maxIdleMs);
}

/** Starts the keep-alive. @internal */
export function startKeepAlive(host: KeepAliveHost, options: KeepAliveOptions = {}): KeepAlive {
  const leadTimeMs = duration(options.leadTimeMs, 'leadTimeMs', 2 * 86_400_000, 0);
  const maxIdleMs = options.maxIdleMs === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : duration(options.maxIdleMs, 'maxIdleMs', Number.MAX_SAFE_INTEGER, 1);
  const concurrency = duration(options.concurrency, 'concurrency', 4, 1);
  const rescanIntervalMs = duration(options.rescanIntervalMs, 'rescanIntervalMs', 3_600_000, 1_000);
  /** key → rotations seen when scheduled. */
  const queue = new PriorityQueue<number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<KeepAliveReport> | undefined;
  let stopped = false;

  const track = (grant: Grant): void => {
    if (stopped) return;
    if (grant.status !== 'active') {
      queue.delete(grant.key);
      return;
    }
    queue.upsert(grant.key, keepAliveDueAt(grant, leadTimeMs, maxIdleMs), grant.rotations);
    // Re-arm only when this grant became the earliest; a grant moved later only makes the timer fire
    // once early, and the run re-arms.
    if (timer === undefined || queue.peek()!.id === grant.key) arm();
  };

  const scan = async (): Promise<void> => {
    for await (const grant of host.listGrants()) track(grant);
  };

  function arm(): void {
    if (stopped || running !== undefined) return;
    clearTimeout(timer);
    const next = queue.peek();
    if (next === undefined) return;
    timer = setTimeout(() => void runDue(), Math.min(MAX_TIMER_MS, Math.max(0, next.at - host.now())));
    timer.unref();
  }

  async function keepOne(key: string, seenRotations: number, report: KeepAliveReport): Promise<void> {
    try {
      const grant = await host.rotate(key, seenRotations);
      report.rotated++;
      track(grant);
    } catch (error) {
      if (error instanceof ReauthRequiredError) {
        report.dead++;
        queue.delete(key);
        return;
      }
      report.failed++;
      queue.upsert(key, host.now() + RETRY_AFTER_FAILURE_MS, seenRotations);
      host.onError(key, error as TokenManagerError);
    }
  }

  async function drain(): Promise<KeepAliveReport> {
    const report: KeepAliveReport = { due: 0, rotated: 0, dead: 0, failed: 0 };
    const now = host.now();
    const due: Array<{ id: string; value: number }> = [];
    while (queue.peek() !== undefined && queue.peek()!.at <= now) {
      const slot = queue.pop()!;
      due.push(slot);
    }
    report.due = due.length;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!stopped && next < due.length) {
        const item = due[next++]!;
        await keepOne(item.id, item.value, report);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
    return report;
  }

  function runDue(): Promise<KeepAliveReport> {
    if (running !== undefined) return running;
    clearTimeout(timer);
    running = drain().finally(() => {
      running = undefined;
      arm();
    });
    return running;
  }

  const ready = scan();
  ready.catch(() => {});
  const rescan = setInterval(() => void scan().catch(() => {}), rescanIntervalMs);
  rescan.unref();

  return {
    ready,
    get size() {
      return queue.size;
    },
    runDue,
    track,
    stop() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(rescan);
    },
  };
}
