/**
 * `npm test`: checks the machine has what the tests need (Redis and PostgreSQL binaries; see
 * `support/services.ts`), runs every test file, several at once, then searches everything the suite
 * printed (test output, logs, reported errors) for every token, code and secret the test authorization
 * servers issued. One hit fails the run.
 *
 * Each file runs in its own process (`node --conditions=source --test-reporter=spec FILE`), the known
 * long ones first, as many at once as their weights allow within cores + 1 (a file that mostly waits on
 * servers, timers and child processes weighs a half, others 1), and one more (up to 2 × (cores + 1))
 * whenever most of a core sat idle for the last two seconds (`support/schedule.ts`): a fixed count
 * either leaves the cores idle while the waiting files wait, or starves the timing-sensitive tests on a
 * loaded machine. `OFFLINE_TOKENS_TEST_CONCURRENCY=N` runs exactly N at a time. A file's report is printed as one block when it ends; its stderr
 * is passed through at once, prefixed with its name: a line per finished test (`support/progress-reporter.ts`)
 * and the progress lines of long tests (`support/progress.ts`). When
 * nothing was printed for 15 s the runner says which files are still running. The child processes share
 * a compile cache (`NODE_COMPILE_CACHE`), which halves the start-up CPU of the many processes the tests
 * spawn. `npm test -- test/a.test.ts test/b.test.ts` runs only those files.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { cpuSeconds, idleCores, machineCpuTicks, reapedChildrenCpuSeconds, type MachineCpuTicks } from './support/cpu-time.ts';
import { mayStartAnother, WAITING_FILE_WEIGHT } from './support/schedule.ts';
import { ensureServices, ServiceMissingError } from './support/services.ts';

/**
 * Started first, in this order (the longest wall times, measured); files not listed follow in name
 * order. `fleet-killed` waits for the first wave's start-up storm (crash workers, fleet pools) to pass:
 * its killed-holder scenarios need Redis to answer within its command timeout.
 */
const LONG_POLES = ['crash', 'fleet-latency-postgres', 'fleet-latency-redis', 'cli', 'lock-contract', 'fleet-killed', 'fleet', 'fleet-clock-offset',
  'fleet-resources', 'failures', 'store-contract', 'final-write', 'faults', 'bad-input', 'memory', 'store-outage'];
/** Files that mostly wait (CPU a fifth to two fifths of their wall time, measured): they weigh {@link WAITING_FILE_WEIGHT}. */
// `fleet-killed` waits most of its time too, but weighs 1: its killed-holder scenarios are the most
// sensitive to a starved Redis (lock commands past their timeout), so fewer files run beside it.
const WAITING_FILES = new Set(['fleet-latency-postgres', 'fleet-latency-redis', 'cli', 'lock-contract', 'fleet', 'fleet-clock-offset', 'failures', 'memory']);
const weightOf = (file: string): number => (WAITING_FILES.has(basename(file, '.test.ts')) ? WAITING_FILE_WEIGHT : 1);
const SILENCE_MS = 15_000;
const PROGRESS_REPORTER = join(import.meta.dirname, 'support', 'progress-reporter.ts');

const started = Date.now();
const chunks: Buffer[] = [];
let lastOutput = Date.now();
function print(text: string, stream: NodeJS.WriteStream = process.stdout): void {
  chunks.push(Buffer.from(text));
  stream.write(text);
  lastOutput = Date.now();
}

try {
  for (const line of await ensureServices({ log: (line) => print(`${line}\n`) })) print(`${line}\n`);
} catch (error) {
  if (!(error instanceof ServiceMissingError)) throw error;
  process.stderr.write(`npm test: ${error.message}\n`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'offline-tokens-suite-'));
const secretsFile = join(dir, 'issued-secrets.txt');
writeFileSync(secretsFile, '');
const files = orderFiles(process.argv.slice(2).length > 0
  ? process.argv.slice(2)
  : readdirSync('test').filter((name) => name.endsWith('.test.ts')).map((name) => join('test', name)));
const cores = availableParallelism();
const fixedConcurrency = Number(process.env.OFFLINE_TOKENS_TEST_CONCURRENCY) || undefined;
const limits = fixedConcurrency === undefined
  ? { budget: cores + 1, maximum: 2 * (cores + 1), weigh: weightOf }
  : { budget: fixedConcurrency, maximum: fixedConcurrency, weigh: () => 1 };
const env = {
  ...process.env,
  OFFLINE_TOKENS_SECRETS_FILE: secretsFile,
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'offline-tokens-compile-cache'),
};
print(`${files.length} test files, ${fixedConcurrency === undefined ? `files weighing up to ${limits.budget} at a time (mostly waiting ones ${WAITING_FILE_WEIGHT}, others 1), more while cores sit idle, at most ${limits.maximum}` : `${fixedConcurrency} at a time`}\n`);

const running = new Map<string, { since: number; pid: number; cpu: number; weight: number }>();
interface FileResult { file: string; code: number; ms: number; cpu: number; counts: Record<string, number> }
const results: FileResult[] = [];
const queue = [...files];
/** The machine's CPU ticks at the last three heartbeats: the idle cores over the last two seconds. */
const machine: MachineCpuTicks[] = [];
let lastStartedAt = 0;
let mostAtOnce = 0;
/** CPU of the files (and their children) ended so far: a file's total is read when it ends. */
let reapedCpu = reapedChildrenCpuSeconds();
let allDone: () => void = () => {};
const finished = new Promise<void>((resolve) => (allDone = resolve));

