/**
 * Test helpers for the ingress: a real fauxqs SQS on 127.0.0.1, API Gateway v2 / EventBridge event builders, and
 * Stripe-shaped events signed with the stripe package (the reference signer).
 */
import { createServer } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateQueueCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, EventBridgeEvent } from 'aws-lambda';
import { buildApp } from 'fauxqs';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createIngress, type Ingress, type IngressDeps } from '../../lambdas/ingress/core';
import { type AwsJsonClientOptions, awsJsonClient } from '../../lambdas/shared/aws-json';
import { jsonQueueClient, type QueueClient } from '../../lambdas/shared/queue-client';
import { staticSecret } from '../../lambdas/shared/secrets';

export const NOW_MS = 1_760_000_000_000;
export const NOW_S = NOW_MS / 1000;
export const SECRET = 'whsec_ingress_test_secret_1';

type FauxqsApp = ReturnType<typeof buildApp>;

/** A fauxqs server and an SQS client pointed at it. */
export interface LocalSqs {
  readonly endpoint: string;
  readonly sqs: SQSClient;
  /** The client the deployed ingress uses (aws4 JSON over HTTP), on the same fauxqs. */
  readonly queue: QueueClient;
  /** Creates a new, empty FIFO queue (one per test keeps tests and FIFO dedup windows apart). */
  freshFifoQueue(): Promise<string>;
  /** Every message currently visible on the queue (received once, so a second call returns none of them). */
  drain(queueUrl: string): Promise<Message[]>;
  close(): Promise<void>;
}

export function sqsClient(endpoint: string, extra: SQSClientConfig = {}): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...extra,
  });
}

/** The deployed ingress's SQS client (aws-json.ts) on `endpoint`; `extra` e.g. `{ maxAttempts: 1 }`. */
export function queueClient(endpoint: string, extra: Partial<AwsJsonClientOptions> = {}): QueueClient {
  return jsonQueueClient(
    awsJsonClient({
      service: 'sqs',
      region: 'us-east-1',
      endpoint,
      credentials: () => ({ accessKeyId: 'test', secretAccessKey: 'test' }),
      ...extra,
    }),
  );
}

export async function startLocalSqs(): Promise<LocalSqs> {
  const app: FauxqsApp = buildApp({ logger: false });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  const sqs = sqsClient(endpoint);
  let n = 0;
  return {
    endpoint,
    sqs,
    queue: queueClient(endpoint),
    async freshFifoQueue() {
      n += 1;
      const out = await sqs.send(
        new CreateQueueCommand({ QueueName: `events-${n}.fifo`, Attributes: { FifoQueue: 'true' } }),
      );
      if (!out.QueueUrl) throw new Error('fauxqs returned no QueueUrl');
      return out.QueueUrl;
    },
    async drain(queueUrl) {
      const all: Message[] = [];
      for (;;) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 300,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const batch = out.Messages ?? [];
        if (batch.length === 0) return all;
        all.push(...batch);
      }
    },
    async close() {
      sqs.destroy();
      await app.close();
    },
  };
}

/** A 127.0.0.1 port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A logger that keeps quiet unless a test captures stdout. */
export function quietLogger(logLevel: 'SILENT' | 'DEBUG' = 'SILENT'): Logger {
  return new Logger({ serviceName: 'ingress-test', logLevel });
}

/** A classic (snapshot) Stripe event about a payment intent. */
export function paymentIntentEvent(
  overrides: { id?: string; type?: string; account?: string; objectId?: string; extra?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    id: overrides.id ?? 'evt_1PgaTest000000000000001',
    object: 'event',
    api_version: '2025-09-30.clover',
    created: NOW_S - 5,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: overrides.type ?? 'payment_intent.succeeded',
    ...(overrides.account ? { account: overrides.account } : {}),
    data: {
      object: {
        id: overrides.objectId ?? 'pi_1PgafyB7WZ01zgkWSjxsAJo3',
        object: 'payment_intent',
        amount: 1099,
        currency: 'usd',
        status: 'succeeded',
        livemode: false,
        metadata: {},
        ...overrides.extra,
      },
    },
  };
}

/** A thin (v2) event: no object payload, only a pointer to it. */
export function thinEvent(id = 'evt_test_65R9Ijk8ThinEvent0001'): Record<string, unknown> {
  return {
    id,
    object: 'v2.core.event',
    type: 'v1.billing.meter.error_report_triggered',
    livemode: false,
    created: new Date(NOW_MS - 5000).toISOString(),
    related_object: { id: 'mtr_test_61R9Ijk8', type: 'billing.meter', url: '/v1/billing/meters/mtr_test_61R9Ijk8' },
  };
}

/** A Stripe-Signature header over `payload`, made by stripe-node. */
export function signHeader(payload: string, opts: { secret?: string; timestamp?: number } = {}): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: opts.secret ?? SECRET,
    timestamp: opts.timestamp ?? NOW_S,
  });
}

