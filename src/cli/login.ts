/**
 * `login`: a consent through an RFC 8252 loopback redirect. The CLI listens on
 * `http://127.0.0.1:PORT/callback`, sends the user to the consent URL, and completes the grant when
 * the browser comes back.
 * @module
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenManager, type GrantInfo, type TokenManagerOptions } from '../index.ts';
import { CliError, EXIT, usageError } from './errors.ts';

export interface LoginOptions {
  key: string;
  /** Port to listen on; 0 for an ephemeral one. */
  port: number;
  /** Callback path. */
  path: string;
  open: boolean;
  timeoutMs: number;
  /** Prints the consent URL. */
  announce(url: URL): void;
  /** Called when the token manager could not be created (to close what the caller opened). */
  onFailure(): Promise<void>;
}

/** Runs a consent for `key` and resolves with the stored grant. */
export async function login(options: Omit<TokenManagerOptions, 'redirectUri'>, login: LoginOptions): Promise<GrantInfo> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(
      error.code === 'EADDRINUSE' ? usageError(`Port ${login.port} is in use: pass another --port, or none for an ephemeral one`) : error,
    ));
    server.listen(login.port, '127.0.0.1', resolve);
  });
  try {
    const { port } = server.address() as AddressInfo;
    const redirectUri = `http://127.0.0.1:${port}${login.path}`;
    const tokens = await createTokenManager({ ...options, redirectUri }).catch(async (error: unknown) => {
      await login.onFailure();
      throw error;
    });
    try {
      const { url, state } = await tokens.startAuthorization({ key: login.key });
      login.announce(url);
      if (login.open) openBrowser(url);
      const callback = await nextCallback(server, login.path, login.timeoutMs);
      try {
        // `state` names the consent this process started (completeAuthorization's second argument).
        const completion = { state, signal: AbortSignal.timeout(login.timeoutMs) };
        const grant = await tokens.completeAuthorization(new URL(callback.url, redirectUri), completion);
        callback.answer(200, 'Connected. You can close this window and return to the terminal.');
        return grant;
      } catch (error) {
        callback.answer(400, 'The consent did not complete. See the terminal for what to do.');
        throw error;
      }
    } finally {
      await tokens.close();
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

interface Callback {
  url: string;
  answer(status: number, text: string): void;
}

/** The first request to `path`; other paths get 404. */
function nextCallback(server: Server, path: string, timeoutMs: number): Promise<Callback> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CliError(EXIT.failure, `No consent within ${timeoutMs} ms: run login again (or pass a larger --timeout-ms)`)), timeoutMs);
    server.on('request', (req, res) => {
      if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== path) {
        res.writeHead(404).end();
        return;
      }
      clearTimeout(timer);
      resolve({
        url: req.url ?? '/',
        answer: (status, text) => {
          res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(`${text}\n`);
        },
      });
    });
  });
}

/** Best effort: a machine without a browser just shows the URL. */
function openBrowser(url: URL): void {
  const [command, args] = process.platform === 'darwin'
    ? ['open', [url.href]]
    : process.platform === 'win32'
      ? ['cmd', ['/c', 'start', '""', url.href.replace(/&/g, '^&')]]
      : ['xdg-open', [url.href]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no browser: the URL is printed
  }
}
