/**
 * Bench 1, ingress verification: signature checks per second of the hand-written verifier against
 * `stripe.webhooks.constructEvent`, and whole ingress requests per second (`createIngress(...).handleHttp`) against
 * a naive handler, with AWS stubbed at the network boundary (see lib/aws-stubs.ts). Also the per-request time of
 * both handlers against a real local SQS (fauxqs), which the cost model uses as the ingress Lambda's duration.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import Stripe from 'stripe';
import { createIngress, METRICS_NAMESPACE } from '../lambdas/ingress/core';
import { ingressMetricsLogger } from '../lambdas/ingress/metrics-logger';
import { verifyStripeSignature } from '../lambdas/ingress/signature';
import { sdkQueueClient } from '../lambdas/shared/sdk-queue-client';
import { secretsManagerSecret } from '../lambdas/shared/secrets';
import { startSqs } from '../local/stand-ins';
import { type StubbedSecretsManager, stubbedSecretsManager, stubbedSqs } from './lib/aws-stubs';
import { captureStdout } from './lib/log-capture';
import { opsPerSecond, sequentialDurations } from './lib/measure';
import { mean, median, percentile } from './lib/stats';
import { eventBodyOfSize, signatureHeader, webhookRequest } from './lib/stripe-events';
import { createNaiveIngress } from './naive/ingress-core';

const SECRET = 'whsec_bench_0000000000000000000000000000';
const SECRET_ID = 'stripe-webhooks/webhook-signing-secret';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/stripe-webhooks-events.fifo';
/** What the Ingress construct passes: the queue's 256 KiB limit minus room for message attributes. */
const MAX_MESSAGE_BYTES = 262_144;
const SERVICE = 'stripe-ingress';

/** Rates are per CPU-second of the bench process (see lib/measure.ts). */
export interface SignatureRow {
  readonly bodyBytes: number;
  /** verifyStripeSignature on the raw bytes (Buffer.from(body) included, as the ingress does it). */
  readonly verifyPerSecond: number;
  /** The same plus JSON.parse: the same work as constructEvent, which returns the parsed event. */
  readonly verifyAndParsePerSecond: number;
  readonly constructEventPerSecond: number;
}

/** Rates are per CPU-second of the bench process (see lib/measure.ts). */
export interface HandlerRow {
  readonly bodyBytes: number;
  /** createIngress(...).handleHttp + publishing its EMF metrics, as the Lambda does per request. */
  readonly oursPerSecond: number;
  /** constructEvent + GetSecretValue + SendMessage. */
  readonly naivePerSecond: number;
  /** Secrets Manager calls each made during its measurement (cache vs none). */
  readonly oursSecretCalls: number;
  readonly naiveSecretCalls: number;
  readonly requestsMeasured: { ours: number; naive: number };
}

export interface DurationStats {
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly meanMs: number;
  /** Lambda bills each invocation rounded up to the millisecond: the mean of ceil(ms). */
  readonly meanBilledMs: number;
  readonly samples: number;
}

export interface IngressResults {
  readonly signature: SignatureRow[];
  readonly handler: HandlerRow[];
  /** One request at a time against fauxqs (a Lambda container serves one request at a time), 2 KB events. */
  readonly sequentialAgainstLocalSqs: { readonly ours: DurationStats; readonly naive: DurationStats };
  /** What the ingress logs per accepted webhook (Powertools lines with the Lambda context, EMF metrics; none at INFO). */
  readonly logPerRequest: { readonly bytes: number; readonly lines: number };
  /** What the naive twin logs per accepted webhook (its console.log line). */
  readonly naiveLogPerRequest: { readonly bytes: number; readonly lines: number };
  /** Bytes the Lambda context keys add to each Powertools line (applied to the processor's lines, logged locally). */
  readonly lambdaContextBytesPerLine: number;
}

export function durationStats(samples: readonly number[]): DurationStats {
  return {
    medianMs: median(samples),
    p95Ms: percentile(samples, 95),
    meanMs: mean(samples),
    meanBilledMs: mean(samples.map((ms) => Math.max(1, Math.ceil(ms)))),
    samples: samples.length,
  };
}

