/**
 * Bench 3, throughput through the local runtime: the real ingress and processor cores on fauxqs, dynalite and a local
 * Stripe server that answers every call 20 ms late. Webhooks are POSTed over HTTP; a run ends when the sink has every
 * unique event. Each run also yields what the cost model needs: processor time per invocation, records per
 * invocation, message and EventBridge entry sizes, and the bytes each function logs per event.
 *
 * Stripe calls per unique event are measured on three bursts:
 * - distinct objects (one event per object): every event needs its own fetch, so exactly 1.0;
 * - a backlog: several events per object waiting on the queue together (Stripe redelivering after an outage). SQS
 *   hands out several messages of one FIFO group per receive (the runs use fauxqs patched to do so), and the records of
 *   one object in one batch share one fetch; nothing is reused across invocations (see FetchCache);
 * - the same shape arriving live (created just now): events of one object meet in a batch only when they wait on
 *   the queue, so more calls.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { entrySize, toEntry } from '../lambdas/processor/eventbridge-sink';
import type { EventSink, ProcessedEvent } from '../lambdas/shared/sink';
import { type BatchFunction, LOCAL_WEBHOOK_SECRET, startLocalPipeline } from '../local/pipeline';
import type { StripeServer } from '../local/stripe-server';
import { type AttributeValue, dynamoItemBytes } from './cost-model';
import { type DurationStats, durationStats } from './ingress';
import { captureStdout } from './lib/log-capture';
import { mean } from './lib/stats';
import { paymentIntent, paymentSucceededEvent, signatureHeader } from './lib/stripe-events';

const SERVICES = ['stripe-ingress', 'stripe-processor'] as const;

export interface LogsPerEvent {
  /** Powertools log lines per unique event (EMF lines not included). */
  readonly logLines: number;
  readonly emfLines: number;
  readonly bytes: number;
}

export interface RunResult {
  readonly label: string;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly uniqueEvents: number;
  /** Distinct Stripe objects the events are about. */
  readonly objects: number;
  /** From the first POST until the last webhook was answered. */
  readonly postSeconds: number;
  /** From the first POST until the sink had every unique event. */
  readonly endToEndSeconds: number;
  readonly eventsPerSecond: number;
  /**
   * CPU time of this process per event over the run (user + system): the whole local stack (HTTP adapter, ingress,
   * fauxqs, poller, processor, dynalite, the Stripe server) runs on one Node thread, so this, not the concurrency,
   * bounds local throughput; unlike events/s it does not depend on how busy the machine is.
   */
  readonly cpuMsPerEvent: number;
  readonly stripeCalls: number;
  readonly stripeCallsPerEvent: number;
  readonly invocations: number;
  readonly recordsPerInvocation: number;
  /** The processor's handler time per invocation (what Lambda bills), measured around `handle`. */
  readonly invocationMs: DurationStats;
  /** Records reported failed (redelivered); 0 in a clean run. */
  readonly failedRecords: number;
  /** Mean webhook body, bytes. */
  readonly webhookBytes: number;
  /** Size DynamoDB bills for one idempotency item once DONE (read back from the table), bytes. */
  readonly dynamoItemBytes: number;
  /** Mean SQS message payload (body + message attributes), bytes. */
  readonly sqsMessageBytes: number;
  /** Mean EventBridge entry (Source + DetailType + Detail), bytes. */
  readonly eventBridgeEntryBytes: number;
  readonly logs: { readonly ingress: LogsPerEvent; readonly processor: LogsPerEvent };
}

export interface ThroughputResults {
  readonly stripeLatencyMs: number;
  readonly runs: RunResult[];
}

interface Delivery {
  readonly body: string;
  readonly header: string;
}

