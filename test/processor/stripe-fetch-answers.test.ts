/**
 * What the fetcher makes of each answer Stripe gives (stripe-fetch.ts), one fetcher call at a time: the object as it
 * is now, a deleted or missing object, an object that cannot be retrieved, and every kind of failure, which decides
 * whether a message is retried (and after how long) or goes to the DLQ.
 *
 * The fetcher talks to Stripe through stripe-node, as in the Lambda: to the local Stripe (local/stripe-server.ts),
 * or, for the few answers the local Stripe cannot stage (a 400, a 403, a body that is not a JSON object), to a server
 * answering one scripted response. Each test starts its own server on 127.0.0.1 and closes it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { createStripeFetcher, type FetchCache } from '../../lambdas/processor/stripe-fetch';
import { PermanentError, RetryableError } from '../../lambdas/shared/errors';
import type { QueueMessage } from '../../lambdas/shared/queue-message';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';

/** A fixed clock for the tests that depend on an event's age. */
const NOW = Date.parse('2026-01-01T00:00:00Z');

function message(over: Partial<QueueMessage> = {}): QueueMessage {
  return {
    v: 1,
    source: 'webhook',
    kind: 'snapshot',
    eventId: 'evt_fetch_1',
    type: 'payment_intent.succeeded',
    livemode: false,
    created: Math.floor(Date.now() / 1000) - 60,
    object: { type: 'payment_intent', id: 'pi_1' },
    receivedAt: new Date().toISOString(),
    ...over,
  };
}

/** A classic event carrying `object` as its payload. */
function snapshot(object: Record<string, unknown>): Record<string, unknown> {
  return { id: 'evt_fetch_1', object: 'event', type: 'payment_intent.succeeded', data: { object } };
}

interface Setup {
  readonly receiveCount?: number;
  readonly cache?: FetchCache;
  readonly now?: () => number;
}

function fetcherFor(apiBase: string, setup: Setup = {}) {
  const stats = { calls: 0, rateLimited: 0 };
  const logger = new Logger({ logLevel: 'SILENT' });
  const warnings: unknown[][] = [];
  vi.spyOn(logger, 'warn').mockImplementation(((...args: unknown[]) => void warnings.push(args)) as never);
  const fetcher = createStripeFetcher({
    stripe: createStripeClient('sk_test_fetcher', { apiBase }),
    stats,
    logger,
    receiveCount: setup.receiveCount ?? 1,
    random: () => 0,
    ...(setup.cache ? { cache: setup.cache } : {}),
    ...(setup.now ? { now: setup.now } : {}),
  });
  return { fetcher, stats, warnings };
}

