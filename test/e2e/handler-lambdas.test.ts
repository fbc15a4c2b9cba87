/**
 * `npm start`'s handler Lambdas: the local pipeline runs the example fulfilment handler from local/handlers.json
 * in-process, through the Lambda contract, after the object was fetched from the embedded Stripe.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { readSink } from '../../local/file-sink';
import { DEFAULT_LOCAL_HANDLERS_FILE, loadLocalHandlerLambdas } from '../../local/handler-lambdas';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins';
import { deliverSigned } from '../support/signed-delivery';

let pipeline: LocalPipeline;
let dir: string;
const logged: string[] = [];
const log = console.log;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e2e-handlers-'));
  const handlerLambdas = await loadLocalHandlerLambdas(DEFAULT_LOCAL_HANDLERS_FILE);
  if (!handlerLambdas) throw new Error(`${DEFAULT_LOCAL_HANDLERS_FILE} is missing`);
  pipeline = await startLocalPipeline({
    port: 0,
    sinkFile: join(dir, 'processed.jsonl'),
    logLevel: 'SILENT',
    handlerLambdas,
  });
  // The example handler logs its fulfilment to stdout (a Lambda's log group).
  console.log = (line: string) => logged.push(String(line));
});
afterAll(async () => {
  console.log = log;
  await pipeline.close();
  await rm(dir, { recursive: true, force: true });
});

describe('npm start with handler Lambdas', () => {
  it('runs the example fulfilment handler on checkout.session.completed with the session fetched from Stripe', async () => {
    if (pipeline.stripe.kind !== 'offline') throw new Error('expected the embedded Stripe');
    const session = {
      id: 'cs_e2e_1',
      object: 'checkout.session',
      payment_status: 'paid',
      amount_total: 900,
      currency: 'eur',
    };
    pipeline.stripe.server.setObject(session);
    const event = {
      id: 'evt_e2e_handler_1',
      object: 'event',
      type: 'checkout.session.completed',
      livemode: false,
      created: Math.floor(Date.now() / 1000),
      // The snapshot says unpaid: the handler must see the fetched, paid session.
      data: { object: { ...session, payment_status: 'unpaid' } },
    };
    expect(await deliverSigned(pipeline.webhookUrl, event)).toBe(200);

    const end = Date.now() + 15_000;
    while ((await readSink(pipeline.sinkFile!)).every((e) => e.eventId !== event.id) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const store = createIdempotencyStore({
      client: new DynamoDBClient({
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        endpoint: pipeline.dynamoEndpoint,
      }),
      tableName: pipeline.tableName,
      leaseSeconds: 60,
      doneTtlDays: 35,
    });
    expect(await store.get(event.id)).toMatchObject({ status: 'DONE', handlersDone: ['fulfilment'] });
    const fulfilled = logged
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'order fulfilled');
    expect(fulfilled).toMatchObject({ session: 'cs_e2e_1', amount: 900, idempotencyKey: event.id });
  });
});
