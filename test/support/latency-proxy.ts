/**
 * A TCP proxy that makes a real server (redis-server, PostgreSQL) answer with a long tail: each chunk
 * of bytes, in either direction, is held with probability `probability` for a delay drawn between
 * `minDelayMs` and `maxDelayMs`. Order is kept per connection and direction, so everything queued
 * behind a held chunk waits for it (head-of-line blocking, as on a congested link or a stalled
 * server): a client sees seconds of latency on ~1–2 % of its commands, not a mock of our code.
 *
 * The draws come from a seeded generator, so a run is reproducible up to the timing of the chunks.
 *
 * @example
 * ```ts
 * const proxy = await startLatencyProxy(redis.port, { probability: 0.02, minDelayMs: 1_500, maxDelayMs: 3_000 });
 * const store = createRedisStore({ url: `redis://127.0.0.1:${proxy.port}` });
 * // ...
 * console.log(proxy.stats()); // { chunks, held, p50Ms, p99Ms, maxMs }
 * await proxy.close();
 * ```
 */
import { connect, createServer, type Socket } from 'node:net';
import { summarize } from './fleet-worker.ts';

export interface LatencyProxyOptions {
  /** Chance that one chunk is held. */
  probability: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Seed of the draws. Default 1. */
  seed?: number;
}

export interface LatencyStats {
  /** Chunks forwarded, both directions. */
  chunks: number;
  /** Chunks held on purpose. */
  held: number;
  /** Time each chunk spent in the proxy (its own hold, or waiting behind a held one), ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LatencyProxy {
  port: number;
  /** Per-chunk latency added so far. */
  stats(): LatencyStats;
  /** Stops holding (later chunks pass at once); already held chunks keep their time. */
  calm(): void;
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export async function startLatencyProxy(targetPort: number, options: LatencyProxyOptions): Promise<LatencyProxy> {
  const random = seeded(options.seed ?? 1);
  const addedMs: number[] = [];
  let held = 0;
  let calm = false;
  const sockets = new Set<Socket>();

  /** Forwards `from` → `to` in order, each chunk released no earlier than the one before it. */
  const pipe = (from: Socket, to: Socket): void => {
    const queue: Array<{ at: number; arrived: number; chunk: Buffer }> = [];
    let lastAt = 0;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const pump = (): void => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.at <= now) {
        const { arrived, chunk } = queue.shift()!;
        addedMs.push(now - arrived);
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, Math.max(1, queue[0]!.at - now));
      else if (ended && !to.destroyed) to.end();
    };
    from.on('data', (chunk: Buffer) => {
      const arrived = performance.now();
      let delayMs = 0;
      if (!calm && random() < options.probability) {
        held++;
        delayMs = options.minDelayMs + random() * (options.maxDelayMs - options.minDelayMs);
      }
      lastAt = Math.max(lastAt, arrived + delayMs);
      queue.push({ at: lastAt, arrived, chunk });
      if (timer === undefined) pump();
    });
    from.on('end', () => {
      ended = true;
      if (timer === undefined) pump();
    });
  };

  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    stats() {
      const [p50Ms, p99Ms, maxMs] = summarize(addedMs);
      return { chunks: addedMs.length, held, p50Ms, p99Ms, maxMs };
    },
    calm() {
      calm = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
