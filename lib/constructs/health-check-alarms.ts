/**
 * Alarms on the Route 53 health checks of the failover (`HealthCheckStatus`). Route 53 publishes that metric in
 * us-east-1 only, whatever the checked endpoint's region, and a CloudWatch alarm can watch only metrics of its own
 * region: these alarms live in a us-east-1 stack. createRegionalStacks puts them in the primary's Alarms when the
 * primary is in us-east-1, and otherwise in a small monitoring stack there (lib/stacks/monitoring-stack.ts), with
 * this construct and its own topic.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { createAlarmTopic } from './alarm-topic';
import { type RunbookAlarmSpec, runbookAlarm } from './runbook-alarm';

/** Route 53 publishes health check metrics in this region only. */
export const ROUTE53_METRICS_REGION = 'us-east-1';

/** A Route 53 health check of one region's `GET /health`. */
export interface RegionHealthCheck {
  /** The region whose ingress the health check probes (used in the alarm's name and text). */
  readonly region: string;
  readonly healthCheckId: string;
}

const NO_DATA_IS_BLIND =
  'Route 53 publishes every minute while the health check exists: no data means the failover has lost its eyes';

/** The alarm of one region's health check: unhealthy for 2 minutes, or no data at all. */
export function healthCheckAlarmSpec(check: RegionHealthCheck): RunbookAlarmSpec {
  return {
    name: `health-check-failing-${check.region}`,
    what: `Route 53 sees the ${check.region} ingress as unhealthy (GET /health failing): failover may be under way`,
    metric: new Metric({
      namespace: 'AWS/Route53',
      metricName: 'HealthCheckStatus',
      dimensionsMap: { HealthCheckId: check.healthCheckId },
      statistic: 'Minimum',
      period: Duration.minutes(1),
    }),
    threshold: 1,
    comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 2,
    missingData: { treatment: TreatMissingData.BREACHING, why: NO_DATA_IS_BLIND },
  };
}

/** Props of HealthCheckAlarms. */
export interface HealthCheckAlarmsProps {
  /** Prefix of the alarm, topic and key names. */
  readonly appName: string;
  readonly healthChecks: readonly RegionHealthCheck[];
  /** Where alarm descriptions link to (`<runbookBaseUrl>/runbooks.md#health-check-failing`). */
  readonly runbookBaseUrl: string;
  /** Subscribed to the topic. @default - none */
  readonly email?: string;
  /** Applies to the topic's key. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/** The health check alarms and their own topic `<appName>-health-alarms` (for a stack holding nothing else). */
export class HealthCheckAlarms extends Construct {
  readonly topic: Topic;
  readonly key: Key;
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: HealthCheckAlarmsProps) {
    super(scope, id);
    // Not `<appName>-alarms`: a regional stack of the app may live in us-east-1 too (a secondary region).
    ({ topic: this.topic, key: this.key } = createAlarmTopic(this, {
      topicName: `${props.appName}-health-alarms`,
      keyAlias: `${props.appName}/health-alarms`,
      ...(props.email ? { email: props.email } : {}),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    }));
    const runbookUrl = `${props.runbookBaseUrl}/runbooks.md#health-check-failing`;
    this.alarms = props.healthChecks.map((check) =>
      runbookAlarm(this, { appName: props.appName, runbookUrl, topic: this.topic }, healthCheckAlarmSpec(check)),
    );
  }
}
