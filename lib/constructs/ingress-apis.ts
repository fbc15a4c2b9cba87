/**
 * The API Gateway front of the ingress Lambda (lib/constructs/ingress.ts): an HTTP API, or a REST API with X-Ray (when
 * `observability.tracing` is on) and optional WAF. Both have exactly two routes, a throttled stage and JSON access logs without bodies or signatures.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  MethodLoggingLevel,
  RestApi,
  LogGroupLogDestination as RestLogGroupDestination,
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
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ingressEnv } from '../../lambdas/ingress/env';
import { DEFAULT_CONFIG } from '../config';
import { NO_TRACING_REASON } from './node-function';
import { WebhookWebAcl } from './web-acl';

/** The path Stripe delivers webhooks to. */
export const WEBHOOK_PATH = '/stripe/webhook';
/** The path of the health check. */
export const HEALTH_PATH = '/health';

/**
 * One JSON object per request. Every value is quoted: API Gateway writes `-` for a missing number, which would
 * otherwise make the line invalid JSON.
 *
 * What an on-call engineer needs of a request API Gateway answered, and nothing the log event or another field
 * already holds (every byte is paid for once per webhook, docs/performance.md): the request id (the ingress lines'
 * `apiRequestId`), who sent it, what it asked for, the answer and how long it took, and why it failed when API
 * Gateway or the Lambda integration did (throttling, a timeout, an invoke error). Left out: the request time (the log
 * event's own timestamp), the route key (method and path say it, also for a request no route matched), the
 * protocol, the response length, the integration latency (the Lambda's Duration metric) and the user agent (anyone
 * can send Stripe's; the source IP is what `ingress.stripeIpAllowlist` checks).
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  sourceIp: '$context.identity.sourceIp',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
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

/** What the API builders need of the Ingress props. */
export interface ApiProps {
  readonly appName: string;
  readonly apiGatewayAccountRole?: boolean;
  readonly waf?: boolean;
  readonly wafRateLimitPer5Minutes?: number;
  readonly maxBodyBytes?: number;
  /** X-Ray tracing of the REST stage (with the Lambda's). @default - the config's `observability.tracing` */
  readonly tracing?: boolean;
}

export function buildHttpApi(
  scope: Construct,
  fn: IFunction,
  props: ApiProps,
  throttle: ThrottleSettings,
  accessLogGroup: LogGroup,
) {
  const api = new HttpApi(scope, 'Api', {
    apiName: `${props.appName}-http-api`,
    description: 'Receives Stripe webhooks',
    // The stage is created below, with throttling and access logs.
    createDefaultStage: false,
  });

  const stage = new HttpStage(scope, 'DefaultStage', {
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

  const integration = new HttpLambdaIntegration('Integration', fn, {
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

export function buildRestApi(
  scope: Construct,
  fn: IFunction,
  props: ApiProps,
  throttle: ThrottleSettings,
  accessLogGroup: LogGroup,
) {
  const api = new RestApi(scope, 'RestApi', {
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
      tracingEnabled: props.tracing ?? DEFAULT_CONFIG.observability.tracing,
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
  const integration = new LambdaIntegration(fn, { proxy: true, allowTestInvoke: false });
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
  for (const [id, reason] of Object.entries(REST_STAGE_PCI_REASONS)) Validations.of(stage).acknowledge({ id, reason });
  if (!(props.tracing ?? DEFAULT_CONFIG.observability.tracing)) {
    Validations.of(stage).acknowledge({ id: 'Serverless-APIGWXrayEnabled', reason: NO_TRACING_REASON });
  }
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
    ? new WebhookWebAcl(scope, 'Waf', {
        name: `${props.appName}-ingress`,
        resourceArn: stage.stageArn,
        maxBodyBytes: props.maxBodyBytes ?? ingressEnv.MAX_BODY_BYTES.default,
        ...(props.wafRateLimitPer5Minutes !== undefined ? { rateLimitPer5Minutes: props.wafRateLimitPer5Minutes } : {}),
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
