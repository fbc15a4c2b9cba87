/**
 * The fault-injection soak, as a function: thousands of Stripe events through the whole local pipeline (HTTP adapter
 * -> the real ingress core -> fauxqs FIFO queue -> poller -> processor containers -> dynalite, a local Stripe server,
 * a sink), with Stripe misbehaving at a steady rate and the processor crashing and timing out. `npm test` runs it at
 * 2,000 events (test/soak/soak.test.ts), `npm run soak -- --events 100000` at scale (bench/soak.ts).
 *
 * What "applied exactly once" means here, as a payments engineer would put it:
 * - The business effect (crediting a ledger) happens once per Stripe event. A processor that dies after the effect
 *   and before it records the event as DONE must run the handler again (it cannot know how far it got), so no
 *   pipeline can promise a handler runs once; it hands the handler a stable idempotency key (the event id). The soak's
 *   handler writes a ledger keyed by that key; the ledger must hold exactly one entry per event.
 * - That alone would hide a pipeline that re-runs handlers freely. So every handler run is counted, and every run
 *   beyond the first must be explained by an invocation that died after running it and before marking the event DONE
 *   (runs = 1 + such deaths, exactly). The same for the sink (EventBridge is at-least-once).
 * - Effects of one object apply in queue order (FIFO per object), and never from an older Stripe state than one
 *   already applied: the object version in sink order never decreases, and is never older than the event itself.
 * - Events about an object Stripe no longer has reach the handler as deleted, which refuses them (as the example
 *   handler does for payment intents): they are dead-lettered, once each, with their reason; nothing else is.
 * - Stripe's Retry-After is honoured: after a 429 the same object is not asked for again before it has passed.
 *
 * The report's headline figures: lost (accepted, neither applied nor in the DLQ with its reason), doubled (a handler
 * run or a publish no death explains, or a second DLQ copy), stale (regressions per object).
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createRegistry, type EventHandler } from '../../lambdas/processor/registry';
import { enqueueMessage } from '../../lambdas/shared/enqueue';
import { PermanentError } from '../../lambdas/shared/errors';
import { toQueueMessage } from '../../lambdas/shared/queue-message';
import { sdkQueueClient } from '../../lambdas/shared/sdk-queue-client';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { type StripeFault, type StripeServer, startStripeServer } from '../../local/stripe-server';
import { queueDepth } from '../../ops/queues';
import { sqsClient } from '../ingress/helpers';
import { type Chaos, createChaos } from './chaos';
import { checkSoak, type SoakChecks } from './checks';
import {
  buildScenario,
  objectAt,
  prng,
  type ScenarioOptions,
  type SoakDelivery,
  type SoakEvent,
  versionOf,
} from './scenario';

export interface SoakOptions {
  readonly seed: string;
  readonly scenario: Omit<ScenarioOptions, 'seed'>;
  /** Processor invocations at once (containers). @default 4 */
  readonly concurrency?: number;
  /** Webhook POSTs in flight at once. @default 12 */
  readonly deliveryConcurrency?: number;
  /** Gives up when the queue is not drained by then. */
  readonly deadlineMs: number;
  /** Progress lines (the CLI prints them; the test stays quiet). */
  readonly progress?: (line: string) => void;
}

export interface SoakReport extends SoakChecks {
  readonly seed: string;
  readonly uniqueEvents: number;
  readonly goodEvents: number;
  readonly poisonEvents: number;
  readonly objects: number;
  readonly webhookDeliveries: number;
  readonly lateCopies: number;
  /** HTTP status -> count, over every webhook delivery. */
  readonly answers: Record<string, number>;
  readonly stripeCalls: number;
  readonly stripeCallsPerEvent: number;
  readonly stripe429: number;
  readonly injected: {
    rateLimited: number;
    withRetryAfter: number;
    serverErrors: number;
    resets: number;
    slow: number;
  };
  readonly poller: {
    invocations: number;
    received: number;
    failedRecords: number;
    failedBatches: number;
    timeouts: number;
    coldStarts: number;
  };
  readonly chaos: Chaos['counts'] & { stalledAlive: number; deaths: number };
  readonly deliverSeconds: number;
  readonly drainSeconds: number;
  readonly eventsPerSecond: number;
  /** Share of the run the pipeline's own event loop was busy (its CPU ceiling: the stand-ins run on other threads). */
  readonly mainThreadUtilization: number;
  /** Largest resident set size seen while the soak ran, MB (sampled every 500 ms). */
  readonly peakRssMb: number;
  readonly peakHeapUsedMb: number;
}