/** Bytes SQS bills for a message: its body and every message attribute's name, type and value. */
export function sqsPayloadBytes(record: SQSRecord): number {
  let bytes = Buffer.byteLength(record.body, 'utf8');
  for (const [name, attr] of Object.entries(record.messageAttributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(attr.dataType) + Buffer.byteLength(attr.stringValue ?? '');
  }
  return bytes;
}

/** Bytes EventBridge counts for the entry the EventBridge sink would put for `event` (Time's 14 included). */
export function eventBridgeEntryBytes(event: ProcessedEvent): number {
  return entrySize(toEntry(event, 'bus'));
}

/**
 * `perObject` events about each of `objects` payment intents, ordered round by round (every object's first event,
 * then every object's second...), as a redelivery backlog arrives. Stores the objects on the Stripe server.
 */
function deliveries(
  stripe: StripeServer,
  prefix: string,
  objects: number,
  perObject: number,
  createdSeconds: number,
): Delivery[] {
  for (let o = 0; o < objects; o++) stripe.setObject(paymentIntent(`pi_${prefix}_${o}`));
  const out: Delivery[] = [];
  for (let round = 0; round < perObject; round++) {
    for (let o = 0; o < objects; o++) {
      const body = JSON.stringify(
        paymentSucceededEvent(`evt_${prefix}_${o}_${round}`, `pi_${prefix}_${o}`, { createdSeconds }),
      );
      out.push({ body, header: signatureHeader(body, LOCAL_WEBHOOK_SECRET) });
    }
  }
  return out;
}

/** The billed size of the idempotency item of `eventId`, read back from the local table. */
async function storedItemBytes(endpoint: string, tableName: string, eventId: string): Promise<number> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const out = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: eventId } } }));
    if (!out.Item) throw new Error(`no idempotency item for ${eventId}`);
    return dynamoItemBytes(out.Item as Record<string, AttributeValue>);
  } finally {
    client.destroy();
  }
}

