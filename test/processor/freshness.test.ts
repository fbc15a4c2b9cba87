/**
 * Freshness across Lambda containers, through the container-modelled local runtime: per object, a handler never
 * receives a state older than one already handed to an earlier event of that object, even when the object's
 * consecutive events run on different containers.
 *
 * The scene (issue 10, F1): three events about one payment intent wait on the queue (Stripe redelivering after an
 * outage: created a minute ago). Container A handles E1 and fetches the object; the object changes in Stripe right
 * after; container B handles E2 and fetches the new state; container A handles E3. A processor that reused A's own
 * earlier fetch for E3 would hand E3's handler the old state after E2's handler saw the new one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../lambdas/processor/registry';
import { enqueueMessage } from '../../lambdas/shared/enqueue';
import { toQueueMessage } from '../../lambdas/shared/queue-message';
import { sdkQueueClient } from '../../lambdas/shared/sdk-queue-client';
import type { ProcessedEvent } from '../../lambdas/shared/sink';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import type { InvocationOutcome } from '../../local/poller';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { sqsClient } from '../ingress/helpers';
import { classicEvent, uid } from './harness';

let stripeServer: StripeServer;
let pipeline: LocalPipeline;
const handed: Array<{ eventId: string; status: unknown }> = [];
const published: ProcessedEvent[] = [];
const invocations: InvocationOutcome[] = [];
/** Called by the handler after it saw an event (the test changes the object in Stripe there). */
let afterHandling: (eventId: string) => void = () => undefined;

beforeAll(async () => {
  stripeServer = await startStripeServer();
  pipeline = await startLocalPipeline({
    port: 0,
    stripeApiBase: stripeServer.url,
    sink: { publish: async (e) => void published.push(e) },
    registry: createRegistry().on('payment_intent.*', async ({ event, object }) => {
      handed.push({ eventId: event.eventId, status: object?.status });
      afterHandling(event.eventId);
      return undefined;
    }),
    concurrency: 2,
    onInvocation: (o) => invocations.push(o),
    logLevel: 'SILENT',
  });
});

afterAll(async () => {
  await pipeline?.close();
  await stripeServer?.close();
});

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('freshness across containers', () => {
  it('never hands an event an older state than an earlier event of the object got on another container', async () => {
    const id = `pi_${uid()}`;
    const at = (status: string) => ({ id, object: 'payment_intent', amount: 100, currency: 'eur', status });
    stripeServer.setObject(at('processing'));
    const created = Math.floor(Date.now() / 1000) - 60;
    const events = [1, 2, 3].map((n) =>
      classicEvent('payment_intent.processing', at('processing'), { id: `evt_${uid()}_${n}`, created }),
    );
    afterHandling = (eventId) => {
      // The object changes in Stripe right after the first event's fetch.
      if (eventId === events[0]!.id) stripeServer.setObject(at('succeeded'));
    };
    const sqs = sqsClient(pipeline.sqsEndpoint);
    try {
      for (const e of events) {
        await enqueueMessage(sdkQueueClient(sqs), pipeline.queues.queueUrl, toQueueMessage(e, 'webhook', new Date()), {
          maxMessageBytes: 262_144,
        });
      }
    } finally {
      sqs.destroy();
    }
    await until(() => published.length === 3);

    expect(handed.map((h) => h.eventId)).toEqual(events.map((e) => e.id));
    // The scene really crossed containers: one batch each (fauxqs hands out one message per group per receive),
    // on the two containers in turn.
    const containers = invocations.filter((o) => o.received > 0).map((o) => o.container);
    expect(new Set(containers).size).toBe(2);
    expect(handed.map((h) => h.status)).toEqual(['processing', 'succeeded', 'succeeded']);
  });
});
