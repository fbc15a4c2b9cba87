/**
 * The operator commands say exactly what they did:
 * - `replay --id` inside SQS FIFO's 5-minute deduplication window of the failed delivery is really processed, not
 *   answered "enqueued" and dropped by SQS;
 * - one `dlq redrive` run moves each message at most once, even when the moved messages fail again and come back to
 *   the DLQ while the run goes on, and reports those it left;
 * - looking at the DLQ (`list`, `inspect`) says what it does to the receive count, and by how much.
 *
 * Each test starts its own pipeline and events, so each passes alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { readSink } from '../../local/file-sink';
import { LOCAL_WEBHOOK_SECRET, type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { type RuntimeInfo, runtimeInfo } from '../../local/runtime-info';
import { runOps } from '../../ops/cli';
import { listDlq, redriveByHand } from '../../ops/dlq';
import { queueDepth } from '../../ops/queues';
import { localTarget, type OpsTarget } from '../../ops/target';
import { paymentEvent, uid } from '../reconciler/helpers';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pipelineForTest(): Promise<{ pipeline: LocalPipeline; info: RuntimeInfo; target: OpsTarget }> {
  const dir = await mkdtemp(join(tmpdir(), 'ops-dlq-'));
  const pipeline = await startLocalPipeline({ port: 0, sinkFile: join(dir, 'processed.jsonl'), logLevel: 'SILENT' });
  const info = runtimeInfo(pipeline, true);
  const target = localTarget(info);
  cleanups.push(async () => {
    target.close();
    await pipeline.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { pipeline, info, target };
}

function stripeServer(p: LocalPipeline) {
  if (p.stripe.kind !== 'offline') throw new Error('expected the embedded Stripe');
  return p.stripe.server;
}

/** A payment_intent.succeeded event whose intent Stripe does not have (a permanent failure: straight to the DLQ). */
function poisonEvent(p: LocalPipeline) {
  const intent = `pi_gone_${uid()}`;
  stripeServer(p).setObject({ id: intent, object: 'payment_intent', status: 'succeeded' });
  stripeServer(p).deleteObject(intent);
  const event = paymentEvent(Math.floor(Date.now() / 1000) - 30, { id: `evt_${intent}`, intent });
  stripeServer(p).addEvent(event);
  return { event, intent };
}

async function deliver(p: LocalPipeline, event: Record<string, unknown>): Promise<void> {
  const body = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: LOCAL_WEBHOOK_SECRET });
  const res = await fetch(p.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
    body,
  });
  expect(res.status).toBe(200);
}

async function ops(info: RuntimeInfo, ...argv: string[]) {
  const out: string[] = [];
  const code = await runOps(argv, { out: (t) => out.push(t), err: () => undefined }, { findRunning: async () => info });
  return { code, out: out.join('\n') };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The DLQ's depth (no receive: counts do not move). */
async function dlqDepth(p: LocalPipeline): Promise<number> {
  const target = localTarget(runtimeInfo(p, true));
  try {
    return await queueDepth(target.sqs, target.dlqUrl);
  } finally {
    target.close();
  }
}

describe('replay inside the deduplication window', () => {
  it('processes an event whose delivery failed a moment ago, once its cause is fixed', async () => {
    const { pipeline, info } = await pipelineForTest();
    const { event, intent } = poisonEvent(pipeline);
    await deliver(pipeline, event);
    await until('the poison event in the DLQ', async () => ((await dlqDepth(pipeline)) === 1 ? true : undefined));

    // The operator fixes the cause (the object exists again) and replays within seconds of the failure.
    stripeServer(pipeline).setObject({ id: intent, object: 'payment_intent', status: 'succeeded', amount: 100 });
    const replay = await ops(info, 'replay', '--id', event.id);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(new RegExp(`${event.id}\\s+payment_intent.succeeded\\s+enqueued \\(not DONE yet\\)`));

    const processed = await until('the replayed event in the sink', async () => {
      const n = (await readSink(pipeline.sinkFile!)).filter((p) => p.eventId === event.id).length;
      return n > 0 ? n : undefined;
    });
    expect(processed).toBe(1);
  });
});

describe('replay of a time range', () => {
  it('leaves an event that failed permanently in the DLQ, and says so, instead of dead-lettering it again', async () => {
    const { pipeline, info } = await pipelineForTest();
    const { event } = poisonEvent(pipeline);
    await deliver(pipeline, event);
    await until('the poison event in the DLQ', async () => ((await dlqDepth(pipeline)) === 1 ? true : undefined));
    await until('the permanent failure recorded', async () =>
      (await ops(info, 'event', event.id, '--json')).out.includes('"FAILED"') ? true : undefined,
    );

    const since = String(Math.floor(Date.now() / 1000) - 120);
    const replay = await ops(info, 'replay', '--since', since);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(new RegExp(`${event.id}\\s+payment_intent.succeeded\\s+skipped: failed permanently`));
    expect(replay.out).toContain('1 left in the DLQ (failed permanently)');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await dlqDepth(pipeline)).toBe(1);
  });
});

