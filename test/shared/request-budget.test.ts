/**
 * The Stripe request budget (request-budget.ts): requests leave spaced by 1/rate in real time, in order, never in a
 * burst after a stall; and a Stripe client built with a budget sends nothing the budget has not allowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_STRIPE_BUDGET,
  type RequestBudget,
  requestBudget,
  stripeBudgetShare,
} from '../../lambdas/shared/request-budget';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';

/** A clock and timer the test moves by hand. */
function manualTime() {
  let t = 0;
  let timer: { at: number; fn: () => void } | undefined;
  return {
    now: () => t,
    setTimer: (fn: () => void, ms: number) => {
      timer = { at: t + ms, fn };
    },
    /** Moves the clock to `to`, firing the pending timer once if it is due by then (late, as a stalled loop does). */
    advanceTo(to: number) {
      t = to;
      if (timer && timer.at <= t) {
        const { fn } = timer;
        timer = undefined;
        fn();
      }
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('requestBudget', () => {
  it('lets the first request go at once and spaces the next ones 1/rate apart, in order', async () => {
    const time = manualTime();
    const budget = requestBudget({ ratePerSecond: 4, now: time.now, setTimer: time.setTimer });
    const sent: Array<[number, number]> = [];
    for (let i = 0; i < 4; i++) void budget.take().then(() => sent.push([i, time.now()]));
    await settle();
    expect(sent).toEqual([[0, 0]]);
    time.advanceTo(249);
    await settle();
    expect(sent).toHaveLength(1);
    for (const at of [250, 500, 750]) {
      time.advanceTo(at);
      await settle();
    }
    expect(sent).toEqual([
      [0, 0],
      [1, 250],
      [2, 500],
      [3, 750],
    ]);
  });

  it('releases one request after a stall, not the backlog: never more than floor(rate) + 1 in a second', async () => {
    const time = manualTime();
    const budget = requestBudget({ ratePerSecond: 10, now: time.now, setTimer: time.setTimer });
    const sentAt: number[] = [];
    for (let i = 0; i < 30; i++) void budget.take().then(() => sentAt.push(time.now()));
    await settle();
    // The loop stalls for 900 ms: the timer due at 100 fires late, at 900.
    time.advanceTo(900);
    await settle();
    expect(sentAt).toEqual([0, 900]);
    for (let t = 1000; t <= 3000; t += 100) {
      time.advanceTo(t);
      await settle();
    }
    for (const start of sentAt) {
      expect(sentAt.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(11);
    }
    expect(sentAt).toHaveLength(23);
  });

  it('refuses a rate of 0 or less', () => {
    expect(() => requestBudget({ ratePerSecond: 0 })).toThrow(/above 0/);
  });
});

describe('a Stripe client with a budget', () => {
  let server: StripeServer;
  beforeAll(async () => {
    server = await startStripeServer();
    server.setObject({ id: 'cus_budget', object: 'customer' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('sends each request only once the budget allows it', async () => {
    const allow: Array<() => void> = [];
    const gate: RequestBudget = { ratePerSecond: 1, take: () => new Promise<void>((r) => allow.push(r)) };
    const stripe = createStripeClient('sk_test_budget', { apiBase: server.url, budget: gate });
    server.resetCalls();
    const pending = [stripe.customers.retrieve('cus_budget'), stripe.customers.retrieve('cus_budget')];
    await new Promise((r) => setTimeout(r, 50));
    expect(server.calls).toHaveLength(0);
    expect(allow).toHaveLength(2);
    allow.shift()!();
    await pending[0];
    expect(server.calls).toHaveLength(1);
    allow.shift()!();
    await pending[1];
    expect(server.calls).toHaveLength(2);
  });
});

describe('requestBudget: its timer and clock', () => {
  it('keeps one timer for a queue of waiters, not one per request', async () => {
    const timers: number[] = [];
    const budget = requestBudget({ ratePerSecond: 2, now: () => 0, setTimer: (_fn, ms) => void timers.push(ms) });
    let released = 0;
    for (let i = 0; i < 4; i++) void budget.take().then(() => (released += 1));
    await settle();
    expect(released).toBe(1);
    expect(timers).toEqual([500]);
  });

  it('measures on the real clock by default: the second request waits about 1/rate', async () => {
    const timers: number[] = [];
    const budget = requestBudget({ ratePerSecond: 1, setTimer: (_fn, ms) => void timers.push(ms) });
    await budget.take();
    void budget.take();
    await settle();
    expect(timers).toHaveLength(1);
    expect(timers[0]).toBeGreaterThan(900);
    expect(timers[0]).toBeLessThanOrEqual(1000);
  });

  it('waits on a real timer by default', async () => {
    const budget = requestBudget({ ratePerSecond: 1000 });
    await budget.take();
    await budget.take(); // due 1 ms later: only a timer that fires releases it
    expect(budget.ratePerSecond).toBe(1000);
  });
});

describe('stripeBudgetShare', () => {
  it("gives each processor container an equal share of what the reconciler leaves, by the key's mode", () => {
    const share = stripeBudgetShare({ reservedPerSecond: 5, shares: 5 });
    expect(share('test').ratePerSecond).toBe((DEFAULT_STRIPE_BUDGET.test - 5) / 5);
    expect(share('live').ratePerSecond).toBe((DEFAULT_STRIPE_BUDGET.live - 5) / 5);
    expect(share('test')).toBe(share('test'));
    expect(
      stripeBudgetShare({ maxRequestsPerSecond: 80, reservedPerSecond: 0, shares: 10 })('live').ratePerSecond,
    ).toBe(8);
  });

  it('refuses a budget the reconciler takes whole', () => {
    expect(() => stripeBudgetShare({ maxRequestsPerSecond: 5, reservedPerSecond: 5, shares: 2 })('test')).toThrow(
      /leaves nothing to the processor/,
    );
  });
});
