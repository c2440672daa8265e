/**
 * Fetching the server's metadata: OpenID Connect Discovery, RFC 8414, or an exact URL, retried on
 * transient failures (a GET is always safe to repeat). Returns plain JSON, so it can be cached.
 * @module
 */
import * as client from 'openid-client';
import { ServerUnavailableError } from '../errors.ts';
import { sameIssuer } from '../grant/issuer.ts';
import { withRequestSignal } from './http.ts';
import { GaveUp, retryTransient } from './retry.ts';
import type { Clock } from '../util/clock.ts';

/** Where and how to fetch metadata. @internal */
export interface DiscoveryPolicy {
  issuer: URL;
  discovery: 'oidc' | 'oauth2';
  discoveryUrl: URL | undefined;
  allowInsecureRequests: boolean;
  requestTimeoutMs: number;
  refreshTimeoutMs: number;
  maxRetries: number;
  retryMinDelayMs: number;
  now: () => number;
  /** The one clock: retry deadlines. */
  clock: Clock;
}

/** Server metadata as JSON. */
export type ServerMetadata = Record<string, unknown> & { issuer: string };

/**
 * Fetches the metadata. With `discoveryUrl` the document is read from that exact URL (redirects are
 * not followed) and its `issuer` must be the configured one.
 * @throws {ServerUnavailableError} when the metadata cannot be fetched or is not usable.
 */
export async function fetchMetadata(policy: DiscoveryPolicy, customFetch: client.CustomFetch, signal: AbortSignal): Promise<ServerMetadata> {
  try {
    return await retryTransient((attemptSignal) => withRequestSignal(attemptSignal, async () => {
      if (policy.discoveryUrl !== undefined) return fetchExact(policy, customFetch, attemptSignal);
      const config = await client.discovery(policy.issuer, 'metadata', undefined, undefined, {
        algorithm: policy.discovery,
        [client.customFetch]: customFetch,
        timeout: Math.ceil(policy.requestTimeoutMs / 1000),
        ...(policy.allowInsecureRequests ? { execute: [client.allowInsecureRequests] } : {}),
      });
      // Plain JSON: serverMetadata() adds helper functions.
      return JSON.parse(JSON.stringify(config.serverMetadata())) as ServerMetadata;
    }), {
      deadlineMs: policy.refreshTimeoutMs,
      hardDeadlineMs: Number.POSITIVE_INFINITY,
      retries: policy.maxRetries,
      minDelayMs: policy.retryMinDelayMs,
      signal,
      clock: policy.clock,
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof ServerUnavailableError) throw error;
    const where = policy.discoveryUrl?.href ?? policy.issuer.href;
    throw new ServerUnavailableError(`Fetching the server metadata of ${where} failed`, { cause: error instanceof GaveUp ? error.lastError : error });
  }
}

async function fetchExact(policy: DiscoveryPolicy, customFetch: client.CustomFetch, signal: AbortSignal): Promise<ServerMetadata> {
  const url = policy.discoveryUrl!;
  if (url.protocol !== 'https:' && !policy.allowInsecureRequests) throw new ServerUnavailableError('Expected `discoveryUrl` to be an https URL');
  const response = await customFetch(url.href, {
    method: 'GET',
    headers: { accept: 'application/json' },
    body: undefined,
    redirect: 'manual',
    signal: AbortSignal.any([signal, AbortSignal.timeout(policy.requestTimeoutMs)]),
  });
  if (response.status >= 500 || response.status === 429) {
    // Transient: let the retry loop see it as openid-client reports a 5xx.
    throw Object.assign(new client.ClientError('The metadata endpoint is unavailable', { cause: response }), { code: 'OAUTH_RESPONSE_IS_NOT_CONFORM' });
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new ServerUnavailableError(`The metadata URL answered HTTP ${response.status} (redirects are not followed: give the final URL)`);
  }
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new ServerUnavailableError('The metadata document is not JSON');
  }
  const metadata = json as Partial<ServerMetadata> | null;
  if (typeof metadata !== 'object' || metadata === null || typeof metadata.issuer !== 'string') {
    throw new ServerUnavailableError('The metadata document has no `issuer`');
  }
  if (sameIssuer(metadata.issuer, policy.issuer.href) === false) {
    throw new ServerUnavailableError('The metadata document names another `issuer` than the configured one');
  }
  return metadata as ServerMetadata;
}
