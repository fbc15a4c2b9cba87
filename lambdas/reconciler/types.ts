/**
 * The reconciler's contract (lambdas/reconciler/core.ts runs it): its settings, what it is given, how a run is
 * started and what a run reports.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import type { IdempotencyStore } from '../shared/idempotency-store';
import type { Sleep } from '../shared/stripe-events';
import type { SourceSettings } from './sources';
import type { ReconcilerState } from './state';

export interface ReconcilerSettings extends SourceSettings {
  /** @default - MAX_REQUESTS_PER_SECOND's default (./env.ts), as every setting here that has a variable */
  readonly maxRequestsPerSecond?: number;
  /** @default - GRACE_SECONDS's default */
  readonly graceSeconds?: number;
  /** @default - OVERLAP_SECONDS's default */
  readonly overlapSeconds?: number;
  /** @default - INITIAL_LOOKBACK_HOURS's default */
  readonly initialLookbackHours?: number;
  /** @default - SLICE_SECONDS's default */
  readonly sliceSeconds?: number;
  /** The event queue's maximum message size (see enqueueMessage). @default - MAX_MESSAGE_BYTES's default */
  readonly maxMessageBytes?: number;
  /** How long the lock lasts without renewal. @default - LOCK_SECONDS's default, in milliseconds */
  readonly lockMs?: number;
  /** No new slice or page starts when less than this remains. @default 30000 */
  readonly timeMarginMs?: number;
  /** Retries after a 429 before the run fails. @default 4 */
  readonly maxRateLimitRetries?: number;
}

export interface ReconcilerDeps {
  readonly store: IdempotencyStore;
  readonly state: ReconcilerState;
  /** The Stripe client (called once per run). */
  readonly stripe: () => Promise<Stripe>;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** The FIFO DLQ events that can never be enqueued are parked on. @default - such an event fails the run */
  readonly dlqUrl?: string;
  readonly logger: Logger;
  /** Namespace StripeWebhooks (set by the caller). */
  readonly metrics?: Metrics;
  /** Unix milliseconds. @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: Sleep;
  /** Called after each event is enqueued (tests use it to crash a run part-way). */
  readonly afterEnqueue?: (eventId: string) => void;
}

export interface RunOptions {
  /** The Lambda's `context.getRemainingTimeInMillis`; none = no time limit. */
  readonly remainingTimeMs?: () => number;
  /**
   * Start here (Unix seconds) instead of at the checkpoint (`npm run reconcile -- --since`). The checkpoint still
   * advances, but only when this start is at or before it (else the gap in between would be skipped for good), or
   * when only Stripe's retention kept the run from starting there.
   */
  readonly since?: number;
}

export type RunStatus =
  /** The whole window was reconciled. */
  | 'completed'
  /** Nothing to list: the window is empty (the checkpoint is within the grace period). */
  | 'up_to_date'
  /**
   * Stopped because the invocation was running out of time: before a slice, or inside one (which the next run
   * redoes, in smaller slices); the next run continues from the checkpoint.
   */
  | 'out_of_time'
  /** Another run holds the lock: nothing was done. */
  | 'locked'
  /** The lock lapsed mid-run (another run may have taken over): stopped. */
  | 'lock_lost';

export interface ReconcileResult {
  readonly status: RunStatus;
  /** Unix seconds: the window this run set out to cover ([from, to)). */
  readonly window?: { readonly from: number; readonly to: number };
  /** Unix seconds: the end of the last slice completed (the checkpoint, if this run could move it). */
  readonly reconciledUpTo?: number;
  readonly checkpointBefore?: number;
  readonly checkpointAfter?: number;
  readonly slices: number;
  /** Connected accounts whose events were listed too (see sources.ts). */
  readonly connectedAccounts: number;
  readonly listed: number;
  /** Not in the table at all: deliveries that never reached the processor. */
  readonly missed: number;
  /** In the table but not DONE (IN_PROGRESS or FAILED). */
  readonly pending: number;
  /** DONE already. */
  readonly alreadyDone: number;
  /** FAILED permanently: already in the DLQ with their reason, not enqueued again. */
  readonly deadLettered: number;
  /** Could never be enqueued: parked on the DLQ with their reason. */
  readonly parked: number;
  readonly enqueued: number;
  readonly stripeCalls: number;
  readonly stripe429: number;
  /** Up to 50 missed event ids, for the log and the operator. */
  readonly missedEventIds: readonly string[];
  /** Who holds the lock, when `locked`. */
  readonly lockHeldBy?: string;
  /**
   * Unix seconds: the span after the checkpoint that Stripe no longer keeps events for (older than its 30-day
   * retention). Events created in it and never delivered are lost for good: the operator must find them elsewhere.
   */
  readonly unrecoverable?: { readonly from: number; readonly to: number };
}

export interface Reconciler {
  run(options?: RunOptions): Promise<ReconcileResult>;
}
