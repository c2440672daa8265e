/**
 * A whole protected-resource request (`tokens.fetch`): the grant's access token in `Authorization`,
 * a DPoP proof (RFC 9449) when the grant is DPoP-bound, one retry with the resource server's nonce
 * when it asks for one (§9: a 401 `use_dpop_nonce` with `DPoP-Nonce`), and one retry with a forced
 * refresh when it refuses the token (a 401 `invalid_token`, or a 401 that names no error).
 * @module
 */
import type { DPoPProofRequest } from '../grant/dpop-key.ts';
import type { TokenResult } from '../grant/token.ts';

/** What {@link protectedFetch} needs: where tokens and proofs come from, and the nonces seen. @internal */
export interface ProtectedFetchContext {
  /** The token to send (`force`: a new one, the last was refused). */
  getToken(force: boolean, signal: AbortSignal | undefined): Promise<TokenResult>;
  /** The `DPoP` header value for a request (only asked for DPoP tokens). */
  proof(request: DPoPProofRequest): Promise<string>;
  /** The last nonce each resource server handed out. */
  nonces: DPoPNonces;
}

/** The next step after a response. */
export type FetchStep = 'done' | 'retry_with_nonce' | 'retry_with_new_token';

/**
 * Pure decision on a response: retry once with the server's nonce (a DPoP token refused with
 * `use_dpop_nonce` and a `DPoP-Nonce` header), once with a new token (a 401 whose challenge says
 * `invalid_token` or names no error), else hand the response to the caller.
 *
 * @example
 * ```ts
 * nextStep(401, 'DPoP error="use_dpop_nonce"', 'n-1', { dpop: true, nonceRetried: false, refreshed: false }); // 'retry_with_nonce'
 * ```
 */
export function nextStep(
  status: number,
  challenge: string | null,
  nonce: string | null,
  state: { dpop: boolean; nonceRetried: boolean; refreshed: boolean },
): FetchStep {
  if (status !== 401) return 'done';
  const error = challengeError(challenge);
  if (error === 'use_dpop_nonce') return state.dpop && nonce !== null && !state.nonceRetried ? 'retry_with_nonce' : 'done';
  if ((error === undefined || error === 'invalid_token') && !state.refreshed) return 'retry_with_new_token';
  return 'done';
}

/** The `error` parameter of the first challenge of a `WWW-Authenticate` header that has one. */
export function challengeError(header: string | null): string | undefined {
  if (header === null) return undefined;
  return /(?:^|[\s,])error\s*=\s*"?([^",\s]+)/i.exec(header)?.[1];
}

/**
 * Sends `input`/`init` with the grant's token (and proof), retrying as {@link nextStep} decides.
 * The body is replayed from a clone for a retry; the caller's `Authorization` and `DPoP` headers are
 * replaced. Resolves the last response, whatever its status.
 */
export async function protectedFetch(ctx: ProtectedFetchContext, input: string | URL | Request, init: RequestInit | undefined, signal: AbortSignal | undefined): Promise<Response> {
  const base = new Request(input, signal === undefined ? init : { ...init, signal });
  const origin = new URL(base.url).origin;
  const state = { dpop: false, nonceRetried: false, refreshed: false };
  let token = await ctx.getToken(false, base.signal);
  for (;;) {
    state.dpop = token.tokenType === 'DPoP';
    const request = base.clone();
    request.headers.set('authorization', `${token.tokenType} ${token.accessToken}`);
    if (state.dpop) {
      const nonce = ctx.nonces.get(origin);
      request.headers.set('dpop', await ctx.proof({ method: request.method, url: request.url, accessToken: token.accessToken, ...(nonce === undefined ? {} : { nonce }) }));
    } else {
      request.headers.delete('dpop');
    }
    const response = await fetch(request);
    const nonce = response.headers.get('dpop-nonce');
    if (nonce !== null) ctx.nonces.set(origin, nonce);
    const step = nextStep(response.status, response.headers.get('www-authenticate'), nonce, state);
    if (step === 'done') return response;
    await response.body?.cancel();
    if (step === 'retry_with_nonce') {
      state.nonceRetried = true;
    } else {
      state.refreshed = true;
      state.nonceRetried = false;
      token = await ctx.getToken(true, base.signal);
    }
  }
}

/** Most resource servers whose nonce is remembered (oldest forgotten first). */
const MAX_ORIGINS = 256;

/** The last `DPoP-Nonce` each resource server (origin) sent, sent with the next proof to it. @internal */
export class DPoPNonces {
  readonly #byOrigin = new Map<string, string>();

  get(origin: string): string | undefined {
    return this.#byOrigin.get(origin);
  }

  set(origin: string, nonce: string): void {
    this.#byOrigin.delete(origin);
    this.#byOrigin.set(origin, nonce);
    if (this.#byOrigin.size > MAX_ORIGINS) this.#byOrigin.delete(this.#byOrigin.keys().next().value!);
  }
}
