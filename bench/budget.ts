/**
 * Bench 5, the Stripe request budget and the latency it leaves, through the local runtime (the real ingress and
 * processor on fauxqs and dynalite) against a local Stripe that enforces a hard limit: more than LIMIT requests in
 * one wall-clock second are answered 429, as Stripe's own limiter does.
 *
 * - Backlogs: webhooks POSTed as fast as the ingress takes them, drained by `concurrency` processor containers,
 *   each holding its share of the budget (lambdas/shared/request-budget.ts). Reported: the budget used (Stripe calls
 *   per second over the drain, against the budget; target >= 90% on distinct objects, where Stripe is the
 *   bottleneck: on shared objects one fetch serves a batch's group mates and the other work sets the pace), the 429s
 *   (target 0), the most requests Stripe saw in one second, and Stripe calls per event (distinct objects: 1.00; a
 *   backlog on shared objects: below 1).
 * - Latency: webhooks at half the budget, one at a time at an even pace; for each event, the time from the
 *   webhook's 2xx to the start of its business handler. p50/p95/p99.
 */
import { loadavg } from 'node:os';
import { createRegistry } from '../lambdas/processor/registry';
import type { EventSink } from '../lambdas/shared/sink';
import { LOCAL_WEBHOOK_SECRET, startLocalPipeline } from '../local/pipeline';
import { startStripeServer } from '../local/stripe-server';
import { isMain, runMain } from '../scripts/cli';
import { percentile } from './lib/stats';
import { paymentIntent, paymentSucceededEvent, signatureHeader } from './lib/stripe-events';

/** Stripe's test-mode limit (about 25 requests/s), enforced per wall-clock second. */
export const STRIPE_LIMIT_PER_SECOND = 25;

export interface BacklogRun {
  readonly label: string;
  readonly events: number;
  readonly objects: number;
  readonly stripeCalls: number;
  readonly callsPerEvent: number;
  /** From the first Stripe call to the last. */
  readonly drainSeconds: number;
  /** Stripe calls per second over the drain / the budget. */
  readonly budgetUsed: number;
  readonly rateLimited: number;
  /** The most requests Stripe saw in one wall-clock second. */
  readonly maxInOneSecond: number;
}

export interface LatencyRun {
  readonly ratePerSecond: number;
  readonly events: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly rateLimited: number;
}

export interface BudgetResults {
  readonly limitPerSecond: number;
  readonly budgetPerSecond: number;
  readonly concurrency: number;
  readonly stripeLatencyMs: number;
  readonly distinct: BacklogRun;
  readonly shared: BacklogRun;
  readonly latency: LatencyRun;
  readonly loadAverage: { readonly atStart: number[]; readonly atEnd: number[] };
}

interface Delivery {
  readonly eventId: string;
  readonly body: string;
}