async function withStripe<T>(run: (stripe: StripeServer) => Promise<T>): Promise<T> {
  const server = await startStripeServer();
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

interface Scripted {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

/** A server that answers every request with `answer`; `paths` lists the paths asked. */
async function withAnswer<T>(answer: Scripted, run: (url: string, paths: string[]) => Promise<T>): Promise<T> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function stripeError(type: string, message: string, code?: string): string {
  return JSON.stringify({ error: { type, message, ...(code ? { code } : {}) } });
}

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}

describe('fetching the object an event is about', () => {
  it('fetches the object as it is now, acting as the connected account', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'pi_1', object: 'payment_intent', status: 'succeeded' }, { account: 'acct_1' });
      const { fetcher, stats } = fetcherFor(stripe.url);

      const current = await fetcher.currentObject(
        message({ account: 'acct_1' }),
        snapshot({ id: 'pi_1', object: 'payment_intent', status: 'processing' }),
      );

      expect(current).toStrictEqual({
        object: { id: 'pi_1', object: 'payment_intent', status: 'succeeded' },
        origin: 'fetched',
      });
      expect(stripe.calls.map((c) => [c.path, c.account])).toEqual([['/v1/payment_intents/pi_1', 'acct_1']]);
      expect(stats).toEqual({ calls: 1, rateLimited: 0 });
    });
  });

  it('calls a connected account under /v1/accounts as the platform', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'acct_1', object: 'account', charges_enabled: true });
      const { fetcher } = fetcherFor(stripe.url);

      const current = await fetcher.currentObject(
        message({ type: 'account.updated', account: 'acct_1', object: { type: 'account', id: 'acct_1' } }),
        undefined,
      );

      expect(current).toMatchObject({ origin: 'fetched', object: { id: 'acct_1', charges_enabled: true } });
      expect(stripe.calls.map((c) => [c.path, c.account])).toEqual([['/v1/accounts/acct_1', undefined]]);
    });
  });

  it('finds the object from the payload when the message names none', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'pi_1', object: 'payment_intent', status: 'succeeded' });
      const { fetcher } = fetcherFor(stripe.url);

      const current = await fetcher.currentObject(
        message({ object: null }),
        snapshot({ id: 'pi_1', object: 'payment_intent', status: 'processing' }),
      );

      expect(current).toMatchObject({ origin: 'fetched', object: { status: 'succeeded' } });
    });
  });

  it('hands over the payload, with a warning, when the event names no object it can be retrieved by', async () => {
    await withStripe(async (stripe) => {
      const { fetcher, stats, warnings } = fetcherFor(stripe.url);

      const noType = await fetcher.currentObject(message({ object: null }), { id: 'evt_1', object: 'event' });
      const oddType = await fetcher.currentObject(message({ object: null }), snapshot({ id: 'x_1', object: 42 }));
      const blankId = snapshot({ id: '', object: 'payment_intent' });
      const noId = await fetcher.currentObject(message({ object: null }), blankId);
      const numericId = snapshot({ id: 7, object: 'payment_intent' });
      const oddId = await fetcher.currentObject(message({ object: null }), numericId);

      expect(noType).toStrictEqual({ object: null, origin: 'payload' });
      expect(oddType).toStrictEqual({ object: { id: 'x_1', object: 42 }, origin: 'payload' });
      expect(noId).toStrictEqual({ object: { id: '', object: 'payment_intent' }, origin: 'payload' });
      expect(oddId).toStrictEqual({ object: { id: 7, object: 'payment_intent' }, origin: 'payload' });
      const why = 'using the event payload: the object cannot be retrieved from Stripe';
      expect(warnings).toEqual([
        [why, { reason: 'the event names no object type' }],
        [why, { reason: 'the event names no object type' }],
        [why, { reason: 'a payment_intent has no id to retrieve it by' }],
        [why, { reason: 'a payment_intent has no id to retrieve it by' }],
      ]);
      expect(stats.calls).toBe(0);
    });
  });

  it('hands over a deleted object without asking Stripe: the payload, or the bare reference', async () => {
    await withStripe(async (stripe) => {
      const { fetcher, stats } = fetcherFor(stripe.url);
      const deleted = message({ type: 'customer.deleted', object: { type: 'customer', id: 'cus_1' } });

      const withPayload = await fetcher.currentObject(
        deleted,
        snapshot({ id: 'cus_1', object: 'customer', email: 'a@b' }),
      );
      const bare = await fetcher.currentObject(deleted, undefined);

      expect(withPayload).toStrictEqual({
        object: { id: 'cus_1', object: 'customer', email: 'a@b', deleted: true },
        origin: 'deleted',
      });
      expect(bare).toStrictEqual({ object: { id: 'cus_1', object: 'customer', deleted: true }, origin: 'deleted' });
      expect(stats.calls).toBe(0);
    });
  });

  it('marks an object Stripe answers as deleted, keeping the payload when there is one', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'cus_1', object: 'customer', email: 'a@b' });
      stripe.deleteObject('cus_1');
      const { fetcher } = fetcherFor(stripe.url);
      const updated = message({ type: 'customer.updated', object: { type: 'customer', id: 'cus_1' } });

      const withPayload = await fetcher.currentObject(
        updated,
        snapshot({ id: 'cus_1', object: 'customer', email: 'a@b' }),
      );
      const bare = await fetcher.currentObject(updated, undefined);

      expect(withPayload).toStrictEqual({
        object: { id: 'cus_1', object: 'customer', email: 'a@b', deleted: true },
        origin: 'deleted',
      });
      expect(bare).toStrictEqual({ object: { id: 'cus_1', object: 'customer', deleted: true }, origin: 'deleted' });
    });
  });
});

