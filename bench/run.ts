/**
 * Runs the benchmark sections, prints a markdown table and writes `bench/results.json`.
 * Every figure is a ratio, a count or a latency measured in this run. A missed target is printed as
 * MISS and fails the run (exit code 1), as does a section that could not run.
 *
 * `npm run bench`; environment: `BENCH_ONLY=hot-path,refresh-coalescing`, `BENCH_ROUNDS` (15),
 * `BENCH_ITERATIONS` (200000), `BENCH_CALLERS` (10000), `REDIS_URL` (adds a @keyv/redis store).
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { describeMachine, renderMarkdown, type Report } from './report.ts';
import type { SectionContext } from './section.ts';
import { sections } from './sections.ts';

const notes: string[] = [];
const context: SectionContext = {
  rounds: positiveIntegerFromEnv('BENCH_ROUNDS', 15),
  iterations: positiveIntegerFromEnv('BENCH_ITERATIONS', 200_000),
  callers: positiveIntegerFromEnv('BENCH_CALLERS', 10_000),
  note: (text) => notes.push(text),
};
const only = process.env.BENCH_ONLY?.split(',').map((id) => id.trim()).filter(Boolean);
const selected = only === undefined || only.length === 0 ? sections : sections.filter((section) => only.includes(section.id));

const machine = describeMachine();
console.log(`Node ${machine.node} | ${machine.cpu} | ${machine.cores} cores | ${machine.date}`);
const report: Report = { machine, settings: { rounds: context.rounds, iterations: context.iterations, callers: context.callers }, sections: [], notes };
let failed = false;
for (const section of selected) {
  const started = process.hrtime.bigint();
  console.log(`running ${section.id} ...`);
  try {
    const rows = await section.run(context);
    report.sections.push({ id: section.id, title: section.title, rows });
  } catch (error) {
    failed = true;
    notes.push(`${section.id}: failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  }
  console.log(`  done in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`);
}

console.log('');
console.log(renderMarkdown(report));
await writeFile(new URL('./results.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log('\nwrote bench/results.json');
const missed = report.sections.flatMap((section) => section.rows.filter((row) => row.verdict === 'MISS').map((row) => `${section.title}: ${row.case}`));
if (missed.length > 0) console.log(`\n${missed.length} target(s) missed:\n${missed.map((line) => `  - ${line}`).join('\n')}`);
// A missed target fails the run, as does a section that could not run.
if (failed || missed.length > 0) process.exitCode = 1;

function positiveIntegerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`Expected \`${name}\` to be a positive integer, got ${raw}`);
  return value;
}
