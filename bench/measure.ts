/**
 * The timing harness: interleaved rounds of awaited calls, timed with `process.hrtime.bigint()`.
 * Every candidate runs in every round, in alternating order, so drift (CPU frequency, GC, a noisy
 * neighbour) lands on all candidates alike; the median over rounds is reported.
 * @module
 */

/** One thing to time. */
export interface Candidate {
  name: string;
  /**
   * Makes `iterations` awaited calls of the operation under test. Each candidate writes its own loop
   * (no shared `fn()` call site), so every loop stays monomorphic and can inline its call.
   */
  run(iterations: number): Promise<void>;
}

/** How long to measure. */
export interface MeasureOptions {
  rounds: number;
  /** Awaited calls timed per candidate per round. */
  iterations: number;
  /** Untimed calls per candidate before the first round (JIT warm-up). */
  warmupIterations: number;
}

/** The samples of one candidate. */
export interface Measurement {
  name: string;
  /** ns per call, one sample per round, in round order. */
  samplesNs: number[];
  medianNs: number;
}

/**
 * Times every candidate in `rounds` interleaved rounds: even rounds in the given order, odd rounds
 * reversed. Returns the candidates' measurements in the given order.
 *
 * @example
 * ```ts
 * const [floor, sdk] = await measureInterleaved([floorCandidate, sdkCandidate], { rounds: 15, iterations: 200_000, warmupIterations: 200_000 });
 * console.log(sdk.medianNs / floor.medianNs);
 * ```
 */
export async function measureInterleaved(candidates: readonly Candidate[], options: MeasureOptions): Promise<Measurement[]> {
  const samples = new Map<Candidate, number[]>(candidates.map((candidate) => [candidate, []]));
  for (const candidate of candidates) await candidate.run(options.warmupIterations);
  const roundWarmup = Math.max(1, Math.floor(options.iterations / 20));
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? candidates : [...candidates].reverse();
    for (const candidate of order) {
      gc?.();
      // A short untimed run refills caches another candidate may have evicted.
      await candidate.run(roundWarmup);
      const start = process.hrtime.bigint();
      await candidate.run(options.iterations);
      const elapsedNs = Number(process.hrtime.bigint() - start);
      samples.get(candidate)!.push(elapsedNs / options.iterations);
    }
  }
  return candidates.map((candidate) => {
    const samplesNs = samples.get(candidate)!;
    return { name: candidate.name, samplesNs, medianNs: median(samplesNs) };
  });
}

/** Per-round ratios of `candidate` to `baseline` (both measured in the same round). */
export function roundRatios(candidate: Measurement, baseline: Measurement): number[] {
  return candidate.samplesNs.map((ns, round) => ns / baseline.samplesNs[round]!);
}

/** The median (mean of the two middle values for an even count); `NaN` for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The `p`th percentile by nearest rank (p in [0, 100]); `NaN` for no values.
 *
 * @example
 * ```ts
 * percentile([1, 2, 3, 4], 50); // 2
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** The p10–p90 spread of `values`, as `low–high` with `digits` decimals (how every figure's spread is printed). */
export function spread(values: readonly number[], digits: number): string {
  return `${percentile(values, 10).toFixed(digits)}–${percentile(values, 90).toFixed(digits)}`;
}
