/**
 * Shared set-up for tests: a manager connected to the test authorization server, with a clock the
 * test moves, and a grant obtained through a real (headless) consent.
 */
import { appendFileSync } from 'node:fs';
import Keyv from 'keyv';
import { createTokenManager, type TokenManager, type TokenManagerOptions } from 'offline-tokens';
import type { AuthorizationServer } from './authorization-server.ts';

export type ClientKind = 'basic' | 'post' | 'public' | 'private_key_jwt';

/** A clock tests move by hand. */
export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export function createClock(start = Date.now()): TestClock {
  let time = start;
  return { now: () => time, advance: (ms) => { time += ms; } };
}

/** The store namespace of test managers (`namespace` option): their grants live at `test:grant:<key>`. */
export const TEST_NAMESPACE = 'test';

/** The store key of a test manager's grant. */
export function grantKey(key: string): string {
  return `${TEST_NAMESPACE}:grant:${key}`;
}

/** Options for a manager of the given client at the test server. */
export function managerOptions(idp: AuthorizationServer, kind: ClientKind, extra: Partial<TokenManagerOptions> = {}): TokenManagerOptions {
  const client = kind === 'public'
    ? { clientId: idp.clients.public.clientId, clientAuthMethod: 'none' as const }
    : kind === 'private_key_jwt'
      ? { clientId: idp.clients.privateKeyJwt.clientId, clientAuthMethod: 'private_key_jwt' as const, clientPrivateKey: idp.clients.privateKeyJwt.privateJwk }
      : { clientId: idp.clients[kind].clientId, clientSecret: idp.clients[kind].clientSecret, clientAuthMethod: kind === 'basic' ? 'client_secret_basic' as const : 'client_secret_post' as const };
  return {
    issuer: idp.issuer,
    ...client,
    redirectUri: idp.redirectUri,
    allowInsecureRequests: true,
    store: new Keyv(),
    namespace: TEST_NAMESPACE,
    retryMinDelayMs: 10,
    ...extra,
  };
}

/** Runs a real consent for `key`; resolves once the grant is stored. */
export async function connect(tokens: TokenManager, idp: AuthorizationServer, key: string): Promise<void> {
  const { url, state } = await tokens.startAuthorization({ key });
  await tokens.completeAuthorization(await idp.consent(url), { state });
}

/** What {@link withManager} builds: a manager of one test-server client, optionally with a consented grant. */
export interface ManagerFixture {
  /** The test authorization server. */
  idp: AuthorizationServer;
  /** Which of its clients the manager uses (default `'post'`). */
  client?: ClientKind;
  /** A key to run a real (headless) consent for before `fn` runs. */
  connect?: string;
  /** The clock the manager reads (default: a new {@link createClock}). */
  clock?: TestClock;
  /** Further manager options (they win over the fixture's defaults). */
  options?: Partial<TokenManagerOptions>;
}

/**
 * Runs `fn` with a manager built from `fixture` and closes the manager afterwards, whatever `fn` does:
 * the `create → connect → try { … } finally { close }` every test needs, written once.
 *
 * @example
 * await withManager({ idp, connect: 'alice' }, async (tokens, clock) => {
 *   clock.advance(3_600_000);
 *   assert.ok(await tokens.getAccessToken('alice'));
 * });
 */
export async function withManager<T>(fixture: ManagerFixture, fn: (tokens: TokenManager, clock: TestClock) => Promise<T>): Promise<T> {
  const clock = fixture.clock ?? createClock();
  const options = managerOptions(fixture.idp, fixture.client ?? 'post', { now: clock.now, ...fixture.options });
  return withManagerOptions(options, async (tokens) => {
    if (fixture.connect !== undefined) await connect(tokens, fixture.idp, fixture.connect);
    return fn(tokens, clock);
  });
}

/**
 * Runs `fn` with a manager created from complete `options` and closes the manager afterwards, whatever
 * `fn` does: {@link withManager} for servers other than the test server (the fake providers).
 *
 * @example
 * await withManagerOptions(optionsFor(fake, clock), async (tokens) => {
 *   assert.ok(await tokens.getAccessToken('alice'));
 * });
 */
export async function withManagerOptions<T>(options: TokenManagerOptions, fn: (tokens: TokenManager) => Promise<T>): Promise<T> {
  const tokens = await createTokenManager(options);
  try {
    return await fn(tokens);
  } finally {
    await tokens.close();
  }
}

/** The claims introspection returns for an access token (RFC 7662), as far as the tests read them. */
export interface IntrospectedToken {
  active: boolean;
  token_type?: string;
  scope?: string;
  aud?: unknown;
  cnf?: { jkt?: string };
}

/** What the test server's introspection says about an access token, asked as the confidential `post` client it was issued to. */
export async function introspect(idp: AuthorizationServer, token: string): Promise<IntrospectedToken> {
  const response = await fetch(`${idp.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: idp.clients.post.clientId, client_secret: idp.clients.post.clientSecret }),
  });
  if (response.status !== 200) throw new Error(`introspection answered ${response.status}`);
  return response.json() as Promise<IntrospectedToken>;
}

/** Adds a secret the test made (not the server) to the suite-wide leak check (`test/run.ts`). */
export function registerSecret(value: string): void {
  if (process.env.OFFLINE_TOKENS_SECRETS_FILE) appendFileSync(process.env.OFFLINE_TOKENS_SECRETS_FILE, `${value}\n`);
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the promise to reject');
}