/** POSTs every delivery, `parallel` at a time; throws on any answer but 200. */
async function postAll(url: string, items: readonly Delivery[], parallel: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': item.header },
        body: item.body,
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${text}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

interface RunSpec {
  readonly label: string;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly objects: number;
  readonly perObject: number;
  /** How long before the POSTs the events were created, seconds. */
  readonly ageSeconds: number;
}

async function runOnce(stripe: StripeServer, spec: RunSpec, progress: (s: string) => void): Promise<RunResult> {
  const prefix = spec.label.replace(/[^a-z0-9]+/gi, '');
  const items = deliveries(
    stripe,
    prefix,
    spec.objects,
    spec.perObject,
    Math.floor(Date.now() / 1000) - spec.ageSeconds,
  );
  const expected = items.length;
  const seen = new Set<string>();
  const entrySizes: number[] = [];
  let allSeen: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allSeen = resolve;
  });
  const sink: EventSink = {
    async publish(event) {
      entrySizes.push(eventBridgeEntryBytes(event));
      seen.add(event.eventId);
      if (seen.size >= expected) allSeen();
    },
  };
  const invocations: { ms: number; records: number; failed: number; messageBytes: number[] }[] = [];
  const wrap =
    (handle: BatchFunction): BatchFunction =>
    async (event, ctx) => {
      const t0 = performance.now();
      const out = await handle(event, ctx);
      invocations.push({
        ms: performance.now() - t0,
        records: event.Records.length,
        failed: out.batchItemFailures.length,
        messageBytes: event.Records.map(sqsPayloadBytes),
      });
      return out;
    };

  progress(`${spec.label}: ${expected} webhooks, concurrency ${spec.concurrency}, batch size ${spec.batchSize}`);
  const capture = captureStdout(SERVICES);
  let timing: { post: number; end: number; cpuMs: number };
  let itemBytes: number;
  try {
    const pipeline = await startLocalPipeline({
      port: 0,
      stripeApiBase: stripe.url,
      sink,
      concurrency: spec.concurrency,
      batchSize: spec.batchSize,
      logLevel: 'INFO',
      emitMetrics: true,
      wrapProcessor: wrap,
      // As SQS does: a batch can hold several messages of one group (fauxqs alone hands out one per group).
      fifoBatchesLikeSqs: true,
    });
    try {
      stripe.resetCalls();
      const before = capture.tally();
      if ((before.lines['stripe-ingress'] ?? 0) + (before.lines['stripe-processor'] ?? 0) > 0) {
        throw new Error('the pipeline logged before any webhook: the per-event log figures would be off');
      }
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await postAll(pipeline.webhookUrl, items, 16);
      const tPosted = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${spec.label}: only ${seen.size} of ${expected} events reached the sink in 120 s`)),
          120_000,
        );
      });
      await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
      const cpu = process.cpuUsage(cpu0);
      timing = {
        post: (tPosted - t0) / 1000,
        end: (performance.now() - t0) / 1000,
        cpuMs: (cpu.user + cpu.system) / 1000,
      };
      itemBytes = await storedItemBytes(pipeline.dynamoEndpoint, pipeline.tableName, [...seen][0]!);
    } finally {
      await pipeline.close();
    }
  } finally {
    capture.stop();
  }
  const tally = capture.tally();
  const perEvent = (service: string): LogsPerEvent => ({
    logLines: ((tally.lines[service] ?? 0) - (tally.emfLines[service] ?? 0)) / expected,
    emfLines: (tally.emfLines[service] ?? 0) / expected,
    bytes: (tally.bytes[service] ?? 0) / expected,
  });
  const stripeCalls = stripe.calls.length;
  const records = invocations.reduce((n, i) => n + i.records, 0);
  return {
    label: spec.label,
    concurrency: spec.concurrency,
    batchSize: spec.batchSize,
    uniqueEvents: expected,
    objects: spec.objects,
    postSeconds: timing.post,
    endToEndSeconds: timing.end,
    eventsPerSecond: expected / timing.end,
    cpuMsPerEvent: timing.cpuMs / expected,
    stripeCalls,
    stripeCallsPerEvent: stripeCalls / expected,
    invocations: invocations.length,
    recordsPerInvocation: records / invocations.length,
    invocationMs: durationStats(invocations.map((i) => i.ms)),
    failedRecords: invocations.reduce((n, i) => n + i.failed, 0),
    webhookBytes: mean(items.map((i) => Buffer.byteLength(i.body))),
    dynamoItemBytes: itemBytes,
    sqsMessageBytes: mean(invocations.flatMap((i) => i.messageBytes)),
    eventBridgeEntryBytes: mean(entrySizes),
    logs: { ingress: perEvent('stripe-ingress'), processor: perEvent('stripe-processor') },
  };
}

/**
 * The runs of bench 3, in order. `events` webhooks per throughput run (the same at every concurrency); the naive
 * batch-size-1 run only needs durations, so it takes half as many; the bursts have 5 events per object.
 */
export function throughputPlan(events: number): RunSpec[] {
  const burstObjects = Math.max(1, Math.round(events / 6));
  return [
    { label: 'concurrency 1', concurrency: 1, batchSize: 10, objects: events, perObject: 1, ageSeconds: 0 },
    { label: 'concurrency 4', concurrency: 4, batchSize: 10, objects: events, perObject: 1, ageSeconds: 0 },
    { label: 'concurrency 16', concurrency: 16, batchSize: 10, objects: events, perObject: 1, ageSeconds: 0 },
    // The naive configuration's processor: no batching.
    {
      label: 'naive: batch size 1',
      concurrency: 4,
      batchSize: 1,
      objects: Math.round(events / 2),
      perObject: 1,
      ageSeconds: 0,
    },
    // Events created 30 s before they arrive: a redelivery backlog after an outage.
    { label: 'backlog burst', concurrency: 4, batchSize: 10, objects: burstObjects, perObject: 5, ageSeconds: 30 },
    // The same shape, arriving as it happens.
    { label: 'live burst', concurrency: 4, batchSize: 10, objects: burstObjects, perObject: 5, ageSeconds: 0 },
  ];
}

/** Runs bench 3 against a Stripe server answering `stripe`'s requests with its configured latency. */
export async function runThroughputBench(
  stripe: StripeServer,
  stripeLatencyMs: number,
  progress: (s: string) => void,
  events = 600,
): Promise<ThroughputResults> {
  const runs: RunResult[] = [];
  for (const spec of throughputPlan(events)) runs.push(await runOnce(stripe, spec, progress));
  return { stripeLatencyMs, runs };
}
