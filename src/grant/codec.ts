/**
 * How a record is turned into what the store keeps, and back.
 * @module
 */

/**
 * Turns records into bytes for the store and back. The store key is passed so that an encrypting
 * codec can bind a record to it.
 * @internal
 */
export interface RecordCodec {
  encode(storeKey: string, plaintext: string): string;
  /** `kind`: what the record is; an encrypting codec may accept plaintext grants while migrating, never plaintext pending consents. */
  decode(storeKey: string, stored: unknown, kind: RecordKind): string;
  /** Whether a stored value was accepted in clear although this codec encrypts (to be re-encrypted). */
  isPlaintext?(stored: unknown): boolean;
}

/** What a stored record holds. */
export type RecordKind = 'grant' | 'pending' | 'server';

/** Stores records as they are. */
export const plainCodec: RecordCodec = {
  encode: (_storeKey, plaintext) => plaintext,
  decode: (_storeKey, stored) => stored as string,
};