describe('dlq redrive', () => {
  it('moves each message at most once in a run, and reports the ones that failed again during it', async () => {
    const { pipeline, info, target } = await pipelineForTest();
    const events = [poisonEvent(pipeline), poisonEvent(pipeline), poisonEvent(pipeline)];
    for (const { event } of events) await deliver(pipeline, event);
    await until('three poison events in the DLQ', async () => ((await dlqDepth(pipeline)) === 3 ? true : undefined));

    // Each DeleteMessage of the run is slowed, so the moved messages fail again (the objects are still gone) and are
    // back in the DLQ before the run's next receive: the case in which a run used to move one message twice.
    target.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteMessageCommand') await new Promise((r) => setTimeout(r, 400));
        return next(args);
      },
      { step: 'initialize', name: 'slowDelete' },
    );
    const report = await redriveByHand(target, 1000);

    const movedEvents = report.moved.map((m) => m.eventId).sort();
    expect(movedEvents).toEqual(events.map((e) => e.event.id).sort());
    expect(new Set(report.moved.map((m) => m.messageId)).size).toBe(report.moved.length);
    // What came back during the run is reported, not moved again.
    for (const s of report.skipped) expect(movedEvents).toContain(s.eventId);
    await until('the three events back in the DLQ', async () => ((await dlqDepth(pipeline)) === 3 ? true : undefined));

    // The CLI says both numbers.
    const cli = await ops(info, 'dlq', 'redrive');
    expect(cli.out).toMatch(/^3 message\(s\) moved back to the event queue\.$/m);
  });
});

describe('looking at the DLQ', () => {
  it('shows the receive count before the look and says each look adds exactly 1', async () => {
    const { pipeline, info, target } = await pipelineForTest();
    const { event } = poisonEvent(pipeline);
    await deliver(pipeline, event);
    await until('the poison event in the DLQ', async () => ((await dlqDepth(pipeline)) === 1 ? true : undefined));

    const counts: number[] = [];
    for (let look = 0; look < 3; look++) {
      const listing = await listDlq(target, 10);
      counts.push(listing.entries[0]!.receiveCount);
    }
    // Dead-lettered by the processor: never received from the DLQ before the first look.
    expect(counts).toEqual([0, 1, 2]);

    const list = await ops(info, 'dlq', 'list');
    expect(list.out).toMatch(new RegExp(`${event.id}.*\\s3\\s`));
    expect(list.out).toContain('RECEIVES is the count before this look');
    expect(list.out).toContain('(+1)');
    const inspect = await ops(info, 'dlq', 'inspect', event.id);
    expect(inspect.out).toMatch(/receives\s+4 before this look \(this look added 1; see below\)/);
    expect(inspect.out).toContain('The DLQ has no redrive limit, so looking moves nothing toward one');
  });
});
