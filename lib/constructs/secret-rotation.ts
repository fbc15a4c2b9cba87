/**
 * Rotation of the two Stripe secrets by Secrets Manager, in the primary region only (the secrets replicate, and two
 * regions rotating would create two Stripe endpoints per rotation).
 *
 * - The webhook signing secret: a Lambda that makes a new Stripe endpoint per rotation and keeps the old secret valid
 *   for the overlap (lambdas/rotation/webhook-secret), on a schedule (`webhookSecretRotation`, 0 = on demand), plus
 *   an hourly EventBridge schedule that invokes it to delete the old endpoint once its secret has expired.
 * - The API key: a Lambda that validates a key an operator staged against Stripe and promotes it only then
 *   (lambdas/rotation/api-key), on demand by default (`apiKeyRotation` 0): Stripe cannot create keys.
 *
 * Each function may only read and write its own secret (GetSecretValue, PutSecretValue, DescribeSecret,
 * UpdateSecretVersionStage) and use the key through Secrets Manager; only Secrets Manager, for that secret and this
 * account, may invoke it. Written with the L1 rotation schedule on purpose: CDK's `addRotationSchedule` would also
 * grant `secretsmanager:GetRandomPassword` on `*` and every KMS action, which neither function needs.
 *
 * A failed step emits `RotationFailed` (namespace StripeWebhooks, dimension Secret=webhook|api-key); an alarm per
 * secret fires on the first one. Runbook: docs/rotation.md.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as NodeLambda } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnRotationSchedule, type Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { apiKeyRotationEnv } from '../../lambdas/rotation/api-key/env';
import type { webhookSecretRotationEnv } from '../../lambdas/rotation/webhook-secret/env';
import type { EnvInput } from '../../lambdas/shared/env';
import { sharedEnv } from '../../lambdas/shared/env-specs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import { DEFAULT_CONFIG } from '../config';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecrets } from './stripe-secrets';

/** CloudWatch namespace and name of the metric a failed rotation step emits. */
export const ROTATION_FAILED_METRIC = { namespace: METRICS_NAMESPACE, metricName: 'RotationFailed' } as const;

/** The secret actions a rotation function needs on the secret it rotates, and nothing else. */
export const ROTATION_SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;

/** Lambda's limit on the size of a function's environment variables, bytes. */
const LAMBDA_ENVIRONMENT_LIMIT = 4096;

/** `RotationFailed` for one secret, summed over five minutes (what the alarms watch). */
export function rotationFailedMetric(secret: 'webhook' | 'api-key'): Metric {
  return new Metric({
    ...ROTATION_FAILED_METRIC,
    dimensionsMap: { Secret: secret },
    statistic: Stats.SUM,
    period: Duration.minutes(5),
  });
}

/** Props of StripeSecretRotation. */
export interface StripeSecretRotationProps {
  /** Prefix of the function and alarm names; tags the Stripe endpoints the rotation creates. */
  readonly appName: string;
  readonly secrets: StripeSecrets;
  /** URL of a new endpoint when the current endpoint is unknown (a secret without endpoint ids). */
  readonly webhookUrl: string;
  /** Event types of a new endpoint when the current endpoint is unknown. */
  readonly eventTypes: readonly string[];
  /** API version of a new endpoint when the current endpoint is unknown. @default - the account's default */
  readonly endpointApiVersion?: string;
  /** Description of a new endpoint when the current endpoint is unknown. @default - none */
  readonly endpointDescription?: string;
  /** Rotate the webhook signing secret this often; `Duration.days(0)` = on demand only. @default - the config's `rotation.webhookSecretDays` */
  readonly webhookSecretRotation?: Duration;
  /** Rotate the API key this often; `Duration.days(0)` = on demand only. @default - the config's `rotation.apiKeyDays` */
  readonly apiKeyRotation?: Duration;
  /** How long the old signing secret stays valid after a rotation. @default - OVERLAP_HOURS's default (lambdas/shared/env-specs.ts) */
  readonly webhookOverlap?: Duration;
  /** How often the old endpoints are looked for and deleted. @default Schedule.rate(Duration.hours(1)) */
  readonly cleanupSchedule?: Schedule;
  /** API version of the API key rotation's test calls. @default - the account's default */
  readonly stripeApiVersion?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray active tracing of the function(s) (NodeFunctionProps.tracing). @default - the config's `observability.tracing` */
  readonly tracing?: boolean;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** Secrets Manager rotation of the Stripe webhook signing secret and API key, with their alarms. */
export class StripeSecretRotation extends Construct {
  /** Rotates the webhook signing secret (`<appName>-rotate-webhook-secret`) and runs the hourly cleanup. */
  readonly webhookSecretFunction: NodeLambda;
  /** Rotates the API key (`<appName>-rotate-api-key`). */
  readonly apiKeyFunction: NodeLambda;
  readonly webhookSecretSchedule: CfnRotationSchedule;
  readonly apiKeySchedule: CfnRotationSchedule;
  /** Invokes the webhook function with `{ "action": "cleanup" }`. */
  readonly cleanupRule: Rule;

