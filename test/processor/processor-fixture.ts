/**
 * The processor against local stand-ins, for a test file: dynalite (idempotency table), the local Stripe server,
 * fauxqs (the event queue and its DLQ) and an in-memory sink. `useProcessorFixture()` starts the servers before the
 * file's tests and stops them after; before each test it makes fresh queues, sink, metrics, clock and processor.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createProcessor, type Processor, type ProcessorDeps } from '../../lambdas/processor/core';
import { createRegistry, type HandlerContext } from '../../lambdas/processor/registry';
import { createIdempotencyStore, type IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { captureOutput } from '../support/capture-output';
import { MemorySink, RecordingMetrics, receiveRecords, uid } from './harness';
import { createIdempotencyTable, type LocalDynamo, type LocalSqs, startDynamo, startSqs } from './local-aws';

export const TABLE = 'processor-idempotency';
export const LEASE_SECONDS = 60;
export const silent = new Logger({ logLevel: 'SILENT' });

/** A logger that writes every level, for tests that read the log (captureLog). */
export const verbose = () => new Logger({ logLevel: 'DEBUG', serviceName: 'test' });

/** One JSON log line, as Powertools writes it. */
export interface LogEntry {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** Runs `act` and returns the log lines it wrote (use a `verbose()` logger), parsed. */
export async function captureLog(act: () => Promise<unknown>): Promise<LogEntry[]> {
  const lines = await captureOutput(async () => {
    await act();
  });
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogEntry);
}

export const failedIds = (res: SQSBatchResponse) => res.batchItemFailures.map((f) => f.itemIdentifier);

/** A message as fauxqs shows it in a queue (the DLQ's, here). */
export interface QueuedMessage {
  body: string;
  messageGroupId?: string;
  messageAttributes: Record<string, { StringValue: string }>;
}

export class ProcessorFixture {
  dynamo!: LocalDynamo;
  sqs!: LocalSqs;
  stripeServer!: StripeServer;
  /** A test-mode client of the local Stripe server. */
  stripe!: Stripe;

  queueName!: string;
  queueUrl!: string;
  dlqName!: string;
  dlqUrl!: string;
  sink!: MemorySink;
  metrics!: RecordingMetrics;
  /** The processor's and the store's clock, Unix ms: a test moves it forward. */
  clock!: number;
  store!: IdempotencyStore;
  processor!: Processor;
  /** What the test's payment_intent.succeeded handler does (default: a summary of the object). */
  onPaymentIntent!: (ctx: HandlerContext<Stripe.PaymentIntent>) => Promise<unknown>;
  /** Event ids the handlers ran for, in order. */
  readonly handled: string[] = [];

  makeStore(now: () => number, client = this.dynamo.client): IdempotencyStore {
    return createIdempotencyStore({ client, tableName: TABLE, leaseSeconds: LEASE_SECONDS, doneTtlDays: 30, now });
  }

  /** The processor of the test's queues, store and sink; `overrides` replace any of its dependencies. */
  makeProcessor(overrides: Partial<ProcessorDeps> = {}): Processor {
    const registry = createRegistry()
      .on('payment_intent.succeeded', async (ctx) => {
        this.handled.push(ctx.event.eventId);
        return this.onPaymentIntent(ctx);
      })
      .on('customer.*', async (ctx) => {
        this.handled.push(ctx.event.eventId);
        return { deleted: ctx.object?.deleted === true };
      });
    return createProcessor({
      store: this.store,
      stripe: async () => this.stripe,
      sink: this.sink,
      registry,
      sqs: this.sqs.client,
      queueUrl: this.queueUrl,
      dlqUrl: this.dlqUrl,
      logger: silent,
      metrics: this.metrics,
      now: () => this.clock,
      random: () => 0,
      ...overrides,
    });
  }

  /** A payment intent in its current (newer) state on the server, and the stale snapshot a webhook carried. */
  paymentIntent(opts: { account?: string } = {}) {
    const id = `pi_${uid()}`;
    const current = {
      id,
      object: 'payment_intent',
      amount: 5000,
      amount_received: 5000,
      currency: 'eur',
      status: 'succeeded',
    };
    this.stripeServer.setObject(current, opts.account ? { account: opts.account } : undefined);
    const stale = { ...current, amount_received: 0, status: 'processing' };
    return { id, current, stale };
  }

  /** Hands `records` (default: up to 10 received from the event queue) to the processor. */
  async runBatch(records?: SQSRecord[]): Promise<{ res: SQSBatchResponse; records: SQSRecord[] }> {
    const batch = records ?? (await receiveRecords(this.sqs.client, this.queueUrl));
    return { res: await this.processor.handle({ Records: batch }), records: batch };
  }

  /** runBatch, with the log lines it wrote (make the processor with a `verbose()` logger). */
  async runBatchLogged(
    records?: SQSRecord[],
  ): Promise<{ res: SQSBatchResponse; records: SQSRecord[]; log: LogEntry[] }> {
    let run: { res: SQSBatchResponse; records: SQSRecord[] } | undefined;
    const log = await captureLog(async () => {
      run = await this.runBatch(records);
    });
    return { ...run!, log };
  }

  /** Where fauxqs will next show an in-flight message, in ms from now (its visibility deadline). */
  async visibleInMs(messageId: string): Promise<number | undefined> {
    const q = await this.sqs.inspect(this.queueName);
    const inflight = q.messages.inflight.find((m) => (m.message as { messageId?: string }).messageId === messageId);
    return inflight ? inflight.visibilityDeadline - Date.now() : undefined;
  }

  /** The messages waiting in the test's DLQ. */
  async deadLetters(): Promise<QueuedMessage[]> {
    return (await this.sqs.inspect(this.dlqName)).messages.ready as unknown as QueuedMessage[];
  }
}

export function useProcessorFixture(): ProcessorFixture {
  const t = new ProcessorFixture();
  beforeAll(async () => {
    [t.dynamo, t.sqs, t.stripeServer] = await Promise.all([startDynamo(), startSqs(), startStripeServer()]);
    await createIdempotencyTable(t.dynamo.client, TABLE);
    t.stripe = createStripeClient('sk_test_processor', { apiBase: t.stripeServer.url });
  });
  afterAll(async () => {
    await Promise.all([t.dynamo.close(), t.sqs.close(), t.stripeServer.close()]);
  });
  beforeEach(async () => {
    const id = uid();
    t.queueName = `events-${id}`;
    t.dlqName = `events-dlq-${id}.fifo`;
    [t.queueUrl, t.dlqUrl] = await Promise.all([t.sqs.createQueue(t.queueName), t.sqs.createQueue(t.dlqName)]);
    t.sink = new MemorySink();
    t.metrics = new RecordingMetrics();
    t.clock = Date.now();
    t.store = t.makeStore(() => t.clock);
    t.handled.length = 0;
    t.onPaymentIntent = async ({ object }) => ({
      amount_received: object?.amount_received,
      currency: object?.currency,
      status: object?.status,
    });
    t.processor = t.makeProcessor();
    t.stripeServer.resetCalls();
    t.stripeServer.clearFaults();
  });
  return t;
}
