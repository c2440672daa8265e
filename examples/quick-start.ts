/**
 * Quick start with a real provider: a tiny web app that connects a user's account once, and a job
 * that acts for that user later. Run with your provider's settings in the environment:
 *   ISSUER=https://idp.example.com CLIENT_ID=... CLIENT_SECRET=... COOKIE_SECRET=... node examples/quick-start.ts
 *
 * The consent is bound to the browser that started it: `/connect` keeps the `state` in a signed,
 * `HttpOnly`, `SameSite=Lax` cookie, and `/callback` completes only a callback carrying that state,
 * for the user the app's own session says is logged in. Every error becomes an HTTP answer.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { CallbackError, createTokenManager, ReauthRequiredError, TokenManagerError, type TokenManager } from 'offline-tokens';

const STATE_COOKIE = 'consent_state';

/** What the example app needs. */
export interface QuickStartApp {
  tokens: TokenManager;
  /** The redirect URI registered at the provider (and given to `createTokenManager`). */
  redirectUri: string;
  /** Signs the state cookie: at least 32 random bytes, the same on every instance. */
  cookieSecret: Buffer;
  /** The user your own login says is making the request (a stand-in here: always `user-42`). */
  currentUser?: (req: IncomingMessage) => string | undefined;
}

/** The app's request handler: `/connect`, `/callback`; never throws, whatever the request. */
export function createQuickStartHandler(app: QuickStartApp): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { tokens, cookieSecret } = app;
  const base = new URL(app.redirectUri);
  const callbackPath = base.pathname;
  const currentUser = app.currentUser ?? (() => 'user-42');
  return async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', base.origin);
      const user = currentUser(req);
      if (url.pathname === '/connect') {
        // 1. The user clicks "Connect": remember the state in this browser, send it to the consent screen.
        if (user === undefined) return answer(res, 401, 'Log in first.');
        const { url: consentUrl, state } = await tokens.startAuthorization({ key: user });
        res.writeHead(302, {
          location: consentUrl.href,
          'set-cookie': `${STATE_COOKIE}=${sign(state, cookieSecret)}; HttpOnly; SameSite=Lax; Path=${callbackPath}; Max-Age=600${base.protocol === 'https:' ? '; Secure' : ''}`,
        }).end();
        return;
      }
      if (url.pathname === callbackPath) {
        // 2. The provider redirects back: complete only the consent this browser started, for this user.
        const state = verify(readCookie(req, STATE_COOKIE), cookieSecret);
        if (state === undefined || user === undefined) return answer(res, 400, 'This consent was not started in this browser: connect again.');
        const grant = await tokens.completeAuthorization(url, { state, key: user });
        res.setHeader('set-cookie', `${STATE_COOKIE}=; HttpOnly; SameSite=Lax; Path=${callbackPath}; Max-Age=0`);
        return answer(res, 200, `Connected ${grant.subject ?? 'your account'}. You can close this tab.`);
      }
      return answer(res, 404, 'Not found.');
    } catch (error) {
      const [status, message] = httpAnswer(error);
      if (status >= 500) console.error('request failed:', error instanceof TokenManagerError ? `${error.code}: ${error.message}` : error);
      if (!res.headersSent) answer(res, status, message);
      else res.destroy();
    }
  };
}

/** Maps the SDK's errors to HTTP answers (messages hold no token: they are safe to show). */
export function httpAnswer(error: unknown): [number, string] {
  if (error instanceof CallbackError) {
    return error.reason === 'access_denied' ? [403, 'You declined the consent.'] : [400, 'This sign-in link is invalid, expired or already used: connect again.'];
  }
  if (!(error instanceof TokenManagerError)) return [500, 'Something went wrong.'];
  switch (error.code) {
    case 'ERR_INVALID_OPTIONS':
      return [400, 'Bad request.'];
    case 'ERR_REAUTH_REQUIRED':
      return [409, 'Please connect your account again.'];
    case 'ERR_STORE_UNAVAILABLE':
    case 'ERR_SERVER_UNAVAILABLE':
    case 'ERR_LOCK_UNAVAILABLE':
      return [503, 'Try again in a moment.'];
    default:
      return [502, 'The identity provider sent something we could not use.'];
  }
}

function answer(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
}

function sign(value: string, secret: Buffer): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64url')}`;
}

/** The signed value, or `undefined` when absent or not signed with `secret`. */
function verify(signed: string | undefined, secret: Buffer): string | undefined {
  const dot = signed?.lastIndexOf('.') ?? -1;
  if (signed === undefined || dot <= 0) return undefined;
  const value = signed.slice(0, dot);
  const expected = Buffer.from(sign(value, secret));
  const given = Buffer.from(signed);
  return expected.length === given.length && timingSafeEqual(expected, given) ? value : undefined;
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

// 3. Any time later, in any process sharing the store: act for the user.
export async function nightlyJob(tokens: TokenManager): Promise<void> {
  try {
    const accessToken = await tokens.getAccessToken('user-42');
    await fetch('https://api.example.com/deploy', { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
  } catch (error) {
    if (error instanceof ReauthRequiredError) console.log(`Ask user ${error.key} to connect again (${error.reason})`);
    else throw error;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const redirectUri = 'http://localhost:3000/callback';
  const tokens = await createTokenManager({
    issuer: process.env.ISSUER ?? 'https://idp.example.com',
    clientId: process.env.CLIENT_ID ?? 'my-app',
    clientSecret: process.env.CLIENT_SECRET,
    redirectUri,
    scope: 'openid offline_access email',
    sqlitePath: './tokens.sqlite', // the default store; pass `store: new Keyv(...)` for Redis/PostgreSQL
  });
  const cookieSecret = process.env.COOKIE_SECRET ? Buffer.from(process.env.COOKIE_SECRET) : randomBytes(32);
  createServer(createQuickStartHandler({ tokens, redirectUri, cookieSecret })).listen(3000);
}
