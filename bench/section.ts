/**
 * What a benchmark section is: a named group of rows. `bench/run.ts` runs the sections listed in
 * `bench/sections.ts` in order; a new section is one more module and one more entry there.
 * @module
 */

/** Whether a row met its target. */
export type Verdict = 'PASS' | 'MISS';

/** How a row's value reads. */
export type Unit =
  /** Median ns/op divided by the floor's median ns/op, both from this run. */
  | 'x floor'
  /** A dimensionless ratio of two figures from this run. */
  | 'ratio'
  /** A count. */
  | 'count'
  /** Milliseconds, measured in this run. */
  | 'ms'
  /** Nanoseconds, measured in this run. */
  | 'ns'
  /** Bytes, measured in this run. */
  | 'bytes';

/** One line of the results table. */
export interface Row {
  case: string;
  value: number;
  unit: Unit;
  /** The target in words, e.g. `≤ 1.10`. */
  target?: string;
  verdict?: Verdict;
  /** Raw figures behind the value (spread, ns/op, ...). */
  detail?: string;
}

/** Settings shared by every section, and a way to say why something was skipped. */
export interface SectionContext {
  /** Interleaved rounds per timing. */
  rounds: number;
  /** Awaited calls per candidate per round. */
  iterations: number;
  /** Concurrent callers for the refresh sections. */
  callers: number;
  /** Adds a line printed under the table (e.g. "Redis skipped: REDIS_URL not set"). */
  note(text: string): void;
}

/** A group of rows measured together. */
export interface Section {
  /** Stable id, used in results.json and by `BENCH_ONLY`. */
  id: string;
  title: string;
  run(context: SectionContext): Promise<Row[]>;
}

/** Formats a row's value for the table. */
export function formatValue(row: Row): string {
  switch (row.unit) {
    case 'x floor':
      return `${row.value.toFixed(2)}×`;
    case 'ratio':
      return row.value.toFixed(2);
    case 'count':
      return row.value.toLocaleString('en-US');
    case 'ms':
      return `${Math.abs(row.value) < 1 ? row.value.toFixed(3) : row.value.toFixed(1)} ms`;
    case 'ns':
      return `${row.value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ns`;
    case 'bytes':
      return `${Math.round(row.value).toLocaleString('en-US')} B`;
  }
}

/** `PASS` when `ok`, else `MISS`. */
export function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'MISS';
}
