/**
 * Signing keys as JWKs: which JWS algorithm a key signs with, its import as a non-extractable
 * `CryptoKey`, new key pairs, RFC 7638 thumbprints, and compact JWS signing. Used for
 * `private_key_jwt` client keys and for DPoP keys.
 * @module
 */
import type { JsonWebKey as NodeJwk } from 'node:crypto';
import { nodeCrypto } from './node-crypto.ts';
import { ConfigurationError } from '../errors.ts';

/**
 * A JSON Web Key (RFC 7517), private members included for a private key.
 *
 * @example
 * ```ts
 * const clientPrivateKey: Jwk = JSON.parse(process.env.CLIENT_JWK!); // { kty: 'EC', crv: 'P-256', x, y, d, kid }
 * ```
 */
export type Jwk = NodeJwk & {
  /** Key id: sent as the JWS `kid` header. */
  kid?: string;
  /** The JWS algorithm the key signs with (else implied by its type and curve). */
  alg?: string;
  /** Public key use (`sig`). */
  use?: string;
};

/**
 * A JWS algorithm this SDK signs with (`private_key_jwt` client assertions, DPoP proofs).
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...options, dpop: { algorithm: 'ES256' satisfies SigningAlgorithm } });
 * ```
 */
export type SigningAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'Ed25519' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512';

/** JWS algorithms this SDK signs with: every {@link SigningAlgorithm}. */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

const CURVE_ALGORITHM: Record<string, SigningAlgorithm> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'Ed25519' };
const ALGORITHM_CURVE: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** The Web Crypto parameters of a JWS algorithm: for import and for `sign`. */
function webCryptoAlgorithm(alg: SigningAlgorithm): { import: RsaHashedImportParams | EcKeyImportParams | Algorithm; sign: AlgorithmIdentifier | RsaPssParams | EcdsaParams } {
  const bits = alg.slice(2);
  const hash = `SHA-${bits}`;
  switch (alg.slice(0, 2)) {
    case 'RS':
      return { import: { name: 'RSASSA-PKCS1-v1_5', hash }, sign: { name: 'RSASSA-PKCS1-v1_5' } };
    case 'PS':
      return { import: { name: 'RSA-PSS', hash }, sign: { name: 'RSA-PSS', saltLength: Number(bits) / 8 } as RsaPssParams };
    case 'ES':
      return { import: { name: 'ECDSA', namedCurve: ALGORITHM_CURVE[alg]! }, sign: { name: 'ECDSA', hash } as EcdsaParams };
    default:
      return { import: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
  }
}

/** The JWS algorithm of a key: its `alg`, else what its type and curve imply (RSA: RS256). */
export function algorithmOf(jwk: Jwk, name: string): SigningAlgorithm {
  if (jwk.alg !== undefined) {
    if (!(SIGNING_ALGORITHMS as readonly string[]).includes(jwk.alg)) throw new ConfigurationError(`Expected \`${name}.alg\` to be one of ${SIGNING_ALGORITHMS.join(', ')}`);
    return jwk.alg as SigningAlgorithm;
  }
  if (jwk.kty === 'RSA') return 'RS256';
  const alg = CURVE_ALGORITHM[jwk.crv ?? ''];
  if ((jwk.kty === 'EC' || jwk.kty === 'OKP') && alg !== undefined) return alg;
  throw new ConfigurationError(`Expected \`${name}\` to be an RSA, EC (P-256, P-384, P-521) or Ed25519 key`);
}

/** A private signing key ready for use: non-extractable, with its algorithm and public JWK. */
export interface SigningKey {
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  /** The public half, extractable (it is sent in DPoP proofs). */
  publicKey: CryptoKey;
  publicJwk: Jwk;
}

/**
 * Imports a private JWK as a non-extractable `CryptoKey` (synchronously, so options fail at creation).
 * @throws {ConfigurationError} naming `name` when the JWK is not a private signing key.
 */
export function importPrivateJwk(jwk: Jwk, name: string): SigningKey {
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.d !== 'string') throw new ConfigurationError(`Expected \`${name}\` to be a private JWK (with \`d\`) or a CryptoKey`);
  const alg = algorithmOf(jwk, name);
  try {
    const keyObject = nodeCrypto().createPrivateKey({ key: jwk, format: 'jwk' });
    const algorithm = webCryptoAlgorithm(alg).import;
    const publicKeyObject = nodeCrypto().createPublicKey(keyObject);
    return {
      alg,
      privateKey: keyObject.toCryptoKey(algorithm, false, ['sign']) as CryptoKey,
      publicKey: publicKeyObject.toCryptoKey(algorithm, true, ['verify']) as CryptoKey,
      publicJwk: publicKeyObject.export({ format: 'jwk' }),
    };
  } catch {
    // The cause may quote key material: not kept.
    throw new ConfigurationError(`Expected \`${name}\` to be a valid private key for ${alg}`);
  }
}

/** The JWS algorithm a private `CryptoKey` signs with. */
export function algorithmOfCryptoKey(key: CryptoKey, name: string): SigningAlgorithm {
  if (!(key instanceof CryptoKey) || key.type !== 'private' || !key.usages.includes('sign')) {
    throw new ConfigurationError(`Expected \`${name}\` to be a private JWK or a private CryptoKey with the 'sign' usage`);
  }
  const algorithm = key.algorithm as { name: string; hash?: { name: string }; namedCurve?: string };
  const bits = algorithm.hash?.name.slice(4);
  switch (algorithm.name) {
    case 'RSASSA-PKCS1-v1_5':
      return `RS${bits}` as SigningAlgorithm;
    case 'RSA-PSS':
      return `PS${bits}` as SigningAlgorithm;
    case 'ECDSA':
      return CURVE_ALGORITHM[algorithm.namedCurve ?? '']!;
    case 'Ed25519':
      return 'Ed25519';
    default:
      throw new ConfigurationError(`Expected \`${name}\` to be an RSA, ECDSA or Ed25519 key`);
  }
}

/** A new private JWK for `alg` (2048-bit RSA for RS and PS algorithms). */
export function generatePrivateJwk(alg: SigningAlgorithm): Jwk {
  const family = alg.slice(0, 2);
  const { privateKey } = family === 'ES'
    ? nodeCrypto().generateKeyPairSync('ec', { namedCurve: ALGORITHM_CURVE[alg]! })
    : family === 'RS' || family === 'PS'
      ? nodeCrypto().generateKeyPairSync('rsa', { modulusLength: 2048 })
      : nodeCrypto().generateKeyPairSync('ed25519');
  return { ...privateKey.export({ format: 'jwk' }), alg };
}

/** RFC 7638 JWK SHA-256 thumbprint, base64url. */
export function jwkThumbprint(jwk: Jwk): string {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return nodeCrypto().createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** Signs a compact JWS. */
export async function signJws(key: SigningKey, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ ...header, alg: key.alg })}.${encode(payload)}`;
  const signature = await crypto.subtle.sign(webCryptoAlgorithm(key.alg).sign, key.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}
