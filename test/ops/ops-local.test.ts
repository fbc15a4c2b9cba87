/**
 * The operator CLI against a running local pipeline: a poison event (its payment intent is gone from Stripe, which
 * the business handler refuses: a permanent failure the processor dead-letters at once) and a transient one (a handler that keeps throwing: SQS moves it to
 * the DLQ after maxReceiveCount) end up in the DLQ; `dlq list` / `inspect` say why; `dlq redrive` brings them back;
 * `replay` skips DONE events unless --force; `event` shows the idempotency record.
 *
 * The tests share one pipeline and a scenario in two stages (both events dead-lettered; then the causes fixed and
 * the DLQ redriven): each test plays the stages it needs first, so it passes alone as well as after the others.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildRegistry } from '../../lambdas/processor/business-handlers';
import { readSink } from '../../local/file-sink';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { type RuntimeInfo, runtimeInfo } from '../../local/runtime-info';
import type { StripeServer } from '../../local/stripe-server';
import { type DlqListing, listDlq } from '../../ops/dlq';
import { localTarget } from '../../ops/target';
import { paymentEvent, uid } from '../reconciler/helpers';
import { untilQueueDrained } from '../support/queue-drained';
import { runOpsAgainst } from '../support/run-ops';
import { deliverSigned } from '../support/signed-delivery';
import { stagedScenario } from '../support/staged-scenario';

let pipeline: LocalPipeline;
let info: RuntimeInfo;
let dir: string;
let ledgerDown = true;
/** What the pipeline's loggers printed (JSON lines). */
const logLines: string[] = [];

