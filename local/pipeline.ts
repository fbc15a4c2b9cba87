/**
 * The whole pipeline on one machine: the real ingress and processor cores (the code the Lambdas run) wired to
 * embedded stand-ins, all on 127.0.0.1:
 *
 *   HTTP adapter (API Gateway) -> ingress core -> fauxqs FIFO queue (+ DLQ) -> poller (event source mapping)
 *     -> processor containers -> dynalite idempotency table, a Stripe API, a JSON-lines sink file (EventBridge)
 *
 * The processor runs in containers, as in Lambda (see containers.ts): every container builds what the handler's
 * module scope builds (its own DynamoDB, SQS and Stripe clients, its own processor and whatever the processor keeps
 * across invocations), so state one container keeps is never seen by another. The sink file and the business
 * handler registry stand for things outside the function (the EventBridge bus, the team's code) and are shared.
 *
 * The Stripe API is, in order of preference: `stripeApiBase` (any Stripe-compatible server, such as stripe-mock);
 * the real API when `stripeSecretKey` is given; otherwise an embedded offline Stripe serving Stripe's example
 * objects.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createIngress, METRICS_NAMESPACE } from '../lambdas/ingress/core';
import { ingressEnv } from '../lambdas/ingress/env';
import { buildRegistry } from '../lambdas/processor/business-handlers';
import { composeProcessorDeps } from '../lambdas/processor/compose';
import { createProcessor, type ProcessorDeps } from '../lambdas/processor/core';
import { leaseSecondsFor, processorEnv, VISIBILITY_TIMEOUT_FACTOR } from '../lambdas/processor/env';
import type { HandlerLambdas } from '../lambdas/processor/handler-lambdas';
import type { HandlerRegistry } from '../lambdas/processor/registry';
import { awsJsonClient } from '../lambdas/shared/aws-json';
import { parseEnv } from '../lambdas/shared/env';
import { sharedEnv } from '../lambdas/shared/env-specs';
import type { IdempotencyStore } from '../lambdas/shared/idempotency-store';
import { jsonQueueClient } from '../lambdas/shared/queue-client';
import { stripeBudgetShare } from '../lambdas/shared/request-budget';
import { type SecretSource, staticSecret } from '../lambdas/shared/secrets';
import type { EventSink } from '../lambdas/shared/sink';
import { createStripeClient } from '../lambdas/shared/stripe-client';
import { DEFAULT_CONFIG } from '../lib/config';
import { queueFigures } from '../ops/queues';
import { consoleActions } from './console/actions';
import { EventJournal } from './console/journal';
import { observeIngress, ProcessorObserver } from './console/observe';
import { type ConsoleHandle, createConsole } from './console/server';
import type { ContainerInfo } from './containers';
import { fileSink } from './file-sink';
import { withLocalHealth } from './health';
import { type HttpAdapter, type HttpHandler, startHttpAdapter } from './http-adapter';
import { type InvocationContext, type InvocationOutcome, type Poller, startPoller } from './poller';
import {
  createEventQueues,
  createIdempotencyTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalQueues,
  startDynamo,
  startSqs,
} from './stand-ins';
import { type StripeServer, startStripeServer } from './stripe-server';

/** The documented local signing secret, used when STRIPE_WEBHOOK_SECRET is not set. Never use it in AWS. */
export const LOCAL_WEBHOOK_SECRET = 'whsec_local_development_only_0000000000';
/** Where processed events go locally unless told otherwise (LOCAL_SINK_FILE). */
export const DEFAULT_SINK_FILE = '.local/processed.jsonl';
/** The key sent to a non-real Stripe (the embedded one or STRIPE_API_BASE) when no STRIPE_SECRET_KEY is set. */
export const LOCAL_STRIPE_KEY = 'sk_test_local_offline';

