/**
 * A buffering proxy in front of the token endpoint (a load balancer that does not cancel work).
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A proxy in front of the token endpoint that reads each request whole and then forwards it on its
 * own connection, whether or not the client is still there: like a buffering load balancer, or a
 * server that does not cancel work when its client goes away. `holdMs` delays the next requests;
 * `maxInFlight` tells whether requests ever overlapped.
 */
export interface BufferingProxy {
  url: string;
  holdMs: number[];
  /** Requests read whole from their client. */
  received: number;
  /** Requests the server has answered (the answer may have had nobody left to go to). */
  forwarded: number;
  /** The most requests read and not yet answered by the server at one time. */
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startBufferingProxy(target: string): Promise<BufferingProxy> {
  const server = createServer();
  let inFlight = 0;
  const proxy: BufferingProxy = {
    url: '',
    holdMs: [],
    received: 0,
    forwarded: 0,
    maxInFlight: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    proxy.received++;
    proxy.maxInFlight = Math.max(proxy.maxInFlight, ++inFlight);
    let response: Response;
    let body: Buffer;
    try {
      const holdMs = proxy.holdMs.shift();
      if (holdMs !== undefined) await sleep(holdMs);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(name))) as Record<string, string>;
      response = await fetch(new URL(req.url ?? '/', target), { method: req.method, headers, body: Buffer.concat(chunks) });
      body = Buffer.from(await response.arrayBuffer());
    } finally {
      inFlight--;
    }
    proxy.forwarded++;
    if (res.destroyed) return;
    res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/json' });
    res.end(body);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => {});
    forward(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
