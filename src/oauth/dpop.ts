/**
 * openid-client's DPoP handles for grant keys: one per key and server, kept so that the nonce a
 * server handed out (`DPoP-Nonce`) is reused by the next request instead of costing a
 * `use_dpop_nonce` round trip each time (openid-client retries that error once by itself).
 * @module
 */
import * as client from 'openid-client';
import { dpopKeyPair, dpopThumbprint, type StoredDPoPKey } from '../grant/dpop-key.ts';

/** Handles kept per server: at most this many keys each (oldest dropped first). */
const MAX_HANDLES = 1024;

const handles = new WeakMap<client.Configuration, Map<string, client.DPoPHandle>>();

/** The DPoP handle that signs proofs for `key` at the server of `config`. @internal */
export function dpopHandle(config: client.Configuration, key: StoredDPoPKey): client.DPoPHandle {
  let byKey = handles.get(config);
  if (byKey === undefined) {
    byKey = new Map();
    handles.set(config, byKey);
  }
  const thumbprint = dpopThumbprint(key);
  let handle = byKey.get(thumbprint);
  if (handle === undefined) {
    handle = client.getDPoPHandle(config, dpopKeyPair(key));
    if (byKey.size >= MAX_HANDLES) byKey.delete(byKey.keys().next().value!);
    byKey.set(thumbprint, handle);
  }
  return handle;
}
