/**
 * What the application passes to, and gets from, the consent flow (`startAuthorization`,
 * `completeAuthorization`).
 * @module
 */

/**
 * Options of `startAuthorization`.
 *
 * @example
 * ```ts
 * const { url, state } = await tokens.startAuthorization({ key: 'user-42', params: { login_hint: 'ada@example.com' } });
 * ```
 */
export interface StartAuthorizationOptions {
  /** Your key for the user whose grant this is (user id, tenant id...). */
  key: string;
  /** Scope for this consent, instead of the manager's (the required scopes are added as for the manager's). */
  scope?: string;
  /** Extra authorization request parameters (e.g. `login_hint`). */
  params?: Record<string, string>;
  /** RFC 8707: the resource(s) the grant is for, so that `getAccessToken(key, { resource })` may ask tokens for them. */
  resource?: string | URL | ReadonlyArray<string | URL>;
  /** Aborts the call (the pending consent may already be stored: it expires unused). */
  signal?: AbortSignal;
}

/**
 * Options of `completeAuthorization`: what binds the callback to the browser that started the consent.
 * At least one of `state` and `key` is required.
 *
 * @example
 * ```ts
 * const grant = await tokens.completeAuthorization(callbackUrl, { state: session.consentState, key: session.userId });
 * ```
 */
export interface CompleteAuthorizationOptions {
  /**
   * The `state` that `startAuthorization` returned for this browser, kept by the app in the user's
   * session (a signed, `HttpOnly`, `SameSite=Lax` cookie): a callback carrying another state is
   * refused (`state_mismatch`).
   */
  state?: string;
  /** The user the app's own session says is logged in: a consent started for another key is refused (`key_mismatch`). */
  key?: string;
  /** Aborts the call; a code already exchanged may leave the grant stored or not. */
  signal?: AbortSignal;
}

/**
 * Where to send the user, and the `state` that identifies this consent.
 *
 * @example
 * ```ts
 * const { url, state } = await tokens.startAuthorization({ key: 'user-42' });
 * res.cookie('consent_state', state, { signed: true, httpOnly: true, sameSite: 'lax' });
 * res.redirect(url.href);
 * ```
 */
export interface AuthorizationRequest {
  /** The consent URL at the authorization server: redirect the user's browser there. */
  url: URL;
  /** The opaque value identifying this consent: keep it in the user's session and pass it to `completeAuthorization`. */
  state: string;
}
