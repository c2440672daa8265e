/**
 * The one seam for outbound HTTP: openid-client's `customFetch`. Each request gets the signal of the
 * operation it belongs to (carried in AsyncLocalStorage, as openid-client has no per-call signal) and
 * a response body larger than the limit is refused before it is parsed.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CustomFetch } from 'openid-client';
import { anySignal } from '../util/abort.ts';
import { TokenResponseError } from '../errors.ts';

/**
 * A `fetch` compatible function.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...options, fetch: (url, init) => fetch(url, { ...init, keepalive: true }) });
 * ```
 */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** Where the last response body of an operation is kept, for a caller that must read it itself. */
export interface ResponseCapture {
  status?: number;
  body?: Buffer;
}

const requestContext = new AsyncLocalStorage<{ signal: AbortSignal | undefined; capture: ResponseCapture | undefined }>();

/**
 * Runs `fn` so that every HTTP request made inside it is aborted by `signal`, and (with `capture`)
 * its last response is kept: a token response openid-client refuses may still carry a rotated
 * refresh token that must not be lost.
 */
export function withRequestSignal<T>(signal: AbortSignal | undefined, fn: () => Promise<T>, capture?: ResponseCapture): Promise<T> {
  return signal === undefined && capture === undefined ? fn() : requestContext.run({ signal, capture }, fn);
}

/**
 * Builds the `customFetch` given to openid-client.
 *
 * @example
 * ```ts
 * config[client.customFetch] = createCustomFetch({ fetch, maxResponseBytes: 1 << 20 });
 * ```
 */
export function createCustomFetch(options: { fetch: Fetch; maxResponseBytes: number; requestTimeoutMs?: number }): CustomFetch {
  const { fetch, maxResponseBytes, requestTimeoutMs } = options;
  return async (url, init) => {
    const context = requestContext.getStore();
    if (context?.capture !== undefined) context.capture.status = context.capture.body = undefined;
    // The whole exchange, body included, within the request timeout: a body that trickles in is a
    // timeout (openid-client's own `timeout` is in whole seconds).
    const signal = anySignal(init.signal ?? undefined, context?.signal, requestTimeoutMs === undefined ? undefined : AbortSignal.timeout(requestTimeoutMs));
    const response = await fetch(url, { ...(init as RequestInit), signal });
    const limited = await limitBody(response, maxResponseBytes, context?.capture);
    return init.method === 'POST' ? errorAsClientError(limited) : limited;
  };
}

async function limitBody(response: Response, maxBytes: number, capture: ResponseCapture | undefined): Promise<Response> {
  // The status first: a success refused for its size (or cut short) may still have rotated the token.
  if (capture !== undefined) {
    capture.status = response.status;
    capture.body = undefined;
  }
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new TokenResponseError(`The authorization server's response is larger than ${maxBytes} bytes`);
  }
  if (response.body === null) return response;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new TokenResponseError(`The authorization server's response is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  if (capture !== undefined) capture.body = body;
  const limited = new Response(response.status === 204 || response.status === 304 ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // openid-client checks the final URL of discovery and userinfo responses.
  Object.defineProperty(limited, 'url', { value: response.url });
  return limited;
}

/**
 * A 200 whose JSON body is an OAuth error (`{"error": ...}` and no `access_token`) is answered as the
 * 400 it means: GitHub reports token endpoint errors (`bad_refresh_token`, `bad_verification_code`)
 * with HTTP 200. openid-client then reads it as the OAuth error it is, not as a malformed success.
 */
async function errorAsClientError(response: Response): Promise<Response> {
  if (response.status !== 200 || !(response.headers.get('content-type') ?? '').includes('json')) return response;
  const text = await response.clone().text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return response;
  }
  const fields = body as { error?: unknown; access_token?: unknown } | null;
  if (typeof fields !== 'object' || fields === null || typeof fields.error !== 'string' || fields.access_token !== undefined) return response;
  const error = new Response(text, { status: 400, statusText: 'Bad Request', headers: response.headers });
  Object.defineProperty(error, 'url', { value: response.url });
  return error;
}
