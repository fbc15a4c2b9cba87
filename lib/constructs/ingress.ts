/**
 * The public entry point for Stripe webhooks: an API Gateway API with exactly two routes in front of the ingress
 * Lambda, which verifies the signature on the raw body and enqueues the event.
 *
 * - `POST /stripe/webhook`: Stripe's deliveries. Authentication is Stripe's HMAC signature, checked in the Lambda
 *   (Stripe cannot send IAM or JWT credentials), optionally narrowed to Stripe's webhook IPs (`allowedSourceIps`).
 * - `GET /health`: for the Route 53 health check of the multi-region failover; 503 when the region cannot reach its
 *   event queue (a cached GetQueueAttributes probe).
 * Any other path gets API Gateway's own 404/403 without invoking the Lambda.
 *
 * Two flavours (`apiType`):
 * - `http` (default): an HTTP API, $1.00 per million requests. HTTP APIs support neither X-Ray nor WAF: a trace
 *   starts at the Lambda (active tracing, when `observability.tracing` is on).
 * - `rest`: a REST API (Lambda proxy, payload format 1.0), $3.50 per million: X-Ray tracing on the stage (with
 *   `observability.tracing`), and an
 *   optional WAF web ACL (`waf`).
 * API Gateway itself refuses request bodies over 10 MB; the Lambda refuses anything over `maxBodyBytes` (and with
 * WAF, so does the web ACL, before the Lambda runs).
 *
 * The stage is throttled (over the limit API Gateway answers 429 and Stripe retries later) and writes JSON access
 * logs: request metadata only, never the body or the Stripe-Signature header. The API side (both flavours) is built in
 * ingress-apis.ts; this file makes the Lambda and puts the two together.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { RestApi, Stage } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, type HttpStage, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { type IMetric, MathExpression, Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ingressEnv } from '../../lambdas/ingress/env';
import type { EnvInput } from '../../lambdas/shared/env';
import { DEFAULT_CONFIG } from '../config';
import type { EventQueue } from './event-queue';
import { buildHttpApi, buildRestApi, WEBHOOK_PATH } from './ingress-apis';
import { buildFunctionUrl, type IngressFunctionUrl } from './ingress-function-url';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecretReader } from './stripe-secret-reader';
import type { WebhookWebAcl } from './web-acl';

export {
  ACCESS_LOG_FIELDS,
  HEALTH_PATH,
  REST_ACCESS_LOG_FIELDS,
  REST_STAGE_NAME,
  WEBHOOK_PATH,
} from './ingress-apis';

/** What fronts the ingress Lambda: an API Gateway HTTP or REST API, or the Lambda's own function URL. */
export type IngressApiType = 'http' | 'rest' | 'function-url';

/** Props of Ingress. */
export interface IngressProps {
  /** Prefix of the function, API and log group names. */
  readonly appName: string;
  /** Where verified events are sent. */
  readonly eventQueue: EventQueue;
  /** The webhook signing secret is read from here. */
  readonly secrets: StripeSecretReader;
  /** @default - the config's `ingress.memoryMb` */
  readonly memorySize?: number;
  /** At most 29 s (API Gateway's integration timeout is 30 s). @default - the config's `ingress.timeoutSeconds` */
  readonly timeout?: Duration;
  /** Default-stage throttling. @default - the config's `ingress.throttleRatePerSecond` and `throttleBurst` */
  readonly throttle?: ThrottleSettings;
  /** Larger request bodies are rejected with 400. @default - MAX_BODY_BYTES's default (lambdas/ingress/env.ts) */
  readonly maxBodyBytes?: number;
  /** Oldest accepted Stripe-Signature timestamp. @default - SIGNATURE_TOLERANCE_SECONDS's default (lambdas/ingress/env.ts) */
  readonly signatureTolerance?: Duration;
  /** Retention of the function's logs and the access logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray active tracing of the function(s) (NodeFunctionProps.tracing). @default - the config's `observability.tracing` */
  readonly tracing?: boolean;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The handler file. @default lambdas/ingress/handler.ts */
  readonly entry?: string;
  /**
   * `http` (HTTP API), `rest` (REST API with X-Ray, and WAF if asked) or `function-url` (the Lambda's own URL, see
   * ingress-function-url.ts). @default - the config's `ingress.apiType`
   */
  readonly apiType?: IngressApiType;
  /**
   * With `function-url`: the function's reserved concurrency, the URL's throttle.
   * @default - the config's `ingress.functionUrlReservedConcurrency`
   */
  readonly functionUrlReservedConcurrency?: number;
  /** Put a WAF web ACL in front of the REST API (`apiType: 'rest'` only). @default false */
  readonly waf?: boolean;
  /** With `waf`: requests one source IP may send per 5 minutes. @default - the config's `ingress.wafRateLimitPer5Minutes` */
  readonly wafRateLimitPer5Minutes?: number;
  /**
   * REST only: set the account-wide API Gateway CloudWatch Logs role (kept on stack deletion), which access logging
   * needs; false when the account already has one.
   * @default true
   */
  readonly apiGatewayAccountRole?: boolean;
  /**
   * IPs or CIDR blocks allowed to post webhooks (passed to the Lambda as ALLOWED_SOURCE_IPS); others get 403.
   * @default - no IP check
   */
  readonly allowedSourceIps?: readonly string[];
}

