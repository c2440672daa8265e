/**
 * The CLI's command line and configuration: flags, then environment variables, then `--config
 * file.json`, then defaults. Parsed with Node's `util.parseArgs`. Secrets (client secret, encryption
 * key) come from the environment or the config file only, never from flags, which other users of
 * the machine can read in the process list.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { EncryptionOptions, TokenManagerOptions } from '../index.ts';
import { CliError, EXIT, usageError } from './errors.ts';
import { DEFAULT_STORE } from './store.ts';

/** Options every command takes. */
const GLOBAL_OPTIONS = {
  config: { type: 'string' },
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'redirect-uri': { type: 'string' },
  scope: { type: 'string' },
  store: { type: 'string' },
  'allow-insecure-requests': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

/** Options of each command, besides the global ones. */
const COMMAND_OPTIONS = {
  login: {
    port: { type: 'string' },
    open: { type: 'boolean', default: true },
    'timeout-ms': { type: 'string' },
  },
  list: { status: { type: 'string' }, json: { type: 'boolean' } },
  status: { json: { type: 'boolean' } },
  token: {},
  refresh: {},
  revoke: {},
  'keep-alive': { 'summary-interval-ms': { type: 'string' } },
} as const satisfies Record<string, ParseArgsOptionsConfig>;

export type CommandName = keyof typeof COMMAND_OPTIONS;

/** Commands with the positional arguments they take. */
export const COMMANDS: Record<CommandName, { args: readonly string[]; summary: string; usage: string }> = {
  login: {
    args: ['key'],
    summary: 'consent once in a browser; stores the grant under <key>',
    usage: 'login <key> [--port N] [--no-open] [--timeout-ms MS]\n  Listens on http://127.0.0.1:PORT/callback (RFC 8252 loopback redirect; PORT ephemeral unless --port),\n  prints the consent URL (and opens it unless --no-open), waits for the callback (default 300000 ms),\n  stores the grant and prints its summary. The client must be registered for loopback redirects.',
  },
  list: { args: [], summary: 'list stored grants', usage: 'list [--status active|reauth_required] [--json]\n  --json prints one JSON object per line.' },
  status: { args: ['key'], summary: "show a grant's metadata", usage: 'status <key> [--json]' },
  token: { args: ['key'], summary: 'print a valid access token (alone, on stdout)', usage: 'token <key>\n  For scripts: curl -H "Authorization: Bearer $(offline-tokens token <key>)" ...' },
  refresh: { args: ['key'], summary: 'rotate the refresh token now; prints the new expiry', usage: 'refresh <key>' },
  revoke: { args: ['key'], summary: 'revoke the grant at the server and delete it', usage: 'revoke <key>' },
  'keep-alive': {
    args: [],
    summary: 'keep idle grants alive until SIGINT/SIGTERM',
    usage: 'keep-alive [--summary-interval-ms MS]\n  Prints a line per rotation and a summary every MS (default 3600000).',
  },
};

export const GLOBAL_HELP = `Configuration (flags, else environment, else --config file.json):
  --issuer URL                  OFFLINE_TOKENS_ISSUER            issuer
  --client-id ID                OFFLINE_TOKENS_CLIENT_ID         clientId
                                OFFLINE_TOKENS_CLIENT_SECRET     clientSecret (no flag: argv is visible to others)
  --redirect-uri URL            OFFLINE_TOKENS_REDIRECT_URI      redirectUri
  --store SPEC                  OFFLINE_TOKENS_STORE             store: sqlite:PATH (default sqlite:./offline-tokens.sqlite),
                                                                 redis://..., postgres://...
                                OFFLINE_TOKENS_ENCRYPTION_KEY    encryptionKey: [ID:]KEY (see generateEncryptionKey)
  --scope SCOPE                 OFFLINE_TOKENS_SCOPE             scope
  --allow-insecure-requests     OFFLINE_TOKENS_ALLOW_INSECURE_REQUESTS=1   allow an http:// issuer (development only)
  --config FILE                 a JSON file with the keys of the third column
  -h, --help                    help (also after a command)
Exit codes: 0 ok, 1 other failure, 2 usage, 3 the user must consent again (run login), 4 store or server unavailable.`;

/** A parsed command line. */
export interface Invocation {
  command: CommandName | undefined;
  args: string[];
  help: boolean;
  values: Record<string, string | boolean | undefined>;
}

/** Parses the command line; a wrong one throws a usage error (exit 2). */
export function parseCommandLine(argv: string[]): Invocation {
  const all: ParseArgsOptionsConfig = { ...GLOBAL_OPTIONS };
  for (const options of Object.values(COMMAND_OPTIONS)) Object.assign(all, options);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: all, allowPositionals: true, allowNegative: true, strict: true });
  } catch (error) {
    throw usageError((error as Error).message.split('\n')[0]!);
  }
  const [name, ...args] = parsed.positionals;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const help = values.help === true;
  if (name === undefined) return { command: undefined, args, help, values };
  if (!Object.hasOwn(COMMANDS, name)) throw usageError(`Unknown command ${JSON.stringify(name)}`);
  const command = name as CommandName;
  const allowed = new Set([...Object.keys(GLOBAL_OPTIONS), ...Object.keys(COMMAND_OPTIONS[command])]);
  for (const token of parseArgs({ args: argv, options: all, allowPositionals: true, allowNegative: true, tokens: true }).tokens) {
    if (token.kind === 'option' && !allowed.has(token.name)) throw usageError(`\`${command}\` does not take --${token.rawName.replace(/^-+/, '')}`);
  }
  if (!help && args.length !== COMMANDS[command].args.length) {
    throw usageError(`Usage: offline-tokens ${COMMANDS[command].usage.split('\n')[0]}`);
  }
  return { command, args, help, values };
}

