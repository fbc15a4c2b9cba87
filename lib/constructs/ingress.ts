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
 *   starts at the Lambda (active tracing).
 * - `rest`: a REST API (Lambda proxy, payload format 1.0), $3.50 per million: X-Ray tracing on the stage, and an
 *   optional WAF web ACL (`waf`).
 * API Gateway itself refuses request bodies over 10 MB; the Lambda refuses anything over `maxBodyBytes` (and with
 * WAF, so does the web ACL, before the Lambda runs).
 *
 * The stage is throttled (over the limit API Gateway answers 429 and Stripe retries later) and writes JSON access
 * logs: request metadata only, never the body or the Stripe-Signature header.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  MethodLoggingLevel,
  RestApi,
  LogGroupLogDestination as RestLogGroupDestination,
  type Stage,
} from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Metric, MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ingressEnv } from '../../lambdas/ingress/env';
import type { EnvInput } from '../../lambdas/shared/env';
import type { EventQueue } from './event-queue';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecretReader } from './stripe-secret-reader';
import { WebhookWebAcl } from './web-acl';

/** The path Stripe delivers webhooks to. */
export const WEBHOOK_PATH = '/stripe/webhook';
/** The path of the health check. */
export const HEALTH_PATH = '/health';

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

/** The REST API's access log line: the same fields (REST names some context variables differently), plus WAF's verdict. */
export const REST_ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integration.error',
  error: '$context.error.message',
  wafStatus: '$context.waf.status',
  wafError: '$context.waf.error',
  xrayTraceId: '$context.xrayTraceId',
};

/** The REST API's stage (REST APIs have no `$default` stage): webhook URL `.../webhooks/stripe/webhook`. */
export const REST_STAGE_NAME = 'webhooks';

