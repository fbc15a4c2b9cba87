import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../local/demo';
import { readSink } from '../../local/file-sink';
import { LOCAL_WEBHOOK_SECRET, type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { runtimeInfo } from '../../local/runtime-info';
import { untilQueueDrained } from '../support/queue-drained';

let pipeline: LocalPipeline;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e2e-'));
  pipeline = await startLocalPipeline({ port: 0, sinkFile: join(dir, 'processed.jsonl'), logLevel: 'SILENT' });
});
afterAll(async () => {
  await pipeline.close();
  await rm(dir, { recursive: true, force: true });
});

function signed(event: Record<string, unknown>, opts: { secret?: string; timestamp?: number } = {}) {
  const body = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret: opts.secret ?? LOCAL_WEBHOOK_SECRET,
    ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
  });
  return { body, header };
}

async function post(d: { body: string; header: string }) {
  const res = await fetch(pipeline.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': d.header },
    body: d.body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function sinkFor(eventId: string, wait = 10_000) {
  const end = Date.now() + wait;
  for (;;) {
    const found = (await readSink(pipeline.sinkFile!)).filter((e) => e.eventId === eventId);
    if (found.length > 0 || Date.now() > end) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function paymentEvent(id: string, intent: string, status: string) {
  return {
    id,
    object: 'event',
    type: 'payment_intent.succeeded',
    livemode: false,
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: intent, object: 'payment_intent', status, amount: 500, currency: 'usd' } },
  };
}

describe('the local pipeline, end to end', () => {
  it('processes an event delivered three times exactly once, with the object fetched from Stripe', async () => {
    if (pipeline.stripe.kind !== 'offline') throw new Error('expected the embedded Stripe');
    // Stripe holds a newer state than the webhook snapshot carries.
    pipeline.stripe.server.setObject({
      id: 'pi_e2e_1',
      object: 'payment_intent',
      status: 'succeeded',
      amount: 500,
      amount_received: 500,
      currency: 'usd',
    });
    const delivery = signed(paymentEvent('evt_e2e_1', 'pi_e2e_1', 'processing'));
    for (let i = 0; i < 3; i++) {
      expect(await post(delivery)).toEqual({ status: 200, body: { received: true, eventId: 'evt_e2e_1' } });
    }
    const processed = await sinkFor('evt_e2e_1');
    expect(processed).toHaveLength(1);
    expect(processed[0]).toMatchObject({
      type: 'payment_intent.succeeded',
      objectOrigin: 'fetched',
      object: { id: 'pi_e2e_1', status: 'succeeded', amount_received: 500 },
      result: { amount_received: 500, currency: 'usd', status: 'succeeded' },
      source: 'webhook',
    });
    expect(Date.parse(processed[0]!.processedAt)).not.toBeNaN();
    // Once the queue is drained no copy can still turn up: check once more.
    await untilQueueDrained(pipeline);
    expect(await sinkFor('evt_e2e_1')).toHaveLength(1);
  });

  it('answers 400 to a forged or a stale event and never processes it', async () => {
    const forged = await post(
      signed(paymentEvent('evt_e2e_forged', 'pi_e2e_2', 'succeeded'), { secret: 'whsec_wrong' }),
    );
    expect(forged).toMatchObject({ status: 400, body: { error: 'bad_signature' } });
    const stale = await post(
      signed(paymentEvent('evt_e2e_stale', 'pi_e2e_3', 'succeeded'), {
        timestamp: Math.floor(Date.now() / 1000) - 301,
      }),
    );
    expect(stale).toMatchObject({ status: 400, body: { error: 'stale_timestamp' } });
    // Had either been enqueued, it would be processed by the time the queue is drained.
    await untilQueueDrained(pipeline);
    const sink = await readSink(pipeline.sinkFile!);
    expect(sink.filter((e) => e.eventId === 'evt_e2e_forged' || e.eventId === 'evt_e2e_stale')).toEqual([]);
  });

  it('runs the demo burst: duplicates processed once, the poison event dead-lettered with its reason', async () => {
    const summary = await runDemo(runtimeInfo(pipeline, true), LOCAL_WEBHOOK_SECRET);
    expect(summary.missing).toEqual([]);
    expect(summary.processedOnce).toBe(24);
    expect(summary.processedMoreThanOnce).toBe(0);
    expect(summary.deliveries).toBeGreaterThan(summary.uniqueEvents + 2);
    expect(summary.rejections).toEqual({ bad_signature: 1, stale_timestamp: 1 });
    expect(summary.deadLettered).toEqual([
      expect.objectContaining({ code: 'object_gone', eventId: `evt_demo_${summary.runId}_poison` }),
    ]);
  });

  it('answers its health check', async () => {
    const res = await fetch(`${pipeline.url}/health`);
    expect(res.status).toBe(200);
  });
});