/** The configuration of a run, before the store is opened. */
export interface CliConfig {
  options: Omit<TokenManagerOptions, 'redirectUri'> & { redirectUri: string | undefined };
  store: string;
}

interface ConfigFile {
  issuer?: string;
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  scope?: string;
  store?: string;
  encryptionKey?: string;
  encryption?: EncryptionOptions;
  allowInsecureRequests?: boolean;
}

/** Flags over environment over config file. */
export async function loadConfig(values: Invocation['values'], env: NodeJS.ProcessEnv): Promise<CliConfig> {
  const file = typeof values.config === 'string' ? await readConfigFile(values.config) : {};
  const pick = (flag: string | undefined, envName: string, fromFile: unknown): string | undefined => {
    const flagValue = flag === undefined ? undefined : values[flag];
    if (typeof flagValue === 'string') return flagValue;
    const envValue = env[envName];
    if (envValue !== undefined && envValue !== '') return envValue;
    return typeof fromFile === 'string' ? fromFile : undefined;
  };
  const issuer = pick('issuer', 'OFFLINE_TOKENS_ISSUER', file.issuer);
  const clientId = pick('client-id', 'OFFLINE_TOKENS_CLIENT_ID', file.clientId);
  if (issuer === undefined) throw usageError('No issuer: pass --issuer, set OFFLINE_TOKENS_ISSUER or `issuer` in --config');
  if (clientId === undefined) throw usageError('No client id: pass --client-id, set OFFLINE_TOKENS_CLIENT_ID or `clientId` in --config');
  const insecureEnv = env.OFFLINE_TOKENS_ALLOW_INSECURE_REQUESTS;
  const allowInsecureRequests = values['allow-insecure-requests'] === true
    || insecureEnv === '1' || insecureEnv === 'true' || file.allowInsecureRequests === true;
  const encryptionKey = pick(undefined, 'OFFLINE_TOKENS_ENCRYPTION_KEY', file.encryptionKey);
  const scope = pick('scope', 'OFFLINE_TOKENS_SCOPE', file.scope);
  const clientSecret = pick(undefined, 'OFFLINE_TOKENS_CLIENT_SECRET', file.clientSecret);
  return {
    options: {
      issuer,
      clientId,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      redirectUri: pick('redirect-uri', 'OFFLINE_TOKENS_REDIRECT_URI', file.redirectUri),
      ...(scope === undefined ? {} : { scope }),
      allowInsecureRequests,
      ...(encryptionKey !== undefined ? { encryption: encryptionFromKey(encryptionKey) } : file.encryption !== undefined ? { encryption: file.encryption } : {}),
    },
    store: pick('store', 'OFFLINE_TOKENS_STORE', file.store) ?? DEFAULT_STORE,
  };
}

/** `ID:KEY` or `KEY` (key id `default`). */
function encryptionFromKey(value: string): EncryptionOptions {
  const index = value.indexOf(':');
  const [id, key] = index === -1 ? ['default', value] : [value.slice(0, index), value.slice(index + 1)];
  return { keys: { [id]: key }, currentKeyId: id };
}

async function readConfigFile(path: string): Promise<ConfigFile> {
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(`Cannot read the config file ${path} (${(error as { code?: string }).code ?? 'error'})`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as ConfigFile;
  } catch {
    throw new CliError(EXIT.usage, `The config file ${path} is not a JSON object: fix it`);
  }
}

/** A non-negative integer flag. */
export function integerFlag(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number)) throw usageError(`Expected --${name} to be a non-negative integer`);
  return number;
}
