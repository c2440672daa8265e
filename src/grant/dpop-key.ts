/**
 * A grant's DPoP key (RFC 9449): made at consent, stored with the grant (so it is encrypted with it
 * under `encryption`), held in memory as a non-extractable `CryptoKey`, and used to sign the proofs
 * of the code exchange, every refresh, and the caller's resource requests.
 * @module
 */
import { nodeCrypto } from '../util/node-crypto.ts';
import { ConfigurationError, RecordError } from '../errors.ts';
import { url } from '../util/validate.ts';
import { SIGNING_ALGORITHMS, generatePrivateJwk, importPrivateJwk, jwkThumbprint, signJws, type Jwk, type SigningAlgorithm, type SigningKey } from '../util/jwk.ts';

/**
 * The `dpop` option as an object.
 *
 * @example
 * ```ts
 * const tokens = await createTokenManager({ ...options, dpop: { algorithm: 'EdDSA' } });
 * ```
 */
export interface DPoPOptions {
  /** JWS algorithm of the grant keys. Default `'ES256'`. */
  algorithm?: SigningAlgorithm;
}

/** Resolved `dpop` option. @internal */
export interface DPoPPolicy {
  algorithm: SigningAlgorithm;
}

/** The stored form of a grant's DPoP key: its algorithm and private JWK. @internal */
export interface StoredDPoPKey {
  alg: SigningAlgorithm;
  jwk: Jwk;
}

/**
 * What a resource request's proof covers.
 *
 * @example
 * ```ts
 * const accessToken = await tokens.getAccessToken('user-42');
 * const proof = await tokens.dpopProof('user-42', { method: 'GET', url: 'https://api.example.com/me', accessToken });
 * await fetch('https://api.example.com/me', { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } });
 * ```
 */
export interface DPoPProofRequest {
  /** HTTP method of the resource request, e.g. `'GET'`. */
  method: string;
  /** URL of the resource request (query and fragment are not part of the proof). */
  url: string | URL;
  /** The access token sent with it (its hash goes in the proof as `ath`). */
  accessToken?: string;
  /** A nonce the resource server asked for (`DPoP-Nonce`). */
  nonce?: string;
}

/**
 * Validates the `dpop` option.
 * @throws {ConfigurationError} for anything but a boolean or `{ algorithm }`.
 */
export function resolveDPoP(value: unknown): DPoPPolicy | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { algorithm: 'ES256' };
  if (typeof value === 'object' && value !== null && Object.keys(value).every((name) => name === 'algorithm')) {
    const algorithm = (value as DPoPOptions).algorithm ?? 'ES256';
    if ((SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) return { algorithm };
  }
  throw new ConfigurationError(`Expected \`dpop\` to be a boolean or { algorithm } with one of ${SIGNING_ALGORITHMS.join(', ')}`);
}

/** A new key for a grant. */
export function createDPoPKey(policy: DPoPPolicy): StoredDPoPKey {
  return { alg: policy.algorithm, jwk: generatePrivateJwk(policy.algorithm) };
}

/** Imported keys, by stored key: a grant's key object is shared by all its rotations in a process. */
const imported = new WeakMap<StoredDPoPKey, SigningKey>();

/** The key ready to sign (imported once per process). */
export function dpopSigningKey(stored: StoredDPoPKey): SigningKey {
  let key = imported.get(stored);
  if (key === undefined) {
    key = importPrivateJwk({ ...stored.jwk, alg: stored.alg }, 'dpop key');
    imported.set(stored, key);
  }
  return key;
}

/** The key pair openid-client's DPoP handle takes (the public half extractable, as it must be). */
export function dpopKeyPair(stored: StoredDPoPKey): CryptoKeyPair {
  const { privateKey, publicKey } = dpopSigningKey(stored);
  return { privateKey, publicKey };
}

/** RFC 7638 thumbprint of the key: the `cnf.jkt` of tokens bound to it. */
export function dpopThumbprint(stored: StoredDPoPKey): string {
  return jwkThumbprint(dpopSigningKey(stored).publicJwk);
}

/** A DPoP proof JWT for a resource request. `nowMs` is real time: the server compares `iat` with its clock. */
export async function createDPoPProof(stored: StoredDPoPKey, request: DPoPProofRequest, nowMs: number): Promise<string> {
  const key = dpopSigningKey(stored);
  const htu = url(request.url, 'url');
  htu.search = '';
  htu.hash = '';
  const payload: Record<string, unknown> = { iat: Math.floor(nowMs / 1000), jti: nodeCrypto().randomUUID(), htm: request.method.toUpperCase(), htu: htu.href };
  if (request.accessToken !== undefined) payload.ath = Buffer.from(await crypto.subtle.digest('SHA-256', Buffer.from(request.accessToken))).toString('base64url');
  if (request.nonce !== undefined) payload.nonce = request.nonce;
  return signJws(key, { typ: 'dpop+jwt', jwk: key.publicJwk }, payload);
}

/**
 * Decodes the stored key of a record.
 * @throws {RecordError} when it is not a key this SDK wrote.
 */
export function decodeDPoPKey(value: unknown): StoredDPoPKey | undefined {
  if (value === undefined || value === null) return undefined;
  const stored = value as Partial<StoredDPoPKey>;
  const jwk = stored.jwk as Jwk | undefined;
  if (typeof stored !== 'object' || !(SIGNING_ALGORITHMS as readonly string[]).includes(stored.alg as string)
    || typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string' || typeof jwk.d !== 'string') {
    throw new RecordError('A stored grant has an invalid `dpopKey`');
  }
  return { alg: stored.alg!, jwk };
}