export interface LocalPipelineOptions {
  /** HTTP port; 0 = any free port. @default 3000 */
  readonly port?: number;
  /** Signing secret(s), comma-separated. @default LOCAL_WEBHOOK_SECRET */
  readonly webhookSecret?: string;
  /** Where the signing secrets come from instead (tests use it to play a rotation). */
  readonly webhookSecretSource?: SecretSource;
  /** Base URL of a Stripe-compatible server. */
  readonly stripeApiBase?: string;
  /** A Stripe secret key: the real API unless stripeApiBase is also set. */
  readonly stripeSecretKey?: string;
  /** @default '.local/processed.jsonl' */
  readonly sinkFile?: string;
  /** Where processed events go instead of the sink file. */
  readonly sink?: EventSink;
  /** Business handlers. @default buildRegistry() from lambdas/processor/business-handlers.ts */
  readonly registry?: HandlerRegistry;
  /** Handler Lambdas, run in-process (local/handler-lambdas.ts). @default - none */
  readonly handlerLambdas?: HandlerLambdas;
  /** Processor invocations at once (the event source mapping's maximum concurrency): one container each. @default 4 */
  readonly concurrency?: number;
  /** Invocations a processor container serves before it is retired (a cold start follows). @default 25 */
  readonly maxInvocationsPerContainer?: number;
  /** @default - the config's `processor.batchSize` */
  readonly batchSize?: number;
  /** The processor's timeout. @default 10 */
  readonly timeoutSeconds?: number;
  /** @default - VISIBILITY_TIMEOUT_FACTOR x timeoutSeconds, as in AWS */
  readonly visibilityTimeoutSeconds?: number;
  /** @default - the config's `queue.maxReceiveCount`, as in AWS */
  readonly maxReceiveCount?: number;
  /** @default - leaseSecondsFor(timeoutSeconds), as in AWS */
  readonly leaseSeconds?: number;
  /** Print EMF metrics to stdout after every invocation, as Lambda would ship them. @default false */
  readonly emitMetrics?: boolean;
  /** Powertools log level. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Called after every processor invocation. */
  readonly onInvocation?: (outcome: InvocationOutcome) => void;
  /** Wraps the processor's batch handler (fault-injection tests use it to crash or stall an invocation). */
  readonly wrapProcessor?: (handle: BatchFunction) => BatchFunction;
  /** Wraps the ingress's HTTP handler (fault-injection tests use it to lose a response after the enqueue). */
  readonly wrapIngress?: (handle: HttpHandler) => HttpHandler;
  /**
   * Use this DynamoDB endpoint and table instead of starting a dynalite of its own: two pipelines given the same one
   * share the idempotency table, as two regions share a DynamoDB global table (the table is created if missing; the
   * endpoint is left running on close).
   * @default - a dynalite of its own, with table LOCAL_TABLE_NAME
   */
  readonly idempotencyTable?: { readonly endpoint: string; readonly tableName: string };
  /**
   * Runs one processor invocation from the dependencies of the container it runs in, instead of that container's
   * processor: a fault-injection test wraps them per invocation (a switch that kills the invocation, a call that
   * stalls) and builds a processor over them with createProcessor (one per container: `deps` is the same object for
   * every invocation of a container, and a new one after a cold start). `wrapProcessor` still applies on top.
   */
  readonly invokeProcessor?: InvokeProcessor;
  /**
   * No new record starts when less than this remains of an invocation (the processor's `timeMarginMs`).
   * @default the processor's 5000 (which it caps at half of what an invocation has at its start)
   */
  readonly timeMarginMs?: number;
  /**
   * A FIFO receive hands out several messages of one group, as SQS does; fauxqs hands out one per group, so batches
   * never hold two records of one object (see startSqs). @default false
   */
  readonly fifoBatchesLikeSqs?: boolean;
  /**
   * The deployment's Stripe request budget, requests/s: each processor container takes an equal share (budget /
   * `concurrency`), as in Lambda (lambdas/shared/request-budget.ts). @default - no budget
   */
  readonly stripeMaxRequestsPerSecond?: number;
  /** Run dynalite on a worker thread, off the pipeline's event loop (see startDynamo). @default false */
  readonly dynamoInWorker?: boolean;
  /** Run fauxqs on a worker thread, off the pipeline's event loop (see startSqs). @default false */
  readonly sqsInWorker?: boolean;
  /**
   * Serve the console at /_console (local/console/), fed from what the pipeline does. `npm start` turns it on.
   * @default false
   */
  readonly console?: boolean;
}