/** An API Gateway HTTP API (payload 2.0) request event. */
export function httpEvent(
  opts: {
    method?: string;
    path?: string;
    body?: string;
    headers?: Record<string, string>;
    isBase64Encoded?: boolean;
    stage?: string;
    sourceIp?: string;
  } = {},
): APIGatewayProxyEventV2 {
  const method = opts.method ?? 'POST';
  const path = opts.path ?? '/stripe/webhook';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: opts.headers ?? {},
    requestContext: {
      accountId: '123456789012',
      apiId: 'api123',
      domainName: 'api123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: opts.sourceIp ?? '3.18.12.63', userAgent: 'Stripe/1.0' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: opts.stage ?? '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: NOW_MS,
    },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    isBase64Encoded: opts.isBase64Encoded ?? false,
  };
}

/**
 * An API Gateway REST API (Lambda proxy, payload 1.0) request event, as API Gateway builds it: header names as the
 * client sent them, repeated headers in `multiValueHeaders`, the peer address in `requestContext.identity`.
 */
export function restEvent(
  opts: {
    method?: string;
    path?: string;
    body?: string;
    headers?: Record<string, string>;
    multiValueHeaders?: Record<string, string[]>;
    isBase64Encoded?: boolean;
    sourceIp?: string;
    stage?: string;
  } = {},
): APIGatewayProxyEvent {
  const method = opts.method ?? 'POST';
  const path = opts.path ?? '/stripe/webhook';
  const headers = opts.headers ?? {};
  const stage = opts.stage ?? 'webhooks';
  return {
    resource: path,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders:
      opts.multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]] as const)),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: opts.body ?? null,
    isBase64Encoded: opts.isBase64Encoded ?? false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'rest123',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: opts.sourceIp ?? '3.18.12.63',
        user: null,
        userAgent: 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        userArn: null,
      },
      path: `/${stage}${path}`,
      stage,
      requestId: 'rest-req-1',
      requestTimeEpoch: NOW_MS,
      resourceId: 'abc123',
      resourcePath: path,
    },
  };
}

/** A webhook delivery as Stripe makes it: JSON body, signed, with Stripe's Content-Type. */
export function signedWebhook(
  event: unknown,
  opts: { secret?: string; timestamp?: number; base64?: boolean; headers?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const payload = typeof event === 'string' ? event : JSON.stringify(event);
  return httpEvent({
    body: opts.base64 ? Buffer.from(payload, 'utf8').toString('base64') : payload,
    isBase64Encoded: opts.base64 ?? false,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': signHeader(payload, opts),
      ...opts.headers,
    },
  });
}

/** An event from Stripe's EventBridge partner bus. */
export function eventBridgeEvent(
  detail: unknown,
  overrides: { source?: string; detailType?: string } = {},
): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: 'eb-6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type':
      overrides.detailType ??
      (typeof detail === 'object' && detail !== null ? String((detail as { type?: unknown }).type) : 'unknown'),
    source: overrides.source ?? 'aws.partner/stripe.com/ed_test_61RM8ltWcTW4mbsxf16RJyfa2xSQLHJJh1sxm7H0KVT6',
    account: '123456789012',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

/** What useIngressQueue gives a test file. */
export interface IngressQueue {
  /** The current test's FIFO queue. */
  readonly url: string;
  /** Receives (and deletes) everything on the current test's queue. */
  drain(): Promise<Message[]>;
  /** The ingress core over the current test's queue, with the file's defaults and then `overrides` applied. */
  ingress(overrides?: Partial<IngressDeps>): Ingress;
}

/**
 * The ingress tests' set-up: one fauxqs for the file (closed after it) and a fresh FIFO queue per test, with the
 * core built over them: signing secret SECRET, a 300 s tolerance, a 64 KB body limit, the clock at NOW_MS.
 */
export function useIngressQueue(defaults: Partial<IngressDeps> = {}): IngressQueue {
  let local: LocalSqs | undefined;
  let url = '';
  const sqs = () => {
    if (!local) throw new Error('useIngressQueue: the local SQS is not started (call it at the top of a test file)');
    return local;
  };
  beforeAll(async () => {
    local = await startLocalSqs();
  });
  afterAll(async () => {
    await local?.close();
  });
  beforeEach(async () => {
    url = await sqs().freshFifoQueue();
  });
  return {
    get url() {
      return url;
    },
    drain: () => sqs().drain(url),
    ingress: (overrides = {}) =>
      createIngress({
        sqs: sqs().queue,
        queueUrl: url,
        webhookSecrets: staticSecret(SECRET),
        toleranceSeconds: 300,
        maxBodyBytes: 64 * 1024,
        maxMessageBytes: 256 * 1024,
        logger: quietLogger(),
        now: () => NOW_MS,
        ...defaults,
        ...overrides,
      }),
  };
}