describe('an object Stripe no longer has', () => {
  it('is handed over as deleted (and gone) once the event is old enough to be sure', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'pi_1', object: 'payment_intent', status: 'succeeded' });
      stripe.deleteObject('pi_1');
      const { fetcher, warnings } = fetcherFor(stripe.url);
      const msg = message();

      const withPayload = await fetcher.currentObject(
        msg,
        snapshot({ id: 'pi_1', object: 'payment_intent', amount: 5 }),
      );
      const bare = await fetcher.currentObject(msg, undefined);

      expect(withPayload).toStrictEqual({
        object: { id: 'pi_1', object: 'payment_intent', amount: 5, deleted: true },
        origin: 'deleted',
        gone: true,
      });
      expect(bare).toStrictEqual({
        object: { id: 'pi_1', object: 'payment_intent', deleted: true },
        origin: 'deleted',
        gone: true,
      });
      expect(warnings[0]).toEqual([
        'Stripe no longer has the object: handing it over as deleted',
        { object: 'payment_intent pi_1' },
      ]);
    });
  });

  it('is looked at again once a young event on its first delivery is 30 s old', async () => {
    await withStripe(async (stripe) => {
      const { fetcher } = fetcherFor(stripe.url, { now: () => NOW });

      const err = await failure(fetcher.currentObject(message({ created: NOW / 1000 - 5 }), undefined));

      expect(err).toBeInstanceOf(RetryableError);
      expect(err).toMatchObject({
        code: 'stripe_object_not_found_yet',
        retryAfterSeconds: 25,
        message: 'Stripe has no payment_intent pi_1 yet: looking again once the event is 30 s old',
      });
    });
  });

  it('is taken as deleted for an event exactly 30 s old, and for a young event delivered again', async () => {
    await withStripe(async (stripe) => {
      const at30s = fetcherFor(stripe.url, { now: () => NOW });
      const again = fetcherFor(stripe.url, { now: () => NOW, receiveCount: 2 });

      const old = await at30s.fetcher.currentObject(message({ created: NOW / 1000 - 30 }), undefined);
      const redelivered = await again.fetcher.currentObject(message({ created: NOW / 1000 - 5 }), undefined);

      expect(old).toMatchObject({ origin: 'deleted', gone: true });
      expect(redelivered).toMatchObject({ origin: 'deleted', gone: true });
    });
  });
});

