/**
 * The cheapest front of the ingress Lambda (`ingress.apiType: 'function-url'`): its own Lambda function URL, no API
 * Gateway. A function URL costs nothing per request beyond the invocation (API Gateway's HTTP API is $1.00 per
 * million), which makes it the front of the lean configuration (config/lean.example.json).
 *
 * - Public (auth type NONE), like the API routes: Stripe cannot sign requests with IAM credentials. The guard is the
 *   same as behind API Gateway: the ingress verifies the Stripe-Signature HMAC over the raw body before anything is
 *   enqueued, and answers 400 to anything else (lambdas/ingress/core.ts); `ingress.stripeIpAllowlist` still applies.
 * - Every path reaches the Lambda, which routes by path itself: `POST /stripe/webhook` and `GET /health` behave as
 *   behind API Gateway, anything else gets the Lambda's 404 (an invocation each, where API Gateway answered alone).
 * - The throttle is the function's reserved concurrency (`ingress.functionUrlReservedConcurrency`): beyond it the URL
 *   answers 429 and Stripe retries later, as with the API stage's throttling.
 * - No access log (function URLs write none): every rejection is still logged by the Lambda with its reason, and
 *   Lambda's URL metrics (UrlRequestCount, Url4xxCount, Url5xxCount) stand in for API Gateway's.
 * - No custom domain, WAF or Route 53 failover: the config allows it with a single region only.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import {
  type CfnFunction,
  FunctionUrlAuthType,
  InvokeMode,
  type Function as LambdaFunction,
} from 'aws-cdk-lib/aws-lambda';
import { HEALTH_PATH, WEBHOOK_PATH } from './ingress-apis';

/** The function URL in front of the ingress Lambda, and its metrics. */
export interface IngressFunctionUrl {
  /** `https://<url-id>.lambda-url.<region>.on.aws/` (with the trailing slash Lambda gives it). */
  readonly url: string;
  readonly webhookUrl: string;
  readonly healthUrl: string;
  /** A metric of the function URL (`UrlRequestCount`, `Url4xxCount`, `Url5xxCount`), summed. */
  metric(name: 'UrlRequestCount' | 'Url4xxCount' | 'Url5xxCount', props?: MetricOptions): Metric;
}

export function buildFunctionUrl(fn: LambdaFunction, reservedConcurrency: number): IngressFunctionUrl {
  // Set on the CloudFormation resource: NodeFunction builds every function alike and has no concurrency setting.
  (fn.node.defaultChild as CfnFunction).reservedConcurrentExecutions = reservedConcurrency;
  // CDK adds the two resource-based permissions a public URL needs: lambda:InvokeFunctionUrl with auth type NONE,
  // and lambda:InvokeFunction only when invoked through the URL (lambda:InvokedViaFunctionUrl).
  const functionUrl = fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.BUFFERED });
  for (const id of ['invoke-function-url', 'invoke-function']) {
    const permission = fn.node.tryFindChild(id);
    if (!permission) throw new Error(`the function URL's ${id} permission is missing (aws-cdk-lib changed?)`);
    Validations.of(permission).acknowledge({
      id: 'PCI.DSS.321-LambdaFunctionPublicAccessProhibited',
      reason: FUNCTION_URL_NO_AUTH_REASON,
    });
  }
  // The URL ends with '/': paths are appended without their leading slash.
  const at = (path: string) => `${functionUrl.url}${path.slice(1)}`;
  return {
    url: functionUrl.url,
    webhookUrl: at(WEBHOOK_PATH),
    healthUrl: at(HEALTH_PATH),
    metric: (name, props) =>
      new Metric({
        namespace: 'AWS/Lambda',
        metricName: name,
        dimensionsMap: { FunctionName: fn.functionName },
        statistic: 'Sum',
        period: Duration.minutes(5),
        ...props,
      }),
  };
}

const FUNCTION_URL_NO_AUTH_REASON =
  'The public function URL is the webhook endpoint (ingress.apiType function-url): Stripe cannot present IAM ' +
  'credentials, so every delivery is authenticated by its Stripe-Signature HMAC over the raw body, verified in the ' +
  'ingress Lambda before anything is enqueued (bad signature = 400). Both permissions are scoped to the URL (auth ' +
  'type NONE, lambda:InvokedViaFunctionUrl), and reserved concurrency caps what the URL can run.';
