/**
 * Bad input against the webhook endpoint of the local runtime: a real HTTP server (the API Gateway stand-in), the
 * real ingress core, a real fauxqs FIFO queue. No processor runs (concurrency 0), so whatever the ingress enqueues
 * stays on the queue for the test to see.
 *
 * Every bad request must get a 4xx with a JSON body naming the problem (`error`, a stable code, and `message`, a
 * sentence), must leave the queue empty, and must not hurt the server: a valid delivery is still accepted at the end.
 * Requests go out through node:http rather than fetch, which would merge repeated headers and normalise methods.
 */
import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../lambdas/shared/queue-message';
import { requestUrl } from '../../local/http-adapter';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { sqsClient } from '../ingress/helpers';
import { queueDepth } from '../support/queue-drained';

const SECRET = 'whsec_bad_input_test_secret';
/** Fewer runs where each one sends a megabyte. */
const RUNS = 100;
const BIG_RUNS = 20;

let pipeline: LocalPipeline;
let sqs: ReturnType<typeof sqsClient>;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
let n = 0;

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    port: 0,
    webhookSecret: SECRET,
    sink: { publish: async () => undefined },
    concurrency: 0,
    logLevel: 'SILENT',
  });
  sqs = sqsClient(pipeline.sqsEndpoint);
});
afterAll(async () => {
  agent.destroy();
  sqs?.destroy();
  await pipeline?.close();
});

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

interface Sent {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

/**
 * One raw HTTP request; a header given as an array is sent as that many header lines. A keep-alive socket the
 * server closed (idle timeout) just as the request went out is reset: that request is sent once more on a new
 * socket, as Node's documentation advises (`request.reusedSocket`).
 */
async function send(opts: Sent): Promise<Answer> {
  try {
    return await sendOnce(opts);
  } catch (err) {
    if (!(err instanceof ResetOnReusedSocket)) throw err;
    return sendOnce(opts);
  }
}

class ResetOnReusedSocket extends Error {}

function sendOnce(opts: Sent): Promise<Answer> {
  const url = new URL(pipeline.webhookUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, method: opts.method ?? 'POST', path: opts.path ?? url.pathname },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(req.reusedSocket && err.code === 'ECONNRESET' ? new ResetOnReusedSocket(err.message) : err),
    );
    for (const [name, value] of Object.entries(opts.headers ?? {})) req.setHeader(name, value);
    // Explicit: node frames a GET, DELETE or OPTIONS body only when told its length.
    const body = opts.body ?? '';
    req.setHeader('content-length', Buffer.byteLength(body));
    req.end(body);
  });
}

/** A Stripe event nobody has sent before (FIFO deduplication must not be what keeps a bad one off the queue). */
function stripeEvent(extra: Record<string, unknown> = {}): Record<string, unknown> {
  n += 1;
  return {
    id: `evt_badinput_${Date.now().toString(36)}_${n}`,
    object: 'event',
    api_version: '2025-09-30.clover',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    type: 'payment_intent.succeeded',
    data: { object: { id: `pi_badinput_${n}`, object: 'payment_intent', status: 'succeeded' } },
    ...extra,
  };
}

