/**
 * What a refresh transaction runs on and what it returns: its narrow policy, its context, its outcome.
 * @module
 */
import type { StoreError } from '../errors.ts';
import type { Grant } from '../grant/grant.ts';
import type { GrantLock } from '../locks/lock.ts';
import type { ServerConnection } from '../oauth/server.ts';
import type { GrantStore } from '../storage/grant-store.ts';
import type { TokenManagerEvents } from '../events.ts';
import type { Logger } from '../util/log.ts';
import type { Clock } from '../util/clock.ts';
import type { RefreshObserver } from './observer.ts';
import type { Unpersisted } from './write-behind.ts';

/** The settings the refresh transaction follows (a subset of the manager's options). @internal */
export interface RefreshPolicy {
  /** Clock, epoch ms (`clock.wallMs`): decisions. */
  now: () => number;
  /** The one clock: `monotonicMs` for deadlines. */
  clock: Clock;
  refreshWindowMs: number;
  refreshTokenLifetimeMs: number;
  maxGrantLifetimeMs: number;
  refreshTimeoutMs: number;
  requestTimeoutMs: number;
  maxRetries: number;
  retryMinDelayMs: number;
  rotationGracePeriodMs: number;
}

/** What the refresh transaction needs. @internal */
export interface RefreshContext {
  store: GrantStore;
  lock: GrantLock;
  server: ServerConnection;
  policy: RefreshPolicy;
  emit: <E extends keyof TokenManagerEvents>(event: E, payload: TokenManagerEvents[E]) => void;
  /** Where to log (never a token). */
  log?: Logger | undefined;
  /** Told when each refresh transaction starts and ends (metrics, traces). */
  observer?: RefreshObserver | undefined;
  /** Told when each request to the token endpoint starts (telemetry: attempts). */
  onAttempt?: (() => void) | undefined;
}

/** An access token issued for the resource(s) (RFC 8707) or the narrower scope of a refresh request. */
export interface ResourceToken {
  accessToken: string;
  /** Epoch ms. */
  issuedAt: number;
  /** Epoch ms. */
  expiresAt: number;
  scope: string | undefined;
}

/**
 * The outcome of a refresh transaction: the grant to serve and whether this transaction got it from
 * the server (else: adopted from the store), or a rotated grant the store refused, which the caller
 * must hold and write later (`error` is what to report meanwhile).
 */
export type RefreshOutcome =
  | { grant: Grant; refreshed: boolean; resourceToken?: ResourceToken }
  | { unpersisted: Unpersisted; error: StoreError };
