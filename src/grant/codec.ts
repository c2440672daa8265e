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
  decode(storeKey: string, stored: unknown): string;
}

/** Stores records as they are. */
export const plainCodec: RecordCodec = {
  encode: (_storeKey, plaintext) => plaintext,
  decode: (_storeKey, stored) => stored as string,
};
