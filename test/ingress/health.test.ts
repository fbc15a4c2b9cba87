/**
 * GET /health against a real SQS (fauxqs on 127.0.0.1): healthy while the event queue answers, 503 with a reason when
 * it is gone, unreachable or hanging, and the result cached so a storm of health checks makes one SQS call.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createIngress } from '../../lambdas/ingress/core';
import { DEFAULT_HEALTH_CACHE_MS, type HealthCheck, queueHealthCheck } from '../../lambdas/ingress/health';
import type { QueueClient } from '../../lambdas/shared/queue-client';
import { staticSecret } from '../../lambdas/shared/secrets';
import { closedPort, httpEvent, type LocalSqs, queueClient, quietLogger, SECRET, startLocalSqs } from './helpers';

let local: LocalSqs;
let queueUrl: string;
let hangingServer: Server;
const hangingSockets = new Set<Socket>();

beforeAll(async () => {
  local = await startLocalSqs();
  // Accepts connections and never answers: a queue endpoint that hangs.
  hangingServer = createServer((socket) => {
    hangingSockets.add(socket);
    socket.on('close', () => hangingSockets.delete(socket));
  });
  await new Promise<void>((resolve) => hangingServer.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  for (const socket of hangingSockets) socket.destroy();
  await new Promise<void>((resolve) => hangingServer.close(() => resolve()));
  await local.close();
});
beforeEach(async () => {
  queueUrl = await local.freshFifoQueue();
});

/** The ingress's SQS client (aws4 JSON) on `endpoint`, counting the GetQueueAttributes calls it is asked for. */
function countingClient(endpoint: string, extra: Parameters<typeof queueClient>[1] = {}) {
  const inner = queueClient(endpoint, extra);
  const counter = { probes: 0 };
  const client: QueueClient = {
    sendMessage: (input) => inner.sendMessage(input),
    getQueueAttributes: (input, options) => {
      counter.probes += 1;
      return inner.getQueueAttributes(input, options);
    },
  };
  return { client, counter };
}

function ingressWith(sqs: QueueClient, health?: HealthCheck) {
  return createIngress({
    sqs,
    queueUrl,
    webhookSecrets: staticSecret(SECRET),
    toleranceSeconds: 300,
    maxBodyBytes: 64 * 1024,
    maxMessageBytes: 256 * 1024,
    logger: quietLogger(),
    ...(health ? { health } : {}),
  });
}

async function getHealth(ingress: ReturnType<typeof ingressWith>): Promise<APIGatewayProxyStructuredResultV2> {
  return ingress.handleHttp(httpEvent({ method: 'GET', path: '/health' }));
}

function bodyOf(res: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(res.body ?? 'null') as Record<string, unknown>;
}

describe('GET /health', () => {
  it('answers 200 {"status":"ok"} while the event queue answers (the text the Route 53 check matches)', async () => {
    const res = await getHealth(ingressWith(local.queue));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('"status":"ok"');
    expect(res.headers).toMatchObject({ 'cache-control': 'no-store' });
  });

  it('answers 503 queue_not_found once the event queue is deleted, without revealing the queue URL', async () => {
    await local.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    const res = await getHealth(ingressWith(local.queue));
    expect(res.statusCode).toBe(503);
    expect(bodyOf(res)).toMatchObject({ status: 'unhealthy', reason: 'queue_not_found' });
    expect(res.body).not.toContain('"status":"ok"');
    expect(res.body).not.toContain(new URL(queueUrl).pathname);
  });

  it('answers 503 queue_unreachable when SQS cannot be reached', async () => {
    const { client } = countingClient(`http://127.0.0.1:${await closedPort()}`, { maxAttempts: 1 });
    const res = await getHealth(ingressWith(client));
    expect(res.statusCode).toBe(503);
    expect(bodyOf(res)).toMatchObject({ reason: 'queue_unreachable' });
  });

  it('answers 503 queue_timeout when SQS accepts the connection and never answers', async () => {
    const port = (hangingServer.address() as { port: number }).port;
    const { client } = countingClient(`http://127.0.0.1:${port}`);
    const res = await getHealth(ingressWith(client, queueHealthCheck(client, queueUrl, { timeoutMs: 200 })));
    expect(res.statusCode).toBe(503);
    expect(bodyOf(res)).toMatchObject({ reason: 'queue_timeout' });
  });
});