describe('a path Stripe does not recognise', () => {
  it('hands over the payload of a classic event, saying whether the path was guessed', async () => {
    await withStripe(async (stripe) => {
      const { fetcher, warnings } = fetcherFor(stripe.url);
      const payload = { id: 'wd_1', object: 'example.widget' };

      const current = await fetcher.currentObject(
        message({ type: 'example.widget.updated', object: { type: 'example.widget', id: 'wd_1' } }),
        snapshot(payload),
      );

      expect(current).toStrictEqual({ object: payload, origin: 'payload' });
      expect(warnings).toEqual([
        [
          'using the event payload: the object cannot be retrieved from Stripe',
          { reason: 'Stripe does not recognise the guessed path /v1/example/widgets/wd_1' },
        ],
      ]);
    });
  });

  it('hands over the payload of a classic event whose known path Stripe does not recognise', async () => {
    const unknown = { status: 404, body: stripeError('invalid_request_error', 'Unrecognized request URL') };
    await withAnswer(unknown, async (url) => {
      const { fetcher, warnings } = fetcherFor(url);

      const current = await fetcher.currentObject(message(), snapshot({ id: 'pi_1', object: 'payment_intent' }));

      expect(current).toMatchObject({ origin: 'payload' });
      expect(warnings[0]?.[1]).toEqual({ reason: 'Stripe does not recognise /v1/payment_intents/pi_1' });
    });
  });

  it('fails a thin event for good: its URL came from Stripe', async () => {
    const unknown = { status: 404, body: stripeError('invalid_request_error', 'Unrecognized request URL') };
    await withAnswer(unknown, async (url) => {
      const { fetcher } = fetcherFor(url);
      const related = { id: 'thing_1', type: 'v2.example.thing', url: '/v2/example/things/thing_1' };
      const thin = { id: 'evt_t', object: 'v2.core.event', type: 'v2.example.thing.updated', related_object: related };

      const err = await failure(fetcher.currentObject(message({ kind: 'thin', type: thin.type, object: null }), thin));

      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({
        code: 'stripe_unknown_object_url',
        message: 'Stripe does not recognise /v2/example/things/thing_1',
      });
    });
  });
});

describe('thin events', () => {
  function thin(related: unknown): Record<string, unknown> {
    return { id: 'evt_t', object: 'v2.core.event', type: 'v2.core.account.updated', related_object: related };
  }
  const thinMessage = (object: QueueMessage['object'] = null) =>
    message({ kind: 'thin', type: 'v2.core.account.updated', account: 'acct_ctx', object });

  it("fetches the related object at the URL Stripe gave, in the event's context", async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'acct_v2', object: 'v2.core.account', display_name: 'Shop' }, { account: 'acct_ctx' });
      const { fetcher } = fetcherFor(stripe.url);
      const related = { id: 'acct_v2', type: 'v2.core.account', url: '/v2/core/accounts/acct_v2' };

      const current = await fetcher.currentObject(thinMessage(), thin(related));

      expect(current).toMatchObject({ origin: 'fetched', object: { display_name: 'Shop' } });
      expect(stripe.calls.map((c) => [c.path, c.account])).toEqual([['/v2/core/accounts/acct_v2', 'acct_ctx']]);
    });
  });

  it('takes the related object from the message when there is no event at hand', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'acct_v2', object: 'v2.core.account' }, { account: 'acct_ctx' });
      const { fetcher } = fetcherFor(stripe.url);
      const ref = { type: 'v2.core.account', id: 'acct_v2', url: '/v2/core/accounts/acct_v2' };

      const current = await fetcher.currentObject(thinMessage(ref), undefined);

      expect(current).toMatchObject({ origin: 'fetched', object: { id: 'acct_v2' } });
    });
  });

  it('never follows a URL that is not a path on the Stripe API: the object is retrieved by its type', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'mtr_1', object: 'billing.meter', status: 'active' }, { account: 'acct_ctx' });
      const { fetcher } = fetcherFor(stripe.url);
      const meter = (url?: unknown) => thin({ id: 'mtr_1', type: 'billing.meter', ...(url ? { url } : {}) });

      for (const url of ['//evil.example/v1/billing/meters/mtr_1', 'https://evil.example/x', 42, undefined]) {
        expect(await fetcher.currentObject(thinMessage(), meter(url))).toMatchObject({ origin: 'fetched' });
      }
      expect(stripe.calls.map((c) => c.path)).toEqual(Array(4).fill('/v1/billing/meters/mtr_1'));
    });
  });

  it('has no object when the event relates to none', async () => {
    await withStripe(async (stripe) => {
      const { fetcher, stats } = fetcherFor(stripe.url);

      expect(await fetcher.currentObject(thinMessage(), thin(null))).toStrictEqual({ object: null, origin: 'none' });
      expect(await fetcher.currentObject(thinMessage(), thin(undefined))).toStrictEqual({
        object: null,
        origin: 'none',
      });
      expect(stats.calls).toBe(0);
    });
  });
});

