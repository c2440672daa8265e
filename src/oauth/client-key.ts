/**
 * The client's own key for `private_key_jwt` client authentication (RFC 7523): a private JWK or a
 * private `CryptoKey`, held as a non-extractable `CryptoKey` with its `kid`.
 * @module
 */
import { importPrivateJwk, algorithmOfCryptoKey, type Jwk } from '../util/jwk.ts';

/**
 * A private JWK (RSA, EC or Ed25519; its `alg` is used when set) or a private `CryptoKey` with the `sign` usage.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...options, clientPrivateKey: JSON.parse(process.env.CLIENT_JWK!), clientPrivateKeyId: 'key-2026' });
 * ```
 */
export type ClientPrivateKey = Jwk | CryptoKey;

/** The resolved client key: what openid-client's `PrivateKeyJwt` takes. @internal */
export interface ClientKey {
  key: CryptoKey;
  kid?: string;
}

/**
 * Validates and imports the client key.
 * @throws {ConfigurationError} naming `clientPrivateKey` when it is not a private signing key.
 */
export function resolveClientKey(value: ClientPrivateKey, kid: string | undefined): ClientKey {
  if (value instanceof CryptoKey) {
    algorithmOfCryptoKey(value, 'clientPrivateKey');
    return kid === undefined ? { key: value } : { key: value, kid };
  }
  const { privateKey } = importPrivateJwk(value, 'clientPrivateKey');
  const keyId = kid ?? (typeof value.kid === 'string' ? value.kid : undefined);
  return keyId === undefined ? { key: privateKey } : { key: privateKey, kid: keyId };
}
