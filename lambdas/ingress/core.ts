/**
 * The ingress: turns a Stripe delivery (a signed webhook through API Gateway, or an event from Stripe's EventBridge
 * partner bus) into one message on the FIFO event queue, and answers 2xx only once the message is on the queue.
 *
 * Pure of wiring: it takes its SQS client, secret source, logger and metrics as arguments, so the Lambda handler,
 * the local runtime and the tests all run this same code.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, EventBridgeEvent } from 'aws-lambda';
import { type EnqueueResult, enqueueMessage } from '../shared/enqueue';
import { describeError } from '../shared/errors';
import type { QueueClient } from '../shared/queue-client';
import {
  InvalidEventError,
  type MessageKind,
  type MessageSource,
  type QueueMessage,
  toQueueMessage,
} from '../shared/queue-message';
import { activeWebhookSecrets, parseWebhookSecretDocument, type SecretSource } from '../shared/secrets';
import { type HealthCheck, queueHealthCheck } from './health';
import {
  decodedLength,
  fromHttpApi,
  fromRestApi,
  type HttpRequest,
  type HttpResponse,
  header,
  isJsonMediaType,
  isRecord,
  json,
  Rejection,
} from './http-request';
import { verifyStripeSignature } from './signature';
import { createSourceIpAllowlist } from './source-ip';

/** The webhook route Stripe posts to. */
export const WEBHOOK_PATH = '/stripe/webhook';
/** The health route Route 53 health checks call. */
export const HEALTH_PATH = '/health';
/**
 * `source` of events from Stripe's EventBridge destination (`aws.partner/stripe.com/ed_...`). AWS reserves the
 * `aws.` prefix: no account can PutEvents with it, so an event carrying it was delivered by Stripe's partner source.
 */
export const STRIPE_PARTNER_SOURCE_PREFIX = 'aws.partner/stripe.com/';
/** CloudWatch namespace of the ingress metrics (the one namespace of every custom metric). */
export { METRICS_NAMESPACE } from '../shared/metrics';
export type { HttpResponse } from './http-request';

/** What the ingress needs; every client is passed in so callers choose real AWS or local stand-ins. */
export interface IngressDeps {
  /** SQS: the aws4 JSON client in Lambda (handler.ts), the SDK or the JSON client locally. */
  sqs: QueueClient;
  /** URL of the FIFO event queue. */
  queueUrl: string;
  /** The webhook signing secret value(s), see lambdas/shared/secrets.ts for the format. */
  webhookSecrets: SecretSource;
  /** Oldest accepted Stripe-Signature timestamp, seconds. */
  toleranceSeconds: number;
  /** Larger request bodies are refused (400) before they are decoded or hashed. */
  maxBodyBytes: number;
  /** Larger events are enqueued as a `reference` message that the processor resolves from Stripe. */
  maxMessageBytes: number;
  /**
   * Source IPs or CIDR blocks allowed to post webhooks (e.g. Stripe's published webhook IPs); any other source gets
   * 403 `source_ip_not_allowed` and nothing is enqueued. Empty or absent = no IP check. /health and the EventBridge
   * path are not affected.
   */
  allowedSourceIps?: readonly string[];
  logger: Logger;
  /** Powertools Metrics (EMF); the caller flushes it per invocation. */
  metrics?: Metrics;
  /** The clock, milliseconds since the epoch (tests pin it). @default Date.now */
  now?: () => number;
  /**
   * What GET /health reports (503 when unhealthy, so Route 53 fails over).
   * @default queueHealthCheck(sqs, queueUrl): GetQueueAttributes on the event queue, cached 30 s, 2 s timeout
   */
  health?: HealthCheck;
}

