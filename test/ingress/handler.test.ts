/**
 * The Lambda entry point as AWS runs it: environment in, middy + Powertools middleware around the core, SQS and
 * Secrets Manager through the aws4 JSON client and the SDK's endpoint variables (fauxqs and the local Secrets
 * Manager, which checks every signature, here), credentials from the environment as Lambda sets them.
 * Also pins what keeps cold starts short: importing calls no AWS API, and the bundle leaves the stripe package and
 * the AWS SDK out.
 */
import type { Context } from 'aws-lambda';
import { build } from 'esbuild';
import { interceptLocalhostDns } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeMessage } from '../../lambdas/shared/queue-message';
import { type SecretsManagerStub, startSecretsManagerStub } from '../../local/secrets-manager';
import { LOCAL_CREDENTIALS } from '../../local/stand-ins';
import { captureOutput } from '../support/capture-output';
import {
  eventBridgeEvent,
  httpEvent,
  type LocalSqs,
  paymentIntentEvent,
  SECRET,
  signedWebhook,
  startLocalSqs,
} from './helpers';

let secretsManager: SecretsManagerStub;
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
  secretsManager = await startSecretsManagerStub();
  secretsManager.setSecret('stripe/webhook-signing', SECRET);
  vi.stubEnv('QUEUE_URL', queueUrl);
  vi.stubEnv('WEBHOOK_SECRET_ID', 'stripe/webhook-signing');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
  vi.stubEnv('AWS_SESSION_TOKEN', 'session-token-as-lambda-sets-it');
  vi.stubEnv('AWS_ENDPOINT_URL_SQS', new URL(queueUrl).origin);
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.endpoint);
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  ({ handler } = await import('../../lambdas/ingress/handler'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  restoreDns();
  await secretsManager.close();
  await local.close();
});

describe('ingress Lambda handler', () => {
  it('calls no AWS API when the module is imported', () => {
    expect(secretsManager.calls).toEqual({});
  });

  it('verifies with the Secrets Manager secret, enqueues, answers 200, and reuses the cached secret', async () => {
    const now = Math.floor(Date.now() / 1000);
    const first = paymentIntentEvent({ id: 'evt_handler_1', objectId: 'pi_h1' });
    const second = paymentIntentEvent({ id: 'evt_handler_2', objectId: 'pi_h2' });

    const res1 = await handler(signedWebhook(first, { timestamp: now }), context);
    const res2 = await handler(signedWebhook(second, { timestamp: now }), context);

    expect(res1).toMatchObject({ statusCode: 200 });
    expect(JSON.parse((res2 as { body: string }).body)).toEqual({ received: true, eventId: 'evt_handler_2' });
    expect(secretsManager.calls).toEqual({ GetSecretValue: 1 });
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
  it('logs with the invocation context and publishes the metrics of each invocation', async () => {
    // A forged webhook: its WARN line passes the test's POWERTOOLS_LOG_LEVEL (WARN).
    const forged = signedWebhook(paymentIntentEvent({ id: 'evt_handler_ctx' }), { secret: 'whsec_forged' });
    let res: unknown;
    const lines = (
      await captureOutput(async () => {
        res = await handler(forged, context);
      })
    ).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(res).toMatchObject({ statusCode: 400 });
    expect(lines.find((l) => l.message === 'request rejected')).toMatchObject({
      reason: 'bad_signature',
      function_request_id: context.awsRequestId,
      function_name: context.functionName,
    });
    const emf = lines.filter((l) => '_aws' in l);
    expect(emf.some((l) => l.WebhookRejected === 1 && l.Reason === 'bad_signature')).toBe(true);
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
  /** The ingress bundled once: every input esbuild read, and the ones that put bytes in the output. */
  let inputs: string[];
  let inOutput: string[];
  beforeAll(async () => {
    const out = await build({
      entryPoints: ['lambdas/ingress/handler.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: 'out/index.mjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    inputs = Object.keys(out.metafile.inputs);
    // A lazy import the ingress never calls may be read, and is then dropped from the output.
    inOutput = Object.entries(Object.values(out.metafile.outputs)[0]!.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path);
  });

  it('bundles without the stripe package or zod (cold start)', () => {
    expect(inputs.some((p) => p.includes('lambdas/ingress/signature.ts'))).toBe(true);
    expect(inputs.filter((p) => /node_modules\/(stripe|zod)\//.test(p))).toEqual([]);
  });

  it('bundles no AWS SDK: SQS and Secrets Manager go through the aws4 client (lambdas/shared/aws-json.ts)', () => {
    expect(inOutput.some((p) => p.includes('node_modules/aws4/'))).toBe(true);
    expect(inOutput.filter((p) => /node_modules\/(@aws-sdk|@smithy)\//.test(p))).toEqual([]);
  });

  it('bundles no @middy/core: its stream imports cost every cold start (handler.ts)', () => {
    expect(inOutput.filter((p) => p.includes('node_modules/@middy/'))).toEqual([]);
  });

  it('bundles no X-Ray SDK: the ingress is traced by Lambda active tracing only (docs/observability.md)', () => {
    // Powertools Tracer would add ~120 KB (+31%) and 25-60 ms to every cold start Stripe waits on.
    expect(inputs.filter((p) => /node_modules\/(aws-xray-sdk-core|@aws-lambda-powertools\/tracer)\//.test(p))).toEqual(
      [],
    );
  });
});
