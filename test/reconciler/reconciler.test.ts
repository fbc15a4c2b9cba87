/**
 * The reconciler core against dynalite (idempotency table, lock, checkpoint), fauxqs (the FIFO event queue) and the
 * local Stripe server (List Events, faults). Each test gets its own table, queue and Stripe server.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReconciler, type ReconcilerDeps, type ReconcilerSettings } from '../../lambdas/reconciler/core';
import { CHECKPOINT_KEY, createReconcilerState, LOCK_KEY, type ReconcilerState } from '../../lambdas/reconciler/state';
import { createIdempotencyStore, type IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { createPacer } from '../../lambdas/shared/stripe-events';
import {
  createEventQueues,
  createIdempotencyTable,
  type RunningService,
  startDynamo,
  startSqs,
} from '../../local/stand-ins';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { RecordingMetrics } from '../processor/harness';
import { countByEvent, drain, paymentEvent, uid } from './helpers';

const silent = new Logger({ logLevel: 'SILENT' });
const HOUR = 3600;

let dynamo: RunningService<DynamoDBClient>;
let sqs: RunningService<SQSClient>;

/** Per test. */
let stripeServer: StripeServer;
let tableName: string;
let queueUrl: string;
let store: IdempotencyStore;
let state: ReconcilerState;
let metrics: RecordingMetrics;
/** Unix seconds "now" of the test; the reconciler's clock. */
let nowS: number;
/** What the reconciler slept for, in ms (the fake sleep returns at once). */
let slept: number[];

beforeAll(async () => {
  [dynamo, sqs] = await Promise.all([startDynamo(), startSqs()]);
});
afterAll(async () => {
  await Promise.all([dynamo.close(), sqs.close()]);
});

beforeEach(async () => {
  const id = uid();
  tableName = `idem-${id}`;
  await createIdempotencyTable(dynamo.client, tableName);
  ({ queueUrl } = await createEventQueues(sqs.client, {
    name: `events-${id}`,
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 5,
  }));
  stripeServer = await startStripeServer();
  nowS = Math.floor(Date.now() / 1000);
  store = createIdempotencyStore({ client: dynamo.client, tableName, leaseSeconds: 60, doneTtlDays: 35 });
  state = createReconcilerState({ client: dynamo.client, tableName });
  metrics = new RecordingMetrics();
  slept = [];
});
afterEach(async () => {
  await stripeServer.close();
});

function reconciler(settings: ReconcilerSettings = {}, extra: Partial<ReconcilerDeps> = {}) {
  const stripe = createStripeClient('sk_test_reconciler', { apiBase: stripeServer.url });
  return createReconciler(
    {
      store,
      state,
      stripe: async () => stripe,
      sqs: sqs.client,
      queueUrl,
      logger: silent,
      metrics,
      now: () => nowS * 1000,
      sleep: async (ms) => {
        slept.push(ms);
      },
      ...extra,
    },
    // The platform's classic events only (sources.ts adds accounts and thin events; coverage.test.ts tests them):
    // this file's clock stands still, so the pacer allows 50 requests per run.
    { maxRequestsPerSecond: 50, connectedAccounts: false, thinEvents: false, ...settings },
  );
}

/** Adds events to Stripe (never delivered: the table has not seen them). */
function inStripe(...events: Array<Record<string, unknown>>) {
  for (const e of events) stripeServer.addEvent(e);
  return events;
}

async function markDone(eventId: string) {
  const claim = await store.claim(eventId, { type: 'payment_intent.succeeded', messageId: 'm-earlier' });
  if (claim.outcome !== 'claimed') throw new Error('could not claim');
  await store.markDone(eventId, claim.token);
}

