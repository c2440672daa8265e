/**
 * Encryption at rest: AES-256-GCM records in a versioned envelope, bound to their store key, with a
 * key ring so keys can be rotated (records encrypted with an older key still decrypt, and are
 * re-encrypted with the current key on their next write).
 * @module
 */
import { nodeCrypto } from '../util/node-crypto.ts';
import { ConfigurationError, RecordError } from '../errors.ts';
import type { RecordCodec } from './codec.ts';

/**
 * Encryption options: a key ring and the id of the key new records are written with.
 *
 * @example
 * ```ts
 * const encryption: EncryptionOptions = {
 *   keys: { '2026-11': process.env.TOKENS_KEY_2026_11!, '2026-05': process.env.TOKENS_KEY_2026_05! },
 *   currentKeyId: '2026-11',
 * };
 * ```
 */
export interface EncryptionOptions {
  /** Key id → 32-byte secret, as a Buffer or a base64url string (see {@link generateEncryptionKey}). */
  keys: Record<string, Buffer | Uint8Array | string>;
  /** The key that encrypts new writes. */
  currentKeyId: string;
  /** Read records stored before encryption was turned on (they are encrypted on their next write). Default false. */
  acceptPlaintext?: boolean;
}

const ENVELOPE_VERSION = 1;
const ALGORITHM = 'A256GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[\w.:-]{1,64}$/;

interface Envelope {
  enc: typeof ENVELOPE_VERSION;
  alg: typeof ALGORITHM;
  kid: string;
  iv: string;
  ct: string;
  tag: string;
}

/**
 * A new random 32-byte key as a base64url string, for `encryption.keys`.
 *
 * @example
 * ```ts
 * // node -e "import('offline-tokens').then(m => console.log(m.generateEncryptionKey()))"
 * const key = generateEncryptionKey();
 * ```
 */
export function generateEncryptionKey(): string {
  return nodeCrypto().randomBytes(32).toString('base64url');
}

/**
 * Builds the record codec for `options`.
 * @throws {ConfigurationError} for a key that is not 32 bytes or an unknown `currentKeyId`.
 */
export function createEncryptionCodec(options: EncryptionOptions): RecordCodec {
  if (typeof options !== 'object' || options === null || typeof options.keys !== 'object' || options.keys === null) {
    throw new ConfigurationError('Expected `encryption.keys` to be an object of key id → 32-byte key');
  }
  const ring = new Map<string, Buffer>();
  for (const [id, secret] of Object.entries(options.keys)) {
    if (!KEY_ID.test(id)) throw new ConfigurationError('Expected every `encryption.keys` id to be 1-64 characters of [A-Za-z0-9_.:-]');
    const key = typeof secret === 'string' ? Buffer.from(secret, 'base64url') : Buffer.isBuffer(secret) || secret instanceof Uint8Array ? Buffer.from(secret) : undefined;
    if (key === undefined || key.length !== 32) {
      throw new ConfigurationError(`Expected \`encryption.keys[${JSON.stringify(id)}]\` to be 32 bytes (a Buffer or a base64url string)`);
    }
    ring.set(id, key);
  }
  const currentKeyId = options.currentKeyId;
  const currentKey = ring.get(currentKeyId);
  if (currentKey === undefined) throw new ConfigurationError('Expected `encryption.currentKeyId` to name a key in `encryption.keys`');
  const acceptPlaintext = options.acceptPlaintext === true;

  return {
    encode(storeKey, plaintext) {
      const iv = nodeCrypto().randomBytes(IV_BYTES);
      const cipher = nodeCrypto().createCipheriv('aes-256-gcm', currentKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(storeKey, currentKeyId));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const envelope: Envelope = {
        enc: ENVELOPE_VERSION,
        alg: ALGORITHM,
        kid: currentKeyId,
        iv: iv.toString('base64url'),
        ct: ct.toString('base64url'),
        tag: cipher.getAuthTag().toString('base64url'),
      };
      return JSON.stringify(envelope);
    },
    decode(storeKey, stored, kind) {
      const envelope = parseEnvelope(stored);
      if (envelope === undefined) {
        // A pending consent lives minutes: there is nothing to migrate, and a planted one would bind
        // someone's consent to a key of the planter's choosing.
        if (kind === 'pending') throw new RecordError('A stored pending authorization is not encrypted: refused');
        if (acceptPlaintext && kind === 'grant' && typeof stored === 'string') return stored;
        throw new RecordError('A stored record is not encrypted (set `encryption.acceptPlaintext` to migrate plaintext records)');
      }
      const key = ring.get(envelope.kid);
      if (key === undefined) throw new RecordError(`A stored record is encrypted with key id ${JSON.stringify(envelope.kid)}, which is not in the key ring`);
      try {
        const decipher = nodeCrypto().createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64url'), { authTagLength: TAG_BYTES });
        decipher.setAAD(additionalData(storeKey, envelope.kid));
        decipher.setAuthTag(Buffer.from(envelope.tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(envelope.ct, 'base64url')), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new RecordError('A stored record failed authentication: tampered with, truncated, or moved from another key', { cause: error });
      }
    },
    isPlaintext(stored) {
      return typeof stored === 'string' && !stored.startsWith('{"enc":');
    },
  };
}

/** Binds a record to the store key it is written under and to its key id. */
function additionalData(storeKey: string, keyId: string): Buffer {
  return Buffer.from(`offline-tokens:${ENVELOPE_VERSION}:${keyId}:${storeKey}`, 'utf8');
}

function parseEnvelope(stored: unknown): Envelope | undefined {
  if (typeof stored !== 'string' || !stored.startsWith('{"enc":')) return undefined;
  let value: Partial<Envelope>;
  try {
    value = JSON.parse(stored) as Partial<Envelope>;
  } catch {
    throw new RecordError('A stored encrypted record is not valid JSON (truncated or corrupted)');
  }
  if (value.enc !== ENVELOPE_VERSION || value.alg !== ALGORITHM) throw new RecordError('A stored encrypted record has an unknown envelope version');
  const b64 = /^[\w-]*$/;
  if (
    typeof value.kid !== 'string' || typeof value.iv !== 'string' || typeof value.ct !== 'string' || typeof value.tag !== 'string'
    || !b64.test(value.iv) || !b64.test(value.ct) || !b64.test(value.tag)
    || Buffer.from(value.iv, 'base64url').length !== IV_BYTES || Buffer.from(value.tag, 'base64url').length !== TAG_BYTES
  ) {
    throw new RecordError('A stored encrypted record is malformed');
  }
  return value as Envelope;
}
