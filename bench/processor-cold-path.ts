/**
 * The processor's cold path, like the ingress's (bench/cold-path.ts): in a fresh process, import the deployed bundle
 * and handle a first batch of one record in full: read the API key from Secrets Manager (the signature-checking
 * stand-in), claim the event in DynamoDB (dynalite), fetch the payment intent from a local Stripe, run the business
 * handler, publish to EventBridge (a stub speaking its JSON protocol), mark the event done.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { encodeMessage, messageGroupId, toQueueMessage } from '../lambdas/shared/queue-message';
import { DEFAULT_CONFIG } from '../lib/config';
import { BUNDLING, lambdaEntry, PROJECT_ROOT } from '../lib/constructs/node-function';
import { sigV4Valid, startSecretsManagerStub } from '../local/secrets-manager';
import { createIdempotencyTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynamo } from '../local/stand-ins';
import { startStripeServer } from '../local/stripe-server';
import { isMain, runMain } from '../scripts/cli';
import { buildDeployedBundle } from './bundles';
import {
  type ColdPathRun,
  type ColdPathTiming,
  type ColdPathVariant,
  coldPathEnv,
  runColdPathChild,
  summarise,
} from './cold-path';
import { startSqsStub } from './lib/sqs-stub';
import { paymentIntent, paymentSucceededEvent } from './lib/stripe-events';

/** The Node flags the deployed processor runs with: none (`sourceMapsAtRuntime: false` in lib/constructs/processor.ts). */
export const PROCESSOR_NODE_OPTIONS: readonly string[] = [];

export interface ProcessorColdPathResults {
  readonly runsPerVariant: number;
  readonly processor: ColdPathTiming;
  readonly loadAverage: { readonly atStart: number[]; readonly atEnd: number[] };
}

/** An EventBridge stand-in: PutEvents (JSON 1.1), signature checked; counts the entries it accepted. */
async function startEventBridgeStub() {
  let entries = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (!sigV4Valid(req, body, { service: 'events', region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS })) {
        res.writeHead(403).end(JSON.stringify({ __type: 'InvalidSignatureException', message: 'bad signature' }));
        return;
      }
      const input = JSON.parse(body) as { Entries?: unknown[] };
      const n = input.Entries?.length ?? 0;
      entries += n;
      res.writeHead(200).end(
        JSON.stringify({
          FailedEntryCount: 0,
          Entries: Array.from({ length: n }, () => ({ EventId: randomUUID() })),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    entries: () => entries,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An SQS event source batch of one record carrying `event`, as Lambda delivers it. */
function batchOf(event: Record<string, unknown>, queueArn: string): SQSEvent {
  const msg = toQueueMessage(event, 'webhook', new Date());
  const attr = (value: string) => ({
    stringValue: value,
    stringListValues: [],
    binaryListValues: [],
    dataType: 'String',
  });
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: 'cold-path',
        body: encodeMessage(msg, 250_000).body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'AIDAEXAMPLE',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
          MessageGroupId: messageGroupId(msg),
          MessageDeduplicationId: msg.eventId,
          SequenceNumber: '18849496460467696128',
        },
        messageAttributes: { eventId: attr(msg.eventId), eventType: attr(msg.type), source: attr(msg.source) },
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: LOCAL_REGION,
      },
    ],
  };
}

/** Runs the processor cold path `runs` times; every run must publish its event and report no failure. */
export async function runProcessorColdPath(
  variant: ColdPathVariant,
  runs: number,
  progress: (s: string) => void,
): Promise<ProcessorColdPathResults> {
  const atStart = loadavg().map((l) => Number(l.toFixed(2)));
  const dynamo = await startDynamo();
  const sm = await startSecretsManagerStub();
  const sqs = await startSqsStub();
  const events = await startEventBridgeStub();
  const stripe = await startStripeServer();
  try {
    await createIdempotencyTable(dynamo.client, 'cold-path');
    sm.setSecret('bench/stripe-api-key', 'sk_test_cold_path');
    const env = coldPathEnv({
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
      TABLE_NAME: 'cold-path',
      // Required, as the construct sets it (the processor cannot know its own timeout): the default config's lease.
      LEASE_SECONDS: String(DEFAULT_CONFIG.idempotency.leaseSeconds),
      STRIPE_API_KEY_SECRET_ID: 'bench/stripe-api-key',
      STRIPE_API_BASE: stripe.url,
      EVENT_BUS_NAME: 'cold-path',
      QUEUE_URL: sqs.queueUrl,
      DLQ_URL: sqs.queueUrl,
    });
    let n = 0;
    const once = async (): Promise<ColdPathRun> => {
      n += 1;
      const intent = `pi_cold_${n}`;
      stripe.setObject(paymentIntent(intent));
      const published = events.entries();
      const batch = batchOf(paymentSucceededEvent(`evt_pcold_${n}_${Date.now()}`, intent), 'arn:aws:sqs:us-east-1:0:q');
      const { run, answer, stdout } = await runColdPathChild(variant, env, batch);
      const failures = (answer as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures;
      if (!failures || failures.length > 0 || events.entries() !== published + 1) {
        throw new Error(`processor cold path: the record was not processed (${JSON.stringify(answer)})\n${stdout}`);
      }
      return run;
    };
    await once(); // unmeasured: disk cache
    const samples: ColdPathRun[] = [];
    for (let r = 0; r < runs; r++) {
      progress(`processor cold path, run ${r + 1}/${runs}`);
      samples.push(await once());
    }
    return {
      runsPerVariant: runs,
      processor: summarise(variant.id, samples),
      loadAverage: { atStart, atEnd: loadavg().map((l) => Number(l.toFixed(2))) },
    };
  } finally {
    await Promise.all([dynamo.close(), sm.close(), sqs.close(), events.close(), stripe.close()]);
  }
}

/** `npx tsx bench/processor-cold-path.ts [runs]`: this bench alone (builds the processor bundle first). */
async function main(argv: string[]): Promise<void> {
  const built = await buildDeployedBundle(
    BUNDLING,
    lambdaEntry('lambdas/processor/handler.ts'),
    join(PROJECT_ROOT, 'bench/out/cold-path/processor'),
  );
  const results = await runProcessorColdPath(
    { id: 'processor bundle', file: built.file, nodeOptions: PROCESSOR_NODE_OPTIONS },
    Number(argv[0] ?? 11),
    (s) => process.stderr.write(`${s}\n`),
  );
  const { runs: _runs, ...medians } = results.processor;
  process.stdout.write(`${JSON.stringify({ ...medians, load: results.loadAverage }, null, 1)}\n`);
}

if (isMain(import.meta.url)) runMain(main);
