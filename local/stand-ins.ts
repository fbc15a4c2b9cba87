/**
 * The embedded AWS stand-ins of the local runtime and the integration tests: dynalite for DynamoDB and fauxqs for
 * SQS, each on 127.0.0.1 and an ephemeral port unless one is given.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { buildApp } from 'fauxqs';

/** What every local client signs with: the stand-ins accept any credentials. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

export interface RunningService<C> {
  readonly endpoint: string;
  readonly client: C;
  close(): Promise<void>;
}

export interface DynamoOptions {
  /**
   * Run dynalite on a worker thread (local/dynalite-worker.mjs), so its CPU time (it parses every expression with a
   * PEG parser) does not queue behind the code under test on one event loop. @default false
   */
  readonly inWorker?: boolean;
}

/** dynalite in memory (no TTL deletion, no transactions: the idempotency store needs neither). */
export async function startDynamo(port = 0, opts: DynamoOptions = {}): Promise<RunningService<DynamoDBClient>> {
  if (opts.inWorker) return startDynamoInWorker(port);
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    client,
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startDynamoInWorker(port: number): Promise<RunningService<DynamoDBClient>> {
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), { workerData: { port } });
  return withClient(await workerServer(worker), (endpoint) => new DynamoDBClient(localClientConfig(endpoint)));
}

/** A running stand-in server with a client of its own, closed together. */
function withClient<C extends { destroy(): void }>(
  server: { port: number; close(): Promise<void> },
  client: (endpoint: string) => C,
): RunningService<C> {
  const endpoint = `http://127.0.0.1:${server.port}`;
  const c = client(endpoint);
  return {
    endpoint,
    client: c,
    async close() {
      c.destroy();
      await server.close();
    },
  };
}

function localClientConfig(endpoint: string) {
  return { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
}

/**
 * The handshake of a stand-in running on a worker thread: it posts `{ port }` once listening (or `{ error }`), and
 * `{ closed: true }` after the message 'close'.
 */
async function workerServer(worker: Worker): Promise<{ port: number; close(): Promise<void> }> {
  const reply = (key: 'port' | 'closed') =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (message.error !== undefined) reject(new Error(`stand-in worker: ${String(message.error)}`));
        else if (message[key] === undefined) return;
        else resolve(message);
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  let listening: Record<string, unknown>;
  try {
    listening = await reply('port');
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    port: Number(listening.port),
    async close() {
      const closed = reply('closed');
      worker.postMessage('close');
      await closed.catch(() => undefined);
      await worker.terminate();
    },
  };
}

/** The idempotency table as the IdempotencyTable construct defines it: partition key `pk` (S). */
export async function createIdempotencyTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
}

export interface SqsOptions {
  /**
   * Let one receive on a FIFO queue take several messages of one message group, as SQS does (fauxqs 1.9 hands out
   * at most one per group per receive, so Lambda-like batches never hold two records of one group and the
   * processor's per-group rules go untested). See {@link receiveFifoLikeSqs}. @default false
   */
  readonly fifoBatchesLikeSqs?: boolean;
  /**
   * Run fauxqs on a worker thread (local/sqs-worker.mjs), so the queue's own work (HTTP, JSON, MD5 of every body)
   * does not share one event loop with the code under test: the 100k soak needs the CPU. @default false
   */
  readonly inWorker?: boolean;
}

/** fauxqs, bound to 127.0.0.1 only (its `startFauxqs` would bind every interface). */
export async function startSqs(port = 0, opts: SqsOptions = {}): Promise<RunningService<SQSClient>> {
  const server = opts.inWorker ? await listenSqsInWorker(port, opts) : await listenSqs(port, opts);
  return withClient(server, (endpoint) => new SQSClient(localClientConfig(endpoint)));
}

