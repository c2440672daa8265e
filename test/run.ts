/**
 * `npm test`: runs every test file, passing its output through, then searches everything the suite
 * printed (test output, logs, reported errors) for every token, code and secret the test
 * authorization servers issued. One hit fails the run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'offline-tokens-suite-'));
const secretsFile = join(dir, 'issued-secrets.txt');
writeFileSync(secretsFile, '');
const files = process.argv.slice(2).length > 0
  ? process.argv.slice(2)
  : readdirSync('test').filter((name) => name.endsWith('.test.ts')).sort().map((name) => join('test', name));

const chunks: Buffer[] = [];
const child = spawn(process.execPath, ['--conditions=source', '--test', '--test-reporter=spec', ...files], {
  env: { ...process.env, OFFLINE_TOKENS_SECRETS_FILE: secretsFile },
  stdio: ['ignore', 'pipe', 'pipe'],
});
child.stdout.on('data', (chunk: Buffer) => {
  chunks.push(chunk);
  process.stdout.write(chunk);
});
child.stderr.on('data', (chunk: Buffer) => {
  chunks.push(chunk);
  process.stderr.write(chunk);
});
const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));

const output = Buffer.concat(chunks).toString('utf8');
const secrets = [...new Set(readFileSync(secretsFile, 'utf8').split('\n').filter((line) => line.length >= 16))];
// Client secrets of the test server are secrets too.
secrets.push('basic-secret-0123456789abcdef', 'post-secret-0123456789abcdef');
const leaked = secrets.filter((secret) => output.includes(secret));
rmSync(dir, { recursive: true, force: true });
console.log(`\nleak check: ${secrets.length} issued tokens, codes and client secrets searched in ${output.length} characters of suite output: ${leaked.length} found`);
if (leaked.length > 0) {
  console.error(`leak check FAILED: ${leaked.length} secret value(s) appear in the output (first at offset ${output.indexOf(leaked[0]!)})`);
  process.exit(1);
}
process.exit(code);
