/**
 * A consent in progress as the store keeps it (under its `state`, single use), and its parsing.
 * @module
 */

/**
 * A consent in progress, kept under its `state` until the callback, single use. Exported from
 * `offline-tokens/testing` as the record {@link makePending} builds for store contract tests.
 *
 * @example
 * ```ts
 * const pending: PendingAuthorization = makePending(); // a valid record, for a store test
 * ```
 */
export interface PendingAuthorization {
  /** The grant's key the consent was started for. */
  key: string;
  /** The issuer and client the consent was started for: checked on the callback. */
  issuer: string;
  /** The client the consent was started for. */
  clientId: string;
  /** The PKCE verifier (a secret: the store must keep it private). */
  codeVerifier: string;
  /** OpenID Connect only. */
  nonce: string | undefined;
  /** Where the server redirects back. */
  redirectUri: string;
  /** The scope asked for. */
  scope: string;
  /** Epoch ms after which the callback is refused. */
  expiresAt: number;
}

export function parsePending(raw: string): PendingAuthorization | undefined {
  try {
    const value = JSON.parse(raw) as Partial<PendingAuthorization>;
    if (
      typeof value.key === 'string' && typeof value.codeVerifier === 'string'
      && (value.nonce === undefined || typeof value.nonce === 'string')
      && typeof value.issuer === 'string' && typeof value.clientId === 'string'
      && typeof value.redirectUri === 'string' && typeof value.scope === 'string' && typeof value.expiresAt === 'number'
    ) {
      return value as PendingAuthorization;
    }
  } catch {
    // fall through: an unreadable pending authorization is treated as unknown
  }
  return undefined;
}