/** One processor invocation, given the dependencies its container built for the processor. */
export type InvokeProcessor = (
  event: SQSEvent,
  context: InvocationContext,
  deps: ProcessorDeps,
) => Promise<SQSBatchResponse>;

/** The processor's batch entry point, as the poller invokes it. */
export type BatchFunction = (event: SQSEvent, ctx: InvocationContext) => Promise<SQSBatchResponse>;

export type StripeMode =
  | { readonly kind: 'offline'; readonly apiBase: string; readonly server: StripeServer }
  | { readonly kind: 'api-base'; readonly apiBase: string }
  | { readonly kind: 'live' };

export interface LocalPipeline {
  /** e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly webhookUrl: string;
  readonly stripe: StripeMode;
  readonly sqsEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly queues: LocalQueues;
  readonly tableName: string;
  readonly sinkFile: string | undefined;
  /** The running queue poller (a new one after `startProcessing`). */
  readonly poller: Poller;
  /**
   * Stops answering HTTP: open connections are cut and new ones refused, as a region whose API is down. The queue
   * keeps what it holds.
   */
  stopIngress(): Promise<void>;
  /**
   * Stops the poller: running invocations finish and its last long polls come back, so when this resolves every
   * accepted event not yet processed waits, visible, on the queue.
   */
  stopProcessing(): Promise<void>;
  /** Starts a new poller (after stopProcessing), which drains whatever waited on the queue. */
  startProcessing(): void;
  /** The console's journal, when `console` is on (its page is at `${url}/_console`). */
  readonly journal: EventJournal | undefined;
  /** Stops taking requests, lets running invocations finish, and stops every stand-in. */
  close(): Promise<void>;
}

export const LOCAL_TABLE_NAME = 'stripe-webhooks-idempotency';
export const LOCAL_QUEUE_NAME = 'stripe-webhooks-events';

