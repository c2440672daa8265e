/**
 * The README's CLI walkthrough (login → list → token → curl → revoke), its lines read from the README
 * and run as printed through bash against the demo's authorization server (`npm run demo -- --serve`).
 * The only changes: the demo server's port (a free one instead of 4010), the cookie jar's path (a
 * temporary directory), the store (`OFFLINE_TOKENS_STORE`, a temporary file, set in the environment),
 * and the `<the consent URL>` placeholder (the URL `login` printed).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');
const README_PORT = '4010';
const PLACEHOLDER = '<the consent URL>';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The walkthrough's lines, comments removed, from the first `sh` block after its introduction. */
function walkthroughLines(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const intro = readme.indexOf("Try it on this machine against the demo's authorization server");
  assert.ok(intro >= 0, 'the README introduces the walkthrough');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(intro));
  assert.ok(block, 'the walkthrough is an sh block');
  return block[1]!.split('\n').map((line) => line.replace(/\s+#\s.*$/, '').trim()).filter((line) => line.length > 0);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return port;
}

describe('README CLI walkthrough', () => {
  let dir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'offline-tokens-walkthrough-'));
    port = await freePort();
    env = {
      ...process.env,
      DEMO_PORT: String(port),
      DEMO_STATE_PATH: join(dir, 'idp-state.json'),
      OFFLINE_TOKENS_STORE: `sqlite:${join(dir, 'tokens.sqlite')}`,
    };
  });
  after(() => {
    // Each command runs in its own process group (detached): the group is ended with it (npm, sh, node).
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** The line as this test runs it: the free port, the temporary cookie jar. */
  const adapt = (line: string): string => line.replaceAll(`127.0.0.1:${README_PORT}`, `127.0.0.1:${port}`).replaceAll('/tmp/jar', join(dir, 'jar'));

  function run(script: string) {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(child);
    const output = { stdout: '', stderr: '' };
    let changed = () => {};
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8').on('data', (chunk: string) => {
        output[stream] += chunk;
        changed();
      });
    }
    const done = new Promise<Result>((resolveDone) => child.on('close', (code) => resolveDone({ code, ...output })));
    let exited = false;
    void done.then(() => {
      exited = true;
      changed();
    });
    /** Resolves once `stream` matches `pattern`; fails if the process exits first. */
    const match = async (stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> => {
      for (;;) {
        const found = output[stream].match(pattern);
        if (found !== null) return found;
        if (exited) throw new Error(`\`${script}\` exited (${child.exitCode}) before printing ${pattern}: ${output.stderr}`);
        await new Promise<void>((next) => {
          changed = next;
        });
      }
    };
    return { done, match };
  }

  it('runs as printed against the demo server', async () => {
    const lines = walkthroughLines();
    const [demo, ...rest] = lines;
    assert.equal(demo, 'npm run demo -- --serve &', 'the walkthrough starts the demo server in the background');
    // Lines that set up the shell (the function standing for the command, the variables) precede every later line.
    const prelude = rest.filter((line) => /^export\s|^[\w-]+\(\)\s*\{/.test(line)).map(adapt);
    const steps = rest.filter((line) => !/^export\s|^[\w-]+\(\)\s*\{/.test(line));
    assert.ok(prelude.some((line) => line.startsWith('export OFFLINE_TOKENS_ISSUER=')), 'the walkthrough sets the issuer');

    const server = run(adapt(demo!.replace(/\s*&$/, '')));
    const [printed] = await server.match('stdout', /export OFFLINE_TOKENS_ISSUER=.*/);
    assert.equal(printed, prelude.find((line) => line.startsWith('export ')), 'the demo prints the walkthrough\'s export line');

    const outputs: Array<{ line: string; result: Result }> = [];
    let login: ReturnType<typeof run> | undefined;
    let consentUrl: string | undefined;
    for (const step of steps) {
      console.log(`walkthrough: ${step}`); // progress: each step starts a Node process on a slow machine
      if (step.endsWith('&')) {
        assert.match(step, /^offline-tokens login /, 'only login runs in the background');
        login = run([...prelude, step.replace(/\s*&$/, '')].join('\n'));
        [, consentUrl] = await login.match('stderr', /^(http:\/\/\S+)$/m) as [string, string];
        continue;
      }
      let line = adapt(step);
      if (line.includes(PLACEHOLDER)) {
        assert.ok(consentUrl, 'the consent URL was printed before it is used');
        line = line.replace(PLACEHOLDER, consentUrl);
      }
      const result = await run([...prelude, line].join('\n')).done;
      assert.equal(result.code, 0, `\`${step}\` failed: ${result.stderr}`);
      outputs.push({ line: step, result });
      if (line.includes(consentUrl ?? PLACEHOLDER)) {
        const loggedIn = await login!.done;
        assert.equal(loggedIn.code, 0, `login failed: ${loggedIn.stderr}`);
        assert.match(loggedIn.stdout, /^key\s+me$/m);
        assert.match(loggedIn.stdout, /^status\s+active$/m);
      }
    }

    const output = (pattern: RegExp) => outputs.find(({ line }) => pattern.test(line))?.result.stdout ?? assert.fail(`no step matches ${pattern}`);
    assert.match(output(/^offline-tokens list$/), /^me\tactive\t/m);
    assert.deepEqual(JSON.parse(output(/\/me$/)), { sub: 'test-user' }, 'the API accepted the token');
    assert.match(output(/^offline-tokens revoke me$/), /^revoked me at the server and deleted from the store$/m);
    // Revoked: the grant is gone.
    const status = await run([...prelude, 'offline-tokens status me'].join('\n')).done;
    assert.equal(status.code, 3, status.stderr);
    const again = await run([...prelude, 'offline-tokens revoke me'].join('\n')).done;
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^no grant for me in the store: nothing to revoke$/m);
  });
});