/** A Lambda context as Powertools reads it, so log lines carry the keys they carry in AWS. */
export function fakeLambdaContext(functionName: string, memoryMb: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The project's ingress as the Lambda runs it: Powertools logger (with the Lambda context keys) at INFO, EMF metrics
 * published after every request (as logMetrics() does), the signing secret read through the Secrets Manager cache.
 */
async function projectIngress(
  sqs: SQSClient,
  queueUrl: string,
  secretsManager: StubbedSecretsManager,
): Promise<(request: APIGatewayProxyEventV2) => Promise<void>> {
  const logger = new Logger({ serviceName: SERVICE, logLevel: 'INFO' });
  logger.addContext(fakeLambdaContext('stripe-webhooks-ingress', 256));
  // The handler's metrics logger: most requests publish no metric, and Powertools would say so on each one.
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE,
    logger: ingressMetricsLogger(logger),
  });
  const ingress = createIngress({
    // The SDK at the wire, like the twin: this bench compares per-request CPU of the handlers (the cold path,
    // where the deployed aws4 client matters, is bench/cold-path.ts).
    sqs: sdkQueueClient(sqs),
    queueUrl,
    webhookSecrets: await secretsManagerSecret(SECRET_ID, { maxAgeSeconds: 300, client: secretsManager.client }),
    toleranceSeconds: 300,
    maxBodyBytes: 1_048_576,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    logger,
    metrics,
  });
  return async (request) => {
    const res = await ingress.handleHttp(request);
    metrics.publishStoredMetrics();
    if (res.statusCode !== 200) throw new Error(`the ingress answered ${res.statusCode}: ${res.body}`);
  };
}

/** The naive twin over the same clients; throws unless it accepts the request. */
function naiveIngress(
  sqs: SQSClient,
  queueUrl: string,
  secretsManager: StubbedSecretsManager,
): (request: APIGatewayProxyEventV2) => Promise<void> {
  const handler = createNaiveIngress({
    sqs,
    secretsManager: secretsManager.client,
    queueUrl,
    webhookSecretId: SECRET_ID,
  });
  return async (request) => {
    const res = await handler(request);
    if (res.statusCode !== 200) throw new Error(`the naive ingress answered ${res.statusCode}`);
  };
}

async function signatureRows(sizes: readonly number[], progress: (s: string) => void): Promise<SignatureRow[]> {
  const rows: SignatureRow[] = [];
  for (const size of sizes) {
    const body = eventBodyOfSize(size);
    const header = signatureHeader(body, SECRET);
    const opts = { toleranceSeconds: 300 };
    // Check once that both accept the payload, so the bench never times a fast rejection.
    if (!verifyStripeSignature(Buffer.from(body, 'utf8'), header, [SECRET], opts).ok) throw new Error('verify failed');
    Stripe.webhooks.constructEvent(body, header, SECRET, 300);
    progress(`signature checks, ${size} B body`);
    const ops = await opsPerSecond({
      verify: () => verifyStripeSignature(Buffer.from(body, 'utf8'), header, [SECRET], opts),
      verifyAndParse: () => {
        const raw = Buffer.from(body, 'utf8');
        if (verifyStripeSignature(raw, header, [SECRET], opts).ok) JSON.parse(raw.toString('utf8'));
      },
      constructEvent: () => Stripe.webhooks.constructEvent(body, header, SECRET, 300),
    });
    rows.push({
      bodyBytes: Buffer.byteLength(body),
      verifyPerSecond: ops.verify!,
      verifyAndParsePerSecond: ops.verifyAndParse!,
      constructEventPerSecond: ops.constructEvent!,
    });
  }
  return rows;
}