describe('reconciler', () => {
  it('enqueues every event the table has not seen as DONE, once, and counts missed vs pending', async () => {
    const [missed1, missed2, done, failed] = inStripe(
      paymentEvent(nowS - 2 * HOUR),
      paymentEvent(nowS - HOUR),
      paymentEvent(nowS - 3 * HOUR),
      paymentEvent(nowS - 30 * 60),
    ) as [{ id: string }, { id: string }, { id: string }, { id: string }];
    await markDone(done.id);
    const claim = await store.claim(failed.id, { type: 'payment_intent.succeeded', messageId: 'm-1' });
    if (claim.outcome !== 'claimed') throw new Error('could not claim');
    await store.recordFailure(failed.id, claim.token, {
      code: 'stripe_unavailable',
      message: 'Stripe answered 503',
      messageId: 'm-1',
      permanent: false,
    });

    const result = await reconciler().run();

    expect(result).toMatchObject({
      status: 'completed',
      listed: 4,
      missed: 2,
      pending: 1,
      alreadyDone: 1,
      enqueued: 3,
      stripe429: 0,
    });
    expect([...result.missedEventIds].sort()).toEqual([missed1.id, missed2.id].sort());
    const queued = await drain(sqs.client, queueUrl);
    expect([...countByEvent(queued).entries()].sort()).toEqual(
      [
        [missed1.id, 1],
        [missed2.id, 1],
        [failed.id, 1],
      ].sort(),
    );
    expect(queued.every((m) => m.body.source === 'reconcile' && m.body.kind === 'snapshot')).toBe(true);
    expect(queued[0]?.message.MessageAttributes?.source?.StringValue).toBe('reconcile');
    expect(metrics.total('ReconcileMissedEvents')).toBe(2);
    expect(metrics.total('ReconcileEnqueued')).toBe(3);
    expect(metrics.total('ReconcileEventsListed')).toBe(4);
    expect(metrics.total('StripeCalls')).toBe(result.stripeCalls);
  });

  it('looks back initialLookbackHours on its first run, leaves the grace period to delivery, then starts at the checkpoint minus the overlap', async () => {
    const [tooOld, inWindow, tooYoung] = inStripe(
      paymentEvent(nowS - 5 * HOUR),
      paymentEvent(nowS - 3 * HOUR),
      paymentEvent(nowS - 60),
    ) as [{ id: string }, { id: string }, { id: string }];

    const first = await reconciler({ initialLookbackHours: 4, graceSeconds: 300 }).run();

    expect(first.window).toEqual({ from: nowS - 4 * HOUR, to: nowS - 300 });
    expect(first.checkpointAfter).toBe(nowS - 300);
    // Stripe listed only the event in the window: the one older than the lookback and the one still in the grace
    // period were not asked for, so neither was enqueued.
    expect(first).toMatchObject({ listed: 1, missed: 1, enqueued: 1 });
    const firstQueued = [...countByEvent(await drain(sqs.client, queueUrl)).keys()];
    expect(firstQueued).toEqual([inWindow.id]);
    expect(firstQueued).not.toContain(tooOld.id);

    // Ten minutes later: the young event is past the grace period; the overlap re-lists the last 300 s.
    nowS += 600;
    const second = await reconciler({ initialLookbackHours: 4, graceSeconds: 300, overlapSeconds: 300 }).run();
    expect(second.window).toEqual({ from: first.checkpointAfter! - 300, to: nowS - 300 });
    expect(second).toMatchObject({ listed: 1, missed: 1, checkpointBefore: nowS - 900, checkpointAfter: nowS - 300 });
    expect([...countByEvent(await drain(sqs.client, queueUrl)).keys()]).toEqual([tooYoung.id]);
  });

  it("never reaches further back than Stripe's 30-day retention, whatever the checkpoint says", async () => {
    await state.advanceCheckpoint(nowS - 40 * 86_400);
    const result = await reconciler({ sliceSeconds: 86_400 }).run();
    expect(result.window?.from).toBe(nowS - 30 * 86_400 + HOUR);
    expect(result.status).toBe('completed');
  });

  it('lists more than one page (over 100 events in one slice) newest first, following starting_after', async () => {
    const events = Array.from({ length: 150 }, (_, i) => paymentEvent(nowS - 2 * HOUR + i));
    inStripe(...events);

    // One slice covers the whole window, so every list call is a page of it.
    const result = await reconciler({ initialLookbackHours: 3, sliceSeconds: 4 * HOUR }).run();

    expect(result).toMatchObject({ listed: 150, missed: 150, enqueued: 150, slices: 1 });
    const lists = stripeServer.calls.filter((c) => c.path === '/v1/events');
    expect(lists).toHaveLength(2);
    expect(lists[1]?.query).toContain('starting_after=');
    expect(countByEvent(await drain(sqs.client, queueUrl)).size).toBe(150);
  });

  it('filters on the configured event types', async () => {
    const [wanted, other] = inStripe(
      paymentEvent(nowS - HOUR, { type: 'invoice.paid' }),
      paymentEvent(nowS - HOUR, { type: 'customer.updated' }),
    ) as [{ id: string }, { id: string }];
    const result = await reconciler({ eventTypes: ['invoice.paid', 'charge.refunded'] }).run();
    expect(result).toMatchObject({ listed: 1, enqueued: 1 });
    expect([...countByEvent(await drain(sqs.client, queueUrl)).keys()]).toEqual([wanted.id]);
    expect(other.id).not.toBe(wanted.id);
  });

  it('filters more than 20 types itself (Stripe takes at most 20), and treats * as every type', async () => {
    const types = Array.from({ length: 21 }, (_, i) => `invoice.t${i}`);
    const [wanted, other] = inStripe(
      paymentEvent(nowS - HOUR, { type: 'invoice.t20' }),
      paymentEvent(nowS - HOUR, { type: 'customer.updated' }),
    ) as [{ id: string }, { id: string }];
    const settings = { initialLookbackHours: 3, sliceSeconds: 4 * HOUR };

    const many = await reconciler({ ...settings, eventTypes: types }).run();

    expect(many).toMatchObject({ listed: 1, enqueued: 1 });
    expect(stripeServer.calls.find((c) => c.path === '/v1/events')?.query).not.toContain('types');
    expect([...countByEvent(await drain(sqs.client, queueUrl)).keys()]).toEqual([wanted.id]);

    const all = await reconciler({ ...settings, eventTypes: ['*'] }).run({ since: nowS - 3 * HOUR });
    expect(all).toMatchObject({ listed: 2, alreadyDone: 0, pending: 0 });
    expect([...countByEvent(await drain(sqs.client, queueUrl)).keys()]).toContain(other.id);
  });

  it('runs once when started twice at the same time: one does the work, the other backs off', async () => {
    const events = inStripe(...Array.from({ length: 5 }, (_, i) => paymentEvent(nowS - HOUR - i)));
    // Hold the first run inside its first Stripe call, so the two overlap for sure.
    stripeServer.inject({ kind: 'latency', ms: 300, match: { path: '/v1/events' } });

    const results = await Promise.all([reconciler().run(), reconciler().run()]);

    expect(results.map((r) => r.status).sort()).toEqual(['completed', 'locked']);
    expect(results.find((r) => r.status === 'locked')).toMatchObject({ enqueued: 0, stripeCalls: 0 });
    expect(countByEvent(await drain(sqs.client, queueUrl)).size).toBe(events.length);
    // The lock is released at the end: the next run gets it.
    expect((await reconciler().run()).status).toBe('completed');
  });

  it("takes over a crashed run's lock once it has expired, and not before", async () => {
    expect(await state.acquireLock('crashed-run', 60_000)).toEqual({ acquired: true });
    const blocked = await reconciler().run();
    expect(blocked).toMatchObject({ status: 'locked', lockHeldBy: 'crashed-run' });

    const later = createReconcilerState({ client: dynamo.client, tableName, now: () => Date.now() + 61_000 });
    expect(await later.acquireLock('next-run', 60_000)).toEqual({ acquired: true });
  });

  it('loses nothing when a run crashes mid-slice: the re-run redoes that slice only, and FIFO dedup drops the copies', async () => {
    const older = Array.from({ length: 4 }, (_, i) => paymentEvent(nowS - 3 * HOUR + i));
    const newer = Array.from({ length: 4 }, (_, i) => paymentEvent(nowS - 2 * HOUR + 60 + i));
    inStripe(...older, ...newer);
    const settings = { initialLookbackHours: 4, sliceSeconds: HOUR, graceSeconds: 300 };
    let sent = 0;
    const crashing = reconciler(settings, {
      afterEnqueue: () => {
        sent++;
        if (sent === 6) throw new Error('Lambda crashed (test)');
      },
    });

    await expect(crashing.run()).rejects.toThrow('Lambda crashed');
    // The first slice that held events completed; the crash came in the next one.
    const checkpoint = await state.getCheckpoint();
    expect(checkpoint).toBeGreaterThan(older[3]!.created);
    expect(checkpoint).toBeLessThanOrEqual(newer[0]!.created);

    const rerun = await reconciler(settings).run();
    expect(rerun.status).toBe('completed');
    expect(rerun.checkpointAfter).toBe(nowS - 300);

    const counts = countByEvent(await drain(sqs.client, queueUrl));
    expect(counts.size).toBe(8);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('moves the checkpoint forward only', async () => {
    expect(await state.advanceCheckpoint(nowS - HOUR)).toBe(true);
    expect(await state.advanceCheckpoint(nowS - 2 * HOUR)).toBe(false);
    expect(await state.getCheckpoint()).toBe(nowS - HOUR);

    // A run asked to start after the checkpoint (--since) must not jump the gap in between.
    const result = await reconciler().run({ since: nowS - 30 * 60 });
    expect(result.status).toBe('completed');
    expect(await state.getCheckpoint()).toBe(nowS - HOUR);
  });

  it('keeps its lock and checkpoint items out of TTL deletion (no expiresAt)', async () => {
    await state.advanceCheckpoint(nowS - HOUR);
    await state.acquireLock('run-1', 60_000);
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    for (const pk of [CHECKPOINT_KEY, LOCK_KEY]) {
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk } }));
      expect(Item).toBeDefined();
      expect(Item).not.toHaveProperty('expiresAt');
    }
  });

  it('waits Retry-After after a 429 from Stripe, then retries and finishes', async () => {
    const [event] = inStripe(paymentEvent(nowS - HOUR)) as [{ id: string }];
    stripeServer.inject({ kind: 'rate_limit', retryAfterSeconds: 7, match: { path: '/v1/events' } });

    const result = await reconciler({ initialLookbackHours: 3, sliceSeconds: 4 * HOUR }).run();

    expect(result).toMatchObject({ status: 'completed', stripe429: 1, enqueued: 1 });
    expect(slept).toContain(7_000);
    expect(stripeServer.calls.filter((c) => c.path === '/v1/events').map((c) => c.status)).toEqual([429, 200]);
    expect([...countByEvent(await drain(sqs.client, queueUrl)).keys()]).toEqual([event.id]);
    expect(metrics.total('Stripe429')).toBe(1);
  });

  it('fails the run (and keeps the checkpoint) when Stripe keeps answering 429', async () => {
    inStripe(paymentEvent(nowS - HOUR));
    stripeServer.inject({ kind: 'rate_limit', retryAfterSeconds: 1, times: 10, match: { path: '/v1/events' } });
    await expect(reconciler({ maxRateLimitRetries: 2 }).run()).rejects.toMatchObject({ code: 'stripe_rate_limited' });
    expect(await state.getCheckpoint()).toBeUndefined();
    expect(await drain(sqs.client, queueUrl)).toEqual([]);
    // The lock is released even so.
    expect(await state.acquireLock('next', 1000)).toEqual({ acquired: true });
  });

  it('stops before a slice when the invocation is running out of time; the next run continues from there', async () => {
    const early = paymentEvent(nowS - 3 * HOUR + 10);
    const late = paymentEvent(nowS - HOUR);
    inStripe(early, late);
    const settings = { initialLookbackHours: 3, sliceSeconds: HOUR, graceSeconds: 0 };
    // Plenty of time until the first event is enqueued, then too little for another slice.
    let remaining = 60_000;

    const first = await reconciler(settings, { afterEnqueue: () => (remaining = 1_000) }).run({
      remainingTimeMs: () => remaining,
    });

    expect(first).toMatchObject({ status: 'out_of_time', slices: 1, enqueued: 1, checkpointAfter: nowS - 2 * HOUR });
    const second = await reconciler(settings).run();
    expect(second).toMatchObject({ status: 'completed', enqueued: 1 });
    const counts = countByEvent(await drain(sqs.client, queueUrl));
    expect([...counts.keys()].sort()).toEqual([early.id, late.id].sort());
  });

  it('cuts a slice too busy for one invocation into smaller ones on the next runs, so it cannot time out for ever', async () => {
    const events = Array.from({ length: 150 }, (_, i) => paymentEvent(nowS - 2 * HOUR + 60 + i));
    inStripe(...events);
    const settings = { initialLookbackHours: 3, sliceSeconds: HOUR, graceSeconds: 0 };
    let remaining = 60_000;

    // Time runs low after the first page of the busy slice.
    const cut = await reconciler(settings, { afterEnqueue: () => (remaining = 1_000) }).run({
      remainingTimeMs: () => remaining,
    });

    expect(cut).toMatchObject({ status: 'out_of_time', enqueued: 100 });
    // The slice was not finished: the checkpoint stays before it.
    expect(await state.getCheckpoint()).toBeLessThanOrEqual(events[0]!.created);
    expect(await state.getSliceHint()).toBe(HOUR / 4);

    const next = await reconciler(settings).run();
    // From the checkpoint (before the busy slice) minus the 300 s overlap, in quarter-hour slices.
    expect(next).toMatchObject({ status: 'completed', slices: Math.ceil((2 * HOUR + 300) / (HOUR / 4)) });
    const counts = countByEvent(await drain(sqs.client, queueUrl));
    expect(counts.size).toBe(150);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // Completed runs grow the slices back to the configured size.
    expect(await state.getSliceHint()).toBe(HOUR / 2);
    await reconciler(settings).run();
    expect(await state.getSliceHint()).toBeUndefined();
  });
});

describe('pacer', () => {
  it('lets a burst through, then holds requests to the configured rate', async () => {
    let clock = 0;
    const waits: number[] = [];
    const pacer = createPacer({
      requestsPerSecond: 5,
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    });
    for (let i = 0; i < 15; i++) await pacer.take();
    // 5 at once (the burst), then 10 more at 5 per second: two seconds.
    expect(clock).toBeGreaterThanOrEqual(2_000);
    expect(clock).toBeLessThan(2_100);
  });
});