async function post(url: string, d: Delivery): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader(d.body, LOCAL_WEBHOOK_SECRET) },
    body: d.body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${text}`);
}

/** Runs bench 5: `events` webhooks per backlog, `latencyEvents` for the latency run. */
export async function runBudgetBench(
  progress: (s: string) => void,
  opts: { events?: number; latencyEvents?: number; budgetPerSecond?: number; concurrency?: number } = {},
): Promise<BudgetResults> {
  const atStart = loadavg().map((l) => Number(l.toFixed(2)));
  const events = opts.events ?? 600;
  const budget = opts.budgetPerSecond ?? 20;
  const concurrency = opts.concurrency ?? 4;
  const stripeLatencyMs = 20;
  const perSecond = new Map<number, number>();
  let rateLimited = 0;
  const callTimes: number[] = [];
  const stripe = await startStripeServer({
    latencyMs: stripeLatencyMs,
    faultPolicy: () => {
      const t = Date.now();
      callTimes.push(t);
      const second = Math.floor(t / 1000);
      const n = (perSecond.get(second) ?? 0) + 1;
      perSecond.set(second, n);
      if (n <= STRIPE_LIMIT_PER_SECOND) return undefined;
      rateLimited += 1;
      return { kind: 'rate_limit', retryAfterSeconds: 1 };
    },
  });
  const handlerStarts = new Map<string, number>();
  const registry = createRegistry().on('payment_intent.succeeded', async ({ event }) => {
    handlerStarts.set(event.eventId, performance.now());
  });
  const seen = new Set<string>();
  let waiting: { count: number; resolve: () => void } | undefined;
  const sink: EventSink = {
    async publish(event) {
      seen.add(event.eventId);
      if (waiting && seen.size >= waiting.count) waiting.resolve();
    },
  };
  const untilSeen = (count: number, label: string) =>
    new Promise<void>((resolve, reject) => {
      if (seen.size >= count) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`${label}: only ${seen.size} of ${count} events reached the sink in 180 s`)),
        180_000,
      );
      waiting = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });

  const pipeline = await startLocalPipeline({
    port: 0,
    stripeApiBase: stripe.url,
    sink,
    registry,
    concurrency,
    batchSize: 10,
    logLevel: 'SILENT',
    fifoBatchesLikeSqs: true,
    stripeMaxRequestsPerSecond: budget,
    sqsInWorker: true,
  });
  const reset = () => {
    callTimes.length = 0;
    perSecond.clear();
    rateLimited = 0;
    seen.clear();
  };
  const backlog = async (label: string, objects: number, perObject: number): Promise<BacklogRun> => {
    progress(`${label}: ${objects * perObject} webhooks on ${objects} objects, budget ${budget}/s`);
    reset();
    const created = Math.floor(Date.now() / 1000) - 30;
    const prefix = label.replace(/[^a-z]+/g, '');
    for (let o = 0; o < objects; o++) stripe.setObject(paymentIntent(`pi_${prefix}_${o}`));
    const items: Delivery[] = [];
    for (let round = 0; round < perObject; round++) {
      for (let o = 0; o < objects; o++) {
        const eventId = `evt_${prefix}_${o}_${round}`;
        items.push({
          eventId,
          body: JSON.stringify(paymentSucceededEvent(eventId, `pi_${prefix}_${o}`, { createdSeconds: created })),
        });
      }
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < items.length) await post(pipeline.webhookUrl, items[next++]!);
      }),
    );
    await untilSeen(items.length, label);
    const drainSeconds = (callTimes[callTimes.length - 1]! - callTimes[0]!) / 1000;
    return {
      label,
      events: items.length,
      objects,
      stripeCalls: callTimes.length,
      callsPerEvent: callTimes.length / items.length,
      drainSeconds,
      // n calls span n - 1 intervals.
      budgetUsed: (callTimes.length - 1) / drainSeconds / budget,
      rateLimited,
      maxInOneSecond: Math.max(...perSecond.values()),
    };
  };

  try {
    const distinct = await backlog('distinct objects', events, 1);
    const shared = await backlog('shared objects', Math.round(events / 10), 5);

    const rate = budget / 2;
    const latencyEvents = opts.latencyEvents ?? 200;
    progress(`latency: ${latencyEvents} webhooks at ${rate}/s (half the budget)`);
    reset();
    const answered = new Map<string, number>();
    const t0 = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < latencyEvents; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const eventId = `evt_latency_${i}`;
      stripe.setObject(paymentIntent(`pi_latency_${i}`));
      const d = { eventId, body: JSON.stringify(paymentSucceededEvent(eventId, `pi_latency_${i}`)) };
      sends.push(post(pipeline.webhookUrl, d).then(() => void answered.set(eventId, performance.now())));
    }
    await Promise.all(sends);
    await untilSeen(latencyEvents, 'latency');
    const latencies = [...answered].map(([id, at]) => {
      const start = handlerStarts.get(id);
      if (start === undefined) throw new Error(`no handler start for ${id}`);
      return start - at;
    });
    return {
      limitPerSecond: STRIPE_LIMIT_PER_SECOND,
      budgetPerSecond: budget,
      concurrency,
      stripeLatencyMs,
      distinct,
      shared,
      latency: {
        ratePerSecond: rate,
        events: latencyEvents,
        p50Ms: percentile(latencies, 50),
        p95Ms: percentile(latencies, 95),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
        rateLimited,
      },
      loadAverage: { atStart, atEnd: loadavg().map((l) => Number(l.toFixed(2))) },
    };
  } finally {
    await pipeline.close();
    await stripe.close();
  }
}

/** `npx tsx bench/budget.ts [events]`: this bench alone. */
async function main(argv: string[]): Promise<void> {
  const events = Number(argv[0] ?? 600);
  const results = await runBudgetBench((s) => process.stderr.write(`${s}\n`), { events });
  process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
}

if (isMain(import.meta.url)) runMain(main);
