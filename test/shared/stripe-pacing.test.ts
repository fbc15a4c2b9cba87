/**
 * How the reconciler and replay pace their Stripe calls (lambdas/shared/stripe-events.ts): the token bucket, and
 * what one call does with a 429 (wait Retry-After or back off, at most maxRetries times, give up on a long wait).
 * The 429s of the list helpers come from the local Stripe (test/shared/stripe-event-lists.test.ts); here `fn` throws
 * the shapes stripe-node throws, so each rule is pinned on its own.
 */
import { describe, expect, it } from 'vitest';
import { RetryableError } from '../../lambdas/shared/errors';
import {
  createPacer,
  type PacedCallOptions,
  pacedCall,
  realSleep,
  type StripeCallCounters,
} from '../../lambdas/shared/stripe-events';

/** A clock the sleeps move, so waits are measured without waiting. */
function fakeTime(startMs = 1_000_000) {
  let t = startMs;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
    sleeps,
  };
}

describe('createPacer', () => {
  it('refuses a rate that is not positive', () => {
    expect(() => createPacer({ requestsPerSecond: 0 })).toThrow('requestsPerSecond must be positive, got 0');
    expect(() => createPacer({ requestsPerSecond: -2 })).toThrow(/must be positive/);
    expect(() => createPacer({ requestsPerSecond: Number.NaN })).toThrow(/must be positive/);
    expect(() => createPacer({ requestsPerSecond: 0.5 })).not.toThrow();
  });

  it('waits only for the part of a token not yet earned', async () => {
    const clock = fakeTime();
    const pacer = createPacer({ requestsPerSecond: 2, burst: 1, now: clock.now, sleep: clock.sleep });
    await pacer.take();
    expect(clock.sleeps).toEqual([]);
    clock.advance(250); // half a token earned at 2/s
    await pacer.take();
    expect(clock.sleeps).toEqual([250]);
  });
});

describe('createPacer bursts', () => {
  it('lets a burst of the given size through at once, then paces', async () => {
    const clock = fakeTime();
    const pacer = createPacer({ requestsPerSecond: 10, burst: 3, now: clock.now, sleep: clock.sleep });
    for (let i = 0; i < 3; i++) await pacer.take();
    expect(clock.sleeps).toEqual([]);
    await pacer.take();
    expect(clock.sleeps).toEqual([100]);
  });
});

describe('realSleep', () => {
  it('resolves after the time asked for', async () => {
    const started = performance.now();
    const done = realSleep(30);
    expect(done).toBeInstanceOf(Promise);
    await done;
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });
});

function rateLimited(retryAfter?: string): Record<string, unknown> {
  return {
    type: 'StripeRateLimitError',
    statusCode: 429,
    message: 'Too many requests',
    ...(retryAfter === undefined ? {} : { headers: { 'retry-after': retryAfter } }),
  };
}

/** pacedCall options with a pacer that never waits, recorded sleeps and fresh counters. */
function callOptions(extra: Partial<PacedCallOptions> = {}) {
  const sleeps: number[] = [];
  const counters: StripeCallCounters = { calls: 0, rateLimited: 0 };
  const opts: PacedCallOptions = {
    pacer: { take: async () => undefined },
    counters,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...extra,
  };
  return { opts, sleeps, counters };
}

/** A call whose first answers are the given errors, then `result`. */
function failingFirst<T>(errors: unknown[], result: T): () => Promise<T> {
  return async () => {
    if (errors.length > 0) throw errors.shift();
    return result;
  };
}

