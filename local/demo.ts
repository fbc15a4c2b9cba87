/**
 * `npm run demo`: a burst of signed sample events through the local pipeline, then a summary of what happened.
 *
 * It uses a running `npm start` when there is one (`--port`/`--url` pick one of several), otherwise it starts its own
 * pipeline on a free port and stops it afterwards. The burst: 8 payment intents with 3 events each, every event
 * delivered 1 to 3 times in shuffled order (Stripe delivers at least once and out of order), one poison event about
 * a payment intent Stripe no longer has (the processor hands it over as deleted, the example handler refuses it), one
 * forged delivery and one stale one. It then waits until the sink holds every
 * good event and the DLQ holds the poison one.
 */
import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import Stripe from 'stripe';
import { queueDepth } from '../ops/queues';
import { CliError, isMain, parseCommandLine, runMain } from '../scripts/cli';
import { readSink } from './file-sink';
import { DEFAULT_SINK_FILE, LOCAL_WEBHOOK_SECRET, startLocalPipeline } from './pipeline';
import { choiceFromFlags, findRunningPipeline, notRunningMessage, type RuntimeInfo, runtimeInfo } from './runtime-info';
import { LOCAL_CREDENTIALS } from './stand-ins';

const INTENTS = 8;

export interface DemoSummary {
  readonly runId: string;
  readonly uniqueEvents: number;
  readonly deliveries: number;
  readonly answers: Record<string, number>;
  readonly rejections: Record<string, number>;
  readonly processedOnce: number;
  readonly processedMoreThanOnce: number;
  readonly missing: string[];
  readonly deadLettered: Array<{ eventId: string; code: string; reason: string }>;
  readonly seconds: number;
}

/** A small deterministic PRNG so a run's delivery pattern can be reproduced from its id. */
function prng(seed: string): () => number {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return () => {
    h = Math.imul(h ^ (h >>> 15), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    h ^= h >>> 16;
    return (h >>> 0) / 4294967296;
  };
}

function paymentIntent(id: string, status: string, amountReceived: number) {
  return { id, object: 'payment_intent', amount: 2500, amount_received: amountReceived, currency: 'eur', status };
}

function event(id: string, type: string, created: number, object: Record<string, unknown>) {
  return {
    id,
    object: 'event',
    type,
    livemode: false,
    created,
    api_version: '2025-09-30.clover',
    pending_webhooks: 1,
    data: { object },
  };
}

async function admin(info: RuntimeInfo, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${info.stripe.apiBase}/_local/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`local Stripe admin ${path}: ${res.status} ${await res.text()}`);
}