/**
 * The Retry-After of the 429s the Stripe server sends, by share: mostly 1 to 2 s; some 5 s, which outlasts the
 * visibility timeout, so a pipeline ignoring Retry-After shows; a few none, which the processor's own backoff
 * handles (exponential in the message's receive count, so kept rare).
 */
const RETRY_AFTER: ReadonlyArray<[share: number, seconds: number | undefined]> = [
  [0.45, 1],
  [0.25, 2],
  [0.2, 5],
  [0.1, undefined],
];
const SECRET = 'whsec_soak_test_secret';
/** The processor's timeout (the poller's), seconds. */
const TIMEOUT_SECONDS = 3;
/** Visibility timeout of the event queue: longer than the timeout, shorter than the longest Retry-After. */
export const VISIBILITY_SECONDS = 4;
/** How long past the invocation's deadline a stalled handler resumes: past the visibility timeout too. */
const STALL_PAST_DEADLINE_MS = 3_000;
/** Longer than the timeout plus the stall, with room for a loaded machine, so a zombie never outlives its lease. */
const LEASE_SECONDS = 12;
/** Generous: a busy group's later messages are received again each time an earlier one fails. */
const MAX_RECEIVE_COUNT = 30;

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const { seed } = opts;
  const progress = opts.progress ?? (() => undefined);
  const scenario = buildScenario({ seed, ...opts.scenario });
  const good = scenario.events.filter((e) => !e.object.poison);
  const poison = scenario.events.filter((e) => e.object.poison);
  const injected = { rateLimited: 0, withRetryAfter: 0, serverErrors: 0, resets: 0, slow: 0 };
  const ledger = new Map<string, { eventId: string; version: number | undefined }>();
  const sink: Array<{ eventId: string; version: number | undefined }> = [];
  const answers: Record<string, number> = {};
  let lateCopies = 0;

  const memory = { rss: 0, heap: 0 };
  const sampleMemory = () => {
    const m = process.memoryUsage();
    memory.rss = Math.max(memory.rss, m.rss);
    memory.heap = Math.max(memory.heap, m.heapUsed);
  };
  const sampler = setInterval(sampleMemory, 500);

  const stripeServer = await startStripeServer({ faultPolicy: stripeFaults(seed, injected) });
  let pipeline: LocalPipeline | undefined;
  let sender: Worker | undefined;
  try {
    for (const obj of scenario.objects.filter((o) => o.poison)) {
      const where = obj.account ? { account: obj.account } : undefined;
      stripeServer.setObject(objectAt(obj, 1), where);
      stripeServer.deleteObject(obj.id, where);
    }
    const apply: EventHandler = async ({ idempotencyKey, event, object, objectOrigin }) => {
      if (objectOrigin === 'deleted') {
        throw new PermanentError(`Stripe no longer has ${event.object?.id ?? '?'}`, 'object_gone');
      }
      const version = versionOf(object);
      if (!ledger.has(idempotencyKey)) ledger.set(idempotencyKey, { eventId: event.eventId, version });
      return { version };
    };
    const chaos = createChaos({
      crashAfterPublish: new Set(good.filter((e) => e.crashAfterPublish).map((e) => e.id)),
      stall: new Set(good.filter((e) => e.stall).map((e) => e.id)),
      stallPastDeadlineMs: STALL_PAST_DEADLINE_MS,
    });
    pipeline = await startLocalPipeline({
      port: 0,
      webhookSecret: SECRET,
      stripeApiBase: stripeServer.url,
      sink: {
        publish: async (event) => {
          sink.push({ eventId: event.eventId, version: versionOf(event.object) });
        },
      },
      registry: createRegistry().on('payment_intent.*', apply).on('account.*', apply),
      concurrency: opts.concurrency ?? 4,
      timeMarginMs: 1_000,
      batchSize: 10,
      timeoutSeconds: TIMEOUT_SECONDS,
      visibilityTimeoutSeconds: VISIBILITY_SECONDS,
      leaseSeconds: LEASE_SECONDS,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      fifoBatchesLikeSqs: true,
      dynamoInWorker: true,
      sqsInWorker: true,
      invokeProcessor: chaos.invoke,
      logLevel: 'SILENT',
    });
    const running = pipeline;
    const sqs = sqsClient(running.sqsEndpoint);
    const thread = new Worker(new URL('./delivery-worker.mjs', import.meta.url));
    sender = thread;
    const startedAt = Date.now();
    const elu = performance.eventLoopUtilization();

    /** Webhook deliveries, signed and POSTed by the sender thread; late copies enqueued here, as a replay does. */
    const deliver = async (deliveries: readonly SoakDelivery[]): Promise<void> => {
      const late = deliveries.filter((d) => d.kind === 'late');
      const payloads = deliveries.filter((d) => d.kind === 'webhook').map((d) => JSON.stringify(d.event.body));
      const sent = new Promise<Record<string, number>>((resolve, reject) => {
        thread.once('message', (m: { answers?: Record<string, number>; error?: string }) =>
          m.answers ? resolve(m.answers) : reject(new Error(`delivery worker: ${m.error}`)),
        );
      });
      thread.postMessage({
        url: running.webhookUrl,
        secret: SECRET,
        payloads,
        concurrency: opts.deliveryConcurrency ?? 12,
      });
      await inParallel(late, 4, async ({ event }) => {
        // As `replay --force` does: the same enqueue path, with a deduplication id SQS has not seen.
        await enqueueMessage(
          sdkQueueClient(sqs),
          running.queues.queueUrl,
          toQueueMessage(event.body, 'replay', new Date()),
          {
            maxMessageBytes: 262_144,
            deduplicationIdOverride: `${event.id}-late`,
          },
        );
        lateCopies++;
      });
      for (const [status, n] of Object.entries(await sent)) answers[status] = (answers[status] ?? 0) + n;
    };

    let nextReport = 0;
    for (const [b, burst] of scenario.bursts.entries()) {
      applyChanges(stripeServer, burst.changes);
      await deliver(burst.deliveries);
      if (Date.now() >= nextReport) {
        nextReport = Date.now() + 10_000;
        progress(
          `burst ${b + 1}/${scenario.bursts.length}: ${ledger.size}/${good.length} applied, ` +
            `${Math.round((Date.now() - startedAt) / 1000)} s, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`,
        );
      }
    }
    const deliveredAt = Date.now();
    await untilQuiet(running, sqs, chaos, startedAt + opts.deadlineMs, () => {
      const missing = good.filter((e) => !ledger.has(e.id)).slice(0, 10);
      return `${ledger.size}/${good.length} events applied, ${chaos.running()} invocations running; not applied: ${missing.map((e) => e.id).join(', ')}`;
    });
    const drainedAt = Date.now();
    const busy = performance.eventLoopUtilization(elu).utilization;
    const deadLettered = await drainDlq(sqs, running.queues.dlqUrl);
    sqs.destroy();
    sampleMemory();

    const checks = checkSoak({ scenario, ledger, sink, chaos, deadLettered });
    const stats = running.poller.stats;
    const deadIds = new Set(chaos.invocations.filter((i) => i.death !== undefined).map((i) => i.id));
    const stripeCalls = stripeServer.calls.length;
    return {
      seed,
      uniqueEvents: scenario.events.length,
      goodEvents: good.length,
      poisonEvents: poison.length,
      objects: scenario.objects.length,
      webhookDeliveries: scenario.events.reduce((n, e) => n + e.deliveries, 0),
      lateCopies,
      answers,
      stripeCalls,
      stripeCallsPerEvent: stripeCalls / scenario.events.length,
      stripe429: stripeServer.calls.filter((c) => c.status === 429).length,
      injected,
      poller: {
        invocations: stats.invocations,
        received: stats.received,
        failedRecords: stats.failedRecords,
        failedBatches: stats.failedBatches,
        timeouts: stats.timeouts,
        coldStarts: stats.coldStarts,
      },
      chaos: {
        ...chaos.counts,
        deaths: deadIds.size,
        stalledAlive: [...chaos.stalledInvocations].filter((id) => !deadIds.has(id)).length,
      },
      deliverSeconds: (deliveredAt - startedAt) / 1000,
      drainSeconds: (drainedAt - startedAt) / 1000,
      eventsPerSecond: scenario.events.length / ((drainedAt - startedAt) / 1000),
      mainThreadUtilization: Number(busy.toFixed(3)),
      peakRssMb: Math.round(memory.rss / 1e6),
      peakHeapUsedMb: Math.round(memory.heap / 1e6),
      ...checks,
    };
  } finally {
    clearInterval(sampler);
    await sender?.terminate();
    await pipeline?.close();
    await stripeServer.close();
  }
}