/** The API (HTTP or REST) and the ingress Lambda behind it. */
export class Ingress extends Construct {
  /** The ingress Lambda (`<appName>-ingress`). */
  readonly function: LambdaFunction;
  /** Powertools service name of the function: the `service` dimension of its custom metrics. */
  readonly serviceName: string;
  /** What fronts the function. */
  readonly apiType: IngressApiType;
  /** The API: an HTTP API (`<appName>-http-api`) or a REST API (`<appName>-rest-api`); none with `function-url`. */
  readonly api?: HttpApi | RestApi;
  /** The throttled, access-logged stage (`$default` for HTTP, `webhooks` for REST); none with `function-url`. */
  readonly stage?: HttpStage | Stage;
  /** Where the stage writes its JSON access logs; none with `function-url` (function URLs write no access log). */
  readonly accessLogGroup?: LogGroup;
  /** The function URL, with `function-url`. */
  readonly functionUrl?: IngressFunctionUrl;
  /** The WAF web ACL in front of the REST API stage, when `waf` is on. */
  readonly webAcl?: WebhookWebAcl;
  /** The URL to register with Stripe as the webhook endpoint. */
  readonly webhookUrl: string;
  /** The URL of the health check. */
  readonly healthUrl: string;

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(DEFAULT_CONFIG.ingress.timeoutSeconds);
    if (!timeout.isUnresolved() && timeout.toSeconds() > 29) {
      throw new Error(
        `Ingress timeout must be at most 29 s (API Gateway's integration timeout), got ${timeout.toSeconds()} s`,
      );
    }
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.apiType = props.apiType ?? DEFAULT_CONFIG.ingress.apiType;
    if (props.waf && this.apiType !== 'rest') {
      throw new Error("Ingress waf needs apiType 'rest': AWS WAF cannot be associated with an HTTP API");
    }
    const throttle = props.throttle ?? {
      rateLimit: DEFAULT_CONFIG.ingress.throttleRatePerSecond,
      burstLimit: DEFAULT_CONFIG.ingress.throttleBurst,
    };
    const maxBodyBytes = props.maxBodyBytes ?? ingressEnv.MAX_BODY_BYTES.default;

    const environment: EnvInput<typeof ingressEnv> = {
      QUEUE_URL: props.eventQueue.queue.queueUrl,
      WEBHOOK_SECRET_ID: props.secrets.webhookSecretName,
      SIGNATURE_TOLERANCE_SECONDS: String(
        (props.signatureTolerance ?? Duration.seconds(ingressEnv.SIGNATURE_TOLERANCE_SECONDS.default)).toSeconds(),
      ),
      MAX_BODY_BYTES: String(maxBodyBytes),
      MAX_MESSAGE_BYTES: String(props.eventQueue.maxMessageSizeBytes),
      ...(props.allowedSourceIps && props.allowedSourceIps.length > 0
        ? { ALLOWED_SOURCE_IPS: props.allowedSourceIps.join(',') }
        : {}),
    };

    const fn = new NodeFunction(this, 'Handler', {
      entry: props.entry ?? lambdaEntry('lambdas/ingress/handler.ts'),
      functionName: `${props.appName}-ingress`,
      description: 'Verifies Stripe webhook signatures and enqueues the events',
      memorySize: props.memorySize ?? DEFAULT_CONFIG.ingress.memoryMb,
      timeout,
      environment,
      // Stripe waits on this function's cold start; the source map ships, Node does not parse it at start.
      sourceMapsAtRuntime: false,
      logRetention,
      tracing: props.tracing ?? DEFAULT_CONFIG.observability.tracing,
      logRemovalPolicy,
    });
    this.function = fn.function;
    this.serviceName = fn.serviceName;
    props.eventQueue.grantSendEvents(this.function);
    // GET /health answers 503 when the queue cannot be reached (lambdas/ingress/health.ts).
    props.eventQueue.grantHealthProbe(this.function);
    props.secrets.grantReadWebhookSecret(this.function);

