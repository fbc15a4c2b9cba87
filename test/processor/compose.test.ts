/**
 * composeProcessor: the processor Lambda, the local runtime and these tests build the processor from the parsed
 * environment and clients through it, so what a variable says is what the processor does.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeProcessorDeps, sinkFor } from '../../lambdas/processor/compose';
import { LEASE_MARGIN_SECONDS, leaseSecondsFor, processorEnv } from '../../lambdas/processor/env';
import type { InvokeHandler } from '../../lambdas/processor/handler-lambdas';
import { parseEnv } from '../../lambdas/shared/env';
import { type EventSink, NO_SINK } from '../../lambdas/shared/sink';
import { createIdempotencyTable, LOCAL_REGION, type RunningService, startDynamo } from '../../local/stand-ins';

const TABLE = 'compose-idem';
const logger = new Logger({ serviceName: 'compose-test', logLevel: 'SILENT' });
const sink: EventSink = { publish: async () => undefined } as unknown as EventSink;
const sqs = new SQSClient({ region: LOCAL_REGION });
let dynamo: RunningService<DynamoDBClient>;

beforeAll(async () => {
  dynamo = await startDynamo();
  await createIdempotencyTable(dynamo.client, TABLE);
});
afterAll(async () => {
  sqs.destroy();
  await dynamo.close();
});

const env = (extra: Record<string, string> = {}) =>
  parseEnv(processorEnv, {
    TABLE_NAME: TABLE,
    STRIPE_API_KEY_SECRET_ID: 'key',
    EVENT_BUS_NAME: 'bus',
    QUEUE_URL: 'http://queue',
    DLQ_URL: 'http://dlq',
    LEASE_SECONDS: '45',
    ...extra,
  });

const clients = (extra: { invokeHandler?: InvokeHandler } = {}) => ({
  dynamo: dynamo.client,
  sqs,
  stripe: async () => {
    throw new Error('not called');
  },
  sink,
  logger,
  ...extra,
});

describe('composeProcessorDeps', () => {
  it("holds a claim for LEASE_SECONDS and keeps it in TABLE_NAME's table", async () => {
    const deps = composeProcessorDeps(env(), clients());
    const before = Date.now();
    const claim = await deps.store.claim('evt_compose_lease', { type: 'invoice.paid', messageId: 'm1' });
    expect(claim.outcome).toBe('claimed');
    const record = await deps.store.get('evt_compose_lease');
    expect(record?.leaseExpiresAtMs).toBeGreaterThanOrEqual(before + 45_000);
    expect(record?.leaseExpiresAtMs).toBeLessThanOrEqual(Date.now() + 45_000);
  });

  it('keeps a processed event id for DONE_TTL_DAYS', async () => {
    const deps = composeProcessorDeps(env({ DONE_TTL_DAYS: '40' }), clients());
    const claim = await deps.store.claim('evt_compose_ttl', { type: 'invoice.paid', messageId: 'm1' });
    if (claim.outcome !== 'claimed') throw new Error('not claimed');
    await deps.store.markDone('evt_compose_ttl', claim.token);
    const record = await deps.store.get('evt_compose_ttl');
    const days = ((record?.expiresAt ?? 0) - Date.now() / 1000) / 86_400;
    expect(days).toBeGreaterThan(39.9);
    expect(days).toBeLessThanOrEqual(40);
  });

  it("keeps the processor's time margin when one is given, else leaves the processor's default", () => {
    expect(composeProcessorDeps(env(), { ...clients(), timeMarginMs: 1_234 }).timeMarginMs).toBe(1_234);
    expect(composeProcessorDeps(env(), { ...clients(), timeMarginMs: 0 }).timeMarginMs).toBe(0);
    expect(composeProcessorDeps(env(), clients())).not.toHaveProperty('timeMarginMs');
  });

  it("holds a claim by default a minute past the processor's timeout", () => {
    expect(LEASE_MARGIN_SECONDS).toBe(60);
    expect(leaseSecondsFor(30)).toBe(90);
  });

  it('sends to the queues the environment names', () => {
    const deps = composeProcessorDeps(env(), clients());
    expect([deps.queueUrl, deps.dlqUrl]).toEqual(['http://queue', 'http://dlq']);
  });

  it('publishes to the bus EVENT_BUS_NAME names, and nowhere without one (eventSink.enabled: false)', async () => {
    const made: string[] = [];
    const make = (bus: string) => {
      made.push(bus);
      return sink;
    };
    expect(sinkFor(env(), make)).toBe(sink);
    expect(made).toEqual(['bus']);
    const withoutBus = parseEnv(processorEnv, {
      TABLE_NAME: TABLE,
      STRIPE_API_KEY_SECRET_ID: 'key',
      QUEUE_URL: 'http://queue',
      DLQ_URL: 'http://dlq',
      LEASE_SECONDS: '45',
    });
    expect(sinkFor(withoutBus, make)).toBe(NO_SINK);
    expect(made).toEqual(['bus']);
    await expect(NO_SINK.publish({} as never)).resolves.toBeUndefined();
  });

  it('invokes the handler Lambdas HANDLER_LAMBDAS lists, and refuses to start without a way to call them', () => {
    const targets = [{ name: 'fulfil', functionName: 'arn:fulfil', eventTypes: ['checkout.*'], timeoutMs: 5000 }];
    const withTargets = env({ HANDLER_LAMBDAS: JSON.stringify(targets) });
    const invokeHandler: InvokeHandler = async () => ({ status: 'ok' }) as never;
    expect(composeProcessorDeps(withTargets, clients({ invokeHandler })).handlerLambdas).toEqual({
      targets,
      invoke: invokeHandler,
    });
    expect(() => composeProcessorDeps(withTargets, clients())).toThrow(/HANDLER_LAMBDAS lists 1 handler/);
    expect(composeProcessorDeps(env(), clients({ invokeHandler })).handlerLambdas).toBeUndefined();
  });
});
