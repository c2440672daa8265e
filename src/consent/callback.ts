/**
 * Pure parsing of the redirect back from the authorization server.
 * @module
 */
import { CallbackError } from '../errors.ts';

/** Longest callback URL accepted, in characters. */
export const MAX_CALLBACK_LENGTH = 8_192;

/** The parameters of a callback, each present at most once. */
export interface CallbackParams {
  state: string | undefined;
  code: string | undefined;
  error: string | undefined;
  iss: string | undefined;
  /** The callback's query, as received. */
  search: URLSearchParams;
  /** The callback URL, parsed. */
  url: URL;
}

const SINGLE_VALUED = ['state', 'code', 'error', 'error_description', 'iss'] as const;

/**
 * Parses a callback URL. Rejects with {@link CallbackError} (`malformed`) a URL that is not absolute,
 * too long, or repeats a parameter. It does not judge the values: see `completeAuthorization`.
 *
 * @example
 * ```ts
 * parseCallback('https://app.example.com/callback?code=abc&state=xyz').code; // 'abc'
 * ```
 */
export function parseCallback(input: string | URL): CallbackParams {
  const href = input instanceof URL ? input.href : input;
  if (typeof href !== 'string') throw new CallbackError('malformed', 'Expected the callback to be a URL or a string');
  if (href.length > MAX_CALLBACK_LENGTH) throw new CallbackError('malformed', `The callback URL is longer than ${MAX_CALLBACK_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    throw new CallbackError('malformed', 'The callback is not an absolute URL');
  }
  const search = url.searchParams;
  for (const name of SINGLE_VALUED) {
    if (search.getAll(name).length > 1) throw new CallbackError('malformed', `The callback repeats the \`${name}\` parameter`);
  }
  return {
    state: nonEmpty(search.get('state')),
    code: nonEmpty(search.get('code')),
    error: nonEmpty(search.get('error')),
    iss: nonEmpty(search.get('iss')),
    search,
    url,
  };
}

function nonEmpty(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}
