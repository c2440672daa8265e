/**
 * The one seam for outbound HTTP: openid-client's `customFetch`. Each request gets the signal of the
 * operation it belongs to (carried in AsyncLocalStorage, as openid-client has no per-call signal) and
 * a response body larger than the limit is refused before it is parsed.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CustomFetch } from 'openid-client';
import { followSignal } from '../util/abort.ts';
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
    // timeout (openid-client's own `timeout` is in whole seconds). A timer cleared when the exchange
    // ends, not an `AbortSignal.timeout` that fires (and builds its error) long after every request.
    const controller = new AbortController();
    const unfollowInit = followSignal(init.signal ?? undefined, controller);
    const unfollowContext = followSignal(context?.signal, controller);
    const timer = requestTimeoutMs === undefined ? undefined : setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), requestTimeoutMs);
    try {
      const response = await fetch(url, { ...(init as RequestInit), signal: controller.signal });
      const { limited, body } = await limitBody(response, maxResponseBytes, context?.capture);
      return init.method === 'POST' ? errorAsClientError(limited, body) : limited;
    } finally {
      clearTimeout(timer);
      unfollowInit();
      unfollowContext();
    }
  };
}

async function limitBody(response: Response, maxBytes: number, capture: ResponseCapture | undefined): Promise<{ limited: Response; body: Buffer<ArrayBuffer> | undefined }> {
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
  if (response.body === null) return { limited: response, body: undefined };
  let body: Buffer<ArrayBuffer>;
  if (response.headers.has('content-length')) {
    // Declared within the limit: fetch refuses a body longer than declared, so it is read in one go.
    body = Buffer.from(await response.arrayBuffer());
  } else {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new TokenResponseError(`The authorization server's response is larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
    body = Buffer.concat(chunks);
  }
  if (capture !== undefined) capture.body = body;
  // A 204 or a 304 has a null body: returned above.
  if (response.status >= 200 && response.status < 300) return { limited: new BufferedResponse(body, response), body };
  return { limited: withUrl(new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers }), response.url), body };
}

/** `response` with `url` set: openid-client checks the final URL of discovery and userinfo responses. */
function withUrl<T extends Response>(response: T, url: string): T {
  Object.defineProperty(response, 'url', { value: url });
  return response;
}

/**
 * A success whose body was already read (and limited): openid-client's `json()` or `text()` parses
 * those bytes directly, instead of streaming them again through a new `Response` (5–8× the cost of
 * the parse itself, on every token response).
 */
class BufferedResponse extends Response {
  readonly #bytes: Buffer<ArrayBuffer>;
  #used = false;

  constructor(bytes: Buffer<ArrayBuffer>, source: Response) {
    super(null, { status: source.status, statusText: source.statusText, headers: source.headers });
    this.#bytes = bytes;
    withUrl(this, source.url);
  }

  override get bodyUsed(): boolean {
    return this.#used;
  }

  override async text(): Promise<string> {
    this.#consume();
    return this.#bytes.toString('utf8');
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    this.#consume();
    return this.#bytes.buffer.slice(this.#bytes.byteOffset, this.#bytes.byteOffset + this.#bytes.byteLength);
  }

  override clone(): Response {
    if (this.#used) throw new TypeError('Response.clone: the body has already been read');
    return new BufferedResponse(this.#bytes, this);
  }

  #consume(): void {
    if (this.#used) throw new TypeError('The body has already been read');
    this.#used = true;
  }
}

/** `"error"` in UTF-8: a token response without it cannot be an error object (no JSON parse needed). */
const ERROR_MEMBER = Buffer.from('"error"');

/**
 * A 200 whose JSON body is an OAuth error (`{"error": ...}` and no `access_token`) is answered as the
 * 400 it means: GitHub reports token endpoint errors (`bad_refresh_token`, `bad_verification_code`)
 * with HTTP 200. openid-client then reads it as the OAuth error it is, not as a malformed success.
 */
function errorAsClientError(response: Response, body: Buffer<ArrayBuffer> | undefined): Response {
  if (response.status !== 200 || body === undefined || !body.includes(ERROR_MEMBER) || !(response.headers.get('content-type') ?? '').includes('json')) return response;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return response;
  }
  const fields = parsed as { error?: unknown; access_token?: unknown } | null;
  if (typeof fields !== 'object' || fields === null || typeof fields.error !== 'string' || fields.access_token !== undefined) return response;
  return withUrl(new Response(body, { status: 400, statusText: 'Bad Request', headers: response.headers }), response.url);
}
