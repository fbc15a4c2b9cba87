/**
 * `ops status` (what happened, on one screen) and `ops stripe create|delete` (objects on the offline Stripe, which
 * answers 404 for ids it does not have), against a running local pipeline with its console.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { type RuntimeInfo, runtimeInfo } from '../../local/runtime-info';
import { paymentEvent } from '../reconciler/helpers';
import { runOpsAgainst } from '../support/run-ops';
import { deliverSigned } from '../support/signed-delivery';

let pipeline: LocalPipeline;
let info: RuntimeInfo;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ops-status-'));
  pipeline = await startLocalPipeline({
    port: 0,
    sinkFile: join(dir, 'processed.jsonl'),
    logLevel: 'SILENT',
    console: true,
  });
  info = runtimeInfo(pipeline, true);
});

afterAll(async () => {
  await pipeline.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI as `npm run ops -- ...` would, against this pipeline. */
function ops(...argv: string[]) {
  return runOpsAgainst(info, ...argv);
}

async function deliver(event: Record<string, unknown>): Promise<void> {
  expect(await deliverSigned(pipeline.webhookUrl, event)).toBe(200);
}

async function until(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Played once: an event for an object made with `stripe create`, and one for an id the offline Stripe never had. */
let made: { id: string; status: string; amount: number };
let known: { id: string };
let unknown: { id: string };
beforeAll(async () => {
  const created = await ops('stripe', 'create', 'payment_intent', '--set', 'amount=4200', '--json');
  expect(created.code).toBe(0);
  made = JSON.parse(created.out);
  // Over 30 s old: a 404 is then "gone for good", not "not replicated yet".
  const at = Math.floor(Date.now() / 1000) - 60;
  known = paymentEvent(at, { intent: made.id });
  unknown = paymentEvent(at, { intent: 'pi_never_created' });
  await deliver(known);
  await deliver(unknown);
  const status = (id: string) => pipeline.journal?.get(id)?.status;
  await until('both events finished', () => status(known.id) === 'done' && status(unknown.id) === 'dlq');
}, 30_000);

describe('ops stripe create', () => {
  it('makes a payment intent that matches a payment_intent.succeeded event, which the pipeline then fetches', async () => {
    expect(made).toMatchObject({ object: 'payment_intent', status: 'succeeded', amount: 4200 });
    expect(made.id).toMatch(/^pi_local_[0-9a-f]{12}$/);
    expect(pipeline.journal?.get(known.id)?.object).toMatchObject({ id: made.id, amount: 4200 });
  });

  it('leaves other ids unknown: the offline Stripe answers 404, so the not-found path can be tried', () => {
    expect(pipeline.journal?.get(unknown.id)?.reason).toMatch(/^object_gone: /);
  });

  it('says in one line what it needs when the type has no sample, or a --set is malformed', async () => {
    const noSample = await ops('stripe', 'create', 'frobnicator');
    expect(noSample.code).toBe(1);
    expect(noSample.err.trim().split('\n').at(-1)).toMatch(/^error: the offline Stripe has no sample frobnicator/);
    const badSet = await ops('stripe', 'create', 'customer', '--set', 'email');
    expect(badSet.code).toBe(2);
    expect(badSet.err).toContain('--set needs key=value');
  });
});

describe('ops status', () => {
  it('answers what happened on one screen: counts by outcome, Stripe calls per event, queues, the last error', async () => {
    const res = await ops('status');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/accepted\s+2 deliveries \(2 distinct events\)/);
    expect(res.out).toMatch(/processed\s+1\b/);
    expect(res.out).toMatch(/dead-lettered\s+1\b/);
    expect(res.out).toMatch(/stripe calls\s+\d+\.\d\d per processed event/);
    expect(res.out).toMatch(/dlq\s+1 message\(s\)/);
    expect(res.out).toMatch(new RegExp(`${unknown.id}\\s+payment_intent.succeeded\\s+DLQ\\s+\\S+\\s+object_gone`));

    const json = JSON.parse((await ops('status', '--json')).out);
    expect(json).toMatchObject({ queues: { dlqDepth: 1 }, local: { counters: { processed: 1, deadLettered: 1 } } });
  });
});
