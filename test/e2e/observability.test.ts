/**
 * What an operator sees from a run of the whole pipeline (`npm start` with EMF on): the structured log lines and
 * the EMF metrics for an accepted event, a duplicate (an operator's `replay --force` of a processed event) and a
 * forged delivery, and none of what must never be logged: the signing secret, the API key, the raw body, or the
 * card details and client secret of the object fetched from Stripe.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enqueueMessage } from '../../lambdas/shared/enqueue';
import { toQueueMessage } from '../../lambdas/shared/queue-message';
import { sdkQueueClient } from '../../lambdas/shared/sdk-queue-client';
import { readSink } from '../../local/file-sink';
import { LOCAL_STRIPE_KEY, LOCAL_WEBHOOK_SECRET, type LocalPipeline, startLocalPipeline } from '../../local/pipeline';

const FORGED_SECRET = 'whsec_forged_by_someone_else_0000';
/** Values planted in the object Stripe returns: none may reach a log line. */
const CLIENT_SECRET = 'pi_obs_1_secret_PLANTEDclientSECRET';
const CARD_FINGERPRINT = 'fpPLANTEDfingerprint';
const LAST4 = '4x9z';

type Line = Record<string, unknown>;
interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

let pipeline: LocalPipeline;
let dir: string;
const written: string[] = [];
const restore: Array<() => void> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'observability-'));
  // The test environment turns EMF off; a run with emitMetrics prints it, as Lambda would ship it.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  // Capture everything the pipeline writes, for the whole run (Powertools writes WARN/ERROR to stderr).
  for (const stream of [process.stdout, process.stderr]) {
    const spy = vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    restore.push(() => spy.mockRestore());
  }
  pipeline = await startLocalPipeline({
    port: 0,
    sinkFile: join(dir, 'processed.jsonl'),
    emitMetrics: true,
    logLevel: 'DEBUG',
  });
});