function sqsOf(info: RuntimeInfo): SQSClient {
  return new SQSClient({ endpoint: info.sqsEndpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
}

/** Messages in the DLQ, visible or not, without receiving any. */
async function dlqDepth(info: RuntimeInfo): Promise<number> {
  const sqs = sqsOf(info);
  try {
    return await queueDepth(sqs, info.dlqUrl);
  } finally {
    sqs.destroy();
  }
}

async function peekDeadLetters(info: RuntimeInfo, runId: string): Promise<DemoSummary['deadLettered']> {
  const sqs = sqsOf(info);
  try {
    // VisibilityTimeout 0: look without taking the messages (they stay for `npm run ops -- dlq list`).
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: info.dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    return (out.Messages ?? [])
      .map((m) => ({
        eventId: m.MessageAttributes?.EventId?.StringValue ?? '?',
        code: m.MessageAttributes?.FailureCode?.StringValue ?? '?',
        reason: m.MessageAttributes?.FailureReason?.StringValue ?? '?',
      }))
      .filter((d) => d.eventId.includes(runId));
  } finally {
    sqs.destroy();
  }
}

export async function runDemo(info: RuntimeInfo, secret: string): Promise<DemoSummary> {
  if (info.stripe.kind === 'live') {
    throw new Error(
      'the demo makes up Stripe objects, so it needs the embedded Stripe (or STRIPE_API_BASE): restart `npm start` without STRIPE_SECRET_KEY',
    );
  }
  const started = Date.now();
  const dlqBefore = await dlqDepth(info);
  const runId = randomBytes(4).toString('hex');
  const random = prng(runId);
  const now = Math.floor(Date.now() / 1000);

  // The scene in Stripe: every intent has already succeeded; the webhook payloads are older snapshots.
  const good: Array<ReturnType<typeof event>> = [];
  for (let i = 0; i < INTENTS; i++) {
    const id = `pi_demo_${runId}_${i}`;
    if (info.stripe.kind === 'offline') await admin(info, 'objects', { object: paymentIntent(id, 'succeeded', 2500) });
    good.push(
      event(
        `evt_demo_${runId}_${i}_a`,
        'payment_intent.created',
        now - 3,
        paymentIntent(id, 'requires_payment_method', 0),
      ),
    );
    good.push(
      event(`evt_demo_${runId}_${i}_b`, 'payment_intent.processing', now - 2, paymentIntent(id, 'processing', 0)),
    );
    good.push(
      event(`evt_demo_${runId}_${i}_c`, 'payment_intent.succeeded', now - 1, paymentIntent(id, 'succeeded', 2500)),
    );
  }
  const poisonIntent = `pi_demo_${runId}_gone`;
  // A minute old (a late retry): the processor takes a 404 on so old an event as "deleted since" at once.
  const poison = event(
    `evt_demo_${runId}_poison`,
    'payment_intent.succeeded',
    now - 60,
    paymentIntent(poisonIntent, 'succeeded', 2500),
  );
  if (info.stripe.kind === 'offline') {
    await admin(info, 'objects', { object: paymentIntent(poisonIntent, 'succeeded', 2500) });
    await admin(info, `objects/${poisonIntent}/delete`, {});
    for (const e of [...good, poison]) await admin(info, 'events', e);
  }

  type Delivery = { body: string; header: string; expect: number };
  const deliveries: Delivery[] = [];
  for (const e of [...good, poison]) {
    const body = JSON.stringify(e);
    const copies = 1 + Math.floor(random() * 3);
    for (let c = 0; c < copies; c++) {
      // Stripe re-signs every retry: a new timestamp, so dedupe must be on the event id, not the signature.
      const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: now - c });
      deliveries.push({ body, header, expect: 200 });
    }
  }
  const forgedBody = JSON.stringify(
    event(`evt_demo_${runId}_forged`, 'payment_intent.succeeded', now, paymentIntent('pi_x', 'succeeded', 1)),
  );
  deliveries.push({
    body: forgedBody,
    header: Stripe.webhooks.generateTestHeaderString({ payload: forgedBody, secret: 'whsec_not_the_right_secret' }),
    expect: 400,
  });
  const staleBody = JSON.stringify(
    event(`evt_demo_${runId}_stale`, 'payment_intent.succeeded', now - 900, paymentIntent('pi_y', 'succeeded', 1)),
  );
  deliveries.push({
    body: staleBody,
    header: Stripe.webhooks.generateTestHeaderString({ payload: staleBody, secret, timestamp: now - 900 }),
    expect: 400,
  });
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
  }

  const answers: Record<string, number> = {};
  const rejections: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < deliveries.length) {
        const d = deliveries[next++]!;
        const res = await fetch(info.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': d.header },
          body: d.body,
        });
        answers[res.status] = (answers[res.status] ?? 0) + 1;
        const payload = (await res.json()) as { error?: string };
        if (payload.error) rejections[payload.error] = (rejections[payload.error] ?? 0) + 1;
      }
    }),
  );

  const wanted = new Set(good.map((e) => e.id));
  const deadline = Date.now() + 30_000;
  let counts = new Map<string, number>();
  // Waiting looks at the DLQ's depth, not at its messages: SQS cannot peek, and every receive would add to the
  // poison message's receive count that `npm run ops -- dlq list` shows. One look at the end reads the reason.
  while (Date.now() < deadline) {
    counts = new Map();
    for (const p of await readSink(info.sinkFile ?? DEFAULT_SINK_FILE)) {
      if (p.eventId.includes(runId)) counts.set(p.eventId, (counts.get(p.eventId) ?? 0) + 1);
    }
    if ([...wanted].every((id) => counts.has(id)) && (await dlqDepth(info)) > dlqBefore) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const deadLettered = await peekDeadLetters(info, runId);
  return {
    runId,
    uniqueEvents: good.length + 1,
    deliveries: deliveries.length,
    answers,
    rejections,
    processedOnce: [...counts.values()].filter((n) => n === 1).length,
    processedMoreThanOnce: [...counts.values()].filter((n) => n > 1).length,
    missing: [...wanted].filter((id) => !counts.has(id)),
    deadLettered,
    seconds: (Date.now() - started) / 1000,
  };
}