    if (this.apiType === 'function-url') {
      this.functionUrl = buildFunctionUrl(
        this.function,
        props.functionUrlReservedConcurrency ?? DEFAULT_CONFIG.ingress.functionUrlReservedConcurrency,
      );
      this.webhookUrl = this.functionUrl.webhookUrl;
      this.healthUrl = this.functionUrl.healthUrl;
      return;
    }
    const accessLogGroup = new LogGroup(this, 'AccessLogs', {
      logGroupName: `/aws/vendedlogs/apigateway/${props.appName}-${this.apiType}-api`,
      retention: logRetention,
      removalPolicy: logRemovalPolicy,
    });
    const built =
      this.apiType === 'rest'
        ? buildRestApi(this, this.function, props, throttle, accessLogGroup)
        : buildHttpApi(this, this.function, props, throttle, accessLogGroup);
    this.api = built.api;
    this.stage = built.stage;
    this.accessLogGroup = built.accessLogGroup;
    this.webhookUrl = built.webhookUrl;
    this.healthUrl = built.healthUrl;

    if ('webAcl' in built && built.webAcl) this.webAcl = built.webAcl;
  }

  /** 5xx answers of the API (API Gateway's, and the Lambda's own 500s), summed per period. */
  metricServerErrors(props?: MetricOptions): Metric {
    return (
      this.functionUrl?.metric('Url5xxCount', props) ?? this.api!.metricServerError({ statistic: 'Sum', ...props })
    );
  }

  /** 4xx answers of the API (refused webhooks, throttling, WAF blocks), summed per period. */
  metricClientErrors(props?: MetricOptions): Metric {
    return (
      this.functionUrl?.metric('Url4xxCount', props) ?? this.api!.metricClientError({ statistic: 'Sum', ...props })
    );
  }

  /**
   * `POST /stripe/webhook` requests the front received, summed per period: API Gateway's route metric (HTTP API),
   * the API's count (REST, whose stage publishes no per-method metrics: /health included), or the function URL's.
   */
  metricWebhooksReceived(props?: MetricOptions): IMetric {
    return this.webhookRouteMetrics(props).received;
  }

  /**
   * Webhooks answered 2xx (verified and on the queue: the ingress answers 200 only after SendMessage succeeded),
   * summed per period: received minus 4xx and 5xx of the same metrics as metricWebhooksReceived.
   */
  metricWebhooksAccepted(props?: MetricOptions): IMetric {
    const { received, clientErrors, serverErrors } = this.webhookRouteMetrics(props);
    return new MathExpression({
      expression: 'received - clientErrors - serverErrors',
      usingMetrics: { received, clientErrors, serverErrors },
      label: props?.label ?? 'accepted',
      ...(props?.period ? { period: props.period } : {}),
    });
  }

  private webhookRouteMetrics(props?: MetricOptions): { received: Metric; clientErrors: Metric; serverErrors: Metric } {
    const plain = { ...props, label: undefined };
    if (this.api instanceof HttpApi && this.stage) {
      // The stage has detailed (per-route) metrics on: dimensions ApiId, Stage, Method, Resource.
      const route = {
        ApiId: this.api.apiId,
        Stage: this.stage.stageName,
        Method: 'POST',
        Resource: WEBHOOK_PATH,
      };
      const m = (metricName: string) =>
        new Metric({ namespace: 'AWS/ApiGateway', metricName, dimensionsMap: route, statistic: 'Sum', ...plain });
      return { received: m('Count'), clientErrors: m('4xx'), serverErrors: m('5xx') };
    }
    return {
      received: this.metricRequests(plain),
      clientErrors: this.metricClientErrors(plain),
      serverErrors: this.metricServerErrors(plain),
    };
  }

  /** Requests the API received, summed per period. */
  metricRequests(props?: MetricOptions): Metric {
    return this.functionUrl?.metric('UrlRequestCount', props) ?? this.api!.metricCount({ statistic: 'Sum', ...props });
  }
}