/** Which API Gateway flavour fronts the ingress. */
export type IngressApiType = 'http' | 'rest';

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
  /** Larger request bodies are rejected with 400. @default - MAX_BODY_BYTES's default (lambdas/ingress/env.ts) */
  readonly maxBodyBytes?: number;
  /** Oldest accepted Stripe-Signature timestamp. @default - SIGNATURE_TOLERANCE_SECONDS's default (lambdas/ingress/env.ts) */
  readonly signatureTolerance?: Duration;
  /** Retention of the function's logs and the access logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The handler file. @default lambdas/ingress/handler.ts */
  readonly entry?: string;
  /** `http` (HTTP API) or `rest` (REST API with X-Ray, and WAF if asked). @default 'http' */
  readonly apiType?: IngressApiType;
  /** Put a WAF web ACL in front of the REST API (`apiType: 'rest'` only). @default false */
  readonly waf?: boolean;
  /** With `waf`: requests one source IP may send per 5 minutes. @default 12000 */
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
  /** Which API Gateway flavour this is. */
  readonly apiType: IngressApiType;
  /** The API: an HTTP API (`<appName>-http-api`) or a REST API (`<appName>-rest-api`). */
  readonly api: HttpApi | RestApi;
  /** The throttled, access-logged stage (`$default` for HTTP, `webhooks` for REST). */
  readonly stage: HttpStage | Stage;
  /** Where the stage writes its JSON access logs. */
  readonly accessLogGroup: LogGroup;
  /** The WAF web ACL in front of the REST API stage, when `waf` is on. */
  readonly webAcl?: WebhookWebAcl;
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
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.apiType = props.apiType ?? 'http';
    if (props.waf && this.apiType !== 'rest') {
      throw new Error("Ingress waf needs apiType 'rest': AWS WAF cannot be associated with an HTTP API");
    }
    const throttle = props.throttle ?? { rateLimit: 200, burstLimit: 400 };
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
      memorySize: props.memorySize ?? 256,
      timeout,
      environment,
      // Stripe waits on this function's cold start; the source map ships, Node does not parse it at start.
      sourceMapsAtRuntime: false,
      logRetention,
      logRemovalPolicy,
    });
    this.function = fn.function;
    this.serviceName = fn.serviceName;
    props.eventQueue.grantSendEvents(this.function);
    // GET /health answers 503 when the queue cannot be reached (lambdas/ingress/health.ts).
    props.eventQueue.grantHealthProbe(this.function);
    props.secrets.grantReadWebhookSecret(this.function);

    const built =
      this.apiType === 'rest'
        ? this.buildRestApi(props, throttle, logRetention, logRemovalPolicy)
        : this.buildHttpApi(props, throttle, logRetention, logRemovalPolicy);
    this.api = built.api;
    this.stage = built.stage;
    this.accessLogGroup = built.accessLogGroup;
    this.webhookUrl = built.webhookUrl;
    this.healthUrl = built.healthUrl;

    if ('webAcl' in built && built.webAcl) this.webAcl = built.webAcl;
  }

  /** 5xx answers of the API (API Gateway's, and the Lambda's own 500s), summed per period. */
  metricServerErrors(props?: MetricOptions): Metric {
    return this.api.metricServerError({ statistic: 'Sum', ...props });
  }

  /** 4xx answers of the API (refused webhooks, throttling, WAF blocks), summed per period. */
  metricClientErrors(props?: MetricOptions): Metric {
    return this.api.metricClientError({ statistic: 'Sum', ...props });
  }

  /** Requests the API received, summed per period. */
  metricRequests(props?: MetricOptions): Metric {
    return this.api.metricCount({ statistic: 'Sum', ...props });
  }

  private buildHttpApi(
    props: IngressProps,
    throttle: ThrottleSettings,
    logRetention: RetentionDays,
    logRemovalPolicy: RemovalPolicy,
  ) {
    const api = new HttpApi(this, 'Api', {
      apiName: `${props.appName}-http-api`,
      description: 'Receives Stripe webhooks',
      // The stage is created below, with throttling and access logs.
      createDefaultStage: false,
    });

    const accessLogGroup = new LogGroup(this, 'AccessLogs', {
      logGroupName: `/aws/vendedlogs/apigateway/${props.appName}-http-api`,
      retention: logRetention,
      removalPolicy: logRemovalPolicy,
    });

    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const integration = new HttpLambdaIntegration('Integration', this.function, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    for (const route of api.addRoutes({ path: WEBHOOK_PATH, methods: [HttpMethod.POST], integration })) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: WEBHOOK_NO_AUTH_REASON });
    }
    for (const route of api.addRoutes({ path: HEALTH_PATH, methods: [HttpMethod.GET], integration })) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: HEALTH_NO_AUTH_REASON });
    }

    return {
      api,
      stage,
      accessLogGroup,
      webhookUrl: `${api.apiEndpoint}${WEBHOOK_PATH}`,
      healthUrl: `${api.apiEndpoint}${HEALTH_PATH}`,
    };
  }

  private buildRestApi(
    props: IngressProps,
    throttle: ThrottleSettings,
    logRetention: RetentionDays,
    logRemovalPolicy: RemovalPolicy,
  ) {
    const accessLogGroup = new LogGroup(this, 'AccessLogs', {
      logGroupName: `/aws/vendedlogs/apigateway/${props.appName}-rest-api`,
      retention: logRetention,
      removalPolicy: logRemovalPolicy,
    });

    const api = new RestApi(this, 'RestApi', {
      restApiName: `${props.appName}-rest-api`,
      description: 'Receives Stripe webhooks',
      endpointTypes: [EndpointType.REGIONAL],
      // API Gateway refuses a stage's access log settings until the account (per region) has a CloudWatch Logs role
      // set. The role and the setting are account-wide, shared with every REST API there: kept (plain Retain, its
      // name is generated) when the stack goes, even after a failed first create, so no other API loses its logs.
      cloudWatchRole: props.apiGatewayAccountRole ?? true,
      ...((props.apiGatewayAccountRole ?? true) ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: REST_STAGE_NAME,
        tracingEnabled: true,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        accessLogDestination: new RestLogGroupDestination(accessLogGroup),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(REST_ACCESS_LOG_FIELDS)),
        // Execution logs off: with data tracing they would hold request bodies, and they need the account-wide role.
        loggingLevel: MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
        metricsEnabled: false,
      },
    });

    // Test invocations from the console would need a second, unscoped invoke permission.
    const integration = new LambdaIntegration(this.function, { proxy: true, allowTestInvoke: false });
    // API Gateway refuses a delivery without a Stripe-Signature header itself (400), without invoking the Lambda.
    const validator = api.addRequestValidator('RequireSignatureHeader', {
      requestValidatorName: 'require-stripe-signature-header',
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    const webhook = api.root
      .addResource('stripe')
      .addResource('webhook')
      .addMethod('POST', integration, {
        requestParameters: { 'method.request.header.Stripe-Signature': true },
        requestValidator: validator,
      });
    const health = api.root.addResource('health').addMethod('GET', integration);
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Request parameters are validated (a delivery without Stripe-Signature never reaches the Lambda); the body is ' +
        'not: it is checked on its raw bytes by the HMAC signature in the Lambda, and a JSON schema in API Gateway ' +
        'could refuse a genuine Stripe event of a newer API version (Stripe would retry it for 3 days, then disable ' +
        'the endpoint).',
    });
    for (const [method, authReason] of [
      [webhook, WEBHOOK_NO_AUTH_REASON],
      [health, HEALTH_NO_AUTH_REASON],
    ] as const) {
      Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason: authReason });
      Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason: authReason });
    }

    const logsRole = api.node.tryFindChild('CloudWatchRole');
    if (logsRole) {
      Validations.of(logsRole).acknowledge({
        // An AWS managed policy's ARN always names the partition by reference (aws-iam's fromAwsManagedPolicyName).
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-wide logging role: AWS's managed policy is the documented one for it, and API Gateway " +
          '(the only principal that may assume the role) writes every REST API access and execution log through it.',
      });
    }
    const stage = api.deploymentStage;
    Validations.of(stage).acknowledge({
      id: 'AwsSolutions-APIG6',
      reason:
        'Execution logs add nothing for two routes into one Lambda and, with data tracing, would log request bodies ' +
        '(customer data); JSON access logs on this stage and the Lambda logs record every request instead.',
    });
    for (const [id, reason] of Object.entries(REST_STAGE_PCI_REASONS))
      Validations.of(stage).acknowledge({ id, reason });
    if (!props.waf) {
      Validations.of(stage).acknowledge({
        id: 'PCI.DSS.321-APIGWAssociatedWithWAF',
        reason: WITHOUT_WAF_REASON,
      });
      Validations.of(stage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: WITHOUT_WAF_REASON,
      });
    }

    const webAcl = props.waf
      ? new WebhookWebAcl(this, 'Waf', {
          name: `${props.appName}-ingress`,
          resourceArn: stage.stageArn,
          maxBodyBytes: props.maxBodyBytes ?? ingressEnv.MAX_BODY_BYTES.default,
          ...(props.wafRateLimitPer5Minutes !== undefined
            ? { rateLimitPer5Minutes: props.wafRateLimitPer5Minutes }
            : {}),
        })
      : undefined;
    webAcl?.association.node.addDependency(stage);

    return {
      api,
      stage,
      accessLogGroup,
      webAcl,
      webhookUrl: api.urlForPath(WEBHOOK_PATH),
      healthUrl: api.urlForPath(HEALTH_PATH),
    };
  }
}

