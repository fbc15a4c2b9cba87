/**
 * The SNS topic alarms notify: encrypted with its own customer-managed key, TLS-only, publishable by this account's
 * CloudWatch alarms and EventBridge rules, with an optional e-mail subscription. Used by each region's Alarms and by
 * the us-east-1 monitoring stack of the Route 53 health check alarms.
 */
import { ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { customerManagedKey } from './encryption-key';

/** Props of `createAlarmTopic`. */
export interface AlarmTopicProps {
  /** The topic's name (also its display name, with ` alarms`), e.g. `<appName>-alarms`. */
  readonly topicName: string;
  /** The key's alias without `alias/`, e.g. `<appName>/alarms`. */
  readonly keyAlias: string;
  /** Subscribed to the topic (the subscription must be confirmed from the mail). @default - none */
  readonly email?: string;
  /** Applies to the key. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/** Creates the key (`Key`) and the topic (`Topic`) in `scope`. */
export function createAlarmTopic(scope: Construct, props: AlarmTopicProps): { topic: Topic; key: Key } {
  const stack = Stack.of(scope);
  const key = customerManagedKey(scope, 'Key', {
    alias: props.keyAlias,
    description: `Encrypts the ${props.topicName} topic`,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
  });
  // CloudWatch (alarm actions) and EventBridge (rule targets) encrypt what they publish to the topic with this key.
  // No conditions: the key encrypts this topic only, and the services' requests carry no source ARN to KMS.
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AlarmPublishers',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com'), new ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
    }),
  );

  const topic = new Topic(scope, 'Topic', {
    topicName: props.topicName,
    displayName: `${props.topicName.replace(/-alarms$/, '')} alarms`,
    masterKey: key,
    enforceSSL: true,
  });
  // The topic has a resource policy (enforceSSL), which replaces SNS's default one: allow CloudWatch explicitly,
  // for this account's alarms only.
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'CloudWatchAlarms',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        ArnLike: {
          // arn:aws:cloudwatch:<region>:<account>:alarm:<name> (a colon, not formatArn's default slash).
          'aws:SourceArn': stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
        StringEquals: { 'aws:SourceAccount': stack.account },
      },
    }),
  );
  if (props.email) {
    topic.addSubscription(new EmailSubscription(props.email));
    const created = topic.node.tryFindChild(props.email);
    if (created) {
      Validations.of(created).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An e-mail notification that SNS cannot deliver after its retries would sit unread in a dead-letter ' +
          'queue; the alarm itself stays in ALARM in CloudWatch (and on the dashboard). Subscribe a paging tool ' +
          '(HTTPS or SQS, with its own redrive policy) to the topic for guaranteed delivery.',
      });
    }
  }
  return { topic, key };
}
