/**
 * The stored form of a grant: a versioned JSON record, decoded with every field checked, so a
 * truncated, foreign or future record is a {@link RecordError} and never a crash or a half-read grant.
 * @module
 */
import { RecordError, type ReauthReason } from '../errors.ts';
import type { Grant } from './grant.ts';
import { decodeDPoPKey } from './dpop-key.ts';

/** Version of the record format written by this SDK. */
export const RECORD_VERSION = 1;

const REAUTH_REASONS: ReadonlySet<string> = new Set<ReauthReason>(['no_grant', 'invalid_grant', 'expired', 'rotation_lost', 'revoked']);

/** Serialises a grant. */
export function encodeGrant(grant: Grant): string {
  return JSON.stringify({ v: RECORD_VERSION, ...grant });
}

/**
 * Parses and validates a stored grant.
 * @throws {RecordError} when the record is not a valid grant of a known version.
 */
export function decodeGrant(raw: unknown): Grant {
  if (typeof raw !== 'string') throw new RecordError(`Expected a stored grant to be a string, got ${typeof raw}`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new RecordError('A stored grant is not valid JSON (truncated or corrupted)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RecordError('A stored grant is not an object');
  const record = value as Record<string, unknown>;
  if (record.v !== RECORD_VERSION) throw new RecordError(`A stored grant has an unknown record version ${JSON.stringify(record.v) ?? 'undefined'}`);
  const status = record.status;
  if (status !== 'active' && status !== 'reauth_required') throw new RecordError('A stored grant has an invalid `status`');
  const reauthReason = optional(record, 'reauthReason', 'string');
  if (reauthReason !== undefined && !REAUTH_REASONS.has(reauthReason)) throw new RecordError('A stored grant has an invalid `reauthReason`');
  const dpopKey = decodeDPoPKey(record.dpopKey);
  return {
    key: required(record, 'key', 'string'),
    issuer: required(record, 'issuer', 'string'),
    clientId: required(record, 'clientId', 'string'),
    subject: optional(record, 'subject', 'string'),
    scope: required(record, 'scope', 'string'),
    refreshToken: nonEmpty(record, 'refreshToken'),
    accessToken: nonEmpty(record, 'accessToken'),
    expiresAt: time(record, 'expiresAt'),
    issuedAt: time(record, 'issuedAt'),
    refreshExpiresAt: time(record, 'refreshExpiresAt'),
    createdAt: time(record, 'createdAt'),
    rotations: time(record, 'rotations'),
    status,
    reauthReason: reauthReason as ReauthReason | undefined,
    refreshStartedAt: record.refreshStartedAt === undefined || record.refreshStartedAt === null ? undefined : time(record, 'refreshStartedAt'),
    // Optional (records written without DPoP have none).
    ...(dpopKey !== undefined ? { dpopKey } : {}),
  };
}

type TypeName = 'string' | 'number';
type TypeOf<T extends TypeName> = T extends 'string' ? string : number;

function required<T extends TypeName>(record: Record<string, unknown>, field: string, type: T): TypeOf<T> {
  const value = record[field];
  if (typeof value !== type) throw new RecordError(`A stored grant has a missing or invalid \`${field}\``);
  return value as TypeOf<T>;
}

function optional<T extends TypeName>(record: Record<string, unknown>, field: string, type: T): TypeOf<T> | undefined {
  return record[field] === undefined || record[field] === null ? undefined : required(record, field, type);
}

function nonEmpty(record: Record<string, unknown>, field: string): string {
  const value = required(record, field, 'string');
  if (value.length === 0) throw new RecordError(`A stored grant has an empty \`${field}\``);
  return value;
}

/** A non-negative safe integer: epoch ms or a counter. */
function time(record: Record<string, unknown>, field: string): number {
  const value = required(record, field, 'number');
  if (!Number.isSafeInteger(value) || value < 0) throw new RecordError(`A stored grant has an invalid \`${field}\``);
  return value;
}
