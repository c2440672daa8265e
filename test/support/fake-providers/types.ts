/**
 * Shapes shared by the fake authorization servers in this folder: options, counters, faults and the
 * object every `start…Fake()` resolves with.
 */

/** A fault applied to the next request to a fake's token endpoint, first in, first out. */
export type FakeTokenEndpointFault =
  /** Answer without processing the request (the code or refresh token stays as it was). */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  /** Close the connection without processing the request. */
  | { kind: 'drop-before' }
  /** Process the request (a refresh token rotates), then close the connection instead of answering. */
  | { kind: 'drop-after' };

export interface FakeProviderOptions {
  /** Access token lifetime in seconds; each fake has its provider's documented default. */
  accessTokenTtlS?: number;
  /** Clock of the fake in milliseconds (token expiry, `iat`/`exp`). Default `Date.now`. */
  now?: () => number;
}

export interface FakeCounters {
  /** grant_type=refresh_token requests the fake processed (faulted ones are not counted). */
  refreshRequests: number;
  refreshSuccesses: number;
  /** Failed refreshes by the error code the fake answered with. */
  refreshErrors: Record<string, number>;
  /** Successful authorization code exchanges. */
  codeExchanges: number;
  introspections: number;
  revocations: number;
  /**
   * Presentations of a refresh token that had already been rotated away (each one counts).
   * Non-rotating refresh tokens (Google) are meant to be used again and never count.
   */
  reusedRefreshTokens: number;
  /** Presentations of a rotated refresh token within the provider's reuse interval (accepted, not counted as reuse). */
  graceReuses: number;
  /** Requests by path, including faulted ones and 404s. */
  requests: Record<string, number>;
  /** Successful client authentications at the token, revocation and introspection endpoints, by method. */
  clientAuthMethods: Record<string, number>;
}

export interface ConsentOptions {
  /** Play the user declining: the callback carries `error=access_denied`. */
  deny?: boolean;
}

export type RefreshTokenState = 'active' | 'consumed' | 'revoked' | 'expired' | 'unknown';
export type AccessTokenState = 'active' | 'revoked' | 'expired' | 'unknown';

/** Absolute URLs of the endpoints a fake really serves (advertised in its metadata or not). */
export interface FakeEndpoints {
  authorization: string;
  token: string;
  revocation?: string;
  introspection?: string;
  /** A protected resource that accepts only a live access token (userinfo, GitHub's `/user`). */
  userinfo?: string;
  jwks?: string;
  /** Where the fake's metadata document is served, if it has one. */
  metadata?: string;
}

export interface FakeProvider {
  /** Base URL, `http://127.0.0.1:<port>`; the issuer for the fakes that have one. */
  issuer: string;
  endpoints: FakeEndpoints;
  /** The one registered confidential client; it may authenticate with `client_secret_basic` or `client_secret_post`. */
  client: { clientId: string; clientSecret: string };
  /** The registered redirect URI (nothing listens there: `consent()` stops at it). */
  redirectUri: string;
  counters: FakeCounters;
  /** Every access token, refresh token, ID token and authorization code the fake issued. */
  issuedTokens: Set<string>;
  /** Faults for the next token endpoint requests. */
  faults: FakeTokenEndpointFault[];
  /** Plays the user approving (or declining) an authorization URL; resolves with the callback URL. */
  consent(authorizationUrl: URL | string, options?: ConsentOptions): Promise<URL>;
  refreshTokenState(token: string): RefreshTokenState;
  accessTokenState(token: string): AccessTokenState;
  /** Revokes every grant (as if the user disconnected the app). */
  revokeAllGrants(): void;
  resetCounters(): void;
  close(): Promise<void>;
}