afterAll(async () => {
  await pipeline.close();
  for (const r of restore) r();
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

function lines(): Line[] {
  return written
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function emf(all: Line[]): Emf[] {
  return all.filter((l): l is Emf => '_aws' in l);
}

/** Every value of a metric in the EMF lines whose dimensions match (none when it was never emitted). */
function metricValues(all: Line[], name: string, dims: Record<string, string>): number[] {
  return emf(all)
    .filter((l) => l._aws.CloudWatchMetrics.some((d) => d.Metrics.some((m) => m.Name === name)))
    .filter((l) => Object.entries(dims).every(([k, v]) => l[k] === v))
    .flatMap((l) => {
      const v = l[name];
      return Array.isArray(v) ? v.map(Number) : [Number(v)];
    });
}

/** The sum of a metric over every EMF line whose dimensions match. */
function metricTotal(all: Line[], name: string, dims: Record<string, string>): number {
  return metricValues(all, name, dims).reduce((sum, v) => sum + v, 0);
}

const eventId = 'evt_observability_1';
const chargeId = 'ch_observability_1';
/** The event was created 90 s before it reached the pipeline: ProcessingLatency must say at least that. */
const CREATED_AGO_MS = 90_000;
let rawBody = '';
/** Every Stripe-Signature header sent. */
const signatures: string[] = [];
/** What the scenario saw, for the tests to assess: every test reads the same run, in any order or alone. */
const run = { acceptedStatus: 0, forgedStatus: 0, sinkLength: 0, startedMs: 0, finishedMs: 0 };

/**
 * The run every test looks at: an accepted event, an operator's replay of it (a duplicate), and a forged delivery,
 * each waited for until the pipeline reports it.
 */
async function playScenario(): Promise<void> {
  if (pipeline.stripe.kind !== 'offline') throw new Error('expected the embedded Stripe');
  // Stripe's current object carries card details and a client secret the pipeline must never log.
  pipeline.stripe.server.setObject({
    id: chargeId,
    object: 'charge',
    amount: 2500,
    currency: 'usd',
    status: 'succeeded',
    client_secret: CLIENT_SECRET,
    payment_method_details: { type: 'card', card: { brand: 'visa', last4: LAST4, fingerprint: CARD_FINGERPRINT } },
  });
  run.startedMs = Date.now();
  const event = {
    id: eventId,
    object: 'event',
    type: 'charge.succeeded',
    livemode: false,
    created: Math.floor((run.startedMs - CREATED_AGO_MS) / 1000),
    data: { object: { id: chargeId, object: 'charge', amount: 2500, client_secret: CLIENT_SECRET } },
  };
  rawBody = JSON.stringify(event);
  const post = (secret: string) => {
    const signature = Stripe.webhooks.generateTestHeaderString({ payload: rawBody, secret });
    signatures.push(signature);
    return fetch(pipeline.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      body: rawBody,
    });
  };

  run.acceptedStatus = (await post(LOCAL_WEBHOOK_SECRET)).status;
  await until('the event in the sink', async () => (await readSink(pipeline.sinkFile!)).length === 1);

  // An operator's `replay --force`: the same event again, past SQS's deduplication window.
  const sqs = new SQSClient({
    endpoint: pipeline.sqsEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await enqueueMessage(sdkQueueClient(sqs), pipeline.queues.queueUrl, toQueueMessage(event, 'replay', new Date()), {
    maxMessageBytes: 262_144,
    deduplicationIdOverride: `${eventId}:replay`,
  });
  sqs.destroy();
  await until('the duplicate to be skipped', () =>
    lines().some((l) => l.message === 'event already processed: skipped'),
  );

  run.forgedStatus = (await post(FORGED_SECRET)).status;
  await until('the rejection metric', () => metricTotal(lines(), 'WebhookRejected', { Reason: 'bad_signature' }) === 1);
  run.sinkLength = (await readSink(pipeline.sinkFile!)).length;
  run.finishedMs = Date.now();
}

describe('a local run, as an operator sees it', () => {
  beforeAll(playScenario);

  it('processes an accepted event, skips its replay as a duplicate, and refuses a forged delivery', () => {
    expect(run.acceptedStatus).toBe(200);
    expect(run.forgedStatus).toBe(400);
    expect(run.sinkLength).toBe(1);
  });

  it('logs the accepted event with its id, type, SQS message id and API request id', () => {
    const accepted = lines().find((l) => l.message === 'webhook accepted');
    expect(accepted).toMatchObject({
      level: 'DEBUG',
      service: 'stripe-ingress',
      eventId,
      eventType: 'charge.succeeded',
      sqsMessageId: expect.any(String),
      apiRequestId: expect.any(String),
    });
  });

  it('logs its processing and the skipped duplicate with the event id, type and SQS message id', () => {
    const processed = lines().find((l) => l.message === 'event processed');
    const duplicate = lines().find((l) => l.message === 'event already processed: skipped');
    for (const line of [processed, duplicate]) {
      expect(line).toMatchObject({
        service: 'stripe-processor',
        eventId,
        eventType: 'charge.succeeded',
        messageId: expect.any(String),
      });
    }
    // Two deliveries, two SQS messages: the lines tell them apart.
    expect(duplicate?.messageId).not.toBe(processed?.messageId);
    expect(duplicate?.doneAt).toEqual(expect.any(String));
  });

  it('logs the forged delivery as a WARN with its reason, status and source address, and no event id', () => {
    const rejected = lines().find((l) => l.message === 'request rejected');
    expect(rejected).toMatchObject({
      level: 'WARN',
      reason: 'bad_signature',
      status: 400,
      sourceIp: expect.any(String),
      apiRequestId: expect.any(String),
    });
    expect(rejected).not.toHaveProperty('eventId');
  });

  it('emits the documented EMF metrics under StripeWebhooks with the service dimension', () => {
    const all = lines();
    for (const l of emf(all)) expect(l._aws.CloudWatchMetrics[0]?.Namespace).toBe('StripeWebhooks');
    const ingress = { service: 'stripe-ingress' };
    const processor = { service: 'stripe-processor' };
    // Received and accepted webhooks are the front's metrics, not the ingress's (no EMF line per webhook).
    expect(metricTotal(all, 'WebhookReceived', ingress) + metricTotal(all, 'WebhookAccepted', ingress)).toBe(0);
    expect(metricTotal(all, 'WebhookRejected', { ...ingress, Reason: 'bad_signature' })).toBe(1);
    expect(metricTotal(all, 'EventsProcessed', processor)).toBe(1);
    expect(metricTotal(all, 'DuplicateSkipped', processor)).toBe(1);
    expect(metricTotal(all, 'StripeCalls', processor)).toBe(1);
    expect(metricTotal(all, 'Stripe429', processor)).toBe(0);
    // One latency, for the one event processed (not for the duplicate): from the event's creation to its end.
    const latencies = metricValues(all, 'ProcessingLatency', processor);
    expect(latencies).toHaveLength(1);
    expect(latencies[0]).toBeGreaterThanOrEqual(CREATED_AGO_MS);
    expect(latencies[0]).toBeLessThanOrEqual(CREATED_AGO_MS + (run.finishedMs - run.startedMs) + 1_000);
    const rejected = emf(all).find((l) => 'WebhookRejected' in l);
    expect(rejected?._aws.CloudWatchMetrics[0]?.Dimensions[0]?.sort()).toEqual(['Reason', 'service']);
  });

  it('never writes a secret, the raw body, a client secret or card details', () => {
    const output = written.join('');
    expect(output.length).toBeGreaterThan(1000);
    for (const forbidden of [
      LOCAL_WEBHOOK_SECRET,
      FORGED_SECRET,
      LOCAL_STRIPE_KEY,
      'whsec_',
      rawBody,
      rawBody.slice(0, 60),
      'client_secret',
      CLIENT_SECRET,
      CARD_FINGERPRINT,
      LAST4,
      'payment_method_details',
      ...signatures,
      ...signatures.map((sig) => sig.split('v1=')[1]!),
    ]) {
      expect(output, forbidden).not.toContain(forbidden);
    }
  });
});
