/**
 * The results of one run: the machine, the rows of every section, as a markdown table and as JSON.
 * @module
 */
import os from 'node:os';
import { formatValue, type Row } from './section.ts';

/** Where and when the run happened. */
export interface Machine {
  node: string;
  cpu: string;
  cores: number;
  platform: string;
  date: string;
}

/** One run, as written to `bench/results.json`. */
export interface Report {
  machine: Machine;
  settings: { rounds: number; iterations: number; callers: number };
  sections: Array<{ id: string; title: string; rows: Row[] }>;
  notes: string[];
}

/** Describes this machine and the current time. */
export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

/** The machine lines, the table, and the notes, as markdown. */
export function renderMarkdown(report: Report): string {
  const { machine, settings } = report;
  const lines = [
    `- Node ${machine.node}, ${machine.cpu}, ${machine.cores} cores (${machine.platform})`,
    `- ${machine.date}`,
    `- ${settings.rounds} interleaved rounds × ${settings.iterations.toLocaleString('en-US')} awaited calls per candidate (median of rounds); ${settings.callers.toLocaleString('en-US')} callers in the refresh sections`,
    '',
    '### Targets',
    '',
    '| Target | Measured (median) | Spread / how | Result |',
    '|---|---:|---|---|',
  ];
  for (const section of report.sections) {
    for (const row of section.rows) {
      if (row.verdict === undefined) continue;
      lines.push(`| ${escape(row.case)}: ${row.target ?? ''} | ${formatValue(row)} | ${escape(spreadOf(row.detail ?? ''))} | ${row.verdict} |`);
    }
  }
  lines.push(
    '',
    '### All figures',
    '',
    '| Section | Case | Measured | Target | Result | Detail |',
    '|---|---|---:|---|---|---|',
  );
  for (const section of report.sections) {
    for (const row of section.rows) {
      lines.push(`| ${section.title} | ${escape(row.case)} | ${formatValue(row)} | ${row.target ?? ''} | ${row.verdict ?? ''} | ${escape(row.detail ?? '')} |`);
    }
  }
  if (report.notes.length > 0) {
    lines.push('');
    for (const note of report.notes) lines.push(`- ${note}`);
  }
  return lines.join('\n');
}

/** The p10–p90 part of a row's detail, else its first clause. */
function spreadOf(detail: string): string {
  const match = /p10–p90 [^;,)]+/.exec(detail);
  return match?.[0] ?? detail.split(';')[0]!;
}

function escape(text: string): string {
  return text.replaceAll('|', '\\|');
}