/** The fauxqs server alone, on this thread (the worker of listenSqsInWorker calls it too). */
export async function listenSqs(
  port: number,
  opts: Pick<SqsOptions, 'fifoBatchesLikeSqs'>,
): Promise<{ port: number; close(): Promise<void> }> {
  const stores = opts.fifoBatchesLikeSqs ? await sqsLikeFifoStores() : undefined;
  const app = buildApp({ logger: false, host: '127.0.0.1', ...(stores ? { stores } : {}) });
  await app.listen({ host: '127.0.0.1', port });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

async function listenSqsInWorker(
  port: number,
  opts: Pick<SqsOptions, 'fifoBatchesLikeSqs'>,
): Promise<{ port: number; close(): Promise<void> }> {
  const worker = new Worker(new URL('./sqs-worker.mjs', import.meta.url), {
    workerData: { port, fifoBatchesLikeSqs: opts.fifoBatchesLikeSqs ?? false },
  });
  return workerServer(worker);
}

export interface LocalQueues {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

/**
 * The event queue and its DLQ as the EventQueue construct defines them (FIFO, redrive after maxReceiveCount, the
 * construct's default maximum message size, which SQS applies to the body and the attributes together).
 */
export async function createEventQueues(
  client: SQSClient,
  opts: { name: string; visibilityTimeoutSeconds: number; maxReceiveCount: number; maxMessageSizeBytes?: number },
): Promise<LocalQueues> {
  const MaximumMessageSize = String(opts.maxMessageSizeBytes ?? 262_144);
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: `${opts.name}-dlq.fifo`,
      Attributes: { FifoQueue: 'true', MessageRetentionPeriod: String(14 * 24 * 3600), MaximumMessageSize },
    }),
  );
  const dlqUrl = dlq.QueueUrl!;
  const dlqArn = await queueArn(client, dlqUrl);
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: `${opts.name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        MaximumMessageSize,
        VisibilityTimeout: String(opts.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.maxReceiveCount }),
      },
    }),
  );
  const queueUrl = queue.QueueUrl!;
  return { queueUrl, queueArn: await queueArn(client, queueUrl), dlqUrl, dlqArn };
}

async function queueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`no QueueArn for ${queueUrl}`);
  return arn;
}

/**
 * The parts of fauxqs 1.9's in-memory queue that {@link receiveFifoLikeSqs} works on. They are not public API: the
 * patch checks they are there and fails loudly if a fauxqs upgrade moved them.
 */
interface FauxqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  messageAttributes: Record<string, unknown>;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
  messageGroupId?: string;
  sequenceNumber?: string;
}

interface FauxqsQueue {
  attributes: Record<string, string | undefined>;
  fifoMessages: Map<string, FauxqsMessage[]>;
  fifoLockedGroups: Map<string, number>;
  inflightMessages: Map<string, { message: FauxqsMessage; receiptHandle: string; visibilityDeadline: number }>;
  isFifo(): boolean;
  enqueue(msg: FauxqsMessage): void;
  processTimers(): void;
  changeVisibility(receiptHandle: string, timeoutSeconds: number): void;
  dequeueFifo(max: number, visibility: number | undefined, dlq: (arn: string) => FauxqsQueue | undefined): unknown[];
}

interface FauxqsStore {
  createQueue(...args: unknown[]): FauxqsQueue;
}

/** fauxqs's stores, with every FIFO queue it creates patched by {@link receiveFifoLikeSqs}. */
async function sqsLikeFifoStores() {
  // The store class is not exported (the package exports only `buildApp`), but buildApp accepts a store: import its
  // module by file next to the package entry point.
  const entry = import.meta.resolve('fauxqs');
  const { SqsStore } = (await import(new URL('./sqs/sqsStore.js', entry).href)) as { SqsStore: new () => FauxqsStore };
  const sqsStore = new SqsStore();
  const createQueue = sqsStore.createQueue.bind(sqsStore);
  sqsStore.createQueue = (...args: unknown[]) => {
    const queue = createQueue(...args);
    if (queue.isFifo()) receiveFifoLikeSqs(queue);
    return queue;
  };
  // buildApp creates the SNS and S3 stores it is not given.
  return { sqsStore } as unknown as NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;
}

/**
 * Makes one fauxqs FIFO queue hand out messages as SQS does:
 * - a receive takes as many messages of one group as fit, in order, before moving to the next group (fauxqs takes
 *   one per group); a group with a message in flight stays closed to other receives, as before;
 * - messages that come back (visibility timeout run out, or changed to 0) rejoin their group in sequence order
 *   (fauxqs puts each one at the front in turn, which reverses two or more of them).
 * Hand-written because no SQS emulator available here does both; the rest (dedup, redrive, visibility) is fauxqs's.
 */
function receiveFifoLikeSqs(queue: FauxqsQueue): void {
  if (
    !(queue.fifoMessages instanceof Map) ||
    !(queue.fifoLockedGroups instanceof Map) ||
    !(queue.inflightMessages instanceof Map) ||
    typeof queue.dequeueFifo !== 'function' ||
    typeof queue.processTimers !== 'function' ||
    typeof queue.changeVisibility !== 'function'
  ) {
    throw new Error('fauxqs internals changed: fifoBatchesLikeSqs cannot patch this version');
  }
  const bySequence = (a: FauxqsMessage, b: FauxqsMessage) =>
    (a.sequenceNumber ?? '').localeCompare(b.sequenceNumber ?? '');
  const inSequence = () => {
    for (const messages of queue.fifoMessages.values()) messages.sort(bySequence);
  };

  const processTimers = queue.processTimers.bind(queue);
  queue.processTimers = () => {
    const inFlight = queue.inflightMessages.size;
    processTimers();
    if (queue.inflightMessages.size < inFlight) inSequence();
  };
  const changeVisibility = queue.changeVisibility.bind(queue);
  queue.changeVisibility = (receiptHandle, timeoutSeconds) => {
    changeVisibility(receiptHandle, timeoutSeconds);
    if (timeoutSeconds === 0) inSequence();
  };

  queue.dequeueFifo = (maxCount, visibilityOverride, dlqResolver) => {
    queue.processTimers();
    const visibility = visibilityOverride ?? Number.parseInt(queue.attributes.VisibilityTimeout ?? '30', 10);
    let maxReceiveCount = Number.POSITIVE_INFINITY;
    let dlqArn: string | undefined;
    try {
      const policy = JSON.parse(queue.attributes.RedrivePolicy ?? '{}') as {
        maxReceiveCount?: number;
        deadLetterTargetArn?: string;
      };
      maxReceiveCount = policy.maxReceiveCount ?? maxReceiveCount;
      dlqArn = policy.deadLetterTargetArn;
    } catch {
      // No valid redrive policy: no DLQ, as in fauxqs.
    }
    const count = Math.min(maxCount, 10);
    const received: unknown[] = [];
    for (const [groupId, messages] of queue.fifoMessages) {
      if (received.length >= count) break;
      if (queue.fifoLockedGroups.has(groupId)) continue;
      while (received.length < count && messages.length > 0) {
        const msg = messages.shift()!;
        msg.approximateReceiveCount++;
        msg.approximateFirstReceiveTimestamp ??= Date.now();
        const dlq = dlqArn && msg.approximateReceiveCount > maxReceiveCount ? dlqResolver(dlqArn) : undefined;
        if (dlq) {
          dlq.enqueue(msg);
          continue;
        }
        const receiptHandle = randomUUID();
        queue.inflightMessages.set(receiptHandle, {
          message: msg,
          receiptHandle,
          visibilityDeadline: Date.now() + visibility * 1000,
        });
        queue.fifoLockedGroups.set(groupId, (queue.fifoLockedGroups.get(groupId) ?? 0) + 1);
        received.push({
          MessageId: msg.messageId,
          ReceiptHandle: receiptHandle,
          MD5OfBody: msg.md5OfBody,
          Body: msg.body,
          ...(msg.md5OfMessageAttributes ? { MD5OfMessageAttributes: msg.md5OfMessageAttributes } : {}),
          ...(Object.keys(msg.messageAttributes).length > 0 ? { MessageAttributes: msg.messageAttributes } : {}),
        });
      }
      if (messages.length === 0) queue.fifoMessages.delete(groupId);
    }
    return received;
  };
}
