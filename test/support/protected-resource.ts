/**
 * A real protected resource (RFC 6750 / RFC 9449) on a loopback port, checking what a resource
 * server checks, with node:crypto only (independent of the SDK's signing code): the JWT access
 * token's signature (the authorization server's JWKS), `aud` and `exp`; for `DPoP` tokens the proof —
 * `typ`, signature with its embedded public key, `htm`, `htu`, `iat`, `jti` replay, `ath`, the
 * token's `cnf.jkt` equal to the proof key's thumbprint, and (optionally) a nonce it handed out.
 * Answers 200 with the request body echoed; 401 with a `WWW-Authenticate` challenge otherwise.
 */
import { createHash, createPublicKey, randomBytes, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProtectedResource {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Tokens answered with 401 `invalid_token` (as if revoked by a rotation). */
  refused: Set<string>;
  /** Refuse every token with `invalid_token`. */
  refuseAll: boolean;
  /** Statuses to answer the next requests with, before any check (first in, first out). */
  respondNext: number[];
  counters: { requests: number; accepted: number; nonceChallenges: number; refusedTokens: number; badProofs: number };
  /** Authorization schemes and tokens of accepted requests, in order. */
  accepted: Array<{ scheme: string; token: string; body: string }>;
  /** Hands out a new nonce: proofs carrying the old one are challenged. */
  rotateNonce(): void;
  close(): Promise<void>;
}

type Jwk = JsonWebKey & { kid?: string };

function decodePart(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Verifies a compact JWS; returns its header and payload, or undefined. */
function verifyJws(jws: string, keyFor: (header: Record<string, unknown>) => KeyObject | undefined): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  try {
    const [h, p, s] = jws.split('.');
    const header = decodePart(h);
    const key = keyFor(header);
    if (key === undefined) return undefined;
    const data = Buffer.from(`${h}.${p}`);
    const signature = Buffer.from(s ?? '', 'base64url');
    const ok = header.alg === 'RS256' ? verify('sha256', data, key, signature)
      : header.alg === 'ES256' ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
        : header.alg === 'EdDSA' ? verify(null, data, key, signature) : false;
    return ok ? { header, payload: decodePart(p) } : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 7638 thumbprint. */
export function jwkThumbprint(jwk: Jwk): string {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** Starts a resource for tokens issued by `issuer` with `aud` = `audience`. */
export async function startProtectedResource(options: { issuer: string; audience: string; requireNonce?: boolean }): Promise<ProtectedResource> {
  const jwks = (await (await fetch(`${options.issuer}/jwks`)).json()) as { keys: Jwk[] };
  const issuerKeys = new Map(jwks.keys.map((jwk) => [jwk.kid, createPublicKey({ key: jwk, format: 'jwk' })]));
  const seenJti = new Set<string>();
  let nonce = randomBytes(16).toString('base64url');
  const server = createServer();
  const resource: ProtectedResource = {
    url: '',
    refused: new Set(),
    refuseAll: false,
    respondNext: [],
    counters: { requests: 0, accepted: 0, nonceChallenges: 0, refusedTokens: 0, badProofs: 0 },
    accepted: [],
    rotateNonce: () => {
      nonce = randomBytes(16).toString('base64url');
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };

  function answer(res: ServerResponse, status: number, challenge: string | undefined, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...(challenge === undefined ? {} : { 'www-authenticate': challenge }), ...extra });
    res.end(JSON.stringify({ status }));
  }

  /** Why a request is refused (`[scheme error]`), or undefined when it is accepted. */
  function check(req: IncomingMessage, scheme: string, token: string): [string, string] | undefined {
    const access = verifyJws(token, (header) => issuerKeys.get(header.kid as string));
    const claims = access?.payload;
    if (claims === undefined || claims.aud !== options.audience || typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return [scheme, 'invalid_token'];
    if (resource.refuseAll || resource.refused.has(token)) {
      resource.counters.refusedTokens++;
      return [scheme, 'invalid_token'];
    }
    const jkt = (claims.cnf as { jkt?: string } | undefined)?.jkt;
    if (scheme === 'Bearer') return jkt === undefined ? undefined : ['Bearer', 'invalid_token'];
    if (scheme !== 'DPoP' || jkt === undefined) return ['Bearer', 'invalid_token'];
    const header = req.headers.dpop;
    if (typeof header !== 'string') return ['DPoP', 'invalid_dpop_proof'];
    const proof = verifyJws(header, (h) => {
      const jwk = h.jwk as Jwk | undefined;
      return h.typ === 'dpop+jwt' && jwk !== undefined && jwk.d === undefined ? createPublicKey({ key: jwk, format: 'jwk' }) : undefined;
    });
    const payload = proof?.payload;
    const htu = `${resource.url}${new URL(req.url ?? '/', resource.url).pathname}`;
    const ath = createHash('sha256').update(token).digest('base64url');
    if (proof === undefined || payload === undefined || payload.htm !== req.method || payload.htu !== htu || payload.ath !== ath
      || typeof payload.iat !== 'number' || Math.abs(payload.iat - Date.now() / 1000) > 60
      || typeof payload.jti !== 'string' || seenJti.has(payload.jti) || jwkThumbprint(proof.header.jwk as Jwk) !== jkt) {
      resource.counters.badProofs++;
      return ['DPoP', 'invalid_dpop_proof'];
    }
    seenJti.add(payload.jti);
    if (options.requireNonce && payload.nonce !== nonce) return ['DPoP', 'use_dpop_nonce'];
    return undefined;
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      resource.counters.requests++;
      const status = resource.respondNext.shift();
      if (status !== undefined) return answer(res, status, undefined);
      const [scheme = '', token = ''] = (req.headers.authorization ?? '').split(' ');
      const refusal = check(req, scheme, token);
      if (refusal !== undefined) {
        const [challengeScheme, error] = refusal;
        if (error === 'use_dpop_nonce') {
          resource.counters.nonceChallenges++;
          return answer(res, 401, `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`, { 'dpop-nonce': nonce });
        }
        return answer(res, 401, `${challengeScheme} realm="api", error="${error}"`);
      }
      resource.counters.accepted++;
      const body = Buffer.concat(chunks).toString('utf8');
      resource.accepted.push({ scheme, token, body });
      res.writeHead(200, { 'content-type': 'application/json', ...(options.requireNonce ? { 'dpop-nonce': nonce } : {}) });
      res.end(JSON.stringify({ aud: options.audience, body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  resource.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return resource;
}
