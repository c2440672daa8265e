/**
 * How the CLI fails: one line on stderr saying what to do, and an exit code a script can test.
 * @module
 */
import { TokenManagerError } from '../index.ts';

/** Exit codes: 0 ok, 1 other failure, 2 usage, 3 the user must consent again, 4 store or server unavailable. */
export const EXIT = { ok: 0, failure: 1, usage: 2, reauth: 3, unavailable: 4 } as const;

/** A failure the CLI itself detected, with its exit code and a message that says what to do. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A wrong command line: exit 2. */
export function usageError(message: string): CliError {
  return new CliError(EXIT.usage, `${message} (see \`offline-tokens --help\`)`);
}

/** The exit code and one-line message of any error (never a token: SDK messages carry none). */
export function describeFailure(error: unknown): { exitCode: number; message: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
  if (error instanceof TokenManagerError) {
    switch (error.code) {
      case 'ERR_REAUTH_REQUIRED':
        return { exitCode: EXIT.reauth, message: `${error.message}: run \`offline-tokens login ${(error as { key?: string }).key ?? '<key>'}\`` };
      case 'ERR_STORE_UNAVAILABLE':
        return { exitCode: EXIT.unavailable, message: `${error.message}: check that the store (--store) is reachable, then retry` };
      case 'ERR_SERVER_UNAVAILABLE':
        return { exitCode: EXIT.unavailable, message: `${error.message}: check the issuer URL and that the server is reachable, then retry` };
      case 'ERR_LOCK_UNAVAILABLE':
        return { exitCode: EXIT.unavailable, message: `${error.message}: check that the lock backend is reachable, then retry` };
      case 'ERR_INVALID_OPTIONS':
        return { exitCode: EXIT.usage, message: `${error.message}: fix the flag, environment variable or config file that sets it` };
      default:
        return { exitCode: EXIT.failure, message: `${error.code}: ${error.message}` };
    }
  }
  return { exitCode: EXIT.failure, message: error instanceof Error ? error.message : String(error) };
}
