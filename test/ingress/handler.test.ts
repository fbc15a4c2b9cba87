/**
 * The Lambda entry point as AWS runs it: environment in, middy + Powertools middleware around the core, SQS through
 * the SDK's endpoint configuration (fauxqs here), the signing secret from Secrets Manager (mocked: no stand-in).
 * Also pins what keeps cold starts short: importing calls no AWS API, and the bundle leaves the stripe package out.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { build } from 'esbuild';
import { interceptLocalhostDns } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeMessage } from '../../lambdas/shared/queue-message';
import {
  eventBridgeEvent,
  httpEvent,
  type LocalSqs,
  paymentIntentEvent,
  SECRET,
  signedWebhook,
  startLocalSqs,
} from './helpers';

const secretsManager = mockClient(SecretsManagerClient);
let local: LocalSqs;
let queueUrl: string;
let restoreDns: () => void;
let handler: (event: unknown, context: Context) => Promise<unknown>;

const context: Context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'stripe-ingress',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:stripe-ingress',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/stripe-ingress',
  logStreamName: '2026/01/01/[$LATEST]abc',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

beforeAll(async () => {
  local = await startLocalSqs();
  // fauxqs names queues http://sqs.<region>.localhost:<port>/... and the SDK sends to a QueueUrl's host unless the
  // client sets `endpoint` itself (AWS_ENDPOINT_URL_SQS does not count): make *.localhost resolve to 127.0.0.1.
  restoreDns = interceptLocalhostDns();
  queueUrl = await local.freshFifoQueue();
  secretsManager.on(GetSecretValueCommand, { SecretId: 'stripe/webhook-signing' }).resolves({ SecretString: SECRET });
  vi.stubEnv('QUEUE_URL', queueUrl);
  vi.stubEnv('WEBHOOK_SECRET_ID', 'stripe/webhook-signing');
  vi.stubEnv('AWS_ENDPOINT_URL_SQS', new URL(queueUrl).origin);
  ({ handler } = await import('../../lambdas/ingress/handler'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  restoreDns();
  secretsManager.restore();
  await local.close();
});

describe('ingress Lambda handler', () => {
  it('calls no AWS API when the module is imported', () => {
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it('verifies with the Secrets Manager secret, enqueues, answers 200, and reuses the cached secret', async () => {
    const now = Math.floor(Date.now() / 1000);
    const first = paymentIntentEvent({ id: 'evt_handler_1', objectId: 'pi_h1' });
    const second = paymentIntentEvent({ id: 'evt_handler_2', objectId: 'pi_h2' });

    const res1 = await handler(signedWebhook(first, { timestamp: now }), context);
    const res2 = await handler(signedWebhook(second, { timestamp: now }), context);

    expect(res1).toMatchObject({ statusCode: 200 });
    expect(JSON.parse((res2 as { body: string }).body)).toEqual({ received: true, eventId: 'evt_handler_2' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    const ids = (await local.drain(queueUrl)).map((m) => decodeMessage(m.Body ?? '').eventId).sort();
    expect(ids).toEqual(['evt_handler_1', 'evt_handler_2']);
  });

  it('refuses a forged webhook with 400 and enqueues EventBridge events without a signature', async () => {
    const forged = signedWebhook(paymentIntentEvent({ id: 'evt_forged' }), { secret: 'whsec_forged' });
    expect(await handler(forged, context)).toMatchObject({ statusCode: 400 });
    expect(await handler(eventBridgeEvent(paymentIntentEvent({ id: 'evt_handler_eb' })), context)).toBeUndefined();
    const queued = (await local.drain(queueUrl)).map((m) => decodeMessage(m.Body ?? ''));
    expect(queued.map((m) => [m.eventId, m.source])).toEqual([['evt_handler_eb', 'eventbridge']]);
  });
  it('answers health checks without a metrics warning per call', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const res = await handler(httpEvent({ method: 'GET', path: '/health' }), context).finally(() => spy.mockRestore());
    expect(res).toMatchObject({ statusCode: 200 });
    expect(written.join('')).not.toContain('No application metrics');
  });
});

describe('ingress bundle', () => {
  it('bundles without the stripe package or zod (cold start)', async () => {
    const out = await build({
      entryPoints: ['lambdas/ingress/handler.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.some((p) => p.includes('lambdas/ingress/signature.ts'))).toBe(true);
    expect(inputs.filter((p) => /node_modules\/(stripe|zod)\//.test(p))).toEqual([]);
  });

  it('bundles no X-Ray SDK: the ingress is traced by Lambda active tracing only (docs/observability.md)', async () => {
    // Powertools Tracer would add ~120 KB (+31%) and 25-60 ms to every cold start Stripe waits on.
    const out = await build({
      entryPoints: ['lambdas/ingress/handler.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.filter((p) => /node_modules\/(aws-xray-sdk-core|@aws-lambda-powertools\/tracer)\//.test(p))).toEqual(
      [],
    );
  });
});
