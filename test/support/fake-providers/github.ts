/**
 * GitHub App user tokens as GitHub documents them (docs.github.com, "Generating a user access token for
 * a GitHub App", "Refreshing user access tokens", "Authorizing OAuth apps"): no discovery document, no
 * ID token, a token endpoint that answers form-encoded unless asked for JSON, user tokens for 8 h and
 * refresh tokens for 6 months, and every refresh kills the refresh token used and the old access token.
 *
 * Errors: GitHub documents its token endpoint errors (`bad_verification_code`, `incorrect_client_credentials`,
 * `redirect_uri_mismatch`) by body only, and for the device flow it states "a 200 status and an `error`".
 * GitHub's own SDK (octokit/oauth-methods `oauthRequest`) treats any answer with an `error` member as a
 * failure and an octokit maintainer recorded a 200 for a bad code (octokit/auth-oauth-app.js#13). A used or
 * unknown refresh token gets `bad_refresh_token` ("The refresh token passed is incorrect or expired.");
 * that code is not on a GitHub page, it is what integrators report. So errors answer HTTP 200 by default
 * (`errorStatus` changes it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './protocol.ts';
import { startFake } from './engine.ts';
import type { ErrorAnswer, TokenErrorKind } from './profile.ts';
import type { FakeProvider, FakeProviderOptions } from './types.ts';

export interface GitHubFakeOptions extends FakeProviderOptions {
  /** Refresh token lifetime in seconds (`refresh_token_expires_in`). Default 15897600 (6 months). */
  refreshTokenTtlS?: number;
  /** HTTP status of token endpoint errors. Default 200, with an `error` member in the body. */
  errorStatus?: number;
}

export const GITHUB_FAKE_PATHS = {
  authorization: '/login/oauth/authorize',
  token: '/login/oauth/access_token',
  userinfo: '/user',
} as const;

const ERROR_URI = 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';
const ERRORS: Record<TokenErrorKind, [string, string]> = {
  invalid_client: ['incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.'],
  invalid_request: ['incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.'],
  unsupported_grant_type: ['unsupported_grant_type', 'The grant type is not supported.'],
  bad_code: ['bad_verification_code', 'The code passed is incorrect or expired.'],
  redirect_uri_mismatch: ['redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.'],
  bad_refresh_token: ['bad_refresh_token', 'The refresh token passed is incorrect or expired.'],
};

/** JSON with `Accept: application/json`, else `application/x-www-form-urlencoded` (all values strings). */
function sendGitHubToken(req: IncomingMessage, res: ServerResponse, status: number, body: Record<string, string | number>): void {
  if ((req.headers.accept ?? '').includes('application/json')) return sendJson(res, status, body);
  const form = new URLSearchParams(Object.entries(body).map(([name, value]) => [name, String(value)]));
  res.writeHead(status, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'cache-control': 'no-store' });
  res.end(form.toString());
}

/** Starts the GitHub fake (user tokens live 28800 s by default). */
export function startGitHubFake(options: GitHubFakeOptions = {}): Promise<FakeProvider> {
  const refreshTokenTtlS = options.refreshTokenTtlS ?? 15_897_600;
  const errorStatus = options.errorStatus ?? 200;
  return startFake(options, () => ({
    name: 'github',
    paths: GITHUB_FAKE_PATHS,
    // No discovery document of either kind: the generic 404 answers both well-known paths.
    routes: {},
    defaultAccessTokenTtlS: 28_800,
    prefixes: { code: 'gh-code-', access: 'ghu_', refresh: 'ghr_' },
    tokenType: 'bearer',
    authorization: {
      requireRedirectUri: false,
      requireResponseType: false,
      // PKCE is optional at GitHub (S256 only, github.blog changelog 2025-07-14).
      requirePkce: false,
      sendIss: false,
      initiallyConsented: false,
      // GitHub Apps ignore `scope` (fine-grained permissions instead); `openid` means nothing here.
      check: () => undefined,
      issueRefreshToken: () => true,
    },
    token: {
      grantTypeOptional: true,
      acceptQueryParams: true,
      error(kind): ErrorAnswer {
        const [error, description] = ERRORS[kind];
        return { status: errorStatus, body: { error, error_description: description, error_uri: ERROR_URI } };
      },
      send: sendGitHubToken,
      // "This value will always be an empty string."
      scope: () => '',
      extras: () => ({ refresh_token_expires_in: refreshTokenTtlS }),
    },
    refresh: { rotate: true, revokeAccessTokensOnRotate: true, revokeGrantOnReuse: false, ttlS: refreshTokenTtlS },
    idToken: false,
    // No RFC 7009 endpoint (GitHub has `DELETE /applications/{client_id}/grant`), no introspection.
    userinfo: {
      schemes: ['bearer', 'token'],
      body: () => ({ login: 'fake-user', id: 1, type: 'User' }),
      unauthorized: { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' } },
    },
  }));
}
