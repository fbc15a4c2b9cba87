/**
 * What the reconciler lists besides the platform's classic events (issue 10, reconciliation coverage): connected
 * accounts' events (List Events with Stripe-Account, for every account GET /v1/accounts lists) and thin events (the
 * v2 events list), under the same lock, checkpoint and pacing, against the local Stripe server.
 */
import { describe, expect, it } from 'vitest';
import { countByEvent, drain, paymentEvent, uid } from './helpers';
import { useReconcilerWorld } from './world';

const world = useReconcilerWorld();
const HOUR = 3600;

function thinEvent(createdSeconds: number, opts: { context?: string } = {}): Record<string, unknown> & { id: string } {
  const meter = `mtr_${uid()}`;
  return {
    id: `evt_${uid()}`,
    object: 'v2.core.event',
    type: 'v1.billing.meter.error_report_triggered',
    created: new Date(createdSeconds * 1000).toISOString(),
    livemode: false,
    ...(opts.context ? { context: opts.context } : {}),
    related_object: { id: meter, type: 'billing.meter', url: `/v1/billing/meters/${meter}` },
  };
}

describe('reconciliation coverage', () => {
  it("lists each connected account's events with Stripe-Account, and enqueues them on the account's group", async () => {
    const w = world();
    const [a, b] = [`acct_${uid()}`, `acct_${uid()}`];
    for (const id of [a, b]) w.stripe.setObject({ id, object: 'account' });
    const platform = paymentEvent(w.nowS - 2 * HOUR);
    const intentOnA = `pi_${uid()}`;
    const onA = { ...paymentEvent(w.nowS - HOUR, { intent: intentOnA }), account: a };
    const onB = { ...paymentEvent(w.nowS - 3 * HOUR), account: b };
    for (const e of [platform, onA, onB]) w.stripe.addEvent(e);
    await w.markDone(onB.id);

    const result = await w.reconciler().run();

    expect(result).toMatchObject({ status: 'completed', connectedAccounts: 2, listed: 3, missed: 2, alreadyDone: 1 });
    const queued = await drain(w.sqs.client, w.queues.queueUrl);
    expect([...countByEvent(queued).keys()].sort()).toEqual([platform.id, onA.id].sort());
    const fromA = queued.find((q) => q.body.eventId === onA.id)!;
    expect(fromA.body.account).toBe(a);
    expect(fromA.message.Attributes?.MessageGroupId).toBe(`${a}:${intentOnA}`);
    // Every list call went through the one pacer: the accounts once per run, then per slice each source.
    const lists = w.stripe.calls.filter((c) => c.path === '/v1/events');
    expect(new Set(lists.map((c) => c.account ?? 'platform'))).toEqual(new Set(['platform', a, b]));
    expect(w.stripe.calls.filter((c) => c.path === '/v1/accounts')).toHaveLength(1);
    expect(result.stripeCalls).toBe(w.stripe.calls.length);
  });

  it('lists thin events from the v2 events list, page after page, and enqueues them as thin messages', async () => {
    const w = world();
    const thin = Array.from({ length: 130 }, (_, i) => thinEvent(w.nowS - 2 * HOUR + i));
    for (const e of thin) w.stripe.addEvent(e);
    const classic = paymentEvent(w.nowS - HOUR);
    w.stripe.addEvent(classic);

    const result = await w.reconciler({ initialLookbackHours: 3, sliceSeconds: 4 * HOUR }).run();

    expect(result).toMatchObject({ status: 'completed', listed: 131, missed: 131, enqueued: 131 });
    const queued = await drain(w.sqs.client, w.queues.queueUrl);
    expect(countByEvent(queued).size).toBe(131);
    expect(queued.filter((q) => q.body.kind === 'thin')).toHaveLength(130);
    // Two pages: the second one by the next_page_url the first answered.
    const pages = w.stripe.calls.filter((c) => c.path === '/v2/core/events');
    expect(pages).toHaveLength(2);
    expect(pages[1]?.query).toContain('page=');
    expect(result.checkpointAfter).toBe(w.nowS - 300);
  });

  it('reads only the lists the configured event types can be in', async () => {
    const w = world();
    w.stripe.setObject({ id: `acct_${uid()}`, object: 'account' });
    const thin = thinEvent(w.nowS - HOUR);
    const classic = paymentEvent(w.nowS - HOUR);
    w.stripe.addEvent(thin);
    w.stripe.addEvent(classic);

    const classicOnly = await w.reconciler({ eventTypes: ['payment_intent.succeeded'] }).run();
    expect(classicOnly).toMatchObject({ listed: 1, connectedAccounts: 1 });
    expect(w.stripe.calls.some((c) => c.path === '/v2/core/events')).toBe(false);

    w.stripe.resetCalls();
    const thinOnly = await w.reconciler({ eventTypes: [String(thin.type)] }).run({ since: w.nowS - 2 * HOUR });
    expect(thinOnly).toMatchObject({ listed: 1, connectedAccounts: 0 });
    expect(new Set(w.stripe.calls.map((c) => c.path))).toEqual(new Set(['/v2/core/events']));
  });

  it('can be limited to the platform', async () => {
    const w = world();
    w.stripe.setObject({ id: `acct_${uid()}`, object: 'account' });
    const result = await w.reconciler({ connectedAccounts: false, thinEvents: false }).run();
    expect(result).toMatchObject({ status: 'completed', connectedAccounts: 0 });
    expect(new Set(w.stripe.calls.map((c) => c.path))).toEqual(new Set(['/v1/events']));
  });
});
