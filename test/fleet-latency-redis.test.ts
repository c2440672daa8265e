/**
 * Fleet under a store with a long tail, on real redis-server: 8 processes share one grant while their
 * store and lock answer through a TCP proxy that holds ~2 % of the chunks for 1.5–3 s. What is
 * checked, and why, is in `support/fleet-latency.ts`; the postgres run is `fleet-latency-postgres.test.ts`.
 */
import { describeFleetUnderStoreLatency } from './support/fleet-latency.ts';

describeFleetUnderStoreLatency('redis');