const id = uid();
const poisonIntent = `pi_gone_${id}`;
const poison = paymentEvent(Math.floor(Date.now() / 1000) - 60, { id: `evt_poison_${id}`, intent: poisonIntent });
const invoiceEvent = {
  id: `evt_invoice_${id}`,
  object: 'event',
  type: 'invoice.paid',
  livemode: false,
  created: Math.floor(Date.now() / 1000) - 60,
  data: { object: { id: `in_${id}`, object: 'invoice', status: 'paid' } },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ops-'));
  // Powertools prints WARN and ERROR lines through console.warn/error, i.e. to stderr.
  for (const stream of [process.stdout, process.stderr]) {
    const realWrite = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (!text.startsWith('{"level"')) return realWrite(chunk);
      logLines.push(text);
      return true;
    });
  }
  pipeline = await startLocalPipeline({
    port: 0,
    sinkFile: join(dir, 'processed.jsonl'),
    logLevel: 'WARN',
    // Transient failures reach the DLQ in seconds: redelivered after 1 s, dead-lettered after the 2nd receive.
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 2,
    registry: buildRegistry().on('invoice.paid', async () => {
      if (ledgerDown) throw new Error('ledger unavailable (test)');
      return { booked: true };
    }),
  });
  info = runtimeInfo(pipeline, true);
});
afterAll(async () => {
  await pipeline.close();
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

function server(): StripeServer {
  if (pipeline.stripe.kind !== 'offline') throw new Error('expected the embedded Stripe');
  return pipeline.stripe.server;
}

async function deliver(event: Record<string, unknown>): Promise<void> {
  expect(await deliverSigned(pipeline.webhookUrl, event)).toBe(200);
}

/** Runs the CLI as `npm run ops -- ...` would, against this pipeline. */
function ops(...argv: string[]) {
  return runOpsAgainst(info, ...argv);
}

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, waitMs = 15_000): Promise<T> {
  const end = Date.now() + waitMs;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function sinkCount(eventId: string): Promise<number> {
  return (await readSink(pipeline.sinkFile!)).filter((p) => p.eventId === eventId).length;
}

/** What the redrive stage answered. */
let redrive: { code: number; out: string; err: string };

/** The payment intent the poison event is about (Stripe deletes it in stage 1 and has it again in stage 2). */
const poisonObject = { id: poisonIntent, object: 'payment_intent', status: 'succeeded', amount: 1000, currency: 'eur' };

const reach = stagedScenario([
  // 1. A poison event (its object is gone from Stripe) and a transient one (the ledger is down) reach the DLQ.
  async () => {
    server().setObject(poisonObject);
    server().deleteObject(poisonIntent);
    for (const e of [poison, invoiceEvent]) server().addEvent(e);
    await deliver(poison);
    await deliver(invoiceEvent);
    const target = localTarget(info);
    try {
      await until(
        () => listDlq(target, 10),
        (l: DlqListing) => l.entries.length === 2,
      );
    } finally {
      target.close();
    }
  },
  // 2. The causes are fixed (the object is back, the ledger is up) and the DLQ redriven: both are processed.
  async () => {
    server().setObject(poisonObject);
    ledgerDown = false;
    redrive = await ops('dlq', 'redrive', '--json');
    await untilQueueDrained(pipeline);
  },
]);

describe('npm run ops, against the local pipeline', () => {
  it('dlq list: a permanent failure with the reason the processor attached, a transient one with the last error from the table', async () => {
    await reach(1);

    const listed = await ops('dlq', 'list', '--json');
    expect(listed.code).toBe(0);
    const entries = (JSON.parse(listed.out) as DlqListing).entries;
    const byEvent = new Map(entries.map((e) => [e.eventId, e]));
    expect(byEvent.get(poison.id)).toMatchObject({
      type: 'payment_intent.succeeded',
      source: 'webhook',
      group: `platform:${poisonIntent}`,
      reason: { origin: 'processor', code: 'object_gone' },
    });
    expect(byEvent.get(invoiceEvent.id)).toMatchObject({
      type: 'invoice.paid',
      reason: { origin: 'table', code: 'unexpected_error', message: 'Error: ledger unavailable (test)' },
    });
    expect(byEvent.get(invoiceEvent.id)?.receiveCount).toBeGreaterThanOrEqual(2);

    // Peeking consumed nothing: the human table shows both again, with their reasons.
    const human = await ops('dlq', 'list');
    expect(human.code).toBe(0);
    expect(human.out).toContain(poison.id);
    expect(human.out).toContain('object_gone');
    expect(human.out).toContain('[after retries] unexpected_error: Error: ledger unavailable (test)');
    expect(human.err).toContain('target: local pipeline at');
  });

  it('the processor logged each failed attempt of the transient event with its event id and message id', async () => {
    await reach(1);
    const retries = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === 'event failed: will be retried' && l.eventId === invoiceEvent.id);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(
      retries.every((l) => typeof l.messageId === 'string' && l.reason === 'Error: ledger unavailable (test)'),
    ).toBe(true);
  });

  it('dlq inspect: one message in full, found by event id', async () => {
    await reach(1);
    const res = await ops('dlq', 'inspect', poison.id, '--json');
    expect(res.code).toBe(0);
    const detail = JSON.parse(res.out) as Record<string, unknown>;
    expect(detail).toMatchObject({
      eventId: poison.id,
      body: { eventId: poison.id, source: 'webhook', object: { id: poisonIntent } },
      attributes: { FailureCode: 'object_gone', EventId: poison.id },
      record: { status: 'FAILED', lastError: { code: 'object_gone', permanent: true } },
    });
    expect((await ops('dlq', 'inspect', 'evt_not_there')).code).toBe(1);
  });

  it('dlq redrive: moves every message back to the event queue; with the causes fixed, each is processed once', async () => {
    await reach(2);

    expect(redrive.code).toBe(0);
    const moved = (JSON.parse(redrive.out) as { moved: Array<{ eventId: string }> }).moved;
    expect(moved.map((m) => m.eventId).sort()).toEqual([invoiceEvent.id, poison.id].sort());
    expect(await sinkCount(poison.id)).toBe(1);
    expect(await sinkCount(invoiceEvent.id)).toBe(1);
    expect((await ops('dlq', 'list')).out).toContain('The DLQ is empty');
  });

  it('event: shows the idempotency record (status, attempts, last error)', async () => {
    await reach(2);
    const res = await ops('event', invoiceEvent.id, '--json');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({
      pk: invoiceEvent.id,
      status: 'DONE',
      attempts: 3,
      lastError: { code: 'unexpected_error' },
    });
    const human = await ops('event', invoiceEvent.id);
    expect(human.out).toMatch(/status\s+DONE/);
    expect(human.out).toMatch(/attempts\s+3/);
    expect(await ops('event', 'evt_never_seen')).toMatchObject({ code: 1 });
  });

  it('replay --id: a DONE event is a no-op; with --force it is processed again', async () => {
    await reach(2);
    const skipped = await ops('replay', '--id', poison.id);
    expect(skipped.code).toBe(0);
    expect(skipped.out).toContain('skipped: already DONE');
    expect(skipped.out).toContain('0 enqueued, 1 skipped');
    // Nothing on the queue, so nothing more can reach the sink.
    await untilQueueDrained(pipeline);
    expect(await sinkCount(poison.id)).toBe(1);

    const forced = await ops('replay', '--id', poison.id, '--force', '--json');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.out)).toMatchObject({ enqueued: 1, items: [{ eventId: poison.id, outcome: 'forced' }] });
    await until(
      () => sinkCount(poison.id),
      (n) => n === 2,
    );
    const copies = (await readSink(pipeline.sinkFile!)).filter((p) => p.eventId === poison.id);
    expect(copies.map((p) => p.source)).toEqual(['webhook', 'replay']);
  });

  it('replay --since: enqueues the events of a time range that are not DONE, and reports ids Stripe does not know', async () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = paymentEvent(now - 30, { type: 'payment_intent.created' });
    server().addEvent(fresh);

    const res = await ops(
      'replay',
      '--since',
      new Date((now - 40) * 1000).toISOString(),
      '--type',
      'payment_intent.created',
      '--json',
    );

    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({ enqueued: 1, items: [{ eventId: fresh.id, outcome: 'missed' }] });
    await until(
      () => sinkCount(fresh.id),
      (n) => n === 1,
    );
    expect(await sinkCount(fresh.id)).toBe(1);

    const unknown = await ops('replay', '--id', 'evt_unknown_to_stripe');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('not found in Stripe');
  });

  it('rejects bad usage with exit code 2', async () => {
    expect((await ops('dlq', 'frobnicate')).code).toBe(2);
    expect((await ops('replay')).code).toBe(2);
    expect((await ops('dlq', 'list', '--limit', 'zero')).code).toBe(2);
  });
});
