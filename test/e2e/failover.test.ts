/**
 * A regional outage and a Route 53 failover, played locally: two pipelines (the real ingress and processor cores),
 * each with its own HTTP endpoint and FIFO queue, sharing ONE idempotency table as two regions share a DynamoDB global
 * table. A Stripe-like sender delivers signed events to whichever region "DNS" points at and retries every delivery
 * that did not get a 2xx, re-signed, as Stripe does.
 *
 * What a regional outage means here, and why:
 * - The primary first loses its processing (its poller stops) while its API still answers: events it accepts wait
 *   in its queue, and its health check stays green, because the region can still take events (GET /health reports
 *   whether the region can ENQUEUE; a backlog is the queue-age alarm's business, not DNS's).
 * - Some deliveries are enqueued but their 2xx is lost (API Gateway timed out after the Lambda had enqueued): Stripe
 *   counts them as failed and retries them, so after the failover they reach the secondary too. These events sit in
 *   BOTH regions' queues.
 * - Then the primary's API goes down: its health check fails, "Route 53" fails over after the failure threshold, and
 *   Stripe's retries and new events reach the secondary.
 * - Events the primary acknowledged are not retried by Stripe and are not lost either: SQS keeps them (retention 4
 *   days) while the region is down, and the primary drains them when it comes back. Until then they are late, not
 *   gone (a replay from Stripe's event list into the secondary is the runbook's alternative for a long outage).
 * Across both regions every event is processed exactly once: the shared table's claim turns the second copy of an
 * event delivered to both regions into a skipped duplicate.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventSink, ProcessedEvent } from '../../lambdas/shared/sink';
import type { HttpHandler } from '../../local/http-adapter';
import { LOCAL_WEBHOOK_SECRET, type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { type RunningService, startDynamo } from '../../local/stand-ins';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { queueDepth, untilQueueDrained } from '../support/queue-drained';
import { stagedScenario } from '../support/staged-scenario';

type Region = 'primary' | 'secondary';
const TABLE = 'stripe-webhooks-idempotency';
/** Route 53's failure threshold in this model: consecutive failed health checks before failing over. */
const FAILURE_THRESHOLD = 3;

let table: RunningService<DynamoDBClient>;
let stripe: StripeServer;
const regions = {} as Record<Region, LocalPipeline>;
/** Every event a region's processor published, in order: the sink of each region. */
const processed: { region: Region; event: ProcessedEvent }[] = [];
/** Event ids whose 2xx the primary's API loses after the enqueue (API Gateway's 30 s integration timeout). */
const loseResponseFor = new Set<string>();

function collectingSink(region: Region): EventSink {
  return {
    async publish(event) {
      processed.push({ region, event });
    },
  };
}

/** The primary's API: the real ingress, but the answer to some deliveries is lost after the event was enqueued. */
function losingResponses(handle: HttpHandler): HttpHandler {
  return async (event): Promise<APIGatewayProxyStructuredResultV2> => {
    const res = await handle(event);
    const id = (JSON.parse(event.body ?? '{}') as { id?: string }).id;
    if (res.statusCode === 200 && id !== undefined && loseResponseFor.has(id)) {
      return { statusCode: 504, body: JSON.stringify({ message: 'Endpoint request timed out' }) };
    }
    return res;
  };
}

/** Route 53 in miniature: a failover record whose primary is health-checked through GET /health. */
class FailoverDns {
  active: Region = 'primary';
  private failures = 0;

  /** One health check of the primary, as a Route 53 checker makes it. */
  async probe(): Promise<void> {
    let healthy = false;
    try {
      const res = await fetch(`${regions.primary.url}/health`, { signal: AbortSignal.timeout(1_000) });
      healthy = res.status === 200 && (await res.text()).includes('"status":"ok"');
    } catch {
      healthy = false;
    }
    this.failures = healthy ? 0 : this.failures + 1;
    this.active = this.failures >= FAILURE_THRESHOLD ? 'secondary' : healthy ? 'primary' : this.active;
  }

  webhookUrl(): string {
    return regions[this.active].webhookUrl;
  }
}

/** Stripe in miniature: signs every attempt afresh, counts only a 2xx as delivered, keeps the rest for a retry. */
class StripeSender {
  readonly failed = new Map<string, Record<string, unknown>>();
  readonly deliveredTo = new Map<string, Region[]>();

  constructor(private readonly dns: FailoverDns) {}

  async deliver(event: Record<string, unknown>): Promise<boolean> {
    const id = event.id as string;
    const region = this.dns.active;
    const body = JSON.stringify(event);
    const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: LOCAL_WEBHOOK_SECRET });
    let ok = false;
    try {
      const res = await fetch(this.dns.webhookUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': header },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      ok = res.status >= 200 && res.status < 300;
      await res.arrayBuffer();
    } catch {
      ok = false; // connection refused or cut: the region is down
    }
    this.deliveredTo.set(id, [...(this.deliveredTo.get(id) ?? []), region]);
    if (ok) this.failed.delete(id);
    else this.failed.set(id, event);
    return ok;
  }

  /** Stripe's retry schedule, compressed: every failed delivery once more, wherever DNS points now. */
  async retryFailed(): Promise<void> {
    for (const event of [...this.failed.values()]) await this.deliver(event);
  }
}

function eventId(n: number): string {
  return `evt_failover_${String(n).padStart(2, '0')}`;
}

function paymentEvent(n: number): Record<string, unknown> {
  return {
    id: eventId(n),
    object: 'event',
    type: 'payment_intent.succeeded',
    livemode: false,
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: `pi_failover_${n}`, object: 'payment_intent', status: 'succeeded' } },
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function processedIds(region?: Region): string[] {
  return processed.filter((p) => region === undefined || p.region === region).map((p) => p.event.eventId);
}

