/**
 * What a provider file tells the engine: paths, policies and wire formats, plus the token endpoint
 * errors and JSON answers most servers share.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './protocol.ts';
import type { Grant } from './token-book.ts';

export type TokenErrorKind = 'invalid_client' | 'invalid_request' | 'unsupported_grant_type' | 'bad_code' | 'redirect_uri_mismatch' | 'bad_refresh_token';
export interface ErrorAnswer { status: number; body: Record<string, string>; headers?: Record<string, string> }
export type Route = (req: IncomingMessage, res: ServerResponse) => void;

export interface Profile {
  name: string;
  paths: { authorization: string; token: string; revocation?: string; introspection?: string; userinfo?: string; jwks?: string; metadata?: string };
  /** Extra routes (metadata documents, redirects), matched first, on exact path. */
  routes: Record<string, Route>;
  defaultAccessTokenTtlS: number;
  prefixes: { code: string; access: string; refresh: string };
  tokenType: string;
  authorization: {
    requireRedirectUri: boolean;
    requireResponseType: boolean;
    requirePkce: boolean;
    /** Send RFC 9207 `iss` in the authorization response. */
    sendIss: boolean;
    /** The user has consented to this client before the fake starts (Google's "returning user"). */
    initiallyConsented: boolean;
    /** Refuses a request with an OAuth error (sent to the redirect URI), or accepts it. */
    check(params: URLSearchParams): { error: string; description: string } | undefined;
    issueRefreshToken(params: URLSearchParams, firstConsent: boolean): boolean;
  };
  token: {
    /** GitHub's code exchange has no `grant_type`. */
    grantTypeOptional: boolean;
    /** GitHub reads its token parameters from the query string too. */
    acceptQueryParams: boolean;
    error(kind: TokenErrorKind): ErrorAnswer;
    /** Writes a token endpoint answer (JSON by default; GitHub may answer form-encoded). */
    send(req: IncomingMessage, res: ServerResponse, status: number, body: Record<string, string | number>): void;
    /** The `scope` member of a token response. */
    scope(grant: Grant): string;
    extras(): Record<string, string | number>;
  };
  refresh: {
    rotate: boolean; revokeAccessTokensOnRotate: boolean; revokeGrantOnReuse: boolean; ttlS?: number;
    /** How long a rotated refresh token stays usable (Okta's grace period, Auth0's reuse interval, Microsoft's "not revoked"). */
    reuseIntervalMs?: number;
  };
  /** Issue an ID token when the grant's scope has `openid`. */
  idToken: boolean;
  revocation?: { requireClientAuth: boolean; anyTokenRevokesGrant: boolean; unknownToken?: ErrorAnswer };
  introspection?: { refreshTokens: boolean };
  userinfo?: { schemes: string[]; body(grant: Grant): unknown; unauthorized: ErrorAnswer };
}

/** An authorization request check refusing any scope outside `known` with `invalid_scope`. */
export function refuseUnknownScopes(known: readonly string[]): (params: URLSearchParams) => { error: string; description: string } | undefined {
  return (params) => {
    const unknown = (params.get('scope') ?? '').split(' ').filter((scope) => scope && !known.includes(scope));
    return unknown.length > 0 ? { error: 'invalid_scope', description: `Unknown scope: ${unknown.join(' ')}` } : undefined;
  };
}

/** The token endpoint errors of RFC 6749 §5.2, as most servers send them. */
export function standardTokenError(kind: TokenErrorKind, descriptions: Partial<Record<TokenErrorKind, string>> = {}): ErrorAnswer {
  const description = descriptions[kind];
  const body = (error: string): Record<string, string> => (description === undefined ? { error } : { error, error_description: description });
  switch (kind) {
    case 'invalid_client':
      return { status: 401, body: body('invalid_client'), headers: { 'www-authenticate': 'Basic realm="token"' } };
    case 'invalid_request':
    case 'unsupported_grant_type':
      return { status: 400, body: body(kind) };
    case 'bad_code':
    case 'redirect_uri_mismatch':
    case 'bad_refresh_token':
      return { status: 400, body: body('invalid_grant') };
  }
}

/**
 * The token endpoint most servers have: `grant_type` required, parameters in the body only, the
 * RFC 6749 errors (with these descriptions), JSON answers, the grant's scope, no extra members.
 */
export function standardTokenEndpoint(descriptions: Partial<Record<TokenErrorKind, string>> = {}): Profile['token'] {
  return {
    grantTypeOptional: false,
    acceptQueryParams: false,
    error: (kind) => standardTokenError(kind, descriptions),
    send: sendTokenJson,
    scope: (grant) => grant.scope,
    extras: () => ({}),
  };
}

export function sendTokenJson(_req: IncomingMessage, res: ServerResponse, status: number, body: Record<string, string | number>): void {
  sendJson(res, status, body, { pragma: 'no-cache' });
}
