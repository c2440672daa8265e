/**
 * Eager validation of option values, with messages that name the option (p-retry, openid-client style).
 * @module
 */
import { ConfigurationError } from '../errors.ts';

export function isKeyvLike(value: unknown): boolean {
  const candidate = value as { get?: unknown; set?: unknown; delete?: unknown } | null;
  return typeof candidate === 'object' && candidate !== null
    && typeof candidate.get === 'function' && typeof candidate.set === 'function' && typeof candidate.delete === 'function';
}

export function url(value: unknown, name: string): URL {
  if (value instanceof URL) return new URL(value.href);
  if (typeof value === 'string') {
    try {
      return new URL(value);
    } catch {
      // fall through
    }
  }
  throw new ConfigurationError(`Expected \`${name}\` to be an absolute URL`);
}

export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigurationError(`Expected \`${name}\` to be a non-empty string`);
  return value;
}

export function stringOption(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new ConfigurationError(`Expected \`${name}\` to be a string`);
  return value;
}

export function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigurationError(`Expected \`${name}\` to be a boolean`);
  return value;
}

/** Validates a non-negative integer option (durations in ms, counts). */
export function duration(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigurationError(`Expected \`${name}\` to be an integer >= ${min}`);
  }
  return value;
}

/** One of a few allowed values. */
export function oneOf<const T extends readonly unknown[]>(value: unknown, name: string, allowed: T, fallback: T[number]): T[number] {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new ConfigurationError(`Expected \`${name}\` to be ${allowed.map((v) => JSON.stringify(v).replace(/"/g, "'")).join(', ')}`);
  return value as T[number];
}
