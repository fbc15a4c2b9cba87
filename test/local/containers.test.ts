/**
 * The local runtime's Lambda containers: module state per container, batches to the free slot idle longest,
 * recycling, and a timed-out invocation's container thrown away (closed only once its work has ended).
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContainerInfo, createContainerPool } from '../../local/containers';
import { type InvocationOutcome, startPoller } from '../../local/poller';
import { createEventQueues, startSqs } from '../../local/stand-ins';

describe('container pool', () => {
  it('gives each container its own module state, and batches to the free slot idle longest', () => {
    const built: ContainerInfo[] = [];
    const pool = createContainerPool({
      slots: 2,
      create: (info) => {
        built.push(info);
        let invocations = 0; // module state: one counter per container
        return { handle: async () => ({ batchItemFailures: [{ itemIdentifier: String(++invocations) }] }) };
      },
    });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const lease = pool.acquire();
      seen.push(lease.info.id);
      lease.release(true, Promise.resolve());
    }
    // One after the other, the two slots take turns: the same object's consecutive batches meet both containers.
    expect(seen).toEqual(['slot0/gen1', 'slot1/gen1', 'slot0/gen1', 'slot1/gen1']);
    expect(built.map((b) => b.id)).toEqual(['slot0/gen1', 'slot1/gen1']);
    expect(pool.stats.coldStarts).toBe(2);
  });

  it('keeps state across invocations of one container and starts cold after maxInvocations', async () => {
    const pool = createContainerPool({
      slots: 1,
      maxInvocations: 3,
      create: () => {
        let n = 0;
        return { handle: async () => ({ batchItemFailures: [{ itemIdentifier: String(++n) }] }) };
      },
    });
    const counts: string[] = [];
    for (let i = 0; i < 5; i++) {
      const lease = pool.acquire();
      const res = await lease.handle({ Records: [] }, context());
      counts.push(`${lease.coldStart ? 'cold' : 'warm'}:${res?.batchItemFailures[0]?.itemIdentifier}`);
      lease.release(true, Promise.resolve());
    }
    expect(counts).toEqual(['cold:1', 'warm:2', 'warm:3', 'cold:1', 'warm:2']);
    expect(pool.stats).toEqual({ coldStarts: 2, retired: 1 });
  });

  it('abandons a container whose invocation failed, and closes an aged one only once its work has ended', async () => {
    const closed: string[] = [];
    const pool = createContainerPool({
      slots: 1,
      maxInvocations: 1,
      abandonedCloseMs: 100,
      create: (info) => ({ handle: async () => undefined, close: () => void closed.push(info.id) }),
    });
    // Timed out or crashed: a fresh container next, and the old one's connections are left alone for a while.
    pool.acquire().release(false, Promise.resolve());
    const second = pool.acquire();
    expect(second).toMatchObject({ coldStart: true, info: { id: 'slot0/gen2' } });
    let finish!: () => void;
    const stillRunning = new Promise<void>((resolve) => {
      finish = resolve;
    });
    second.release(true, stillRunning);
    expect(pool.acquire().info.id).toBe('slot0/gen3');
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toEqual([]);
    finish();
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toEqual(['slot0/gen2']);
    // The abandoned one is closed once abandonedCloseMs has passed, so memory stays bounded.
    await new Promise((r) => setTimeout(r, 150));
    expect(closed).toEqual(['slot0/gen2', 'slot0/gen1']);
    await pool.close();
    expect(closed).toEqual(['slot0/gen2', 'slot0/gen1', 'slot0/gen3']);
  });
});

describe('poller containers', () => {
  let sqs: Awaited<ReturnType<typeof startSqs>>;
  beforeAll(async () => {
    sqs = await startSqs();
  });
  afterAll(async () => {
    await sqs.close();
  });

  it('runs the next batch of a group on another container, and a cold one after a timeout', async () => {
    const q = await createEventQueues(sqs.client, {
      name: 'containers',
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 5,
    });
    const outcomes: InvocationOutcome[] = [];
    const bodies: Array<{ body: string; container: string }> = [];
    const poller = startPoller({
      sqs: sqs.client,
      queueUrl: q.queueUrl,
      queueArn: q.queueArn,
      concurrency: 2,
      timeoutMs: 300,
      createContainer: () => ({
        handle: async (event, ctx) => {
          for (const r of event.Records) bodies.push({ body: r.body, container: ctx.logStreamName });
          // The first delivery of `slow` outlasts the timeout.
          if (event.Records.some((r) => r.body === 'slow' && r.attributes.ApproximateReceiveCount === '1')) {
            await new Promise((r) => setTimeout(r, 600));
          }
          return { batchItemFailures: [] };
        },
      }),
      onInvocation: (o) => outcomes.push(o),
    });
    // fauxqs hands out one message per FIFO group per receive: one batch per message, in order.
    for (const id of ['m1', 'm2', 'm3', 'slow', 'm4']) {
      await sqs.client.send(
        new SendMessageCommand({
          QueueUrl: q.queueUrl,
          MessageBody: id,
          MessageGroupId: 'g',
          MessageDeduplicationId: id,
        }),
      );
    }
    const end = Date.now() + 15_000;
    while (outcomes.filter((o) => !o.batchError).length < 5) {
      if (Date.now() > end) throw new Error(`not processed in time: ${JSON.stringify(bodies)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await poller.stop();
    // Consecutive batches of one group alternate between the two containers; the one whose invocation timed out is
    // thrown away, so its slot's next batch (m4) meets a freshly built container.
    expect(bodies).toEqual([
      { body: 'm1', container: 'slot0/gen1' },
      { body: 'm2', container: 'slot1/gen1' },
      { body: 'm3', container: 'slot0/gen1' },
      { body: 'slow', container: 'slot1/gen1' },
      { body: 'slow', container: 'slot0/gen1' },
      { body: 'm4', container: 'slot1/gen2' },
    ]);
    expect(outcomes.map((o) => o.coldStart)).toEqual([true, true, false, false, false, true]);
    expect(outcomes[3]!.batchError).toContain('timed out');
    expect(poller.stats.coldStarts).toBe(3);
  }, 20_000);
});

function context() {
  return { awsRequestId: 'r', functionName: 'f', logStreamName: 's', getRemainingTimeInMillis: () => 1000 };
}
