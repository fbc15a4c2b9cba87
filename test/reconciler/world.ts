/**
 * A reconciler test world: shared dynalite and fauxqs for the file, and per test its own idempotency table, FIFO
 * event queue + DLQ, local Stripe server, state, metrics and clock (`nowS`, Unix seconds). Call
 * `useReconcilerWorld()` at the top of a test file: it registers the hooks and returns the current world's accessors.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createReconciler, type ReconcilerDeps, type ReconcilerSettings } from '../../lambdas/reconciler/core';
import { createReconcilerState, type ReconcilerState } from '../../lambdas/reconciler/state';
import { createIdempotencyStore, type IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import {
  createEventQueues,
  createIdempotencyTable,
  type LocalQueues,
  type RunningService,
  startDynamo,
  startSqs,
} from '../../local/stand-ins';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { RecordingMetrics } from '../processor/harness';
import { uid } from './helpers';

export interface ReconcilerWorld {
  readonly dynamo: RunningService<DynamoDBClient>;
  readonly sqs: RunningService<SQSClient>;
  readonly stripe: StripeServer;
  readonly tableName: string;
  readonly queues: LocalQueues;
  readonly store: IdempotencyStore;
  readonly state: ReconcilerState;
  readonly metrics: RecordingMetrics;
  /** The reconciler's clock, Unix seconds (tests move it). */
  nowS: number;
  /** A reconciler over this world (the DLQ given, so events that cannot be enqueued are parked). */
  reconciler(settings?: ReconcilerSettings, extra?: Partial<ReconcilerDeps>): ReturnType<typeof createReconciler>;
  /** Claims and marks an event DONE, as the processor would. */
  markDone(eventId: string): Promise<void>;
  /** Claims an event and records a failure, as the processor does on a retryable or a permanent one. */
  markFailed(eventId: string, permanent: boolean): Promise<void>;
}

const silent = new Logger({ logLevel: 'SILENT' });

export function useReconcilerWorld(): () => ReconcilerWorld {
  let dynamo: RunningService<DynamoDBClient>;
  let sqs: RunningService<SQSClient>;
  let world: ReconcilerWorld | undefined;

  beforeAll(async () => {
    [dynamo, sqs] = await Promise.all([startDynamo(), startSqs()]);
  });
  afterAll(async () => {
    await Promise.all([dynamo.close(), sqs.close()]);
  });
  beforeEach(async () => {
    const id = uid();
    const tableName = `idem-${id}`;
    await createIdempotencyTable(dynamo.client, tableName);
    const queues = await createEventQueues(sqs.client, {
      name: `events-${id}`,
      visibilityTimeoutSeconds: 60,
      maxReceiveCount: 5,
    });
    const stripe = await startStripeServer();
    const store = createIdempotencyStore({ client: dynamo.client, tableName, leaseSeconds: 60, doneTtlDays: 35 });
    const state = createReconcilerState({ client: dynamo.client, tableName });
    const metrics = new RecordingMetrics();
    const claim = async (eventId: string) => {
      const c = await store.claim(eventId, { type: 'payment_intent.succeeded', messageId: 'm-earlier' });
      if (c.outcome !== 'claimed') throw new Error(`could not claim ${eventId}`);
      return c.token;
    };
    const w: ReconcilerWorld = {
      dynamo,
      sqs,
      stripe,
      tableName,
      queues,
      store,
      state,
      metrics,
      nowS: Math.floor(Date.now() / 1000),
      reconciler(settings = {}, extra = {}) {
        const client = createStripeClient('sk_test_reconciler', { apiBase: stripe.url });
        return createReconciler(
          {
            store,
            state,
            stripe: async () => client,
            sqs: sqs.client,
            queueUrl: queues.queueUrl,
            dlqUrl: queues.dlqUrl,
            logger: silent,
            metrics,
            now: () => w.nowS * 1000,
            sleep: async () => undefined,
            ...extra,
          },
          { maxRequestsPerSecond: 1000, ...settings },
        );
      },
      async markDone(eventId) {
        await store.markDone(eventId, await claim(eventId));
      },
      async markFailed(eventId, permanent) {
        await store.recordFailure(eventId, await claim(eventId), {
          code: permanent ? 'stripe_object_not_found' : 'stripe_unavailable',
          message: permanent ? 'Stripe has no payment_intent' : 'Stripe answered 503',
          messageId: 'm-earlier',
          permanent,
        });
      },
    };
    world = w;
  });
  afterEach(async () => {
    await world?.stripe.close();
    world = undefined;
  });

  return () => {
    if (!world) throw new Error('the reconciler world exists only inside a test');
    return world;
  };
}
