/**
 * `npm run reconcile` end to end: a local pipeline (ingress, fauxqs, poller + processor, dynalite, the embedded
 * Stripe) where some events exist in Stripe but were never delivered; the reconciler must get each of them to the
 * sink exactly once, and leave the delivered ones alone.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSink } from '../../local/file-sink';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { reconcileLocal } from '../../local/reconcile';
import { runtimeFile, runtimeInfo } from '../../local/runtime-info';
import { untilQueueDrained } from '../support/queue-drained';
import { deliverSigned } from '../support/signed-delivery';
import { paymentEvent, uid } from './helpers';

const run = promisify(execFile);
const silent = new Logger({ logLevel: 'SILENT' });
let pipeline: LocalPipeline;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reconcile-e2e-'));
  pipeline = await startLocalPipeline({ port: 0, sinkFile: join(dir, 'processed.jsonl'), logLevel: 'SILENT' });
});
afterAll(async () => {
  await pipeline.close();
  await rm(dir, { recursive: true, force: true });
});

function server() {
  if (pipeline.stripe.kind !== 'offline') throw new Error('expected the embedded Stripe');
  return pipeline.stripe.server;
}

/** An event Stripe lists, about an object Stripe has (the offline Stripe answers 404 for any other id). */
function addToStripe(event: Record<string, unknown>): void {
  server().setObject((event.data as { object: { id: string; object: string } }).object);
  server().addEvent(event);
}

function deliver(event: Record<string, unknown>): Promise<number> {
  return deliverSigned(pipeline.webhookUrl, event);
}

/** Sink counts for `ids`, once every one of them is there (or after `waitMs`). */
async function sinkCounts(ids: readonly string[], waitMs = 10_000): Promise<Map<string, number>> {
  const end = Date.now() + waitMs;
  for (;;) {
    const counts = new Map<string, number>();
    for (const p of await readSink(pipeline.sinkFile!)) {
      if (ids.includes(p.eventId)) counts.set(p.eventId, (counts.get(p.eventId) ?? 0) + 1);
    }
    if (counts.size === ids.length || Date.now() > end) return counts;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm run reconcile, against a running local pipeline', () => {
  it('gets events that were never delivered to the sink once, and leaves delivered ones alone', async () => {
    const now = Math.floor(Date.now() / 1000);
    const delivered = [paymentEvent(now - 900), paymentEvent(now - 800)];
    const dropped = [paymentEvent(now - 700), paymentEvent(now - 650), paymentEvent(now - 600)];
    for (const e of [...delivered, ...dropped]) addToStripe(e);
    for (const e of delivered) expect(await deliver(e)).toBe(200);
    const deliveredIds = delivered.map((e) => e.id);
    expect((await sinkCounts(deliveredIds)).size).toBe(2);

    const info = runtimeInfo(pipeline, true);
    const first = await reconcileLocal(info, { lookbackHours: 1, graceSeconds: 300, logger: silent });

    expect(first).toMatchObject({ status: 'completed', missed: 3, alreadyDone: 2, enqueued: 3 });
    expect([...first.missedEventIds].sort()).toEqual(dropped.map((e) => e.id).sort());
    const all = [...deliveredIds, ...dropped.map((e) => e.id)];
    const counts = await sinkCounts(all);
    expect(all.map((id) => counts.get(id))).toEqual([1, 1, 1, 1, 1]);
    const fromReconcile = (await readSink(pipeline.sinkFile!)).filter((p) => dropped.some((e) => e.id === p.eventId));
    expect(fromReconcile.every((p) => p.source === 'reconcile' && p.objectOrigin === 'fetched')).toBe(true);

    // A second run finds everything DONE.
    const second = await reconcileLocal(info, { lookbackHours: 1, graceSeconds: 300, logger: silent });
    expect(second).toMatchObject({ missed: 0, enqueued: 0, alreadyDone: 5 });
    await untilQueueDrained(pipeline);
    expect([...(await sinkCounts(all)).values()]).toEqual([1, 1, 1, 1, 1]);
  });

  it('runs as the npm script: finds the pipeline through its .local/runtime-<port>.json and prints a summary', async () => {
    const now = Math.floor(Date.now() / 1000);
    const dropped = paymentEvent(now - 400, { intent: `pi_cli_${uid()}` });
    addToStripe(dropped);
    const cwd = join(dir, 'cli');
    await mkdir(join(cwd, '.local'), { recursive: true });
    await writeFile(
      join(cwd, runtimeFile(Number(new URL(pipeline.url).port))),
      JSON.stringify(runtimeInfo(pipeline, true)),
    );

    const tsx = resolve('node_modules/tsx/dist/cli.mjs');
    const { stdout } = await run(process.execPath, [tsx, resolve('local/reconcile.ts'), '--since', String(now - 500)], {
      cwd,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });

    expect(stdout).toMatch(/status\s+completed/);
    expect(stdout).toMatch(/missed\s+1\s+evt_/);
    expect(stdout).toContain(dropped.id);
    expect((await sinkCounts([dropped.id])).get(dropped.id)).toBe(1);
  });
});
