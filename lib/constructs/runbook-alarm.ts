/**
 * One alarm as every alarm of this app is built: named `<appName>-<name>`, its description saying what it means, how
 * it treats missing data and why, and ending with its runbook link; notifying one topic on ALARM and on OK.
 */
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { Alarm, ComparisonOperator, type TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** What an alarm is, before it is built. */
export interface RunbookAlarmSpec {
  /** Alarm name suffix: the alarm is `<appName>-<name>`. */
  readonly name: string;
  /** What it means, one sentence (the description starts with it). */
  readonly what: string;
  readonly metric: IMetric;
  readonly threshold: number;
  /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparison?: ComparisonOperator;
  /** Periods evaluated, all of which must breach. @default 1 */
  readonly evaluationPeriods?: number;
  /** What missing data counts as, and why. */
  readonly missingData: { readonly treatment: TreatMissingData; readonly why: string };
}

/** Builds the alarm of `spec` in `scope` (id `Alarm-<name>`), linking `runbookUrl`, notifying `topic`. */
export function runbookAlarm(
  scope: Construct,
  opts: { appName: string; runbookUrl: string; topic: ITopic },
  spec: RunbookAlarmSpec,
): Alarm {
  const alarm = new Alarm(scope, `Alarm-${spec.name}`, {
    alarmName: `${opts.appName}-${spec.name}`,
    alarmDescription: `${spec.what}. Missing data: ${spec.missingData.treatment} (${spec.missingData.why}). Runbook: ${opts.runbookUrl}`,
    metric: spec.metric,
    threshold: spec.threshold,
    comparisonOperator: spec.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: spec.evaluationPeriods ?? 1,
    datapointsToAlarm: spec.evaluationPeriods ?? 1,
    treatMissingData: spec.missingData.treatment,
  });
  const action = new SnsAction(opts.topic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
  return alarm;
}

/** The runbook section (docs/runbooks.md) of every alarm kind, and of the Secrets Manager rotation event. */
export const ALARM_RUNBOOK_ANCHORS = [
  'dlq-not-empty',
  'queue-age-high',
  'ingress-5xx',
  'enqueue-failed',
  'bad-signature-spike',
  'ingress-errors',
  'ingress-throttles',
  'ingress-duration-near-timeout',
  'processor-errors',
  'processor-throttles',
  'processor-duration-near-timeout',
  'stripe-rate-limited',
  'lease-lost',
  'reconcile-missed-events',
  'reconcile-unrecoverable-span',
  'reconciler-errors',
  'rotation-failed-webhook-secret',
  'rotation-failed-api-key',
  'health-check-failing',
  'secrets-manager-rotation-failed',
  'waf-body-rule-matched',
  'secret-replica-out-of-sync',
  'handler-errors',
] as const;

/** One runbook section. */
export type RunbookAnchor = (typeof ALARM_RUNBOOK_ANCHORS)[number];