describe('pacedCall', () => {
  it('waits what Retry-After asks after a 429, tells the caller, and retries', async () => {
    const seen: unknown[] = [];
    const { opts, sleeps, counters } = callOptions({ onRateLimited: (info) => seen.push(info) });
    const out = await pacedCall(opts, 'GET /v1/events', failingFirst([rateLimited('3')], 'page'));
    expect(out).toBe('page');
    expect(sleeps).toEqual([3000]);
    expect(counters).toEqual({ calls: 2, rateLimited: 1 });
    expect(seen).toEqual([{ what: 'GET /v1/events', waitSeconds: 3, attempt: 1 }]);
  });

  it('treats a 429 status or a rate-limit error type alone as rate limiting', async () => {
    const { opts, sleeps } = callOptions();
    const out = await pacedCall(opts, 'x', failingFirst([{ statusCode: 429 }, { type: 'StripeRateLimitError' }], 1));
    expect(out).toBe(1);
    expect(sleeps).toEqual([1000, 2000]);
  });

  it('backs off 1, 2, 4, 8 s without Retry-After and gives up after 4 retries by default', async () => {
    const { opts, sleeps, counters } = callOptions();
    const err = pacedCall(opts, 'GET /v1/accounts', async () => {
      throw rateLimited();
    });
    await expect(err).rejects.toBeInstanceOf(RetryableError);
    expect(sleeps).toEqual([1000, 2000, 4000, 8000]);
    expect(counters).toEqual({ calls: 5, rateLimited: 5 });
  });

  it('gives up after maxRetries retries, saying what and how often, with the wait Stripe asked', async () => {
    const { opts, counters } = callOptions({ maxRetries: 2 });
    const last = rateLimited('5');
    const errors = [rateLimited('1'), rateLimited('1'), last, rateLimited('1')];
    const err = await pacedCall(opts, 'GET /v1/events', failingFirst(errors, 'never')).catch((e: unknown) => e);
    expect(counters.calls).toBe(3);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({
      code: 'stripe_rate_limited',
      retryAfterSeconds: 5,
      message: 'Stripe kept rate-limiting GET /v1/events (3 attempts): [object Object]',
    });
    expect((err as Error).cause).toBe(last);
  });

  it('gives up at once when Stripe asks for a longer wait than allowed (30 s by default)', async () => {
    const long = callOptions();
    await expect(pacedCall(long.opts, 'x', failingFirst([rateLimited('31')], 1))).rejects.toMatchObject({
      retryAfterSeconds: 31,
    });
    expect(long.counters.calls).toBe(1);
    expect(long.sleeps).toEqual([]);

    const atLimit = callOptions();
    expect(await pacedCall(atLimit.opts, 'x', failingFirst([rateLimited('30')], 1))).toBe(1);
    expect(atLimit.sleeps).toEqual([30_000]);

    const own = callOptions({ maxWaitSeconds: 2 });
    await expect(pacedCall(own.opts, 'x', failingFirst([rateLimited('3')], 1))).rejects.toBeInstanceOf(RetryableError);
    expect(own.counters.calls).toBe(1);
  });

  it('falls back to backing off when Retry-After is not a positive number of seconds', async () => {
    const { opts, sleeps } = callOptions();
    const errors = [rateLimited('soon'), rateLimited('0'), rateLimited('-3'), rateLimited('Infinity')];
    expect(await pacedCall(opts, 'x', failingFirst(errors, 'ok'))).toBe('ok');
    expect(sleeps).toEqual([1000, 2000, 4000, 8000]);
  });

  it('throws any other error as it is, after one call', async () => {
    for (const thrown of [{ statusCode: 500, type: 'StripeAPIError' }, new Error('socket hang up'), null, undefined]) {
      const { opts, counters, sleeps } = callOptions();
      const err = await pacedCall(opts, 'x', failingFirst([thrown], 1)).then(
        () => 'resolved',
        (e: unknown) => e,
      );
      expect(err).toBe(thrown);
      expect(counters).toEqual({ calls: 1, rateLimited: 0 });
      expect(sleeps).toEqual([]);
    }
  });

  it('takes a token from the pacer before every attempt', async () => {
    let taken = 0;
    const { opts } = callOptions({
      pacer: {
        take: async () => {
          taken++;
        },
      },
    });
    await pacedCall(opts, 'x', failingFirst([rateLimited('1'), rateLimited('1')], 1));
    expect(taken).toBe(3);
  });
});