describe('retrieving the event of a reference message', () => {
  it('retrieves a classic event by id, as the connected account', async () => {
    await withStripe(async (stripe) => {
      const event = {
        id: 'evt_ref_1',
        object: 'event',
        type: 'payment_intent.succeeded',
        account: 'acct_1',
        created: 1,
      };
      stripe.addEvent(event);
      const { fetcher } = fetcherFor(stripe.url);

      const got = await fetcher.retrieveEvent(message({ kind: 'reference', eventId: 'evt_ref_1', account: 'acct_1' }));

      expect(got).toMatchObject({ id: 'evt_ref_1', type: 'payment_intent.succeeded' });
      expect(stripe.calls.map((c) => [c.path, c.account])).toEqual([['/v1/events/evt_ref_1', 'acct_1']]);
    });
  });

  it('retrieves a thin event from the v2 events API, known by its type', async () => {
    await withAnswer(
      { status: 200, body: JSON.stringify({ id: 'evt_ref_2', object: 'v2.core.event' }) },
      async (url, paths) => {
        const { fetcher } = fetcherFor(url);

        const got = await fetcher.retrieveEvent(
          message({ kind: 'reference', eventId: 'evt_ref_2', type: 'v1.billing.meter.no_meter_found', object: null }),
        );

        expect(got).toEqual({ id: 'evt_ref_2', object: 'v2.core.event' });
        expect(paths).toEqual(['/v2/core/events/evt_ref_2']);
      },
    );
  });

  it('fails for good for an event Stripe no longer keeps, and retries when Stripe is busy', async () => {
    await withStripe(async (stripe) => {
      const { fetcher } = fetcherFor(stripe.url);
      const ref = message({ kind: 'reference', eventId: 'evt_old' });

      const gone = await failure(fetcher.retrieveEvent(ref));
      stripe.inject({ kind: 'rate_limit', retryAfterSeconds: 3 });
      const busy = await failure(fetcher.retrieveEvent(ref));

      expect(gone).toBeInstanceOf(PermanentError);
      expect(gone).toMatchObject({ code: 'stripe_event_not_found', message: 'Stripe has no event evt_old' });
      expect(busy).toBeInstanceOf(RetryableError);
      expect(busy).toMatchObject({ code: 'stripe_rate_limited', message: 'Stripe rate-limited event evt_old' });
    });
  });
});