function print(s: DemoSummary, good: number): void {
  const ok = (b: boolean) => (b ? 'ok' : 'NOT OK');
  const dups = s.deliveries - 2 - s.uniqueEvents;
  console.log(
    [
      '',
      `Demo run ${s.runId}: ${s.uniqueEvents} events (${good} about ${INTENTS} payment intents + 1 poison), ${s.deliveries} deliveries incl. ${dups} duplicates, 1 forged, 1 stale`,
      `  webhook answers    ${Object.entries(s.answers)
        .map(([k, v]) => `${k} x ${v}`)
        .join(', ')}`,
      `  rejected           ${
        Object.entries(s.rejections)
          .map(([k, v]) => `${k} x ${v}`)
          .join(', ') || 'none'
      }`,
      `  processed          ${s.processedOnce} of ${good} exactly once, ${s.processedMoreThanOnce} more than once, ${s.missing.length} missing   ${ok(s.processedOnce === good && s.processedMoreThanOnce === 0)}`,
      `  dead-lettered      ${s.deadLettered.map((d) => `${d.eventId} (${d.code}: ${d.reason})`).join('; ') || 'none'}   ${ok(s.deadLettered.length === 1)}`,
      `  took               ${s.seconds.toFixed(1)} s`,
      '',
    ].join('\n'),
  );
}

const USAGE = `usage: npm run demo -- [--port <port> | --url <url>] [--debug]
  Sends a burst of signed sample events through the running \`npm start\` (the one named, or the only one running),
  or through a pipeline of its own when none runs, and prints what happened.`;

async function main(argv: string[]): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseCommandLine(
    {
      args: argv,
      options: { url: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    },
    'see `npm run demo -- --help`',
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const choice = choiceFromFlags(values);
  let info = await findRunningPipeline(choice);
  let close: (() => Promise<void>) | undefined;
  if (info) {
    console.log(`Using the pipeline running at ${info.url} (pid ${info.pid}).`);
  } else if (choice.url || choice.port) {
    throw new CliError(notRunningMessage(choice), 'start it with `npm start`, or leave out --port/--url');
  } else {
    console.log('No running pipeline found: starting one for this demo.');
    const pipeline = await startLocalPipeline({ port: 0, logLevel: 'WARN' });
    info = runtimeInfo(pipeline, true);
    close = pipeline.close;
  }
  const secret = process.env.STRIPE_WEBHOOK_SECRET?.split(',')[0] ?? info.webhookSecret ?? LOCAL_WEBHOOK_SECRET;
  try {
    const summary = await runDemo(info, secret);
    print(summary, summary.uniqueEvents - 1);
    return summary.missing.length === 0 && summary.processedMoreThanOnce === 0 && summary.deadLettered.length === 1
      ? 0
      : 1;
  } finally {
    await close?.();
  }
}

if (isMain(import.meta.url)) runMain(main);