/** Faults the Stripe server answers with, decided per request from the seed. */
function stripeFaults(
  seed: string,
  injected: SoakReport['injected'],
): (request: { path: string; account?: string }) => StripeFault | undefined {
  const random = prng(`${seed}:stripe`);
  const resetAgain = new Set<string>();
  return ({ path, account }) => {
    const key = `${account ?? ''} ${path}`;
    // stripe-node retries a reset connection once by itself: reset the retry too, so the call fails.
    if (resetAgain.delete(key)) return { kind: 'reset' };
    const r = random();
    if (r < 0.05) {
      injected.rateLimited++;
      const pick = random();
      let cumulative = 0;
      const [, retryAfterSeconds] = RETRY_AFTER.find(([share]) => {
        cumulative += share;
        return pick < cumulative;
      }) ?? [0, undefined];
      if (retryAfterSeconds === undefined) return { kind: 'rate_limit' };
      injected.withRetryAfter++;
      return { kind: 'rate_limit', retryAfterSeconds };
    }
    if (r < 0.07) {
      injected.serverErrors++;
      return { kind: 'server_error', status: 500 };
    }
    if (r < 0.08) {
      injected.resets++;
      resetAgain.add(key);
      return { kind: 'reset' };
    }
    if (r < 0.13) {
      injected.slow++;
      return { kind: 'latency', ms: 20 + Math.floor(random() * 180) };
    }
    return undefined;
  };
}

