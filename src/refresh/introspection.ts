/**
 * Asking the server whether a refresh token is still active (RFC 7662), after a refresh whose outcome
 * is unknown: only a server that has shown it knows refresh tokens is asked.
 * @module
 */
import { ServerUnavailableError } from '../errors.ts';
import { isRefreshTokenActive, type OAuthClient } from '../oauth/client.ts';
import { classifyFailure } from '../oauth/classify.ts';
import type { ServerConnection } from '../oauth/server.ts';

/** What introspection said: `unsupported` when not trusted or refused, `unavailable` when unreachable. */
export type IntrospectionStatus = 'active' | 'inactive' | 'unsupported' | 'unavailable';

/** The settings introspection follows. @internal */
export interface IntrospectionPolicy {
  requestTimeoutMs: number;
  now: () => number;
}

/**
 * After a refresher died mid-flight: true when the server says the refresh token is no longer active
 * (it was rotated and the result lost), false when it is active or the server cannot tell.
 */
export async function confirmRotationLost(server: ServerConnection, policy: IntrospectionPolicy, oauth: OAuthClient, refreshToken: string, signal: AbortSignal): Promise<boolean> {
  const status = await introspect(server, policy, oauth, refreshToken, signal);
  if (status === 'unavailable') throw new ServerUnavailableError('Could not ask the authorization server whether an interrupted refresh went through');
  return status === 'inactive';
}

/**
 * RFC 7662 introspection of a refresh token: `unsupported` when the server has no endpoint or refuses
 * this client, `unavailable` when it could not be reached.
 */
export async function introspect(server: ServerConnection, policy: IntrospectionPolicy, oauth: OAuthClient, refreshToken: string, signal: AbortSignal): Promise<IntrospectionStatus> {
  // Only a server that has shown it knows refresh tokens: RFC 7662 lets others answer `active: false`.
  if (!await server.trustsIntrospection(oauth, signal)) return 'unsupported';
  try {
    const active = await isRefreshTokenActive(oauth, refreshToken, AbortSignal.any([signal, AbortSignal.timeout(policy.requestTimeoutMs)]));
    return active ? 'active' : 'inactive';
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    return classifyFailure(error, policy.now()).kind === 'transient' ? 'unavailable' : 'unsupported';
  }
}