  constructor(scope: Construct, id: string, props: StripeSecretRotationProps) {
    super(scope, id);
    const { secrets } = props;
    const webhookDays = (
      props.webhookSecretRotation ?? Duration.days(DEFAULT_CONFIG.rotation.webhookSecretDays)
    ).toDays();
    const apiKeyDays = (props.apiKeyRotation ?? Duration.days(DEFAULT_CONFIG.rotation.apiKeyDays)).toDays();
    const overlapHours = (props.webhookOverlap ?? Duration.hours(sharedEnv.OVERLAP_HOURS.default)).toHours();
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;

    const webhookEnvironment: EnvInput<typeof webhookSecretRotationEnv> = {
      WEBHOOK_SECRET_ID: secrets.webhookSecretName,
      API_KEY_SECRET_ID: secrets.apiKeySecretName,
      APP_NAME: props.appName,
      WEBHOOK_URL: props.webhookUrl,
      EVENT_TYPES: props.eventTypes.join(','),
      OVERLAP_HOURS: String(overlapHours),
      ...(props.endpointApiVersion ? { ENDPOINT_API_VERSION: props.endpointApiVersion } : {}),
      ...(props.endpointDescription ? { ENDPOINT_DESCRIPTION: props.endpointDescription } : {}),
    };
    const environmentBytes = Object.entries(webhookEnvironment).reduce(
      (n, [k, v]) => n + k.length + (v ?? '').length,
      0,
    );
    if (environmentBytes > LAMBDA_ENVIRONMENT_LIMIT - 512) {
      throw new Error(
        `StripeSecretRotation: ${props.eventTypes.length} event types do not fit into a Lambda environment ` +
          `(${environmentBytes} bytes of ${LAMBDA_ENVIRONMENT_LIMIT}); subscribe to * instead`,
      );
    }

    const webhookFn = new NodeFunction(this, 'WebhookSecretFunction', {
      entry: lambdaEntry('lambdas/rotation/webhook-secret/handler.ts'),
      functionName: `${props.appName}-rotate-webhook-secret`,
      description: 'Rotates the Stripe webhook signing secret (a new endpoint per rotation) and deletes old endpoints',
      timeout: Duration.seconds(60),
      environment: webhookEnvironment,
      logRetention,
      tracing: props.tracing ?? DEFAULT_CONFIG.observability.tracing,
      logRemovalPolicy,
      noDeadLetterQueueReason:
        'Secrets Manager invokes the rotation steps synchronously and retries a failed rotation itself; the hourly ' +
        'cleanup is asynchronous, but a lost run is repeated by the next one, and a failed run raises RotationFailed.',
    });
    this.webhookSecretFunction = webhookFn.function;

    const apiKeyEnvironment: EnvInput<typeof apiKeyRotationEnv> = {
      ...(props.stripeApiVersion ? { STRIPE_API_VERSION: props.stripeApiVersion } : {}),
      // The staged key must be able to read the objects of these events before it is promoted.
      EVENT_TYPES: props.eventTypes.join(','),
    };
    const apiKeyFn = new NodeFunction(this, 'ApiKeyFunction', {
      entry: lambdaEntry('lambdas/rotation/api-key/handler.ts'),
      functionName: `${props.appName}-rotate-api-key`,
      description: 'Validates a staged Stripe API key against Stripe and promotes it only if Stripe accepts it',
      timeout: Duration.seconds(30),
      environment: apiKeyEnvironment,
      logRetention,
      tracing: props.tracing ?? DEFAULT_CONFIG.observability.tracing,
      logRemovalPolicy,
    });
    this.apiKeyFunction = apiKeyFn.function;

    this.webhookSecretSchedule = this.rotate(secrets.webhookSecret, this.webhookSecretFunction, webhookDays, {
      id: 'WebhookSecret',
      onDemandReason:
        'rotation.webhookSecretDays is 0: the webhook secret rotation Lambda is attached but runs only on demand ' +
        '(aws secretsmanager rotate-secret), e.g. while the Stripe endpoint is managed by hand.',
    });
    this.apiKeySchedule = this.rotate(secrets.apiKey, this.apiKeyFunction, apiKeyDays, {
      id: 'ApiKey',
      onDemandReason:
        'Stripe has no API to create API keys, so a schedule would only fail: the rotation Lambda is attached and ' +
        'runs on demand after an operator stages a key, which it validates against Stripe before promoting.',
    });
    secrets.grantReadApiKey(this.webhookSecretFunction);
    // Their PutSecretValue re-encrypts the new version for every replica region too.
    secrets.grantPutValue(this.webhookSecretFunction);
    secrets.grantPutValue(this.apiKeyFunction);

    this.cleanupRule = new Rule(this, 'CleanupSchedule', {
      ruleName: `${props.appName}-webhook-endpoint-cleanup`,
      description: 'Deletes Stripe webhook endpoints whose signing secret has expired after a rotation',
      schedule: props.cleanupSchedule ?? Schedule.rate(Duration.hours(1)),
      targets: [
        new LambdaFunction(this.webhookSecretFunction, {
          event: RuleTargetInput.fromObject({ action: 'cleanup' }),
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    Validations.of(this.cleanupRule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'The cleanup is idempotent and runs every hour: a dropped invocation only delays deleting an expired endpoint ' +
        'by an hour, and a failing run raises RotationFailed; a DLQ would hold nothing worth replaying.',
    });
  }

  /** Attaches `fn` as the rotation function of `secret`, every `days` days (0 = on demand only). */
  private rotate(
    secret: Secret,
    fn: NodeLambda,
    days: number,
    opts: { id: string; onDemandReason: string },
  ): CfnRotationSchedule {
    const stack = Stack.of(this);
    fn.addToRolePolicy(new PolicyStatement({ actions: [...ROTATION_SECRET_ACTIONS], resources: [secret.secretArn] }));
    // Only Secrets Manager, rotating this secret in this account, may invoke the function (no confused deputy).
    const permissionId = `${opts.id}InvokedBySecretsManager`;
    fn.addPermission(permissionId, {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: stack.account,
      sourceArn: secret.secretArn,
    });
    const schedule = new CfnRotationSchedule(this, `${opts.id}Schedule`, {
      secretId: secret.secretArn,
      rotationLambdaArn: fn.functionArn,
      ...(days > 0 ? { rotationRules: { automaticallyAfterDays: days } } : {}),
      // Never rotate as part of a deploy: the first deploy holds placeholders, and a rotation is an operation to
      // start deliberately (or on the schedule), not a side effect of changing the template.
      rotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager must be allowed to invoke the function before it is attached.
    schedule.node.addDependency(fn.permissionsNode.findChild(permissionId));
    if (days === 0) Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: opts.onDemandReason });
    return schedule;
  }
}