export async function startLocalPipeline(opts: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const timeoutSeconds = opts.timeoutSeconds ?? 10;
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    let dynamo: { endpoint: string; client: DynamoDBClient };
    const tableName = opts.idempotencyTable?.tableName ?? LOCAL_TABLE_NAME;
    if (opts.idempotencyTable) {
      const client = new DynamoDBClient({
        endpoint: opts.idempotencyTable.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      closers.push(async () => client.destroy());
      dynamo = { endpoint: opts.idempotencyTable.endpoint, client };
    } else {
      const own = await startDynamo(0, { inWorker: opts.dynamoInWorker ?? false });
      closers.push(() => own.close());
      dynamo = own;
    }
    await createIdempotencyTable(dynamo.client, tableName);

    const sqs = await startSqs(0, {
      fifoBatchesLikeSqs: opts.fifoBatchesLikeSqs ?? false,
      inWorker: opts.sqsInWorker ?? false,
    });
    closers.push(() => sqs.close());
    const queues = await createEventQueues(sqs.client, {
      name: LOCAL_QUEUE_NAME,
      visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds,
      maxReceiveCount: opts.maxReceiveCount ?? DEFAULT_CONFIG.queue.maxReceiveCount,
    });

    let stripe: StripeMode;
    if (opts.stripeApiBase) {
      stripe = { kind: 'api-base', apiBase: opts.stripeApiBase };
    } else if (opts.stripeSecretKey) {
      stripe = { kind: 'live' };
    } else {
      const server = await startStripeServer({ singletonsFromFixtures: true, admin: true });
      closers.push(() => server.close());
      stripe = { kind: 'offline', apiBase: server.url, server };
    }
    const stripeKey = opts.stripeSecretKey ?? LOCAL_STRIPE_KEY;
    const stripeOptions = stripe.kind === 'live' ? {} : { apiBase: stripe.apiBase };

    const logLevel = opts.logLevel ?? 'INFO';
    const emit = opts.emitMetrics ?? false;
    const ingressLogger = new Logger({ serviceName: 'stripe-ingress', logLevel });
    const ingressMetrics = emit
      ? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'stripe-ingress' })
      : undefined;

    const ingress = createIngress({
      // The client the deployed ingress uses (aws4 over HTTP), against fauxqs.
      sqs: jsonQueueClient(
        awsJsonClient({
          service: 'sqs',
          endpoint: sqs.endpoint,
          region: LOCAL_REGION,
          credentials: () => LOCAL_CREDENTIALS,
          // The one local thread may be busy for seconds under load (the soak); the SDK it replaces had no timeout.
          timeoutMs: 60_000,
        }),
      ),
      queueUrl: queues.queueUrl,
      webhookSecrets: opts.webhookSecretSource ?? staticSecret(opts.webhookSecret ?? LOCAL_WEBHOOK_SECRET),
      toleranceSeconds: ingressEnv.SIGNATURE_TOLERANCE_SECONDS.default,
      maxBodyBytes: ingressEnv.MAX_BODY_BYTES.default,
      maxMessageBytes: sharedEnv.MAX_MESSAGE_BYTES.default,
      logger: ingressLogger,
      ...(ingressMetrics ? { metrics: ingressMetrics } : {}),
    });

    const journal = opts.console ? new EventJournal() : undefined;
    const observer = journal ? new ProcessorObserver(journal) : undefined;
    const sinkFile = opts.sink ? undefined : (opts.sinkFile ?? DEFAULT_SINK_FILE);
    const baseSink = opts.sink ?? fileSink(sinkFile!);
    const sink = observer ? observer.sink(baseSink) : baseSink;
    const registry = opts.registry ?? buildRegistry();
    const { invokeProcessor } = opts;

    /** The processor's environment, as the Processor construct sets it (unset variables take the schema's defaults). */
    const env = parseEnv(processorEnv, {
      TABLE_NAME: tableName,
      STRIPE_API_KEY_SECRET_ID: 'unused-locally (the key is given to the Stripe client directly)',
      EVENT_BUS_NAME: 'unused-locally (events go to the sink)',
      QUEUE_URL: queues.queueUrl,
      DLQ_URL: queues.dlqUrl,
      LEASE_SECONDS: String(opts.leaseSeconds ?? leaseSecondsFor(timeoutSeconds)),
      ...(opts.handlerLambdas ? { HANDLER_LAMBDAS: JSON.stringify(opts.handlerLambdas.targets) } : {}),
    });

    /** One processor container: what lambdas/processor/handler.ts builds at module scope (composeProcessor), with its own clients. */
    const createContainer = (_info: ContainerInfo) => {
      const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
      const dynamoClient = new DynamoDBClient({ ...clientConfig, endpoint: dynamo.endpoint });
      const ownSqs = new SQSClient({ ...clientConfig, endpoint: sqs.endpoint });
      const sqsClient = observer ? observer.sqs(ownSqs, queues.dlqUrl) : ownSqs;
      const ownStripe = createStripeClient(stripeKey, {
        ...stripeOptions,
        ...(opts.stripeMaxRequestsPerSecond
          ? {
              budget: stripeBudgetShare({
                maxRequestsPerSecond: opts.stripeMaxRequestsPerSecond,
                reservedPerSecond: 0,
                shares: opts.concurrency ?? 4,
              }),
            }
          : {}),
      });
      const stripeClient = observer ? observer.stripe(ownStripe) : ownStripe;
      const metrics = emit
        ? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME })
        : undefined;
      const deps = composeProcessorDeps(env, {
        dynamo: dynamoClient,
        sqs: sqsClient,
        stripe: async () => stripeClient,
        sink,
        registry,
        ...(opts.handlerLambdas ? { invokeHandler: opts.handlerLambdas.invoke } : {}),
        logger: new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME, logLevel }),
        ...(metrics ? { metrics } : {}),
        ...(observer ? { observeStore: (store: IdempotencyStore) => observer.store(store) } : {}),
        ...(opts.timeMarginMs !== undefined ? { timeMarginMs: opts.timeMarginMs } : {}),
      });
      const processor = createProcessor(deps);
      const invoke: BatchFunction = invokeProcessor
        ? (event, ctx) => invokeProcessor(event, ctx, deps)
        : processor.handle;
      const wrapped = opts.wrapProcessor ? opts.wrapProcessor(invoke) : invoke;
      const handle = observer ? observer.batch(wrapped) : wrapped;
      return {
        handle: async (event: SQSEvent, ctx: InvocationContext) => {
          try {
            return await handle(event, ctx);
          } finally {
            metrics?.publishStoredMetrics();
          }
        },
        close() {
          dynamoClient.destroy();
          sqsClient.destroy();
        },
      };
    };

    const newPoller = () =>
      startPoller({
        sqs: sqs.client,
        queueUrl: queues.queueUrl,
        queueArn: queues.queueArn,
        concurrency: opts.concurrency ?? 4,
        batchSize: opts.batchSize ?? DEFAULT_CONFIG.processor.batchSize,
        timeoutMs: timeoutSeconds * 1000,
        createContainer,
        ...(opts.maxInvocationsPerContainer !== undefined
          ? { maxInvocationsPerContainer: opts.maxInvocationsPerContainer }
          : {}),
        ...(opts.onInvocation ? { onInvocation: opts.onInvocation } : {}),
      });
    let poller = newPoller();
    let polling = true;
    const stopPoller = async (abortPolls: boolean) => {
      polling = false;
      await poller.stop({ abortPolls });
    };
    const stopProcessing = () => stopPoller(false);
    // Closing takes the queue away too: nothing to strand, so do not wait out the long polls.
    closers.push(() => stopPoller(true));

    const handleHttp: HttpHandler = async (event: APIGatewayProxyEventV2) => {
      try {
        return await ingress.handleHttp(event);
      } finally {
        ingressMetrics?.publishStoredMetrics();
      }
    };
    const figures = () => queueFigures(sqs.client, queues);
    const ingressHandler = withLocalHealth(opts.wrapIngress ? opts.wrapIngress(handleHttp) : handleHttp, figures);
    let consoleHandle: ConsoleHandle | undefined;
    const http: HttpAdapter = await startHttpAdapter({
      port: opts.port ?? 3000,
      handler: journal ? observeIngress(journal, ingressHandler) : ingressHandler,
      ...(journal ? { raw: (req, res) => consoleHandle?.handle(req, res) ?? false } : {}),
    });
    if (journal) {
      consoleHandle = createConsole({ journal, figures, ...consoleActions(() => self) });
      const c = consoleHandle;
      closers.push(async () => c.close());
    }
    let httpOpen = true;
    const stopIngress = async () => {
      if (!httpOpen) return;
      httpOpen = false;
      await http.close();
    };
    closers.push(stopIngress);

    const self: LocalPipeline = {
      url: http.url,
      webhookUrl: `${http.url}/stripe/webhook`,
      stripe,
      sqsEndpoint: sqs.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      queues,
      tableName,
      sinkFile,
      get poller() {
        return poller;
      },
      stopIngress,
      stopProcessing,
      startProcessing() {
        if (polling) return;
        polling = true;
        poller = newPoller();
      },
      journal,
      close: closeAll,
    };
    return self;
  } catch (err) {
    await closeAll();
    throw err;
  }
}