describe('the health check cache', () => {
  it('reuses a result for 30 s: a deleted queue shows only once the cached healthy answer expires', async () => {
    let clock = 1_000_000;
    const { client, counter } = countingClient(local.endpoint);
    const ingress = ingressWith(client, queueHealthCheck(client, queueUrl, { now: () => clock }));

    expect((await getHealth(ingress)).statusCode).toBe(200);
    await local.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    clock += DEFAULT_HEALTH_CACHE_MS - 1;
    expect((await getHealth(ingress)).statusCode).toBe(200);
    expect(counter.probes).toBe(1);

    clock += 1;
    expect((await getHealth(ingress)).statusCode).toBe(503);
    expect(counter.probes).toBe(2);
  });

  it('caches an unhealthy answer too, so a failing SQS is not hammered', async () => {
    let clock = 5_000_000;
    const { client, counter } = countingClient(`http://127.0.0.1:${await closedPort()}`, { maxAttempts: 1 });
    const check = queueHealthCheck(client, queueUrl, { now: () => clock });
    expect((await check()).healthy).toBe(false);
    for (let i = 0; i < 20; i++) expect((await check()).healthy).toBe(false);
    expect(counter.probes).toBe(1);
    clock += DEFAULT_HEALTH_CACHE_MS;
    await check();
    expect(counter.probes).toBe(2);
  });

  it('lets a burst of concurrent health checks share one probe', async () => {
    const { client, counter } = countingClient(local.endpoint);
    const ingress = ingressWith(client, queueHealthCheck(client, queueUrl));
    const results = await Promise.all(Array.from({ length: 50 }, () => getHealth(ingress)));
    expect(results.map((r) => r.statusCode)).toEqual(Array(50).fill(200));
    expect(counter.probes).toBe(1);
  });

  it('recovers: a queue that comes back reports healthy once the cached failure expires', async () => {
    let clock = 9_000_000;
    const { client } = countingClient(local.endpoint);
    const missing = queueUrl.replace(/events-\d+/, 'not-yet');
    const check = queueHealthCheck(client, missing, { now: () => clock });
    expect(await check()).toMatchObject({ healthy: false, reason: 'queue_not_found' });
    // The queue is (re)created under that name.
    const recreated = await local.sqs.send(
      new CreateQueueCommand({
        QueueName: new URL(missing).pathname.split('/').pop()!,
        Attributes: { FifoQueue: 'true' },
      }),
    );
    expect(recreated.QueueUrl).toBe(missing);
    expect((await check()).healthy).toBe(false);
    clock += DEFAULT_HEALTH_CACHE_MS;
    expect((await check()).healthy).toBe(true);
  });
});

describe('the probe', () => {
  /** A queue client whose GetQueueAttributes answers with `answer` and records what it was asked. */
  function scriptedClient(answer: (options?: { readonly abortSignal?: AbortSignal }) => Promise<unknown>) {
    const calls: Array<{ input: unknown; signal: AbortSignal | undefined }> = [];
    const client: QueueClient = {
      sendMessage: () => Promise.reject(new Error('not used')),
      getQueueAttributes: async (input, options) => {
        calls.push({ input, signal: options?.abortSignal });
        await answer(options);
        return { Attributes: { QueueArn: 'arn:aws:sqs:us-east-1:123456789012:events.fifo' } };
      },
    };
    return { client, calls };
  }

  const thrown = (err: unknown) => scriptedClient(() => Promise.reject(err));

  it.each([
    [
      'an SDK error named QueueDoesNotExist',
      Object.assign(new Error('gone'), { name: 'QueueDoesNotExist' }),
      'queue_not_found',
    ],
    ['a plain object with the legacy Code', { Code: 'AWS.SimpleQueueService.NonExistentQueue' }, 'queue_not_found'],
    [
      'an error with an AccessDenied code',
      Object.assign(new Error('no'), { code: 'AccessDenied' }),
      'queue_access_denied',
    ],
    [
      'an error named KMS.AccessDeniedException',
      Object.assign(new Error('no'), { name: 'KMS.AccessDeniedException' }),
      'queue_access_denied',
    ],
    [
      'an error with a Code and a code',
      Object.assign(new Error('x'), { Code: 'NotAuthorized', code: 'ECONNRESET' }),
      'queue_access_denied',
    ],
    ['undefined', undefined, 'queue_unreachable'],
    ['null', null, 'queue_unreachable'],
    ['a network error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'queue_unreachable'],
  ])('reads %s as %s', async (_name, err, reason) => {
    const { client } = thrown(err);
    expect(await queueHealthCheck(client, queueUrl)()).toMatchObject({ healthy: false, reason });
  });

  it('asks for the queue ARN only, with an abort signal that is not fired when SQS answers in time', async () => {
    vi.useFakeTimers();
    try {
      const { client, calls } = scriptedClient(async () => undefined);
      expect(await queueHealthCheck(client, queueUrl, { now: () => 1 })()).toEqual({ healthy: true, checkedAt: 1 });
      expect(calls.map((c) => c.input)).toEqual([{ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }]);
      // The probe's timer is gone once it answered: nothing fires the signal later.
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(10 * DEFAULT_HEALTH_CACHE_MS);
      expect(calls[0]?.signal?.aborted).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('fires the abort signal when the probe overruns its timeout', async () => {
    const { client, calls } = scriptedClient(
      (options) =>
        new Promise((_resolve, reject) => {
          if (!options?.abortSignal) reject(new Error('probe without an abort signal'));
          options?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    );
    expect(await queueHealthCheck(client, queueUrl, { timeoutMs: 20 })()).toMatchObject({ reason: 'queue_timeout' });
    expect(calls[0]?.signal?.aborted).toBe(true);
  });

  it('logs a failed probe once, with its reason and the error', async () => {
    const { client } = thrown(Object.assign(new Error('no'), { name: 'AccessDenied' }));
    const warnings: unknown[][] = [];
    const logger = quietLogger();
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
    const check = queueHealthCheck(client, queueUrl, { logger, now: () => 1 });
    await check();
    await check();
    expect(warnings).toEqual([
      [
        'health check failed: the event queue did not answer',
        { reason: 'queue_access_denied', error: 'AccessDenied: no' },
      ],
    ]);
  });
});
