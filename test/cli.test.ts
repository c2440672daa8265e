/**
 * The `offline-tokens` command, run as a child process against the test authorization server, the
 * consent done headlessly through the CLI's loopback redirect.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.ts';

const BIN = resolve(import.meta.dirname, '../src/cli/bin.ts');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('offline-tokens CLI', () => {
  let idp: AuthorizationServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    idp = await startAuthorizationServer();
    dir = mkdtempSync(join(tmpdir(), 'offline-tokens-cli-'));
    env = {
      PATH: process.env.PATH,
      OFFLINE_TOKENS_SECRETS_FILE: process.env.OFFLINE_TOKENS_SECRETS_FILE,
      NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE, // npm test's shared compile cache: half the start-up CPU
      OFFLINE_TOKENS_ISSUER: idp.issuer,
      OFFLINE_TOKENS_CLIENT_ID: idp.clients.loopback.clientId,
      OFFLINE_TOKENS_STORE: `sqlite:${join(dir, 'grants.sqlite')}`,
      OFFLINE_TOKENS_ALLOW_INSECURE_REQUESTS: '1',
    };
  });
  after(async () => {
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { stdout: '', stderr: '' };
    const waiters: Array<() => void> = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8').on('data', (chunk: string) => {
        output[stream] += chunk;
        for (const waiter of waiters.splice(0)) waiter();
      });
    }
    const done = new Promise<Result>((resolveDone) => child.on('close', (code) => resolveDone({ code, ...output })));
    /** Resolves once `stream` matches `pattern` (fails if the process exits first). */
    const match = async (stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> => {
      let exited = false;
      void done.then(() => {
        exited = true;
        for (const waiter of waiters.splice(0)) waiter();
      });
      for (;;) {
        const found = output[stream].match(pattern);
        if (found !== null) return found;
        if (exited) throw new Error(`exited before printing ${pattern}: ${output.stderr}`);
        await new Promise<void>((next) => waiters.push(next));
      }
    };
    return { child, done, match };
  }

  const cli = (args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<Result> => start(args, extraEnv).done;

  /** No output of a command other than `token` may carry an issued token. */
  function assertNoToken(result: Result, what: string): void {
    for (const token of idp.issuedTokens) assert.ok(!`${result.stdout}${result.stderr}`.includes(token), `${what} printed an issued token or code`);
  }

  async function login(key: string): Promise<Result> {
    const run = start(['login', key, '--no-open', '--timeout-ms', '60000']);
    const [, url] = await run.match('stderr', /^(http:\/\/\S+)$/m) as [string, string];
    const redirectUri = new URL(url).searchParams.get('redirect_uri')!;
    assert.match(redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const callback = await idp.consent(url, { stopAt: redirectUri });
    const answer = await fetch(callback);
    assert.equal(answer.status, 200, await answer.text());
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assertNoToken(result, 'login');
    return result;
  }

  it('login → list → status → token → refresh → revoke', async () => {
    const loggedIn = await login('alice');
    assert.match(loggedIn.stdout, /^key\s+alice$/m);
    assert.match(loggedIn.stdout, /^status\s+active$/m);
    assert.match(loggedIn.stdout, /^subject\s+test-user$/m);

    const list = await cli(['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^alice\tactive\ttest-user\t/m);
    assertNoToken(list, 'list');
    const listJson = await cli(['list', '--json', '--status', 'active']);
    assert.deepEqual(listJson.stdout.trim().split('\n').map((line) => JSON.parse(line).key), ['alice']);
    assert.equal((await cli(['list', '--status', 'reauth_required'])).stdout, '');

    const status = await cli(['status', 'alice', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const info = JSON.parse(status.stdout) as { rotations: number; status: string };
    assert.equal(info.rotations, 0);
    assert.equal(info.status, 'active');
    assertNoToken(status, 'status');

    const token = await cli(['token', 'alice']);
    assert.equal(token.code, 0, token.stderr);
    const first = token.stdout.trim();
    assert.ok(idp.issuedTokens.has(first), 'token prints an access token the server issued, alone');
    assert.equal(token.stdout, `${first}\n`);

    idp.resetCounters();
    const refresh = await cli(['refresh', 'alice']);
    assert.equal(refresh.code, 0, refresh.stderr);
    assert.match(refresh.stdout, /^refreshed alice: access token expires \d{4}-\d\d-\d\dT.*rotation 1$/m);
    assertNoToken(refresh, 'refresh');
    assert.equal(idp.counters.refreshSuccesses, 1);
    const second = (await cli(['token', 'alice'])).stdout.trim();
    assert.ok(idp.issuedTokens.has(second) && second !== first, 'token prints the rotated access token');
    assert.equal(idp.counters.refreshRequests, 1, 'token in a fresh process reads the stored grant');

    const revoke = await cli(['revoke', 'alice']);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, /^revoked alice at the server/m);
    assertNoToken(revoke, 'revoke');
    const gone = await cli(['status', 'alice']);
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /offline-tokens login alice/);
  });

  it('exits 3 when the user must consent again, saying what to run', async () => {
    await login('bob');
    await idp.revokeAllGrants();
    const refresh = await cli(['refresh', 'bob']);
    assert.equal(refresh.code, 3, refresh.stderr);
    assert.match(refresh.stderr, /^offline-tokens: .*run `offline-tokens login bob`$/m);
    assert.equal(refresh.stderr.trim().split('\n').length, 1, 'one line');
    const token = await cli(['token', 'bob']);
    assert.equal(token.code, 3);
    assert.equal(token.stdout, '');
    const status = await cli(['status', 'bob']);
    assert.equal(status.code, 3);
    assert.match(status.stdout, /^status\s+reauth_required/m);
    const dead = await cli(['list', '--status', 'reauth_required']);
    assert.match(dead.stdout, /^bob\treauth_required:/m);
  });

  it('exits 2 on a wrong command line, with one line on stderr', async () => {
    const cases = [['list', '--bogus'], ['token'], ['nope'], ['list', '--port', '1'], ['login', 'a', 'b'], ['list', '--status', 'dead'], []];
    const results = await Promise.all(cases.map((args) => cli(args)));
    for (const [index, args] of cases.entries()) {
      const result = results[index]!;
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      if (args.length > 0) assert.equal(result.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${result.stderr}`);
    }
    const noIssuer = await cli(['list'], { OFFLINE_TOKENS_ISSUER: '' });
    assert.equal(noIssuer.code, 2);
    assert.match(noIssuer.stderr, /OFFLINE_TOKENS_ISSUER/);
  });

  it('prints help for every command, and reads a config file', async () => {
    const commands = ['', 'login', 'list', 'status', 'token', 'refresh', 'revoke', 'keep-alive'];
    const results = await Promise.all(commands.map((command) => cli([...(command === '' ? [] : [command]), '--help'])));
    for (const [index, command] of commands.entries()) {
      const result = results[index]!;
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, /^Usage: offline-tokens /, command);
    }
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ issuer: idp.issuer, clientId: idp.clients.loopback.clientId, allowInsecureRequests: true, store: env.OFFLINE_TOKENS_STORE }));
    const result = await cli(['list', '--config', config], { OFFLINE_TOKENS_ISSUER: '', OFFLINE_TOKENS_CLIENT_ID: '', OFFLINE_TOKENS_STORE: '', OFFLINE_TOKENS_ALLOW_INSECURE_REQUESTS: '' });
    assert.equal(result.code, 0, result.stderr);
  });

  it('lists without the server, and exits 4 when a command needs an unreachable server', async () => {
    // Metadata is fetched on first need: listing the store needs no server at all.
    assert.equal((await cli(['list'], { OFFLINE_TOKENS_ISSUER: 'http://127.0.0.1:1' })).code, 0);
    const result = await cli(['login', 'nobody', '--no-open'], { OFFLINE_TOKENS_ISSUER: 'http://127.0.0.1:1' });
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /reachable/);
  });

  it('keep-alive runs until SIGTERM', async () => {
    const run = start(['keep-alive']);
    await run.match('stdout', /keeping \d+ grants alive/);
    run.child.kill('SIGTERM');
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /stopping: 0 rotations, 0 failures/);
  });
});