describe('Stripe failing', () => {
  it('waits as long as a 429 says, counting the rate limit', async () => {
    await withStripe(async (stripe) => {
      stripe.inject({ kind: 'rate_limit', retryAfterSeconds: 7 });
      stripe.inject({ kind: 'rate_limit', retryAfterSeconds: 2.5 });
      const { fetcher, stats } = fetcherFor(stripe.url);

      const first = await failure(fetcher.currentObject(message(), undefined));
      const second = await failure(fetcher.currentObject(message(), undefined));

      expect(first).toBeInstanceOf(RetryableError);
      expect(first).toMatchObject({
        code: 'stripe_rate_limited',
        retryAfterSeconds: 7,
        message: 'Stripe rate-limited payment_intent pi_1',
      });
      expect(second).toMatchObject({ retryAfterSeconds: 3 });
      expect(stats).toEqual({ calls: 2, rateLimited: 2 });
    });
  });

  it('backs off by the receive count after a 429 without a usable Retry-After, longer when Stripe says not to retry', async () => {
    await withStripe(async (stripe) => {
      stripe.inject({ kind: 'rate_limit' });
      stripe.inject({ kind: 'rate_limit', retryAfterSeconds: 0 });
      stripe.inject({ kind: 'rate_limit', retryAfterSeconds: 7, shouldRetry: false });
      stripe.inject({ kind: 'rate_limit', retryAfterSeconds: 100_000 });
      // Third delivery, jitter 0: half of 2 * 2^2 seconds.
      const { fetcher } = fetcherFor(stripe.url, { receiveCount: 3 });
      const delays: unknown[] = [];
      for (let i = 0; i < 4; i++) {
        delays.push(((await failure(fetcher.currentObject(message(), undefined))) as RetryableError).retryAfterSeconds);
      }

      expect(delays).toEqual([4, 4, 300, 43_200]);
    });
  });

  it('waits as long as a 429 from a v2 API says', async () => {
    const answer = {
      status: 429,
      headers: { 'Retry-After': '9' },
      body: stripeError('rate_limit', 'Too many requests'),
    };
    await withAnswer(answer, async (url) => {
      const { fetcher, stats } = fetcherFor(url);
      const related = { id: 'acct_v2', type: 'v2.core.account', url: '/v2/core/accounts/acct_v2' };
      const thin = { id: 'evt_t', object: 'v2.core.event', type: 'v2.core.account.updated', related_object: related };

      const err = await failure(fetcher.currentObject(message({ kind: 'thin', type: thin.type, object: null }), thin));

      expect(err).toBeInstanceOf(RetryableError);
      expect(err).toMatchObject({ code: 'stripe_rate_limited', retryAfterSeconds: 9 });
      expect(stats.rateLimited).toBe(1);
    });
  });

  it('takes a 400 Stripe marks as a rate limit for one', async () => {
    const answer = { status: 400, body: stripeError('invalid_request_error', 'Too many requests', 'rate_limit') };
    await withAnswer(answer, async (url) => {
      const { fetcher } = fetcherFor(url, { receiveCount: 3 });

      const err = await failure(fetcher.currentObject(message(), undefined));

      expect(err).toBeInstanceOf(RetryableError);
      expect(err).toMatchObject({ code: 'stripe_rate_limited', retryAfterSeconds: 4 });
    });
  });

  it('retries a 5xx at once, or after the backoff when Stripe says an immediate retry cannot succeed', async () => {
    await withStripe(async (stripe) => {
      stripe.inject({ kind: 'server_error', status: 500 });
      stripe.inject({ kind: 'server_error', status: 503, shouldRetry: false });
      const { fetcher, stats } = fetcherFor(stripe.url, { receiveCount: 3 });

      const plain = await failure(fetcher.currentObject(message(), undefined));
      const backOff = await failure(fetcher.currentObject(message(), undefined));

      expect(plain).toBeInstanceOf(RetryableError);
      expect(plain).toMatchObject({
        code: 'stripe_unavailable',
        message: 'Stripe answered 500 for payment_intent pi_1',
      });
      expect((plain as RetryableError).retryAfterSeconds).toBeUndefined();
      expect(backOff).toMatchObject({ code: 'stripe_unavailable', retryAfterSeconds: 4 });
      expect(stats).toEqual({ calls: 2, rateLimited: 0 });
    });
  });

  it('names a singleton by its type alone in a failure', async () => {
    await withStripe(async (stripe) => {
      stripe.inject({ kind: 'server_error' });
      const { fetcher } = fetcherFor(stripe.url);

      const err = await failure(
        fetcher.currentObject(message({ type: 'balance.available', object: null }), snapshot({ object: 'balance' })),
      );

      expect(err).toMatchObject({ message: 'Stripe answered 500 for balance' });
    });
  });

  it('retries when Stripe does not answer', async () => {
    await withStripe(async (stripe) => {
      // stripe-node retries a closed connection once by itself.
      stripe.inject({ kind: 'reset', times: 2 });
      const { fetcher } = fetcherFor(stripe.url);

      const err = await failure(fetcher.currentObject(message(), undefined));

      expect(err).toBeInstanceOf(RetryableError);
      expect(err).toMatchObject({ code: 'stripe_connection' });
      expect((err as Error).message).toMatch(
        /^no answer from Stripe for payment_intent pi_1: An error occurred with our connection/,
      );
    });
  });

  it('retries an answer that is not JSON, or not a JSON object', async () => {
    await withAnswer({ status: 200, body: 'not json' }, async (url) => {
      const err = await failure(fetcherFor(url).fetcher.currentObject(message(), undefined));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err).toMatchObject({ code: 'stripe_client_error' });
      expect((err as Error).message).toMatch(/^calling Stripe for payment_intent pi_1 failed: .*Invalid JSON/);
    });
    await withAnswer({ status: 200, body: '[]' }, async (url) => {
      const err = await failure(fetcherFor(url).fetcher.currentObject(message(), undefined));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err).toMatchObject({
        code: 'stripe_bad_answer',
        message: 'Stripe answered /v1/payment_intents/pi_1 with a non-object',
      });
    });
  });

  it('fails a request Stripe rejects for good', async () => {
    const answer = { status: 400, body: stripeError('invalid_request_error', 'Invalid expand') };
    await withAnswer(answer, async (url) => {
      const err = await failure(fetcherFor(url).fetcher.currentObject(message(), undefined));

      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({
        code: 'stripe_invalid_request',
        message: 'Stripe rejected payment_intent pi_1: Invalid expand',
      });
    });
  });

  it.each([
    [401, 'authentication_error', 'stripe_auth'],
    [403, 'invalid_request_error', 'stripe_auth'],
    [409, 'invalid_request_error', 'stripe_error'],
  ])('retries a %i (a key being rotated, a revoked authorization, a conflict)', async (status, type, code) => {
    await withAnswer({ status, body: stripeError(type, 'refused') }, async (url) => {
      const err = await failure(fetcherFor(url).fetcher.currentObject(message(), undefined));

      expect(err).toBeInstanceOf(RetryableError);
      expect(err).toMatchObject({ code, message: `Stripe answered ${status} for payment_intent pi_1` });
    });
  });
});