/** PCI DSS 3.2.1 findings of the REST stage, and why they do not apply to a webhook receiver. */
const REST_STAGE_PCI_REASONS: Readonly<Record<string, string>> = {
  'PCI.DSS.321-APIGWCacheEnabledAndEncrypted':
    'Nothing is cached: every webhook is a POST that must reach the Lambda (a cached answer would acknowledge an ' +
    'event that was never enqueued), and /health must report the live state.',
  'PCI.DSS.321-APIGWExecutionLoggingEnabled':
    'Execution logs add nothing for two routes into one Lambda and, with data tracing, would log request bodies; ' +
    'JSON access logs on this stage and the Lambda logs record every request.',
  'PCI.DSS.321-APIGWSSLEnabled':
    'The backend is a Lambda proxy integration, invoked through the Lambda API over TLS; a client certificate only ' +
    'authenticates API Gateway to HTTP backends.',
};

const WITHOUT_WAF_REASON =
  'WAF is optional (ingress.waf): every request is authenticated by its Stripe-Signature HMAC in the Lambda, ' +
  'the stage is throttled, and the ingress can be limited to Stripe webhook IPs (ingress.stripeIpAllowlist).';

const WEBHOOK_NO_AUTH_REASON =
  'Stripe cannot present IAM, JWT or Cognito credentials; every delivery is authenticated by its Stripe-Signature ' +
  'HMAC over the raw body, verified in the ingress Lambda before anything is enqueued (bad signature = 400).';
const HEALTH_NO_AUTH_REASON =
  'Route 53 health checkers cannot authenticate; the health route returns only a status, reads no data and is ' +
  'throttled with the stage.';
