/**
 * The building blocks the reconciler and replay share (lambdas/shared/stripe-events.ts), each on its own against the
 * local Stripe, dynalite and fauxqs: listing events, thin events and connected accounts page by page through the
 * 429 handling, and resendEvent's decision per table status, its deduplication ids and what it parks.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../lambdas/shared/queue-message';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import {
  listConnectedAccounts,
  listEventPages,
  listThinEventPages,
  type PacedCallOptions,
  type ResendDeps,
  resendEvent,
} from '../../lambdas/shared/stripe-events';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins';
import { drain, paymentEvent, uid } from './helpers';
import { useReconcilerWorld } from './world';

const world = useReconcilerWorld();
const HOUR = 3600;

function paced(): { call: PacedCallOptions; limited: string[] } {
  const limited: string[] = [];
  return {
    limited,
    call: {
      pacer: { take: async () => undefined },
      counters: { calls: 0, rateLimited: 0 },
      sleep: async () => undefined,
      onRateLimited: (info) => limited.push(info.what),
    },
  };
}

async function collect<T>(pages: AsyncGenerator<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}

function stripeOf(url: string): Stripe {
  return createStripeClient('sk_test_events', { apiBase: url });
}

function thinEvent(createdSeconds: number, type: string): Record<string, unknown> & { id: string } {
  const meter = `mtr_${uid()}`;
  return {
    id: `evt_${uid()}`,
    object: 'v2.core.event',
    type,
    created: new Date(createdSeconds * 1000).toISOString(),
    livemode: false,
    related_object: { id: meter, type: 'billing.meter', url: `/v1/billing/meters/${meter}` },
  };
}

describe('listEventPages', () => {
  it('accepts up to 20 event types and refuses more before asking Stripe', async () => {
    const w = world();
    const { call } = paced();
    const types = Array.from({ length: 21 }, (_, i) => `type.${i}`);
    const range = { createdGte: w.nowS - HOUR, createdLt: w.nowS };
    await expect(collect(listEventPages(stripeOf(w.stripe.url), { ...range, types }, call))).rejects.toThrow(
      'Stripe filters on at most 20 event types, got 21',
    );
    expect(w.stripe.calls).toHaveLength(0);
    expect(await collect(listEventPages(stripeOf(w.stripe.url), { ...range, types: types.slice(1) }, call))).toEqual(
      [],
    );
    expect(w.stripe.calls).toHaveLength(1);
  });

  it('sends no type filter for an empty list of types, and retries a 429 naming the request', async () => {
    const w = world();
    const event = paymentEvent(w.nowS - 60);
    w.stripe.addEvent(event);
    w.stripe.inject({ kind: 'rate_limit', retryAfterSeconds: 1, match: { path: '/v1/events' } });
    const { call, limited } = paced();
    const pages = await collect(
      listEventPages(stripeOf(w.stripe.url), { createdGte: w.nowS - HOUR, createdLt: w.nowS, types: [] }, call),
    );
    expect(pages.flat().map((e) => e.id)).toEqual([event.id]);
    expect(limited).toEqual(['GET /v1/events']);
    expect(w.stripe.calls.map((c) => c.query).join('&')).not.toContain('types');
  });

  it('lists only the range and types asked for, page after page, on the account given', async () => {
    const w = world();
    const account = `acct_${uid()}`;
    const inRange = Array.from({ length: 101 }, (_, i) => ({ ...paymentEvent(w.nowS - 200 + i), account }));
    const tooOld = { ...paymentEvent(w.nowS - 2 * HOUR), account };
    const otherType = { ...paymentEvent(w.nowS - 30, { type: 'customer.created' }), account };
    const onPlatform = paymentEvent(w.nowS - 20);
    for (const e of [...inRange, tooOld, otherType, onPlatform]) w.stripe.addEvent(e);
    const query = { createdGte: w.nowS - HOUR, createdLt: w.nowS, types: ['payment_intent.succeeded'], account };
    const pages = await collect(listEventPages(stripeOf(w.stripe.url), query, paced().call));
    expect(pages.map((p) => p.length)).toEqual([100, 1]);
    expect(
      pages
        .flat()
        .map((e) => e.id)
        .sort(),
    ).toEqual(inRange.map((e) => e.id).sort());

    const everyType = await collect(
      listEventPages(stripeOf(w.stripe.url), { createdGte: w.nowS - HOUR, createdLt: w.nowS }, paced().call),
    );
    expect(everyType.flat().map((e) => e.id)).toEqual([onPlatform.id]);
  });
});

describe('listThinEventPages', () => {
  it('lists every type when none is given', async () => {
    const w = world();
    const events = [thinEvent(w.nowS - 60, 'v1.billing.meter.error_report_triggered'), thinEvent(w.nowS - 30, 'x.y')];
    for (const e of events) w.stripe.addEvent(e);
    const pages = await collect(
      listThinEventPages(stripeOf(w.stripe.url), { createdGte: w.nowS - HOUR, createdLt: w.nowS }, paced().call),
    );
    expect(
      pages
        .flat()
        .map((e) => e.id)
        .sort(),
    ).toEqual(events.map((e) => e.id).sort());
  });

  it('asks for the range in RFC 3339, only the types given, with the account as Stripe-Context', async () => {
    const w = world();
    const wanted = thinEvent(w.nowS - 60, 'v1.billing.meter.error_report_triggered');
    const other = thinEvent(w.nowS - 30, 'v1.billing.meter.no_meter_found');
    for (const e of [wanted, other]) w.stripe.addEvent({ ...e, context: 'acct_thin' });
    w.stripe.inject({ kind: 'rate_limit', retryAfterSeconds: 1, match: { path: '/v2/core/events' } });
    const { call, limited } = paced();
    const query = {
      createdGte: w.nowS - HOUR,
      createdLt: w.nowS,
      types: ['v1.billing.meter.error_report_triggered'],
      account: 'acct_thin',
    };
    const pages = await collect(listThinEventPages(stripeOf(w.stripe.url), query, call));
    expect(pages.flat().map((e) => e.id)).toEqual([wanted.id]);
    expect(limited).toEqual(['GET /v2/core/events']);
    const last = w.stripe.calls.at(-1)!;
    expect(last.account).toBe('acct_thin');
    const params = new URLSearchParams(last.query);
    expect(params.get('created_gte')).toBe(new Date((w.nowS - HOUR) * 1000).toISOString());
    expect(params.get('created_lt')).toBe(new Date(w.nowS * 1000).toISOString());
    expect(params.getAll('types')).toEqual(['v1.billing.meter.error_report_triggered']);
  });

  it('yields nothing for a page without a data list, and follows only a next page on the same API', async () => {
    const requested: string[] = [];
    const answers = [
      { data: 'not a list', next_page_url: '/v2/core/events?page=p2' },
      { data: [{ id: 'evt_1' }], next_page_url: 'https://elsewhere.example/v2/core/events?page=p3' },
    ];
    const stripe = {
      rawRequest: async (_method: string, path: string) => {
        requested.push(path);
        return answers.shift();
      },
    } as unknown as Stripe;
    const pages = await collect(listThinEventPages(stripe, { createdGte: 0, createdLt: 1 }, paced().call));
    expect(pages).toEqual([[{ id: 'evt_1' }]]);
    expect(requested).toHaveLength(2);
    expect(requested[1]).toBe('/v2/core/events?page=p2');
  });
});

describe('listConnectedAccounts', () => {
  it('lists every connected account, page after page, retrying a 429', async () => {
    const w = world();
    const ids = Array.from({ length: 101 }, () => `acct_${uid()}`);
    for (const id of ids) w.stripe.setObject({ id, object: 'account' });
    w.stripe.inject({ kind: 'rate_limit', match: { path: '/v1/accounts' } });
    const { call, limited } = paced();
    const listed = await listConnectedAccounts(stripeOf(w.stripe.url), call);
    expect([...listed].sort()).toEqual([...ids].sort());
    expect(limited).toEqual(['GET /v1/accounts']);
    expect(w.stripe.calls.filter((c) => c.path === '/v1/accounts' && c.status === 200)).toHaveLength(2);
  });
});

const at = new Date('2026-11-27T10:00:00Z');

function deps(extra: Partial<ResendDeps> = {}): ResendDeps {
  const w = world();
  return { store: w.store, sqs: w.sqs.client, queueUrl: w.queues.queueUrl, now: () => at, ...extra };
}

const longId = `evt_${'a'.repeat(120)}`;
const longType = `t${'x'.repeat(199)}`;
const unreadable: Array<{ what: string; event: unknown; code: string; expected: Record<string, unknown> }> = [
  {
    what: 'data not an object, long id and type',
    event: { id: longId, object: 'event', type: longType, livemode: true, created: 1_790_000_000, data: 'x' },
    code: 'bad_event_bad_data',
    expected: { eventId: longId.slice(0, 120), type: longType, livemode: true, created: 1_790_000_000 },
  },
  {
    what: 'an empty type',
    event: { id: 'evt_typeless', type: '', livemode: false, created: '2026-11-26T00:00:00Z' },
    code: 'bad_event_bad_event_type',
    expected: { eventId: 'evt_typeless', type: 'unknown', livemode: false, created: 1_795_651_200 },
  },
  {
    what: 'no id, a numeric type',
    event: { id: '', type: 42, livemode: 'yes', created: 'not a date' },
    code: 'bad_event_bad_event_id',
    expected: { eventId: 'unknown', type: 'unknown', livemode: false, created: 0 },
  },
  {
    what: 'a type over 200 characters',
    event: { id: 'evt_longtype', object: 'event', type: 'y'.repeat(250), livemode: false, created: 1 },
    code: 'bad_event_bad_event_type',
    expected: { eventId: 'evt_longtype', type: 'y'.repeat(200), livemode: false, created: 1 },
  },
  {
    what: 'a string',
    event: 'not an event',
    code: 'bad_event_not_an_object',
    expected: { eventId: 'unknown', type: 'unknown', livemode: false, created: 0 },
  },
];

describe('resendEvent', () => {
  it('enqueues an event the table has never seen as missed, deduplicated on its id', async () => {
    const w = world();
    const event = paymentEvent(w.nowS - 60);
    const out = await resendEvent(deps(), event, 'reconcile');
    const [queued, ...rest] = await drain(w.sqs.client, w.queues.queueUrl);
    expect(rest).toEqual([]);
    expect(out).toEqual({
      eventId: event.id,
      type: event.type,
      outcome: 'missed',
      messageId: queued?.message.MessageId,
    });
    expect(queued?.message.Attributes?.MessageDeduplicationId).toBe(event.id);
    expect(queued?.body).toMatchObject({ kind: 'snapshot', source: 'reconcile', receivedAt: at.toISOString() });
  });

  it('sends an event too large for the queue as a reference, stamped with the time of sending', async () => {
    const w = world();
    const event = paymentEvent(w.nowS - 60);
    const before = Date.now();
    const { now: _fixedClock, ...withoutClock } = deps({ maxMessageBytes: 4_200 });
    await resendEvent(withoutClock, event, 'reconcile');
    const [queued] = await drain(w.sqs.client, w.queues.queueUrl);
    expect(queued?.body.kind).toBe('reference');
    const receivedAt = Date.parse(queued?.body.receivedAt ?? '');
    expect(receivedAt).toBeGreaterThanOrEqual(before - 1);
    expect(receivedAt).toBeLessThanOrEqual(Date.now());
  });

  it('sends an operator replay under a fresh deduplication id when asked for unique ones', async () => {
    const w = world();
    const event = paymentEvent(w.nowS - 60);
    const out = await resendEvent(deps(), event, 'replay', { deduplication: 'unique' });
    expect(out.outcome).toBe('missed');
    const [queued] = await drain(w.sqs.client, w.queues.queueUrl);
    expect(queued?.message.Attributes?.MessageDeduplicationId).toMatch(new RegExp(`^${event.id}:[0-9a-f-]{36}$`));
  });

  it('keeps a fresh deduplication id within SQS’s 128 characters for the longest event ids', async () => {
    const w = world();
    const event = paymentEvent(w.nowS - 60, { id: `evt_${'L'.repeat(120)}` });
    await resendEvent(deps(), event, 'replay', { deduplication: 'unique' });
    const [queued] = await drain(w.sqs.client, w.queues.queueUrl);
    const dedup = queued?.message.Attributes?.MessageDeduplicationId ?? '';
    expect(dedup).toHaveLength(128);
    expect(dedup.startsWith(`${event.id.slice(0, 91)}:`)).toBe(true);
  });

  it('skips a DONE event, and with force clears its record and enqueues it under a fresh id', async () => {
    const w = world();
    const event = paymentEvent(w.nowS - 60);
    await w.markDone(event.id);
    expect(await resendEvent(deps(), event, 'replay')).toEqual({
      eventId: event.id,
      type: event.type,
      previousStatus: 'DONE',
      outcome: 'skipped',
    });
    expect(await drain(w.sqs.client, w.queues.queueUrl)).toEqual([]);

    const forced = await resendEvent(deps(), event, 'replay', { force: true });
    expect(forced).toMatchObject({ outcome: 'forced', previousStatus: 'DONE' });
    expect((await w.store.get(event.id))?.status).not.toBe('DONE');
    const [queued] = await drain(w.sqs.client, w.queues.queueUrl);
    expect(queued?.message.Attributes?.MessageDeduplicationId).toMatch(new RegExp(`^${event.id}:.+`));
  });

  it('leaves a permanently failed event to the DLQ unless the operator resends it, and resends a retryable one', async () => {
    const w = world();
    const [permanent, retryable] = [paymentEvent(w.nowS - 60), paymentEvent(w.nowS - 50)];
    await w.markFailed(permanent.id, true);
    await w.markFailed(retryable.id, false);
    expect(await resendEvent(deps(), permanent, 'reconcile')).toMatchObject({
      outcome: 'dead_lettered',
      previousStatus: 'FAILED',
    });
    expect(await drain(w.sqs.client, w.queues.queueUrl)).toEqual([]);
    const resent = await resendEvent(deps(), permanent, 'replay', { permanentFailures: 'resend' });
    expect(resent).toMatchObject({ outcome: 'pending', previousStatus: 'FAILED', messageId: expect.any(String) });
    expect(await resendEvent(deps(), retryable, 'reconcile')).toMatchObject({
      outcome: 'pending',
      previousStatus: 'FAILED',
    });
    const queued = await drain(w.sqs.client, w.queues.queueUrl);
    expect(queued.map((q) => q.body.eventId).sort()).toEqual([permanent.id, retryable.id].sort());
  });

  it('throws an unreadable event when there is no dead-letter queue to park it on', async () => {
    const w = world();
    await expect(resendEvent(deps(), { id: 'evt_x', object: 'event' }, 'reconcile')).rejects.toBeInstanceOf(
      InvalidEventError,
    );
    expect(await drain(w.sqs.client, w.queues.dlqUrl)).toEqual([]);
  });

  it.each(unreadable)(
    'parks an unreadable event ($what) on the dead-letter queue with what can be read of it ($code)',
    async (c) => {
      const w = world();
      const out = await resendEvent(deps({ deadLetterQueueUrl: w.queues.dlqUrl }), c.event as never, 'reconcile');
      const [parked, ...rest] = await drain(w.sqs.client, w.queues.dlqUrl);
      expect(rest).toEqual([]);
      expect(out).toEqual({
        eventId: c.expected.eventId,
        type: c.expected.type,
        outcome: 'parked',
        parked: { code: c.code, reason: expect.stringMatching(/^Stripe listed an unreadable event: event/) },
        messageId: parked?.message.MessageId,
      });
      expect(parked?.body).toEqual({
        v: 1,
        source: 'reconcile',
        kind: 'reference',
        object: null,
        receivedAt: at.toISOString(),
        ...c.expected,
      });
      const attrs = parked?.message.MessageAttributes ?? {};
      expect(attrs.FailureCode?.StringValue).toBe(c.code);
      expect(attrs.FailedAt?.StringValue).toBe(at.toISOString());
      expect(await drain(w.sqs.client, w.queues.queueUrl)).toEqual([]);
    },
  );

  it('parks an event SQS refuses for its content instead of failing the run', async () => {
    const w = world();
    // fauxqs takes any well-formed send: this client answers SQS's content refusal for the event queue.
    const refusing = new SQSClient({ endpoint: w.sqs.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    refusing.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { QueueUrl?: string };
        if (input.QueueUrl === w.queues.queueUrl) {
          throw Object.assign(new Error('Invalid characters'), { name: 'InvalidMessageContents' });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const event = paymentEvent(w.nowS - 60);
    const out = await resendEvent(deps({ sqs: refusing, deadLetterQueueUrl: w.queues.dlqUrl }), event, 'reconcile');
    const [parked] = await drain(w.sqs.client, w.queues.dlqUrl);
    expect(out).toEqual({
      eventId: event.id,
      type: event.type,
      outcome: 'parked',
      parked: { code: 'enqueue_refused', reason: expect.stringContaining('InvalidMessageContents') },
      messageId: parked?.message.MessageId,
    });
    expect(parked?.message.MessageAttributes?.FailedAt?.StringValue).toBe(at.toISOString());
    refusing.destroy();
  });
});
