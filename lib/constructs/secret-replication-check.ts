/**
 * A scheduled Lambda (lambdas/rotation/replication) that checks, every few minutes, that both Stripe secrets are
 * `InSync` in every replica region, and emits `SecretReplicasNotInSync` for the `secret-replica-out-of-sync` alarm.
 * Created in the primary region when the secrets have replicas.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as NodeLambda } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { replicationCheckEnv } from '../../lambdas/rotation/replication/env';
import type { EnvInput } from '../../lambdas/shared/env';
import { DEFAULT_CONFIG } from '../config';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecrets } from './stripe-secrets';

/** How often the replicas are checked. */
export const REPLICATION_CHECK_INTERVAL = Duration.minutes(5);

/** Props of SecretReplicationCheck. */
export interface SecretReplicationCheckProps {
  /** Prefix of the function and rule names. */
  readonly appName: string;
  readonly secrets: StripeSecrets;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray active tracing of the function(s) (NodeFunctionProps.tracing). @default - the config's `observability.tracing` */
  readonly tracing?: boolean;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The replication check and its schedule. */
export class SecretReplicationCheck extends Construct {
  readonly function: NodeLambda;
  /** The Powertools service name: the `service` dimension of SecretReplicasNotInSync. */
  readonly serviceName: string;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SecretReplicationCheckProps) {
    super(scope, id);
    const { secrets } = props;
    const environment: EnvInput<typeof replicationCheckEnv> = {
      API_KEY_SECRET_ID: secrets.apiKey.secretArn,
      WEBHOOK_SECRET_ID: secrets.webhookSecret.secretArn,
    };
    const fn = new NodeFunction(this, 'Handler', {
      entry: lambdaEntry('lambdas/rotation/replication/handler.ts'),
      functionName: `${props.appName}-secret-replication-check`,
      description: 'Checks that the Stripe secrets are InSync in every replica region',
      memorySize: 128,
      timeout: Duration.seconds(30),
      environment,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      tracing: props.tracing ?? DEFAULT_CONFIG.observability.tracing,
      logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      noDeadLetterQueueReason:
        'The check runs every few minutes and only reads: a lost run is repeated by the next one, and the alarm ' +
        'evaluates several runs.',
    });
    this.function = fn.function;
    this.serviceName = fn.serviceName;
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:DescribeSecret'],
        resources: [secrets.apiKey.secretArn, secrets.webhookSecret.secretArn],
      }),
    );
    this.rule = new Rule(this, 'Schedule', {
      ruleName: `${props.appName}-secret-replication-check`,
      description: 'Runs the Stripe secret replication check',
      schedule: Schedule.rate(REPLICATION_CHECK_INTERVAL),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: Duration.minutes(5) })],
    });
    Validations.of(this.rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason: 'A dropped run of the read-only check is repeated a few minutes later; a DLQ would keep nothing of use.',
    });
  }
}