function applyChanges(stripeServer: StripeServer, changes: readonly SoakEvent[]): void {
  for (const event of changes) {
    if (event.object.poison) continue;
    // Connected accounts are retrieved by the platform; their payment intents live on the account.
    const where =
      event.object.account && event.object.type !== 'account' ? { account: event.object.account } : undefined;
    stripeServer.setObject(objectAt(event.object, event.version), where);
    // Stripe creates the event right after the change it reports, never before: `created` is stamped now.
    event.body.created = Math.floor(Date.now() / 1000);
  }
}

async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Waits until nothing is left to happen: the queue is empty and no invocation (zombies included) is running. */
async function untilQuiet(
  pipeline: LocalPipeline,
  sqs: ReturnType<typeof sqsClient>,
  chaos: Chaos,
  deadline: number,
  describe: () => string,
): Promise<void> {
  let quietChecks = 0;
  while (quietChecks < 2) {
    if (Date.now() > deadline) throw new Error(`soak not drained in time: ${describe()}`);
    await new Promise((r) => setTimeout(r, 250));
    quietChecks =
      chaos.running() === 0 && (await queueDepth(sqs, pipeline.queues.queueUrl)) === 0 ? quietChecks + 1 : 0;
  }
}

export interface DeadLetter {
  readonly eventId: string;
  readonly code: string;
  readonly reason: string;
  /** The event queue's message it was moved from, and when the processor moved it (explains a second copy). */
  readonly originalMessageId?: string;
  readonly failedAt?: string;
}

async function drainDlq(sqs: ReturnType<typeof sqsClient>, dlqUrl: string): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (;;) {
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = got.Messages ?? [];
    if (messages.length === 0) return out;
    for (const m of messages) {
      out.push({
        eventId: m.MessageAttributes?.EventId?.StringValue ?? JSON.parse(m.Body ?? '{}').eventId ?? '?',
        code: m.MessageAttributes?.FailureCode?.StringValue ?? '(none: moved by the queue after maxReceiveCount)',
        reason: m.MessageAttributes?.FailureReason?.StringValue ?? '',
        originalMessageId: m.MessageAttributes?.OriginalMessageId?.StringValue,
        failedAt: m.MessageAttributes?.FailedAt?.StringValue,
      });
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
}
