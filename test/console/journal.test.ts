/**
 * The console's journal: an event's way through the pipeline, counters, per-object timelines, and paging that stays
 * cheap with 10,000 events in memory (the oldest are dropped past the capacity).
 */
import { describe, expect, it } from 'vitest';
import { EventJournal, PAGE_SIZE, stateOf } from '../../local/console/journal';
import { escapeHtml, listLive } from '../../local/console/render';

const figures = { queueDepth: 0, dlqDepth: 0, inFlight: 0 };

function accept(j: EventJournal, n: number, objectId = `pi_${n}`) {
  j.accepted({ eventId: `evt_${n}`, type: 'payment_intent.succeeded', objectId, payload: `{"id":"evt_${n}"}` });
}

describe('EventJournal', () => {
  it('follows one event from received to done, keeping each attempt, the object and the result', () => {
    const j = new EventJournal();
    accept(j, 1);
    accept(j, 1); // Stripe's copy
    j.processing({
      eventId: 'evt_1',
      type: 'payment_intent.succeeded',
      messageId: 'm1',
      receiveCount: 1,
      container: 'c0',
    });
    j.finished({
      eventId: 'evt_1',
      type: 'payment_intent.succeeded',
      messageId: 'm1',
      outcome: 'retried',
      reason: 'stripe_rate_limited',
    });
    expect(j.get('evt_1')?.status).toBe('retried');
    j.processing({
      eventId: 'evt_1',
      type: 'payment_intent.succeeded',
      messageId: 'm1',
      receiveCount: 2,
      container: 'c1',
    });
    j.finished({
      eventId: 'evt_1',
      type: 'payment_intent.succeeded',
      objectId: 'pi_1',
      messageId: 'm1',
      outcome: 'done',
      object: { id: 'pi_1', status: 'succeeded' },
      result: { ok: true },
    });
    const ev = j.get('evt_1')!;
    expect(ev).toMatchObject({ status: 'done', deliveries: 2, object: { status: 'succeeded' }, result: { ok: true } });
    expect(ev.reason).toBeUndefined();
    expect(ev.attempts.map((a) => [a.receiveCount, a.container, a.outcome])).toEqual([
      [1, 'c0', 'retried'],
      [2, 'c1', 'done'],
    ]);
    expect(j.counters).toMatchObject({ accepted: 2, processed: 1, retried: 1, deadLettered: 0 });
  });

  it('keeps, per object, the states handed to handlers in the order they were handed', () => {
    const j = new EventJournal();
    for (const [n, status] of [
      [1, 'processing'],
      [2, 'succeeded'],
    ] as const) {
      accept(j, n, 'pi_x');
      j.processing({ eventId: `evt_${n}`, type: 't', messageId: `m${n}`, receiveCount: 1 });
      j.finished({
        eventId: `evt_${n}`,
        type: 't',
        objectId: 'pi_x',
        messageId: `m${n}`,
        outcome: 'done',
        object: { status },
      });
    }
    expect(j.timeline('pi_x').map((t) => [t.eventId, t.state])).toEqual([
      ['evt_1', 'processing'],
      ['evt_2', 'succeeded'],
    ]);
    expect(stateOf({ deleted: true, status: 'x' })).toBe('deleted');
    expect(stateOf(null)).toBe('no object');
  });

  it('counts rejections by reason, duplicates and dead letters, and Stripe calls per processed event', () => {
    const j = new EventJournal();
    j.rejected('bad_signature');
    j.rejected('bad_signature');
    j.rejected('stale_timestamp');
    accept(j, 1);
    j.processing({ eventId: 'evt_1', type: 't', messageId: 'm1', receiveCount: 1 });
    j.finished({ eventId: 'evt_1', type: 't', messageId: 'm1', outcome: 'done', object: {} });
    j.processing({ eventId: 'evt_1', type: 't', messageId: 'm2', receiveCount: 1 });
    j.finished({ eventId: 'evt_1', type: 't', messageId: 'm2', outcome: 'duplicate' });
    accept(j, 2);
    j.processing({ eventId: 'evt_2', type: 't', messageId: 'm3', receiveCount: 1 });
    j.finished({ eventId: 'evt_2', type: 't', messageId: 'm3', outcome: 'dlq', reason: 'stripe_object_not_found' });
    j.stripeCalls(3);
    expect(j.counters).toMatchObject({
      rejected: { bad_signature: 2, stale_timestamp: 1 },
      processed: 1,
      duplicates: 1,
      deadLettered: 1,
    });
    expect(j.callsPerEvent()).toBe(3);
    expect(j.withStatus('dlq').map((e) => [e.eventId, e.reason])).toEqual([['evt_2', 'stripe_object_not_found']]);
    expect(j.byStatus()).toMatchObject({ done: 1, dlq: 1 });
  });

  it('pages 10,000 events newest first, filters by type, object and status, and drops the oldest past capacity', () => {
    const j = new EventJournal(10_000);
    for (let n = 0; n < 10_050; n++) accept(j, n, `pi_${n % 7}`);
    expect(j.size).toBe(10_000);
    expect(j.get('evt_0')).toBeUndefined();
    const first = j.list({}, 1);
    expect(first).toMatchObject({ page: 1, pages: 10_000 / PAGE_SIZE, total: 10_000 });
    expect(first.events[0]!.eventId).toBe('evt_10049');
    expect(j.list({}, 9_999).page).toBe(200); // clamped to the last page
    expect(j.list({ object: 'pi_3' }).events.every((e) => e.objectId === 'pi_3')).toBe(true);
    expect(j.list({ status: 'done' }).total).toBe(0);
    // The rendered page holds one page of rows, not 10,000.
    const html = listLive(j, {}, 1, figures);
    expect(html.match(/<tr data-event=/g)).toHaveLength(PAGE_SIZE);
  });

  it('tells subscribers about every change', () => {
    const j = new EventJournal();
    const seen: Array<string | undefined> = [];
    const stop = j.subscribe((c) => seen.push(c.eventId));
    accept(j, 1);
    j.rejected('bad_signature');
    stop();
    accept(j, 2);
    expect(seen).toEqual(['evt_1', undefined]);
  });
});

describe('rendering', () => {
  it('escapes every value taken from an event', () => {
    expect(escapeHtml(`<script>alert("x")</script>&'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;',
    );
    const j = new EventJournal();
    j.accepted({ eventId: 'evt_1', type: '<img src=x onerror=alert(1)>', payload: '{}' });
    expect(listLive(j, {}, 1, figures)).not.toContain('<img');
  });
});