/** The ingress entry points. */
export interface Ingress {
  /** API Gateway HTTP API (payload 2.0) requests: POST /stripe/webhook and GET /health. */
  handleHttp(event: APIGatewayProxyEventV2): Promise<HttpResponse>;
  /** API Gateway REST API (Lambda proxy, payload 1.0) requests: the same routes, the same answers. */
  handleRest(event: APIGatewayProxyEvent): Promise<HttpResponse>;
  /**
   * Events from Stripe's EventBridge partner bus (`detail-type`, `detail`): no signature (AWS authenticates the
   * bus), enqueued like a webhook with source 'eventbridge'; throws on a bad event or enqueue failure so
   * EventBridge retries / dead-letters it.
   */
  handleEventBridge(event: EventBridgeEvent<string, unknown>): Promise<void>;
  /** Dispatches on the event's shape: HTTP API, REST API or EventBridge. */
  handle(event: unknown): Promise<HttpResponse | undefined>;
}

/** Builds the ingress over its dependencies. */
export function createIngress(deps: IngressDeps): Ingress {
  const { sqs, queueUrl, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const health = deps.health ?? queueHealthCheck(sqs, queueUrl, { logger });
  const allowlist = createSourceIpAllowlist(deps.allowedSourceIps ?? []);

  function count(name: string): void {
    metrics?.addMetric(name, MetricUnit.Count, 1);
  }

  /** WebhookRejected carries its own `Reason` dimension, so it is emitted on its own (single-metric EMF line). */
  function countRejected(reason: string): void {
    if (!metrics) return;
    const single = metrics.singleMetric();
    single.addDimension('Reason', reason);
    single.addMetric('WebhookRejected', MetricUnit.Count, 1);
  }

  function enqueue(msg: QueueMessage): Promise<EnqueueResult> {
    return enqueueMessage(sqs, queueUrl, msg, { maxMessageBytes: deps.maxMessageBytes });
  }

  /** The active signing secrets, straight from the source's value (so a rotation needs no deploy). */
  async function loadSecrets(refresh: boolean): Promise<{ value: string; secrets: string[] }> {
    const value = await deps.webhookSecrets.get(refresh ? { refresh: true } : undefined);
    return { value, secrets: activeWebhookSecrets(parseWebhookSecretDocument(value), new Date(now())) };
  }

  function toMessage(event: unknown, source: MessageSource): QueueMessage {
    return toQueueMessage(event, source, new Date(now()));
  }

  async function receiveWebhook(req: HttpRequest, log: Logger): Promise<HttpResponse> {
    // No WebhookReceived / WebhookAccepted metric: an EMF document per webhook was 280 B of logs (about $0.13 per
    // million webhooks). The front counts them already: the Ingress construct's metricWebhooksReceived/Accepted read
    // API Gateway's route metrics (or the function URL's). Only what the front cannot see is counted here: why a
    // webhook was refused (WebhookRejected{Reason}) and enqueue failures.

    // First: a request from elsewhere is not even worth a look at its body (and cannot make us re-read the secret).
    if (allowlist && !allowlist.allows(req.sourceIp)) {
      throw new Rejection(403, 'source_ip_not_allowed', 'Webhooks are accepted from Stripe only.');
    }

    const contentType = header(req.headers, 'content-type');
    if (contentType !== undefined && !isJsonMediaType(contentType)) {
      throw new Rejection(415, 'unsupported_media_type', 'Content-Type must be application/json.');
    }

    // Size first: never decode or hash more than we would accept.
    const encoded = req.body ?? '';
    const isBase64 = req.isBase64Encoded;
    // (Counting a plain body's UTF-8 bytes reads it once, without copying; API Gateway caps a body at 10 MB.)
    if (decodedLength(encoded, isBase64) > deps.maxBodyBytes) {
      throw new Rejection(400, 'body_too_large', `The request body is larger than ${deps.maxBodyBytes} bytes.`);
    }
    // The exact bytes Stripe signed: base64-decoded when API Gateway encoded them, never re-serialised.
    const rawBody = isBase64 ? Buffer.from(encoded, 'base64') : Buffer.from(encoded); // a string's UTF-8 bytes
    if (rawBody.length === 0) throw new Rejection(400, 'empty_body', 'The request body is empty.');

    const signatureHeader = header(req.headers, 'stripe-signature');
    const verifyOptions = { toleranceSeconds: deps.toleranceSeconds, nowSeconds: Math.floor(now() / 1000) };
    let loaded: { value: string; secrets: string[] };
    try {
      loaded = await loadSecrets(false);
    } catch (err) {
      // Our fault, not the sender's: answer 5xx so Stripe retries once the secret is readable again.
      log.error('webhook signing secret unavailable', { error: describeError(err) });
      return json(500, { error: 'secret_unavailable', message: 'The webhook signing secret could not be read.' });
    }
    let verdict = verifyStripeSignature(rawBody, signatureHeader, loaded.secrets, verifyOptions);
    if (!verdict.ok && verdict.reason === 'bad_signature') {
      // A rotation may have just added a secret our cache has not seen: look once more, bypassing the cache (the
      // SecretSource rate-limits forced refreshes, so forged requests cannot flood Secrets Manager).
      try {
        const fresh = await loadSecrets(true);
        // Only a changed value can change the verdict. The refresh is rate-limited but the HMAC is not: without this
        // check every forged request would hash its body twice.
        // Stryker disable next-line ConditionalExpression: equivalent, the same secrets give the same verdict
        if (fresh.value !== loaded.value) {
          verdict = verifyStripeSignature(rawBody, signatureHeader, fresh.secrets, verifyOptions);
        }
      } catch (err) {
        log.warn('webhook signing secret refresh failed', { error: describeError(err) });
      }
    }
    if (!verdict.ok) throw new Rejection(400, verdict.reason, verdict.message);

    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new Rejection(400, 'invalid_json', 'The request body is not valid JSON.');
    }
    let msg: QueueMessage;
    try {
      msg = toMessage(parsed, 'webhook');
    } catch (err) {
      if (err instanceof InvalidEventError) {
        throw new Rejection(400, err.code, `The request body is not a Stripe event: ${err.message}.`);
      }
      throw err;
    }

    let enqueued: { kind: MessageKind; messageId: string | undefined };
    try {
      enqueued = await enqueue(msg);
    } catch (err) {
      count('EnqueueFailed');
      log.error('enqueue failed', { eventId: msg.eventId, eventType: msg.type, error: describeError(err) });
      return json(500, {
        error: 'enqueue_failed',
        message: 'The event could not be queued; Stripe will deliver it again.',
      });
    }
    // DEBUG, not INFO: a success line per webhook was two thirds of the ingress's log bytes (about $0.26 per million
    // webhooks, docs/performance.md). What it told stays: the access log line (status, request id), the front's
    // accepted count (Ingress.metricWebhooksAccepted), Stripe's delivery log (our 200 answer carries the event id)
    // and the event's idempotency record (`npm run ops -- event <evt_id>`). Set the function's application log level
    // to DEBUG to see every accepted webhook again (docs/observability.md).
    log.debug('webhook accepted', {
      eventId: msg.eventId,
      eventType: msg.type,
      livemode: msg.livemode,
      messageKind: enqueued.kind,
      sqsMessageId: enqueued.messageId,
    });
    return json(200, { received: true, eventId: msg.eventId });
  }

  async function route(req: HttpRequest, log: Logger): Promise<HttpResponse> {
    const { method, path } = req;
    if (path === WEBHOOK_PATH) {
      if (method !== 'POST') {
        throw new Rejection(405, 'method_not_allowed', `${WEBHOOK_PATH} accepts POST only.`, { allow: 'POST' });
      }
      try {
        return await receiveWebhook(req, log);
      } catch (err) {
        if (err instanceof Rejection) countRejected(err.error);
        throw err;
      }
    }
    if (path === HEALTH_PATH) {
      if (method !== 'GET') {
        throw new Rejection(405, 'method_not_allowed', `${HEALTH_PATH} accepts GET only.`, { allow: 'GET' });
      }
      const status = await health();
      if (status.healthy) return json(200, { status: 'ok' });
      // Route 53 fails the check on any status outside 2xx/3xx (and on a body without "status":"ok").
      return json(503, {
        status: 'unhealthy',
        reason: status.reason,
        message: 'This region cannot queue events right now.',
      });
    }
    throw new Rejection(404, 'not_found', 'No such route.');
  }

  async function serve(req: HttpRequest): Promise<HttpResponse> {
    // Every line about this request carries API Gateway's request id: the key to its access log line.
    const log = req.requestId ? logger.createChild({ persistentKeys: { apiRequestId: req.requestId } }) : logger;
    try {
      return await route(req, log);
    } catch (err) {
      if (err instanceof Rejection) {
        log.warn('request rejected', { status: err.status, reason: err.error, path: req.path, sourceIp: req.sourceIp });
        return json(err.status, { error: err.error, message: err.message }, err.headers);
      }
      log.error('request failed', { error: describeError(err) });
      return json(500, { error: 'internal_error', message: 'The request could not be processed.' });
    }
  }

  function handleHttp(event: APIGatewayProxyEventV2): Promise<HttpResponse> {
    return serve(fromHttpApi(event));
  }

  function handleRest(event: APIGatewayProxyEvent): Promise<HttpResponse> {
    return serve(fromRestApi(event));
  }

  /** Validates a partner-bus event and builds its queue message; throws InvalidEventError when it is not one. */
  function eventBridgeMessage(event: EventBridgeEvent<string, unknown>): QueueMessage {
    if (
      !isRecord(event) ||
      typeof event.source !== 'string' ||
      !event.source.startsWith(STRIPE_PARTNER_SOURCE_PREFIX)
    ) {
      throw new InvalidEventError(
        `EventBridge event source must start with ${STRIPE_PARTNER_SOURCE_PREFIX}`,
        'not_from_stripe_partner_source',
      );
    }
    const detail = event.detail;
    if (!isRecord(detail) || detail.type !== event['detail-type']) {
      throw new InvalidEventError(
        'EventBridge detail must be a Stripe event whose type is the detail-type',
        'bad_detail',
      );
    }
    return toMessage(detail, 'eventbridge');
  }

  async function handleEventBridge(event: EventBridgeEvent<string, unknown>): Promise<void> {
    let msg: QueueMessage;
    try {
      msg = eventBridgeMessage(event);
    } catch (err) {
      const ebEventId = isRecord(event) && typeof event.id === 'string' ? event.id : undefined;
      logger.error('EventBridge event rejected', { ebEventId, error: describeError(err) });
      throw err;
    }
    try {
      const enqueued = await enqueue(msg);
      count('EventBridgeAccepted');
      // DEBUG, like 'webhook accepted' (see there).
      logger.debug('EventBridge event accepted', {
        eventId: msg.eventId,
        eventType: msg.type,
        livemode: msg.livemode,
        messageKind: enqueued.kind,
        sqsMessageId: enqueued.messageId,
      });
    } catch (err) {
      count('EnqueueFailed');
      logger.error('enqueue failed', { eventId: msg.eventId, eventType: msg.type, error: describeError(err) });
      throw err;
    }
  }

  async function handle(event: unknown): Promise<HttpResponse | undefined> {
    if (isRecord(event) && isRecord(event.requestContext) && typeof event.rawPath === 'string') {
      return handleHttp(event as unknown as APIGatewayProxyEventV2);
    }
    if (isRecord(event) && isRecord(event.requestContext) && typeof event.httpMethod === 'string') {
      return handleRest(event as unknown as APIGatewayProxyEvent);
    }
    if (isRecord(event) && 'detail-type' in event && 'detail' in event) {
      await handleEventBridge(event as unknown as EventBridgeEvent<string, unknown>);
      return undefined;
    }
    throw new InvalidEventError(
      'unsupported Lambda event: expected an API Gateway request (HTTP or REST API) or an EventBridge event',
      'unsupported_event',
    );
  }

  return { handleHttp, handleRest, handleEventBridge, handle };
}