/** Starts the next file if the schedule allows it now; `true` if it did. */
function startNext(): boolean {
  const idle = machine.length >= 3 ? idleCores(machine[0]!, machine[machine.length - 1]!, cores) : undefined;
  if (queue.length === 0) return false;
  const load = [...running.values()].reduce((sum, entry) => sum + entry.weight, 0);
  const state = { ...limits, load, weight: limits.weigh(queue[0]!), running: running.size, idleCores: idle, msSinceLastStart: Date.now() - lastStartedAt };
  if (!mayStartAnother(state)) return false;
  const file = queue.shift()!;
  lastStartedAt = Date.now();
  void runFile(file).then((result) => {
    results.push(result);
    while (startNext());
    if (running.size === 0 && queue.length === 0) allDone();
  });
  mostAtOnce = Math.max(mostAtOnce, running.size);
  return true;
}

const heartbeat = setInterval(() => {
  for (const entry of running.values()) entry.cpu = cpuSeconds(entry.pid) ?? entry.cpu;
  const ticks = machineCpuTicks();
  if (ticks !== undefined) machine.push(ticks);
  if (machine.length > 3) machine.shift();
  startNext();
  if (Date.now() - lastOutput < SILENCE_MS) return;
  const list = [...running].map(([file, { since }]) => `${basename(file)} ${Math.round((Date.now() - since) / 1000)} s`).join(', ');
  print(`… still running: ${list}\n`);
}, 1_000);

while (startNext());
if (files.length === 0) allDone();
await finished;
clearInterval(heartbeat);

const failed = results.filter((result) => result.code !== 0);
const total = (name: string): number => results.reduce((sum, result) => sum + (result.counts[name] ?? 0), 0);
print(`\n${results.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s (at most ${mostAtOnce} at once): tests ${total('tests')}, pass ${total('pass')}, fail ${total('fail')}, `
  + `cancelled ${total('cancelled')}, skipped ${total('skipped')}, todo ${total('todo')}\n`);
const longest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 6);
print(`longest: ${longest.map((result) => `${basename(result.file)} ${(result.ms / 1000).toFixed(1)} s (cpu ${result.cpu.toFixed(1)} s)`).join(', ')}; `
  + `cpu of all files ${results.reduce((sum, result) => sum + result.cpu, 0).toFixed(1)} s (with their child processes)\n`);
if (failed.length > 0) print(`failed: ${failed.map((result) => `${result.file} (exit ${result.code})`).join(', ')}\n`, process.stderr);

const output = Buffer.concat(chunks).toString('utf8');
const secrets = [...new Set(readFileSync(secretsFile, 'utf8').split('\n').filter((line) => line.length >= 16))];
// Client secrets of the test server are secrets too.
secrets.push('basic-secret-0123456789abcdef', 'post-secret-0123456789abcdef');
const leaked = secrets.filter((secret) => output.includes(secret));
rmSync(dir, { recursive: true, force: true });
console.log(`leak check: ${secrets.length} issued tokens, codes and client secrets searched in ${output.length} characters of suite output: ${leaked.length} found`);
if (leaked.length > 0) {
  console.error(`leak check FAILED: ${leaked.length} secret value(s) appear in the output (first at offset ${output.indexOf(leaked[0]!)})`);
  process.exit(1);
}
process.exit(failed.length > 0 ? 1 : 0);

/** Runs one file; prints its report when it ends, its stderr lines at once. */
function runFile(file: string): Promise<FileResult> {
  const since = Date.now();
  const child = spawn(process.execPath, [
    '--conditions=source', '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${PROGRESS_REPORTER}`, '--test-reporter-destination=stderr', file,
  ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { since, pid: child.pid ?? 0, cpu: 0, weight: limits.weigh(file) };
  running.set(file, entry);
  const report: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => report.push(chunk));
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) print(`[${basename(file, '.test.ts')}] ${line}\n`, process.stderr);
  });
  child.on('exit', () => {
    // Its whole cost, children included (the samples miss what ran in its last second, and children
    // that lived until its end); when two files end at once, the first one read gets both.
    const now = reapedChildrenCpuSeconds();
    if (now === undefined || reapedCpu === undefined) return;
    if (now > reapedCpu) entry.cpu = now - reapedCpu;
    reapedCpu = now;
  });
  return new Promise((resolve) => child.on('close', (code, signal) => {
    running.delete(file);
    if (partial !== '') print(`[${basename(file, '.test.ts')}] ${partial}\n`, process.stderr);
    const text = Buffer.concat(report).toString('utf8');
    const ms = Date.now() - since;
    const exit = code ?? (signal === null ? 1 : 128);
    print(`\n━━ ${file} ${exit === 0 ? 'passed' : `FAILED (exit ${code ?? signal})`} in ${(ms / 1000).toFixed(1)} s (cpu ${entry.cpu.toFixed(1)} s)\n${text}`);
    const counts = Object.fromEntries([...text.matchAll(/^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)].map((match) => [match[1]!, Number(match[2])]));
    resolve({ file, code: exit, ms, cpu: entry.cpu, counts });
  }));
}

function orderFiles(list: string[]): string[] {
  const rank = (file: string): number => {
    const index = LONG_POLES.indexOf(basename(file, '.test.ts'));
    return index === -1 ? LONG_POLES.length : index;
  };
  return [...list].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
