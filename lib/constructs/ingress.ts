/**
 * The public entry point for Stripe webhooks: an API Gateway HTTP API with exactly two routes in front of the
 * ingress Lambda, which verifies the signature on the raw body and enqueues the event.
 *
 * - `POST /stripe/webhook`: Stripe's deliveries. Authentication is Stripe's HMAC signature, checked in the Lambda
 *   (Stripe cannot send IAM or JWT credentials).
 * - `GET /health`: for the Route 53 health check of the multi-region failover; 503 when the region cannot reach its
 *   event queue (a cached GetQueueAttributes probe).
 * Any other path gets API Gateway's own 404 without invoking the Lambda.
 *
 * The default stage is throttled (over the limit API Gateway answers 429 and Stripe retries later) and writes JSON
 * access logs: request metadata only, never the body or the Stripe-Signature header.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ingressEnv } from '../../lambdas/ingress/env';
import type { EnvInput } from '../../lambdas/shared/env';
import type { EventQueue } from './event-queue';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecretReader } from './stripe-secret-reader';

/** The path Stripe delivers webhooks to. */
export const WEBHOOK_PATH = '/stripe/webhook';
/** The path of the health check. */
export const HEALTH_PATH = '/health';

/**
 * Message attributes count towards SQS's size limit; the ingress keeps this much of the queue's limit free for them
 * when it decides whether an event fits or must travel as a reference.
 */
export const MESSAGE_ATTRIBUTE_HEADROOM_BYTES = 4096;

/**
 * One JSON object per request. Every value is quoted: API Gateway writes `-` for a missing number, which would
 * otherwise make the line invalid JSON.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
};

/** Props of Ingress. */
export interface IngressProps {
  /** Prefix of the function, API and log group names. */
  readonly appName: string;
  /** Where verified events are sent. */
  readonly eventQueue: EventQueue;
  /** The webhook signing secret is read from here. */
  readonly secrets: StripeSecretReader;
  /** @default 256 */
  readonly memorySize?: number;
  /** At most 29 s (API Gateway's integration timeout is 30 s). @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** Default-stage throttling. @default { rateLimit: 200, burstLimit: 400 } */
  readonly throttle?: ThrottleSettings;
  /** Larger request bodies are rejected with 400. @default 1048576 */
  readonly maxBodyBytes?: number;
  /** Oldest accepted Stripe-Signature timestamp. @default Duration.seconds(300) */
  readonly signatureTolerance?: Duration;
  /** Retention of the function's logs and the access logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The handler file. @default lambdas/ingress/handler.ts */
  readonly entry?: string;
}

/** The HTTP API and the ingress Lambda behind it. */
export class Ingress extends Construct {
  /** The ingress Lambda (`<appName>-ingress`). */
  readonly function: NodejsFunction;
  /** The HTTP API (`<appName>-http-api`). */
  readonly api: HttpApi;
  /** The throttled, access-logged `$default` stage. */
  readonly stage: HttpStage;
  /** Where the stage writes its JSON access logs. */
  readonly accessLogGroup: LogGroup;
  /** The URL to register with Stripe as the webhook endpoint. */
  readonly webhookUrl: string;
  /** The URL of the health check. */
  readonly healthUrl: string;

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(10);
    if (!timeout.isUnresolved() && timeout.toSeconds() > 29) {
      throw new Error(
        `Ingress timeout must be at most 29 s (API Gateway's integration timeout), got ${timeout.toSeconds()} s`,
      );
    }
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;

    const environment: EnvInput<typeof ingressEnv> = {
      QUEUE_URL: props.eventQueue.queue.queueUrl,
      WEBHOOK_SECRET_ID: props.secrets.webhookSecretName,
      SIGNATURE_TOLERANCE_SECONDS: String((props.signatureTolerance ?? Duration.seconds(300)).toSeconds()),
      MAX_BODY_BYTES: String(props.maxBodyBytes ?? 1_048_576),
      MAX_MESSAGE_BYTES: String(props.eventQueue.maxMessageSizeBytes - MESSAGE_ATTRIBUTE_HEADROOM_BYTES),
    };

    const fn = new NodeFunction(this, 'Handler', {
      entry: props.entry ?? lambdaEntry('lambdas/ingress/handler.ts'),
      functionName: `${props.appName}-ingress`,
      description: 'Verifies Stripe webhook signatures and enqueues the events',
      memorySize: props.memorySize ?? 256,
      timeout,
      environment,
      logRetention,
      logRemovalPolicy,
    });
    this.function = fn.function;
    props.eventQueue.grantSendEvents(this.function);
    // GET /health answers 503 when the queue cannot be reached (lambdas/ingress/health.ts).
    props.eventQueue.grantHealthProbe(this.function);
    props.secrets.grantReadWebhookSecret(this.function);

    this.api = new HttpApi(this, 'Api', {
      apiName: `${props.appName}-http-api`,
      description: 'Receives Stripe webhooks',
      // The stage is created below, with throttling and access logs.
      createDefaultStage: false,
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      logGroupName: `/aws/vendedlogs/apigateway/${props.appName}-http-api`,
      retention: logRetention,
      removalPolicy: logRemovalPolicy,
    });

    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 200, burstLimit: 400 },
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const integration = new HttpLambdaIntegration('Integration', this.function, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    for (const route of this.api.addRoutes({ path: WEBHOOK_PATH, methods: [HttpMethod.POST], integration })) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Stripe cannot present IAM or JWT credentials; every delivery is authenticated by its Stripe-Signature ' +
          'HMAC over the raw body, verified in the ingress Lambda before anything is enqueued (bad signature = 400).',
      });
    }
    for (const route of this.api.addRoutes({ path: HEALTH_PATH, methods: [HttpMethod.GET], integration })) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Route 53 health checkers cannot authenticate; the health route returns only a status, reads no data and ' +
          'is throttled with the stage.',
      });
    }

    this.webhookUrl = `${this.api.apiEndpoint}${WEBHOOK_PATH}`;
    this.healthUrl = `${this.api.apiEndpoint}${HEALTH_PATH}`;
  }
}
