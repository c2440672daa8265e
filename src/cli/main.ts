/**
 * The `offline-tokens` command: consent from a terminal, see which grants exist, print a token for a
 * script, rotate, revoke, keep grants alive. Never prints a token except `token`'s own output.
 * @module
 */
import { once } from 'node:events';
import { createTokenManager, type TokenManager, type TokenManagerOptions } from '../index.ts';
import { COMMANDS, GLOBAL_HELP, integerFlag, loadConfig, parseCommandLine, type CliConfig, type CommandName, type Invocation } from './config.ts';
import { CliError, describeFailure, EXIT, usageError } from './errors.ts';
import { grantJson, grantLine, grantSummary, iso } from './format.ts';
import { login } from './login.ts';
import { openStore, type StoreChoice } from './store.ts';

/** Where the CLI writes. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

/** Runs the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    const invocation = parseCommandLine(argv);
    if (invocation.command === undefined) {
      if (invocation.help) {
        io.out(generalHelp());
        return EXIT.ok;
      }
      io.err(generalHelp());
      return EXIT.usage;
    }
    if (invocation.help) {
      io.out(`Usage: offline-tokens ${COMMANDS[invocation.command].usage}\n\n${GLOBAL_HELP}`);
      return EXIT.ok;
    }
    return await run(invocation.command, invocation, await loadConfig(invocation.values, io.env), io);
  } catch (error) {
    const { exitCode, message } = describeFailure(error);
    io.err(`offline-tokens: ${message}`);
    return exitCode;
  }
}

function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const commands = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`).join('\n');
  return `Usage: offline-tokens <command> [options]\n\nCommands:\n${commands}\n\nRun \`offline-tokens <command> --help\` for a command's options.\n\n${GLOBAL_HELP}`;
}

async function run(command: CommandName, { args, values }: Invocation, config: CliConfig, io: Io): Promise<number> {
  const status = values.status;
  if (status !== undefined && status !== 'active' && status !== 'reauth_required') throw usageError('Expected --status to be active or reauth_required');
  const store = await openStore(config.store);
  const options: Omit<TokenManagerOptions, 'redirectUri'> = { ...config.options, ...store };
  const [key] = args as [string];
  if (command === 'login') {
    const configured = loopbackRedirect(config.options.redirectUri);
    const grant = await login(options, {
      onFailure: () => closeStore(store),
      key,
      port: integerFlag(values.port, 'port', configured?.port ?? 0),
      path: configured?.path ?? '/callback',
      open: values.open !== false,
      timeoutMs: integerFlag(values['timeout-ms'], 'timeout-ms', 300_000),
      announce: (url) => io.err(`Open this URL in a browser to consent (waiting for the callback):\n${url.href}`),
    });
    io.out(grantSummary(grant));
    return EXIT.ok;
  }
  let tokens: TokenManager;
  try {
    tokens = await createTokenManager({ ...options, redirectUri: config.options.redirectUri ?? 'http://127.0.0.1/callback' });
  } catch (error) {
    await closeStore(store);
    throw error;
  }
  try {
    switch (command) {
      case 'list': {
        for await (const grant of tokens.listGrants(status === undefined ? {} : { status })) io.out(values.json === true ? grantJson(grant) : grantLine(grant));
        return EXIT.ok;
      }
      case 'status': {
        const grant = await tokens.getGrant(key);
        if (grant === undefined) throw new CliError(EXIT.reauth, `No grant for key ${JSON.stringify(key)}: run \`offline-tokens login ${key}\``);
        io.out(values.json === true ? grantJson(grant) : grantSummary(grant));
        return grant.status === 'active' ? EXIT.ok : EXIT.reauth;
      }
      case 'token': {
        io.out(await tokens.getAccessToken(key));
        return EXIT.ok;
      }
      case 'refresh': {
        const { expiresAt } = await tokens.getToken(key, { forceRefresh: true });
        const grant = await tokens.getGrant(key);
        io.out(`refreshed ${key}: access token expires ${iso(expiresAt)}, refresh token expires ${iso(grant?.refreshExpiresAt ?? expiresAt)}, rotation ${grant?.rotations ?? '?'}`);
        return EXIT.ok;
      }
      case 'revoke': {
        if (await tokens.getGrant(key) === undefined) {
          io.out(`no grant for ${key} in the store: nothing to revoke`);
          return EXIT.ok;
        }
        const { revokedAtServer } = await tokens.revoke(key);
        io.out(`revoked ${key}${revokedAtServer ? ' at the server and' : ' (the server has no revocation endpoint);'} deleted from the store`);
        return EXIT.ok;
      }
      case 'keep-alive':
        return await keepAlive(tokens, integerFlag(values['summary-interval-ms'], 'summary-interval-ms', 3_600_000), io);
    }
  } finally {
    await tokens.close();
  }
  throw usageError(`Unknown command ${JSON.stringify(command)}`);
}

/** A store the manager did not take over (it failed to start) is closed here, or the process would not exit. */
async function closeStore(store: StoreChoice): Promise<void> {
  if (!('store' in store)) return;
  await store.store.disconnect().catch(() => {});
  await store.lock.close?.().catch(() => {});
}

/** `login` listens where a configured loopback redirect URI says, else on an ephemeral port at /callback. */
function loopbackRedirect(redirectUri: string | undefined): { port: number; path: string } | undefined {
  if (redirectUri === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    throw usageError('Expected the redirect URI to be a URL');
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) {
    throw usageError('`login` needs a loopback redirect URI (http://127.0.0.1:PORT/callback): unset --redirect-uri / OFFLINE_TOKENS_REDIRECT_URI or register one');
  }
  return { port: url.port === '' ? 0 : Number(url.port), path: url.pathname };
}

async function keepAlive(tokens: TokenManager, summaryIntervalMs: number, io: Io): Promise<number> {
  let rotations = 0;
  let failures = 0;
  tokens.on('refreshed', ({ key, rotations: rotation, expiresAt }) => {
    rotations++;
    io.out(`${iso(Date.now())} rotated ${key} (rotation ${rotation}), access token expires ${iso(expiresAt)}`);
  });
  tokens.on('refreshFailed', ({ key, error }) => {
    failures++;
    io.err(`${iso(Date.now())} refresh of ${key} failed: ${error.code}: ${error.message}`);
  });
  tokens.on('reauthRequired', ({ key, reason }) => io.err(`${iso(Date.now())} ${key} needs a new consent (${reason}): run \`offline-tokens login ${key}\``));
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const keepAlive = tokens.startKeepAlive();
  const summary = setInterval(() => {
    io.out(`${iso(Date.now())} summary: ${keepAlive.size} grants kept alive, ${rotations} rotations, ${failures} failures`);
  }, summaryIntervalMs);
  try {
    await keepAlive.ready;
    io.out(`${iso(Date.now())} keeping ${keepAlive.size} grants alive; stop with Ctrl-C`);
    if (!controller.signal.aborted) await once(controller.signal, 'abort');
    io.out(`${iso(Date.now())} stopping: ${rotations} rotations, ${failures} failures`);
    return EXIT.ok;
  } finally {
    clearInterval(summary);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    tokens.stopKeepAlive();
  }
}