/** Messages on a region's event queue: visible, in flight or delayed. */
function regionQueueDepth(region: Region): Promise<number> {
  return queueDepth(regions[region]);
}

beforeAll(async () => {
  table = await startDynamo();
  stripe = await startStripeServer({ singletonsFromFixtures: true, admin: true });
  for (const n of range(1, 30)) {
    stripe.setObject({ id: `pi_failover_${n}`, object: 'payment_intent', status: 'succeeded', amount: 100 * n });
  }
  for (const region of ['primary', 'secondary'] as const) {
    regions[region] = await startLocalPipeline({
      port: 0,
      idempotencyTable: { endpoint: table.endpoint, tableName: TABLE },
      stripeApiBase: stripe.url,
      sink: collectingSink(region),
      logLevel: 'SILENT',
      concurrency: 2,
      ...(region === 'primary' ? { wrapIngress: losingResponses } : {}),
    });
  }
});

afterAll(async () => {
  await regions.primary?.close();
  await regions.secondary?.close();
  await stripe?.close();
  await table?.close();
});

const dns = new FailoverDns();
const sender = new StripeSender(dns);

/** The outage, in stages that build on each other (see stagedScenario). */
const playThrough = stagedScenario([
  // 1. The primary is healthy.
  async () => {
    for (const n of range(1, 10)) expect(await sender.deliver(paymentEvent(n))).toBe(true);
    await waitFor('events 1-10 processed', () => processedIds('primary').length === 10);
  },
  // 2. The primary can enqueue but not process.
  async () => {
    // Resolves once the poller's last long polls have come back: what arrives from now on waits, visible, on the queue.
    await regions.primary.stopProcessing();
    for (const n of [18, 19, 20]) loseResponseFor.add(eventId(n));
    for (const n of range(11, 20)) await sender.deliver(paymentEvent(n));
    for (let i = 0; i < FAILURE_THRESHOLD + 1; i++) await dns.probe();
  },
  // 3. The primary's API goes down; Route 53 fails over; Stripe retries.
  async () => {
    await regions.primary.stopIngress();
    // Before Route 53 has seen enough failed checks, deliveries still go to the dead primary and fail.
    await dns.probe();
    expect(dns.active).toBe('primary');
    for (const n of [21, 22]) expect(await sender.deliver(paymentEvent(n))).toBe(false);
    for (let i = 1; i < FAILURE_THRESHOLD; i++) await dns.probe();
    expect(dns.active).toBe('secondary');
    await sender.retryFailed(); // 18, 19, 20 (enqueued in the primary too) and 21, 22
    for (const n of range(23, 30)) expect(await sender.deliver(paymentEvent(n))).toBe(true);
    // Stripe delivers at least once: an event the primary processed long ago arrives again.
    expect(await sender.deliver(paymentEvent(5))).toBe(true);
    await untilQueueDrained(regions.secondary);
  },
  // 4. The primary is down: nothing to do but look.
  async () => undefined,
  // 5. The primary recovers and drains its queue.
  async () => {
    regions.primary.startProcessing();
    // Drained: every message the primary held was processed (or skipped) and deleted, so no copy can come later.
    await untilQueueDrained(regions.primary);
  },
]);

describe('failover between two regions sharing one idempotency table', () => {
  it('1. processes events in the primary while it is healthy', async () => {
    await playThrough(1);
    expect(processedIds('primary').sort()).toEqual(range(1, 10).map(eventId));
  });

  it('2. keeps traffic on a primary that can enqueue but not process; the events wait in its queue', async () => {
    await playThrough(2);
    // 11-17 acknowledged; 18-20 enqueued, but Stripe saw a 504 and will retry them.
    expect([...sender.failed.keys()].sort()).toEqual([18, 19, 20].map(eventId));
    expect(dns.active).toBe('primary');
    expect(await regionQueueDepth('primary')).toBe(10);
    expect(processedIds()).toHaveLength(10);
  });

  it('3. fails over when the primary API goes down; Stripe retries and new events reach the secondary', async () => {
    await playThrough(3);
    expect(sender.failed.size).toBe(0);
    // The secondary's queue is drained: everything it took is processed, and nothing more will be.
    expect(processedIds('secondary').sort()).toEqual(range(18, 30).map(eventId));
    expect(processedIds().filter((id) => id === eventId(5))).toHaveLength(1);
  });

  it('4. leaves what the primary acknowledged in its queue, not processed and not lost, while it is down', async () => {
    await playThrough(4);
    expect(await regionQueueDepth('primary')).toBe(10);
    for (const n of range(11, 17)) expect(processedIds()).not.toContain(eventId(n));
  });

  it('5. drains the recovered primary: its waiting events once, the copies the secondary handled skipped', async () => {
    await playThrough(5);
    // Every event exactly once across both regions.
    const all = processedIds();
    expect([...all].sort()).toEqual(range(1, 30).map(eventId));
    expect(new Set(all).size).toBe(all.length);
    // Where each was processed.
    expect(processedIds('primary').sort()).toEqual(range(1, 17).map(eventId));
    expect(processedIds('secondary').sort()).toEqual(range(18, 30).map(eventId));
    // 18-20 reached both regions' queues; the shared table let only one region process each.
    for (const n of [18, 19, 20]) expect(sender.deliveredTo.get(eventId(n))).toEqual(['primary', 'secondary']);
    // Each processed event carries the object fetched from Stripe, not the webhook's snapshot.
    for (const { event } of processed) expect(event.objectOrigin).toBe('fetched');
  });
});
