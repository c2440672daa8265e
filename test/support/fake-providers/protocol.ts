/**
 * Small protocol pieces the fakes share: request bodies, client authentication (RFC 6749 §2.3.1),
 * PKCE S256 (RFC 7636), RS256 JWTs, JSON answers.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Reads a form-encoded or JSON request body into parameters. */
export async function readParams(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json') && text.length > 0) {
    const object = JSON.parse(text) as Record<string, unknown>;
    return new URLSearchParams(Object.entries(object).map(([key, value]) => [key, String(value)]));
  }
  return new URLSearchParams(text);
}

export type ClientAuthentication =
  | { ok: true; method: 'client_secret_basic' | 'client_secret_post' }
  | { ok: false; reason: 'invalid_client' | 'invalid_request' };

/** Checks `client_secret_basic` (Authorization header) or `client_secret_post` (body), never both. */
export function authenticateClient(
  req: IncomingMessage,
  params: URLSearchParams,
  client: { clientId: string; clientSecret: string },
): ClientAuthentication {
  const header = req.headers.authorization;
  if (header !== undefined && /^basic /i.test(header)) {
    if (params.has('client_secret')) return { ok: false, reason: 'invalid_request' };
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const index = decoded.indexOf(':');
    if (index < 0) return { ok: false, reason: 'invalid_client' };
    // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined.
    const id = decodeURIComponent(decoded.slice(0, index).replace(/\+/g, ' '));
    const secret = decodeURIComponent(decoded.slice(index + 1).replace(/\+/g, ' '));
    const bodyId = params.get('client_id');
    if (id !== client.clientId || secret !== client.clientSecret || (bodyId !== null && bodyId !== id)) return { ok: false, reason: 'invalid_client' };
    return { ok: true, method: 'client_secret_basic' };
  }
  if (params.get('client_id') === client.clientId && params.get('client_secret') === client.clientSecret) {
    return { ok: true, method: 'client_secret_post' };
  }
  return { ok: false, reason: 'invalid_client' };
}

/** The S256 code challenge of a verifier. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~]. */
export function isValidVerifier(verifier: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(verifier);
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

export function generateSigningKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

/** A compact JWS signed RS256 (RSASSA-PKCS1-v1_5 with SHA-256). */
export function signJwt(key: SigningKey, claims: Record<string, unknown>): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key.privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** A 302 to `target` with `params` added to its query. */
export function redirect(res: ServerResponse, target: string, params: Record<string, string | undefined>): void {
  const url = new URL(target);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  res.writeHead(302, { location: url.href });
  res.end();
}

/** The bearer token of a request (`Authorization: Bearer …`; GitHub also takes `token …`). */
export function bearerToken(req: IncomingMessage, schemes: string[] = ['bearer']): string | undefined {
  const match = /^(\S+)\s+(\S+)$/.exec(req.headers.authorization ?? '');
  return match !== null && schemes.includes(match[1]!.toLowerCase()) ? match[2] : undefined;
}