function sign(payload: string | Buffer, opts: { secret?: string; timestamp?: number; scheme?: string } = {}): string {
  const t = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const hmac = createHmac('sha256', opts.secret ?? SECRET)
    .update(`${t}.`)
    .update(payload)
    .digest('hex');
  return `t=${t},${opts.scheme ?? 'v1'}=${hmac}`;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** A 4xx whose body is JSON with a snake_case `error` code and a `message`; returns the code. */
function expectRefusal(answer: Answer, status?: number): string {
  expect(answer.status, answer.body).toBeGreaterThanOrEqual(400);
  expect(answer.status, answer.body).toBeLessThan(500);
  if (status !== undefined) expect(answer.status, answer.body).toBe(status);
  expect(answer.contentType).toMatch(/^application\/json/);
  const body = JSON.parse(answer.body) as { error?: unknown; message?: unknown };
  expect(body.error).toMatch(/^[a-z0-9_]+$/);
  expect(typeof body.message === 'string' && body.message.length > 0).toBe(true);
  return body.error as string;
}

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 200,
});
/** A header name in any mix of upper and lower case (HTTP header names are case-insensitive). */
const anyCase = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
const signatureName = anyCase('stripe-signature');
const contentTypeName = anyCase('content-type');

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('bad input on POST /stripe/webhook', () => {
  beforeEach(async () => {
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('refuses garbled, missing and near-miss Stripe-Signature headers, whatever their case', async () => {
    const nearMiss = fc.constantFrom<(payload: string) => string>(
      (p) => sign(p).replace(/v1=([0-9a-f])/, (_, c: string) => `v1=${c === 'a' ? 'b' : 'a'}`), // one hex digit off
      (p) => sign(p).toUpperCase().replace('T=', 't=').replace('V1=', 'v1='), // upper-case hex
      (p) => sign(p).replace(/^t=\d+,/, ''), // no timestamp
      (p) => `${sign(p)},t=${Math.floor(Date.now() / 1000)}`, // two timestamps
      (p) => sign(p).replace('v1=', 'v2='), // unknown scheme only
      (p) => sign(p).replace(',', ', '), // a space Stripe never sends
      (p) => sign(p).slice(0, -10), // truncated
      (p) => sign(p).replace(/^t=/, 't=+'), // not digits
      (p) => sign(`${p} `), // signed over other bytes
      () => '',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          nearMiss,
          printable.map((h) => () => h),
        ),
        signatureName,
        async (header, name) => {
          const payload = JSON.stringify(stripeEvent());
          const code = expectRefusal(
            await send({ headers: { 'content-type': JSON_TYPE, [name]: header(payload) }, body: payload }),
            400,
          );
          expect(['missing_signature', 'malformed_signature', 'no_v1_signature', 'bad_signature']).toContain(code);
        },
      ),
      { numRuns: RUNS },
    );
    const payload = JSON.stringify(stripeEvent());
    expect(expectRefusal(await send({ headers: { 'content-type': JSON_TYPE }, body: payload }), 400)).toBe(
      'missing_signature',
    );
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('refuses a Stripe-Signature sent twice, even when both copies are valid', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), async (sameTwice) => {
        const payload = JSON.stringify(stripeEvent());
        const second = sameTwice ? sign(payload) : sign(payload, { secret: 'whsec_other' });
        expect(
          expectRefusal(
            await send({
              headers: { 'content-type': JSON_TYPE, 'stripe-signature': [sign(payload), second] },
              body: payload,
            }),
            400,
          ),
        ).toBe('malformed_signature');
      }),
      { numRuns: RUNS },
    );
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('refuses a wrong secret, a v0-only signature, and stale or far-future timestamps', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases = fc.oneof(
      fc
        .string({ minLength: 1, maxLength: 40 })
        .map((s) => ({ expected: 'bad_signature', sign: (p: string) => sign(p, { secret: `whsec_${s}x` }) })),
      fc.constant({ expected: 'no_v1_signature', sign: (p: string) => sign(p, { scheme: 'v0' }) }),
      // 10 s away from the 300 s limits, so a slow request cannot cross one.
      fc.integer({ min: 310, max: 10_000_000 }).map((age) => ({
        expected: 'stale_timestamp',
        sign: (p: string) => sign(p, { timestamp: now() - age }),
      })),
      fc.integer({ min: 310, max: 10_000_000 }).map((ahead) => ({
        expected: 'future_timestamp',
        sign: (p: string) => sign(p, { timestamp: now() + ahead }),
      })),
    );
    await fc.assert(
      fc.asyncProperty(cases, signatureName, async (c, name) => {
        const payload = JSON.stringify(stripeEvent());
        const answer = await send({ headers: { 'content-type': JSON_TYPE, [name]: c.sign(payload) }, body: payload });
        expect(expectRefusal(answer, 400)).toBe(c.expected);
      }),
      { numRuns: RUNS },
    );
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('refuses empty, non-JSON and non-event bodies, even when correctly signed, plain or base64', async () => {
    const bodies = fc.oneof(
      fc.constant({ body: '', expected: ['empty_body'] }),
      printable.filter((s) => s.length > 0 && !isJson(s)).map((body) => ({ body, expected: ['invalid_json'] })),
      // The event base64-encoded by the sender: not JSON as received.
      fc.constant(null).map(() => ({
        body: Buffer.from(JSON.stringify(stripeEvent())).toString('base64'),
        expected: ['invalid_json'],
      })),
      fc
        .jsonValue({ maxDepth: 4 })
        .map((v) => JSON.stringify(v))
        .map((body) => ({
          body,
          expected: [
            'not_an_object',
            'bad_event_id',
            'bad_event_type',
            'bad_livemode',
            'not_an_event',
            'bad_created',
            'bad_data',
          ],
        })),
      fc
        .record(
          {
            id: fc.string({ maxLength: 20 }).map((s) => `x${s}`),
            type: fc.oneof(fc.constant(''), fc.integer()),
            livemode: fc.string(),
          },
          { requiredKeys: [] },
        )
        .filter((broken) => Object.keys(broken).length > 0)
        .map((broken) => ({
          body: JSON.stringify(stripeEvent(broken)),
          expected: ['bad_event_id', 'bad_event_type', 'bad_livemode'],
        })),
    );
    await fc.assert(
      fc.asyncProperty(bodies, contentTypeName, async ({ body, expected }, name) => {
        const answer = await send({ headers: { [name]: JSON_TYPE, 'stripe-signature': sign(body) }, body });
        expect(expected).toContain(expectRefusal(answer, 400));
      }),
      { numRuns: RUNS },
    );
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('refuses deeply nested bodies that are not Stripe events, and does not fall over on them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('[', '{"a":'), async (depth, open) => {
        const close = open === '[' ? ']' : '}';
        const body = `${open.repeat(depth)}1${close.repeat(depth)}`;
        const answer = await send({ headers: { 'content-type': JSON_TYPE, 'stripe-signature': sign(body) }, body });
        expect(['not_an_object', 'not_an_event', 'bad_event_id', 'invalid_json', 'body_too_large']).toContain(
          expectRefusal(answer, 400),
        );
      }),
      { numRuns: RUNS },
    );
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('refuses bodies over 1 MiB before verifying them, signed or not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1_048_577, max: 1_600_000 }), fc.boolean(), async (size, signed) => {
        const body = JSON.stringify(stripeEvent({ padding: 'x'.repeat(size) }));
        const headers: Record<string, string> = { 'content-type': JSON_TYPE };
        if (signed) headers['stripe-signature'] = sign(body);
        expect(expectRefusal(await send({ headers, body }), 400)).toBe('body_too_large');
      }),
      { numRuns: BIG_RUNS },
    );
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('answers a body over API Gateway’s 10 MB limit with 413, as API Gateway does (its answer has no error code)', async () => {
    const body = 'x'.repeat(10 * 1024 * 1024 + 1);
    const answer = await send({ headers: { 'content-type': JSON_TYPE, 'stripe-signature': sign(body) }, body });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ message: 'Request Entity Too Large' });
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('refuses any content type but application/json, even for a correctly signed event', async () => {
    const mediaType = fc
      .oneof(
        fc.constantFrom(
          'text/plain',
          'text/json',
          'application/x-www-form-urlencoded',
          'application/octet-stream',
          'multipart/form-data; boundary=x',
          'application/jsonx',
          'application/json-patch+json',
          'application/xml',
        ),
        fc
          .tuple(fc.stringMatching(/^[a-z]{1,10}$/), fc.stringMatching(/^[a-z.+-]{1,15}$/))
          .map(([t, s]) => `${t}/${s}`),
      )
      .filter((t) => t !== 'application/json');
    await fc.assert(
      fc.asyncProperty(mediaType, contentTypeName, async (type, name) => {
        const payload = JSON.stringify(stripeEvent());
        const answer = await send({ headers: { [name]: type, 'stripe-signature': sign(payload) }, body: payload });
        // Non-text types reach the ingress base64-encoded (isBase64Encoded), as API Gateway hands them over.
        expect(expectRefusal(answer, 415)).toBe('unsupported_media_type');
      }),
      { numRuns: RUNS },
    );
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('refuses other methods on the webhook path, and any other path', async () => {
    const wrong = fc.oneof(
      fc
        .constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')
        .map((method) => ({ method, path: '/stripe/webhook', status: 405 })),
      fc
        .oneof(
          fc.constantFrom(
            '/',
            '/stripe',
            '/stripe/webhook/',
            '/STRIPE/WEBHOOK',
            '/prod/stripe/webhook',
            '/stripe/webhooks',
            '/stripe//webhook',
          ),
          fc.webPath().filter((p) => p.startsWith('/')),
          fc.webPath().map((p) => `//${p}`),
        )
        .filter((path) => !['/stripe/webhook', '/health'].includes(requestUrl(path)?.pathname ?? ''))
        .map((path) => ({ method: 'POST', path, status: 404 })),
    );
    await fc.assert(
      fc.asyncProperty(wrong, async ({ method, path, status }) => {
        const payload = JSON.stringify(stripeEvent());
        const answer = await send({
          method,
          path,
          headers: { 'content-type': JSON_TYPE, 'stripe-signature': sign(payload) },
          body: payload,
        });
        expect(expectRefusal(answer, status)).toBe(status === 405 ? 'method_not_allowed' : 'not_found');
      }),
      { numRuns: RUNS },
    );
    expect(await queueDepth(pipeline)).toBe(0);
  });

  it('still accepts a valid delivery afterwards, whatever the header case, and it is the only thing on the queue', async () => {
    const event = stripeEvent();
    const payload = JSON.stringify(event);
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    const answer = await send({
      headers: { 'Content-Type': 'Application/JSON', 'STRIPE-SIGNATURE': signature },
      body: payload,
    });
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ received: true, eventId: event.id });

    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: pipeline.queues.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect((out.Messages ?? []).map((m) => decodeMessage(m.Body ?? '').eventId)).toEqual([event.id]);
  });
});