async function handlerRows(
  sizes: readonly number[],
  progress: (s: string) => void,
): Promise<{
  rows: HandlerRow[];
  logPerRequest: { bytes: number; lines: number };
  naiveLogPerRequest: { bytes: number; lines: number };
}> {
  const rows: HandlerRow[] = [];
  let logPerRequest = { bytes: 0, lines: 0 };
  let naiveLogPerRequest = { bytes: 0, lines: 0 };
  for (const size of sizes) {
    const body = eventBodyOfSize(size);
    const request = webhookRequest(body, signatureHeader(body, SECRET));
    const oursSqs = stubbedSqs();
    const oursSm = stubbedSecretsManager(SECRET);
    const ours = await projectIngress(oursSqs.client, QUEUE_URL, oursSm);
    const naiveSqs = stubbedSqs();
    const naiveSm = stubbedSecretsManager(SECRET);
    const naive = naiveIngress(naiveSqs.client, QUEUE_URL, naiveSm);
    progress(`ingress handler, ${size} B body`);
    const capture = captureStdout([SERVICE]);
    let ops: Record<string, number>;
    try {
      // A few requests alone first, to read what one accepted webhook logs.
      for (let i = 0; i < 10; i++) await ours(request);
      const tally = capture.tally();
      // Then the twin's: its lines carry no service, so they are counted as 'other'.
      for (let i = 0; i < 10; i++) await naive(request);
      const twin = capture.tally();
      if (size === sizes[0]) {
        logPerRequest = { bytes: (tally.bytes[SERVICE] ?? 0) / 10, lines: (tally.lines[SERVICE] ?? 0) / 10 };
        naiveLogPerRequest = {
          bytes: ((twin.bytes.other ?? 0) - (tally.bytes.other ?? 0)) / 10,
          lines: ((twin.lines.other ?? 0) - (tally.lines.other ?? 0)) / 10,
        };
      }
      ops = await opsPerSecond({ ours: () => ours(request), naive: () => naive(request) }, { rounds: 7, roundMs: 300 });
    } finally {
      capture.stop();
    }
    rows.push({
      bodyBytes: Buffer.byteLength(body),
      oursPerSecond: ops.ours!,
      naivePerSecond: ops.naive!,
      oursSecretCalls: oursSm.calls.getSecretValue,
      naiveSecretCalls: naiveSm.calls.getSecretValue,
      requestsMeasured: { ours: oursSqs.sent.messages, naive: naiveSqs.sent.messages },
    });
  }
  return { rows, logPerRequest, naiveLogPerRequest };
}

async function sequentialLatency(
  progress: (s: string) => void,
): Promise<{ ours: DurationStats; naive: DurationStats }> {
  const sqs = await startSqs();
  const capture = captureStdout([SERVICE]);
  try {
    const queue = await sqs.client.send(
      new CreateQueueCommand({ QueueName: 'bench-ingress.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    const queueUrl = queue.QueueUrl!;
    const ours = await projectIngress(sqs.client, queueUrl, stubbedSecretsManager(SECRET));
    const naive = naiveIngress(sqs.client, queueUrl, stubbedSecretsManager(SECRET));
    const count = 300;
    const requests = Array.from({ length: count * 2 }, (_, i) => {
      const body = eventBodyOfSize(2048, `evt_bench_seq_${i}`, `pi_bench_seq_${i}`);
      return webhookRequest(body, signatureHeader(body, SECRET));
    });
    progress('ingress handler against fauxqs, one request at a time');
    // Warm both up (connection pool, JIT) before timing.
    for (let i = 0; i < 20; i++) {
      await ours(requests[i]!);
      await naive(requests[count + i]!);
    }
    const oursSamples: number[] = [];
    const naiveSamples: number[] = [];
    // Alternate request by request, so both see the same machine load.
    for (let i = 20; i < count; i++) {
      oursSamples.push(...(await sequentialDurations(() => ours(requests[i]!), 1)));
      naiveSamples.push(...(await sequentialDurations(() => naive(requests[count + i]!), 1)));
    }
    return { ours: durationStats(oursSamples), naive: durationStats(naiveSamples) };
  } finally {
    capture.stop();
    await sqs.close();
  }
}

/** How many bytes the Lambda context keys add to one Powertools log line. */
function lambdaContextBytesPerLine(): number {
  const bare = new Logger({ serviceName: 'ctx-probe-a', logLevel: 'INFO' });
  const withContext = new Logger({ serviceName: 'ctx-probe-b', logLevel: 'INFO' });
  withContext.addContext(fakeLambdaContext('stripe-webhooks-processor', 512));
  const capture = captureStdout(['ctx-probe-a', 'ctx-probe-b']);
  try {
    bare.info('event processed', { eventId: 'evt_1' });
    withContext.info('event processed', { eventId: 'evt_1' });
  } finally {
    capture.stop();
  }
  const { bytes } = capture.tally();
  return (bytes['ctx-probe-b'] ?? 0) - (bytes['ctx-probe-a'] ?? 0);
}

/** Runs bench 1. */
export async function runIngressBench(progress: (s: string) => void): Promise<IngressResults> {
  const sizes = [2048, 51_200];
  const signature = await signatureRows(sizes, progress);
  const { rows: handler, logPerRequest, naiveLogPerRequest } = await handlerRows(sizes, progress);
  const sequentialAgainstLocalSqs = await sequentialLatency(progress);
  return {
    signature,
    handler,
    sequentialAgainstLocalSqs,
    logPerRequest,
    naiveLogPerRequest,
    lambdaContextBytesPerLine: lambdaContextBytesPerLine(),
  };
}
