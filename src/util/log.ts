/**
 * The logger the SDK writes to: any object with pino's four methods (`console` fits too). Log
 * records carry keys, counts, durations and error codes, never a token, secret or verifier.
 * @module
 */
import { ConfigurationError } from '../errors.ts';

/**
 * A logger: pino, bunyan-style child loggers, or `console`. Each method takes an object of fields and
 * a message.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const tokens = await createTokenManager({ ...options, logger: pino() });
 * // or, during development:
 * const tokens2 = await createTokenManager({ ...options, logger: console });
 * ```
 */
export interface Logger {
  /** Lock waits and adoptions of a stored grant. */
  debug(fields: Record<string, unknown>, message: string): void;
  /** Rotations, adoptions of another refresher's rotation, consents, held grants written. */
  info(fields: Record<string, unknown>, message: string): void;
  /** Retried and failed refreshes, grants that need a new consent, unreadable records. */
  warn(fields: Record<string, unknown>, message: string): void;
  /** Rotated grants the store refused (held in memory and retried). */
  error(fields: Record<string, unknown>, message: string): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Validates the `logger` option; `undefined` stays `undefined` (nothing is logged). */
export function loggerOption(value: unknown): Logger | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || LEVELS.some((level) => typeof (value as Record<string, unknown>)[level] !== 'function')) {
    throw new ConfigurationError('Expected `logger` to have `debug`, `info`, `warn` and `error` methods (pino or console)');
  }
  return safeLogger(value as Logger);
}

/** A logger whose failures never break a refresh (a throwing transport, a closed stream). */
function safeLogger(logger: Logger): Logger {
  const wrap = (level: (typeof LEVELS)[number]) => (fields: Record<string, unknown>, message: string): void => {
    try {
      logger[level](fields, message);
    } catch {
      // Logging is best effort.
    }
  };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

/** The fields that describe an error in a log record: its code and message (messages carry no secret). */
export function errorFields(error: unknown): { code: string | undefined; error: string } {
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  return { code, error: error instanceof Error ? error.message : String(error) };
}
