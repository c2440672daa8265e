/**
 * The parent side of the fleet (`fleet-worker.ts` is the child): running fleet members, spawned
 * fresh ({@link spawnFleet}) or taken from a pool of worker processes that a test file reuses from one
 * scenario to the next ({@link createFleetPool}).
 *
 * A pooled process boots once (Node, the SDK, its backends' clients), then serves one scenario after
 * another: each scenario sends it a config and gets a new manager on new store and lock connections,
 * with an empty cache and its own clock; closing the member closes that manager and its connections,
 * and the process waits for the next scenario. A member killed by a test is gone: the next scenario
 * that needs a process spawns a new one. Booting eight processes per scenario was most of what the fleet
 * tests cost (3–9 s of a scenario on a loaded 2-core machine), not the scenario itself.
 *
 * @example
 * ```ts
 * const pool = createFleetPool();
 * const members = await pool.spawn(config, 8);   // fresh managers, in reused processes
 * try { await Promise.all(members.map((member) => member.round(now, 100))); }
 * finally { await Promise.all(members.map((member) => member.close())); }   // back to the pool
 * await pool.close();                              // at the end of the file
 * ```
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { FleetCommand, FleetReply, FleetWorkerConfig, RoundResult } from './fleet-worker.ts';

/** A running worker. */
export interface FleetMember {
  readonly child: ChildProcess;
  /** Runs a round; rejects if the worker dies first. */
  round(now: number, callers: number, resources?: string[]): Promise<RoundResult>;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /**
   * Closes the manager and its store and lock connections (kills the process if it does not answer).
   * A fresh worker then exits; a pooled one goes back to its pool.
   */
  close(): Promise<void>;
}

/** Worker processes reused across the scenarios of one test file. */
export interface FleetPool {
  /** `count` members on `config`, each a new manager, in idle processes of the pool or new ones. */
  spawn(config: FleetWorkerConfig, count: number): Promise<FleetMember[]>;
  /** Boots processes until `count` sit idle, so that the first scenario does not pay for their start-up. */
  warm(count: number): Promise<void>;
  /** Ends every process of the pool: an idle one exits, a busy one (or one that does not exit) is killed. */
  close(): Promise<void>;
}

export const fleetWorkerPath = join(import.meta.dirname, 'fleet-worker.ts');

/** How long a worker may take to close its manager before it is killed. */
const CLOSE_TIMEOUT_MS = 10_000;

/** Spawns `count` fresh workers with `config` and resolves once all are ready; each exits when closed. */
export async function spawnFleet(config: FleetWorkerConfig, count: number): Promise<FleetMember[]> {
  const processes = Array.from({ length: count }, () => startProcess(config));
  await allOrKill(processes, processes.map((process) => process.next('ready')));
  return processes.map((process) => member(process, async () => {
    await process.exited;
  }));
}

/** A pool of worker processes for one test file; see the module's description. */
export function createFleetPool(): FleetPool {
  const idle: WorkerProcess[] = [];
  const all = new Set<WorkerProcess>();
  const boot = (): WorkerProcess => {
    const process = startProcess(undefined);
    all.add(process);
    void process.exited.then(() => all.delete(process));
    return process;
  };
  return {
    async warm(count) {
      const fresh = Array.from({ length: Math.max(0, count - idle.length) }, boot);
      await allOrKill(fresh, fresh.map((process) => process.next('idle')));
      idle.push(...fresh);
    },
    async spawn(config, count) {
      const reused = idle.splice(0, count).filter((process) => process.alive());
      const fresh = Array.from({ length: count - reused.length }, boot);
      const processes = [...reused, ...fresh];
      await allOrKill(processes, processes.map(async (process) => {
        if (fresh.includes(process)) await process.next('idle');
        const ready = process.next('ready');
        process.send({ type: 'start', config });
        await ready;
      }));
      return processes.map((process) => member(process, async () => {
        if (process.alive()) idle.push(process);
      }));
    },
    async close() {
      const exiting = new Set(idle.splice(0));
      await Promise.all([...all].map(async (process) => {
        if (!exiting.has(process) || !process.alive()) return await process.kill();
        // An idle worker exits by itself when its parent disconnects (and writes the compile cache).
        const timer = setTimeout(() => void process.kill(), CLOSE_TIMEOUT_MS);
        process.child.disconnect();
        await process.exited;
        clearTimeout(timer);
      }));
    },
  };
}

/** A worker process and the one reply it is expected to send next. */
interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<void>;
  alive(): boolean;
  /** The next reply; rejects when it is an error, another type, or the process dies first. */
  next(type: FleetReply['type']): Promise<FleetReply>;
  send(command: FleetCommand): void;
  kill(): Promise<void>;
}

function startProcess(config: FleetWorkerConfig | undefined): WorkerProcess {
  const child = spawn(process.execPath, ['--conditions=source', fleetWorkerPath, ...(config === undefined ? [] : [JSON.stringify(config)])], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  let waiting: { type: string; resolve: (reply: FleetReply) => void; reject: (error: Error) => void } | undefined;
  child.on('message', (reply: FleetReply) => {
    const current = waiting;
    waiting = undefined;
    if (reply.type === 'error') current?.reject(new Error(`fleet worker ${child.pid}: ${reply.message}`));
    else if (current !== undefined && reply.type !== current.type) current.reject(new Error(`fleet worker ${child.pid} answered ${reply.type}, not ${current.type}`));
    else current?.resolve(reply);
  });
  child.once('exit', (code, signal) => {
    waiting?.reject(new Error(`fleet worker ${child.pid} exited (${signal ?? code})`));
    waiting = undefined;
  });
  return {
    child,
    exited,
    alive,
    next: (type) => new Promise((resolve, reject) => {
      if (!alive()) {
        reject(new Error(`fleet worker ${child.pid} is gone`));
        return;
      }
      waiting = { type, resolve, reject };
    }),
    send(command) {
      child.send(command);
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits for every start; when one fails, kills all the processes and rethrows its error. */
async function allOrKill(processes: WorkerProcess[], starts: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed === undefined) return;
  await Promise.all(processes.map((process) => process.kill()));
  throw failed.reason;
}

/** The member a test drives; `closed` runs once its manager is closed (the process alive or not). */
function member(process: WorkerProcess, closed: () => Promise<void>): FleetMember {
  return {
    child: process.child,
    async round(now, callers, resources) {
      const reply = process.next('done');
      process.send({ type: 'round', now, callers, ...(resources === undefined ? {} : { resources }) });
      return await reply as RoundResult;
    },
    kill: () => process.kill(),
    async close() {
      if (!process.alive()) return;
      const timer = setTimeout(() => void process.kill(), CLOSE_TIMEOUT_MS);
      try {
        const reply = process.next('closed').catch(() => undefined);
        process.send({ type: 'close' });
        await reply;
        await closed();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
