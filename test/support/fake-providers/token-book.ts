/**
 * What a fake authorization server remembers: grants, authorization codes, access tokens and
 * refresh tokens. Every secret it mints is recorded for the suite's leak check.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { AccessTokenState, RefreshTokenState } from './types.ts';

export interface Grant {
  id: string;
  clientId: string;
  scope: string;
  revoked: boolean;
}

export interface CodeRecord {
  grantId: string;
  clientId: string;
  redirectUri: string;
  /** The redirect URI was sent in the authorization request (then the token request must repeat it). */
  redirectUriSent: boolean;
  codeChallenge?: string;
  nonce?: string;
  issueRefreshToken: boolean;
  used: boolean;
  expiresAtMs: number;
}

interface AccessRecord {
  grantId: string;
  issuedAtMs: number;
  expiresAtMs: number;
  revoked: boolean;
}

interface RefreshRecord {
  grantId: string;
  issuedAtMs: number;
  expiresAtMs?: number;
  consumed: boolean;
  /** When the token was first rotated away. */
  consumedAtMs?: number;
}

/** Records a secret: in memory, and in the suite's leak-check file when `OFFLINE_TOKENS_SECRETS_FILE` is set. */
export function recordSecret(issuedTokens: Set<string>, secret: string): void {
  issuedTokens.add(secret);
  if (process.env.OFFLINE_TOKENS_SECRETS_FILE) appendFileSync(process.env.OFFLINE_TOKENS_SECRETS_FILE, `${secret}\n`);
}

export class TokenBook {
  readonly issuedTokens = new Set<string>();
  readonly grants = new Map<string, Grant>();
  readonly codes = new Map<string, CodeRecord>();
  readonly #access = new Map<string, AccessRecord>();
  readonly #refresh = new Map<string, RefreshRecord>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  now(): number {
    return this.#now();
  }

  mint(prefix: string): string {
    const secret = `${prefix}${randomBytes(30).toString('base64url')}`;
    recordSecret(this.issuedTokens, secret);
    return secret;
  }

  newGrant(clientId: string, scope: string): Grant {
    const grant = { id: randomBytes(8).toString('hex'), clientId, scope, revoked: false };
    this.grants.set(grant.id, grant);
    return grant;
  }

  issueAccessToken(prefix: string, grantId: string, ttlS: number): string {
    const token = this.mint(prefix);
    const now = this.#now();
    this.#access.set(token, { grantId, issuedAtMs: now, expiresAtMs: now + ttlS * 1000, revoked: false });
    return token;
  }

  issueRefreshToken(prefix: string, grantId: string, ttlS?: number): string {
    const token = this.mint(prefix);
    const now = this.#now();
    this.#refresh.set(token, { grantId, issuedAtMs: now, expiresAtMs: ttlS === undefined ? undefined : now + ttlS * 1000, consumed: false });
    return token;
  }

  /** The grant and record behind a live access token, or undefined. */
  liveAccessToken(token: string): { grant: Grant; issuedAtMs: number; expiresAtMs: number } | undefined {
    const record = this.#access.get(token);
    if (record === undefined || this.accessTokenState(token) !== 'active') return undefined;
    return { grant: this.grants.get(record.grantId)!, issuedAtMs: record.issuedAtMs, expiresAtMs: record.expiresAtMs };
  }

  refreshRecord(token: string): (RefreshRecord & { grant: Grant }) | undefined {
    const record = this.#refresh.get(token);
    return record === undefined ? undefined : Object.assign(record, { grant: this.grants.get(record.grantId)! });
  }

  accessTokenState(token: string): AccessTokenState {
    const record = this.#access.get(token);
    if (record === undefined) return 'unknown';
    if (record.revoked || this.grants.get(record.grantId)?.revoked) return 'revoked';
    return this.#now() >= record.expiresAtMs ? 'expired' : 'active';
  }

  refreshTokenState(token: string): RefreshTokenState {
    const record = this.#refresh.get(token);
    if (record === undefined) return 'unknown';
    if (this.grants.get(record.grantId)?.revoked) return 'revoked';
    if (record.consumed) return 'consumed';
    return record.expiresAtMs !== undefined && this.#now() >= record.expiresAtMs ? 'expired' : 'active';
  }

  /** Makes every access token of the grant unusable (a rotation that kills the previous access token). */
  revokeAccessTokens(grantId: string): void {
    for (const record of this.#access.values()) if (record.grantId === grantId) record.revoked = true;
  }

  revokeAccessToken(token: string): boolean {
    const record = this.#access.get(token);
    if (record !== undefined) record.revoked = true;
    return record !== undefined;
  }

  /** Revokes the grant: all its access and refresh tokens die. */
  revokeGrant(grantId: string): void {
    const grant = this.grants.get(grantId);
    if (grant !== undefined) grant.revoked = true;
  }

  /** The grant a token (access or refresh) belongs to. */
  grantOf(token: string): Grant | undefined {
    const record = this.#access.get(token) ?? this.#refresh.get(token);
    return record === undefined ? undefined : this.grants.get(record.grantId);
  }

  revokeAllGrants(): void {
    for (const grant of this.grants.values()) grant.revoked = true;
  }
}
