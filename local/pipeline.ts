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
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { createIngress, METRICS_NAMESPACE } from '../lambdas/ingress/core';
import { ingressEnv } from '../lambdas/ingress/env';
import { ingressMetricsLogger } from '../lambdas/ingress/metrics-logger';
import { buildRegistry } from '../lambdas/processor/business-handlers';
import { composeProcessorDeps } from '../lambdas/processor/compose';
import { createProcessor } from '../lambdas/processor/core';
import { leaseSecondsFor, processorEnv, VISIBILITY_TIMEOUT_FACTOR } from '../lambdas/processor/env';
import { awsJsonClient } from '../lambdas/shared/aws-json';
import { parseEnv } from '../lambdas/shared/env';
import { sharedEnv } from '../lambdas/shared/env-specs';
import type { IdempotencyStore } from '../lambdas/shared/idempotency-store';
import { jsonQueueClient } from '../lambdas/shared/queue-client';
import { stripeBudgetShare } from '../lambdas/shared/request-budget';
import { staticSecret } from '../lambdas/shared/secrets';
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
import {
  type BatchFunction,
  DEFAULT_SINK_FILE,
  LOCAL_QUEUE_NAME,
  LOCAL_STRIPE_KEY,
  LOCAL_TABLE_NAME,
  LOCAL_WEBHOOK_SECRET,
  type LocalPipeline,
  type LocalPipelineOptions,
  type StripeMode,
} from './pipeline-options';
import { type InvocationContext, startPoller } from './poller';
import {
  createEventQueues,
  createIdempotencyTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynamo,
  startSqs,
} from './stand-ins';
import { startStripeServer } from './stripe-server';

export * from './pipeline-options';

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
      ? new Metrics({
          namespace: METRICS_NAMESPACE,
          serviceName: 'stripe-ingress',
          logger: ingressMetricsLogger(ingressLogger),
        })
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
