/**
 * Stripe's Amazon EventBridge destination as a second way in: a rule on the partner event bus (named after the
 * partner event source, `aws.partner/stripe.com/ed_...`) that sends Stripe's events to the SAME ingress Lambda as
 * the webhooks, which validates and enqueues them like a webhook (no signature: AWS authenticates the partner bus).
 *
 * The partner source must exist and be associated with an event bus before this deploys (the rule cannot be created
 * on a bus that does not exist); the one-time association is in docs/multi-region.md.
 *
 * Nothing is dropped silently: one dead-letter queue catches both ways an event can fail.
 * - EventBridge cannot invoke the Lambda (throttled, no permission): it retries for up to 24 hours (185 attempts),
 *   then puts the event in the DLQ (the target's dead-letter config).
 * - The Lambda throws (a malformed event, or SQS refused it): Lambda retries the asynchronous invocation twice, then
 *   sends an invocation record to its on-failure destination, the same DLQ.
 * A message from the rule is the EventBridge event (the error in its message attributes); one from Lambda is an
 * invocation record whose `requestPayload` is the event and `responsePayload` the error. Either way a redrive is
 * `aws lambda invoke --invocation-type Event --payload file://event.json` once the cause is fixed.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { EventBus, type IEventBus, Match, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { EventInvokeConfig, type IDestination, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { customerManagedKey, grantKeyViaService } from './encryption-key';

/**
 * The `source` prefix of Stripe's partner events (the ingress refuses any other; lambdas/ingress/core.ts has the same
 * constant, kept apart so the CDK app does not load Lambda code).
 */
export const STRIPE_PARTNER_SOURCE_PREFIX = 'aws.partner/stripe.com/';

/** EventBridge's most retries of a target invocation. */
export const PARTNER_RULE_RETRY_ATTEMPTS = 185;
/** EventBridge's longest retry window for a target invocation. */
export const PARTNER_RULE_MAX_EVENT_AGE = Duration.hours(24);
/** Lambda's retries of a failed asynchronous invocation (its maximum). */
export const ASYNC_RETRY_ATTEMPTS = 2;

/** Props of PartnerEventIngress. */
export interface PartnerEventIngressProps {
  /** Prefix of the rule, queue and key names. */
  readonly appName: string;
  /** The partner event source, which is also the partner event bus's name: `aws.partner/stripe.com/ed_...`. */
  readonly partnerEventSourceName: string;
  /** The ingress Lambda (it handles EventBridge events and throws on a bad one). */
  readonly ingressFunction: IFunction;
  /**
   * Whether the rule delivers events. A standby region's rule is created disabled: two regions consuming the same
   * events at once could both process one event (global tables do not serialise the claim across regions).
   * @default true
   */
  readonly enabled?: boolean;
  /** Applies to the DLQ and its key. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/** The rule on Stripe's partner event bus, feeding the ingress Lambda, with its dead-letter queue. */
export class PartnerEventIngress extends Construct {
  /** The partner event bus (referenced by name; Stripe's partner source creates it on association). */
  readonly bus: IEventBus;
  readonly rule: Rule;
  /** The rule's explicit name, `<appName>-stripe-partner-events` (for runbooks: enable-rule, describe-rule). */
  readonly ruleName: string;
  /** Where Stripe events go that could not be delivered to, or were refused by, the ingress Lambda. */
  readonly deadLetterQueue: Queue;
  /** The key the DLQ is encrypted with. */
  readonly key: Key;

  constructor(scope: Construct, id: string, props: PartnerEventIngressProps) {
    super(scope, id);
    if (!props.partnerEventSourceName.startsWith(STRIPE_PARTNER_SOURCE_PREFIX)) {
      throw new Error(
        `PartnerEventIngress: ${props.partnerEventSourceName} is not a Stripe partner event source (${STRIPE_PARTNER_SOURCE_PREFIX}...)`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    const stack = Stack.of(this);
    const ruleName = `${props.appName}-stripe-partner-events`;
    this.ruleName = ruleName;

    this.bus = EventBus.fromEventBusName(this, 'PartnerBus', props.partnerEventSourceName);

    this.key = customerManagedKey(this, 'Key', {
      alias: `${props.appName}/partner-events-dlq`,
      description: `Encrypts the ${props.appName} dead-letter queue of Stripe's EventBridge events`,
      removalPolicy,
    });
    // EventBridge writes to the DLQ itself, so it must be able to use the key; only for this rule. The rule's ARN is
    // built from its explicit name: referencing the Rule here would make key -> rule -> queue -> key a cycle.
    const ruleArn = stack.formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: `${props.partnerEventSourceName}/${ruleName}`,
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:SourceArn': ruleArn } },
      }),
    );

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      queueName: `${props.appName}-partner-events-dlq`,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    const dlqReason =
      'This is a dead-letter queue (of the partner-bus rule and of the ingress Lambda for asynchronous ' +
      'invocations), kept 14 days for an operator to inspect and redrive; a DLQ of the DLQ would only hide events.';
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: dlqReason });
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: dlqReason });

    this.rule = new Rule(this, 'Rule', {
      ruleName,
      eventBus: this.bus,
      enabled: props.enabled ?? true,
      description: `Stripe events from ${props.partnerEventSourceName} to the ingress Lambda`,
      eventPattern: { source: Match.prefix(STRIPE_PARTNER_SOURCE_PREFIX) },
    });
    this.rule.addTarget(
      new LambdaFunction(props.ingressFunction, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: PARTNER_RULE_RETRY_ATTEMPTS,
        maxEventAge: PARTNER_RULE_MAX_EVENT_AGE,
      }),
    );

    // The Lambda's own retries of an asynchronous invocation, then its on-failure destination: the same DLQ. The
    // destination is hand-written rather than SqsDestination, whose grantSendMessages adds GetQueueAttributes,
    // GetQueueUrl and wildcard KMS actions the function does not need to hand over a failed event.
    const deadLetterQueue = this.deadLetterQueue;
    const onFailure: IDestination = { bind: () => ({ destination: deadLetterQueue.queueArn }) };
    new EventInvokeConfig(this, 'AsyncInvokeConfig', {
      function: props.ingressFunction,
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: Duration.hours(6),
      onFailure,
    });
    Grant.addToPrincipal({
      grantee: props.ingressFunction,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.deadLetterQueue.queueArn],
    });
    grantKeyViaService(this.key, props.ingressFunction, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']);
    Validations.of(props.ingressFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Asynchronous invocations (the partner-bus rule) that fail go to the on-failure destination, the partner-events ' +
        'DLQ, set on the EventInvokeConfig; a DeadLetterConfig as well would deliver each failure twice.',
    });
  }
}