describe('fetches shared within a batch', () => {
  it('asks Stripe once per object and account, keeping Stripe-Account and Stripe-Context calls apart', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'mtr_1', object: 'billing.meter' }, { account: 'acct_1' });
      stripe.setObject({ id: 'mtr_1', object: 'billing.meter' }, { account: 'acct_2' });
      const { fetcher } = fetcherFor(stripe.url, { cache: new Map() });
      const classic = (account: string) =>
        message({ type: 'billing.meter.updated', account, object: { type: 'billing.meter', id: 'mtr_1' } });
      const related = { id: 'mtr_1', type: 'billing.meter', url: '/v1/billing/meters/mtr_1' };
      const thinEvent = {
        id: 'evt_t',
        object: 'v2.core.event',
        type: 'v1.billing.meter.no_meter_found',
        related_object: related,
      };

      for (const account of ['acct_1', 'acct_1', 'acct_2']) await fetcher.currentObject(classic(account), undefined);
      await fetcher.currentObject(message({ kind: 'thin', account: 'acct_1', type: thinEvent.type }), thinEvent);

      expect(stripe.calls.map((c) => c.account)).toEqual(['acct_1', 'acct_2', 'acct_1']);
    });
  });

  it('does not share a failed fetch: the next record asks Stripe again', async () => {
    await withStripe(async (stripe) => {
      stripe.setObject({ id: 'pi_1', object: 'payment_intent', status: 'succeeded' });
      stripe.inject({ kind: 'server_error' });
      const { fetcher } = fetcherFor(stripe.url, { cache: new Map() });

      await expect(fetcher.currentObject(message(), undefined)).rejects.toBeInstanceOf(RetryableError);
      const current = await fetcher.currentObject(message(), undefined);

      expect(current).toMatchObject({ origin: 'fetched', object: { status: 'succeeded' } });
      expect(stripe.calls.map((c) => c.status)).toEqual([500, 200]);
    });
  });
});
