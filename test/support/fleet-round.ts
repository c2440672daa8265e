/**
 * One round of a fleet test: every member's callers ask for the grant at the same instant `now`,
 * and what they saw is gathered across the fleet.
 *
 * @example
 * ```ts
 * now += HOUR_MS; // past the access token's expiry, for every process at once
 * const result = await fleetRound(members, now, 100);
 * assert.equal(result.tokens.size, 1);
 * ```
 * @module
 */
import type { FleetMember } from './fleet-member.ts';
import type { RoundResult } from './fleet-worker.ts';

/** What all the callers of one round saw, across the fleet. */
export interface FleetRound {
  tokens: Set<string>;
  errors: string[];
  reasons: Set<string>;
  latenciesMs: number[];
  refreshes: Array<NonNullable<RoundResult['refresh']>>;
}

/** Runs a round of `callers` callers in each member, on the clock `now`. */
export async function fleetRound(members: readonly FleetMember[], now: number, callers: number): Promise<FleetRound> {
  const results = await Promise.all(members.map((member) => member.round(now, callers)));
  return {
    tokens: new Set(results.flatMap((result) => result.tokens)),
    errors: results.flatMap((result) => result.errors),
    reasons: new Set(results.flatMap((result) => result.reasons)),
    latenciesMs: results.flatMap((result) => result.latenciesMs),
    refreshes: results.flatMap((result) => (result.refresh === undefined ? [] : [result.refresh])),
  };
}
