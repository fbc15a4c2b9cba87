/**
 * Secrets Manager's own rotation failures reach the alarm topic through an EventBridge rule: Secrets Manager
 * publishes no rotation metric, a failed managed rotation is a CloudTrail event (`RotationFailed`).
 */
import { Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** The rule (`SecretsManagerRotationFailed` in `scope`) sending these secrets' RotationFailed events to `topic`. */
export function secretsManagerRotationFailedRule(
  scope: Construct,
  props: {
    readonly appName: string;
    readonly topic: ITopic;
    /** Full ARNs: the rule must match only this app's secrets. */
    readonly secretArns: readonly string[];
    readonly runbookUrl: string;
  },
): Rule {
  const rule = new Rule(scope, 'SecretsManagerRotationFailed', {
    description: `Secrets Manager rotation failures, to ${props.appName}-alarms. Runbook: ${props.runbookUrl}`,
    eventPattern: {
      source: ['aws.secretsmanager'],
      detailType: ['AWS Service Event via CloudTrail'],
      detail: {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['RotationFailed'],
        // The secret's full ARN, as the CloudTrail service event carries it.
        additionalEventData: { SecretId: [...props.secretArns] },
      },
    },
    targets: [new SnsTopic(props.topic)],
  });
  Validations.of(rule).acknowledge({
    id: 'Serverless-EventBusDLQ',
    reason:
      'The target only notifies the alarm topic; EventBridge retries a failed delivery for 24 hours, and the ' +
      'RotationFailed event itself stays in CloudTrail event history for 90 days, where the runbook looks it up.',
  });
  return rule;
}
