/**
 * Local AWS stand-ins for the processor tests: dynalite (DynamoDB) and fauxqs (SQS), both on 127.0.0.1, port 0.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { afterAll, beforeAll } from 'vitest';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

// dynalite ships no type declarations; require it through a typed facade instead of an ambient `declare module`
// that could clash with another part of the project declaring the same module.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (opts: { createTableMs?: number }) => Server;

export interface LocalDynamo {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/** Starts dynalite and returns a client pointed at it. */
export async function startDynamo(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Creates an idempotency table shaped like the CDK one (partition key `pk`, string). */
export async function createIdempotencyTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/**
 * For a test file: dynalite with an idempotency table, started before the file's tests and stopped after them.
 * Returns a getter (the instance exists once beforeAll has run).
 */
export function useDynamoWithTable(tableName: string): () => LocalDynamo {
  let dynamo: LocalDynamo | undefined;
  beforeAll(async () => {
    dynamo = await startDynamo();
    await createIdempotencyTable(dynamo.client, tableName);
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  return () => {
    if (!dynamo) throw new Error('dynalite is not running: use it inside a test or a hook');
    return dynamo;
  };
}

export interface LocalSqs {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  client: SQSClient;
  /** Creates a queue (FIFO when the name ends in .fifo) and returns its URL. */
  createQueue(name: string): Promise<string>;
  /** fauxqs's non-destructive view of a queue (ready and in-flight messages with their visibility deadlines). */
  inspect(name: string): Promise<QueueSnapshot>;
  close(): Promise<void>;
}

export interface QueueSnapshot {
  messages: {
    ready: Array<
      { body: string; messageAttributes?: Record<string, { StringValue?: string }> } & Record<string, unknown>
    >;
    inflight: Array<{ receiptHandle: string; visibilityDeadline: number; message: Record<string, unknown> }>;
  };
}

/** Starts fauxqs (through buildApp, bound to 127.0.0.1) and returns a client pointed at it. */
export async function startSqs(): Promise<LocalSqs> {
  const app = buildApp({ logger: false });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = new SQSClient({ endpoint: address, region: 'us-east-1', credentials });
  return {
    endpoint: address,
    client,
    async createQueue(name) {
      const fifo = name.endsWith('.fifo') ? { FifoQueue: 'true' } : {};
      const res = await client.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { ...fifo, VisibilityTimeout: '30' } }),
      );
      return res.QueueUrl!;
    },
    async inspect(name) {
      const res = await app.inject({ method: 'GET', url: `/_fauxqs/queues/${name}` });
      return res.json() as QueueSnapshot;
    },
    close: async () => {
      client.destroy();
      await app.close();
    },
  };
}
