/**
 * The console wired into the local pipeline (HTTP level; test/browser/ drives the same page in Chromium): what the
 * pipeline did shows up as it happens, the DLQ buttons run the CLI's code, and /health reports the queues locally.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_WEBHOOK_SECRET, type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { paymentEvent, uid } from '../reconciler/helpers';

let pipeline: LocalPipeline;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-'));
  pipeline = await startLocalPipeline({
    port: 0,
    sinkFile: join(dir, 'processed.jsonl'),
    logLevel: 'SILENT',
    console: true,
  });
});

afterAll(async () => {
  await pipeline.close();
  await rm(dir, { recursive: true, force: true });
});

function server() {
  if (pipeline.stripe.kind !== 'offline') throw new Error('expected the embedded Stripe');
  return pipeline.stripe.server;
}

async function deliver(event: Record<string, unknown>, secret = LOCAL_WEBHOOK_SECRET): Promise<number> {
  const body = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
  const res = await fetch(pipeline.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const statusOf = (id: string) => pipeline.journal?.get(id)?.status;

/** Played once for the tests below (each passes alone): a good event twice, a poison one, a forged one. */
let scenario: { good: { id: string }; poison: { id: string }; intent: string };
beforeAll(async () => {
  const intent = `pi_console_${uid()}`;
  server().setObject({ id: intent, object: 'payment_intent', status: 'succeeded', amount: 1200 });
  // Over 30 s old: the processor takes an object Stripe does not have as gone for good, not as not-there-yet.
  const created = Math.floor(Date.now() / 1000) - 60;
  const good = paymentEvent(created, { intent });
  const gone = `pi_gone_${uid()}`;
  server().setObject({ id: gone, object: 'payment_intent', status: 'succeeded' });
  server().deleteObject(gone);
  const poison = paymentEvent(created, { id: `evt_poison_${uid()}`, intent: gone });

  expect(await deliver(good)).toBe(200);
  expect(await deliver(good)).toBe(200); // Stripe's copy of the same event
  expect(await deliver(poison)).toBe(200);
  expect(await deliver(good, 'whsec_not_the_secret')).toBe(400);

  await until('both events finished', () => statusOf(good.id) === 'done' && statusOf(poison.id) === 'dlq');
  scenario = { good, poison, intent };
}, 30_000);

describe('the local console', () => {
  it('shows each event as it moves: done, a duplicate delivery, a poison event in the DLQ with its reason', async () => {
    const { good, poison, intent } = scenario;
    const j = pipeline.journal!;
    expect(j.get(good.id)).toMatchObject({ deliveries: 2, objectId: intent, object: { id: intent, amount: 1200 } });
    expect(j.get(poison.id)?.reason).toMatch(/^object_gone: /);
    expect(j.counters.accepted).toBe(3);
    expect(Object.values(j.counters.rejected).reduce((a, b) => a + b, 0)).toBe(1);
    expect(j.timeline(intent).map((t) => t.state)).toEqual(['succeeded']);
    expect(j.counters.stripeCalls).toBeGreaterThan(0);

    const page = await (await fetch(`${pipeline.url}/_console`)).text();
    expect(page).toContain(`data-event="${good.id}"`);
    expect(page).toMatch(new RegExp(`data-event="${poison.id}"[\\s\\S]*?data-status="dlq"`));

    const health = (await (await fetch(`${pipeline.url}/health`)).json()) as {
      status: string;
      local: { dlqDepth: number; queueDepth: number; inFlight: number };
    };
    expect(health).toMatchObject({ status: 'ok', local: { dlqDepth: 1 } });
  });

  it('redrives the DLQ from the page with the CLI code, and refuses a post without the page token', async () => {
    const dlq = pipeline.journal!.withStatus('dlq');
    expect(dlq.length).toBe(1);
    const poison = dlq[0]!;
    // The cause is fixed: the object exists again.
    server().setObject({ id: poison.objectId!, object: 'payment_intent', status: 'succeeded', amount: 5 });

    const forged = await fetch(`${pipeline.url}/_console/actions/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=wrong',
      redirect: 'manual',
    });
    expect(forged.status).toBe(403);

    const dlqPage = await (await fetch(`${pipeline.url}/_console/dlq`)).text();
    const token = /name="token" value="([0-9a-f]+)"/.exec(dlqPage)?.[1];
    expect(token).toBeDefined();
    const res = await fetch(`${pipeline.url}/_console/actions/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(decodeURIComponent(res.headers.get('location') ?? '')).toContain('1 message(s) moved');
    await until('the redriven event done', () => statusOf(poison.eventId) === 'done');
    expect(pipeline.journal!.get(poison.eventId)?.attempts.map((a) => a.outcome)).toEqual(['dlq', 'done']);
  });
});
