/**
 * Stripe's EventBridge destination: a rule on the partner bus feeding the same ingress Lambda, with retries and one
 * encrypted DLQ for both ways an event can fail; enabled in the primary, created disabled in a standby region.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { STRIPE_PARTNER_SOURCE_PREFIX as CORE_PREFIX } from '../../lambdas/ingress/core';
import {
  ASYNC_RETRY_ATTEMPTS,
  PARTNER_RULE_RETRY_ATTEMPTS,
  STRIPE_PARTNER_SOURCE_PREFIX,
} from '../../lib/constructs/partner-events';
import { actionsOn, logicalId, onlyResource, statementsOfFunction, synthApp } from './helpers';

const US_SOURCE = 'aws.partner/stripe.com/ed_61RM8ltWcTW4mbsxf16RJyfa2xSQLHJJh1sxm7H0KVT6';
const EU_SOURCE = 'aws.partner/stripe.com/ed_61RM8ltWcTW4mbsxf16RJyfa2xSQLHJJh1sxm7H0EU01';
const { stacks, templates } = synthApp({
  secondaryRegions: ['eu-west-1'],
  eventBridge: { partnerEventSourceName: { 'us-east-1': US_SOURCE, 'eu-west-1': EU_SOURCE } },
});
const primary = templates['us-east-1']!;
const secondary = templates['eu-west-1']!;
const stack = stacks[0]!;
const partner = stack.partnerEvents!;

/** Rules matching Stripe's partner events (the stack has other rules, e.g. the rotation's hourly cleanup). */
const PARTNER_RULE = { EventPattern: { source: [{ prefix: 'aws.partner/stripe.com/' }] } };

function ruleOf(template: Template): Record<string, unknown> {
  return onlyResource(template, 'AWS::Events::Rule', PARTNER_RULE).props;
}

function partnerRuleCount(template: Template): number {
  return Object.keys(template.findResources('AWS::Events::Rule', { Properties: PARTNER_RULE })).length;
}

describe('the partner-bus rule', () => {
  it('matches Stripe partner events on the bus named after the partner source, by an explicit name', () => {
    expect(STRIPE_PARTNER_SOURCE_PREFIX).toBe(CORE_PREFIX);
    expect(ruleOf(primary)).toMatchObject({
      EventBusName: US_SOURCE,
      Name: 'stripe-webhooks-stripe-partner-events',
      EventPattern: { source: [{ prefix: 'aws.partner/stripe.com/' }] },
    });
    expect(ruleOf(secondary)).toMatchObject({ EventBusName: EU_SOURCE });
  });

  it('targets the same ingress Lambda as the webhook, retrying 24 h and dead-lettering what it cannot deliver', () => {
    expect(ruleOf(primary).Targets).toEqual([
      {
        Id: 'Target0',
        Arn: { 'Fn::GetAtt': [logicalId(stack.ingress.function), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(partner.deadLetterQueue), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: PARTNER_RULE_RETRY_ATTEMPTS, MaximumEventAgeInSeconds: 86_400 },
      },
    ]);
  });

  it('is enabled in the primary and created disabled in the standby region', () => {
    expect(ruleOf(primary).State).toBe('ENABLED');
    expect(ruleOf(secondary).State).toBe('DISABLED');
    secondary.hasOutput('PartnerEventRuleName', { Value: 'stripe-webhooks-stripe-partner-events' });
  });

  it('lets EventBridge invoke the ingress Lambda from this rule only', () => {
    const ruleArn = { 'Fn::GetAtt': [logicalId(partner.rule), 'Arn'] };
    const fromEvents = Object.values(
      primary.findResources('AWS::Lambda::Permission', {
        Properties: {
          Principal: 'events.amazonaws.com',
          FunctionName: { 'Fn::GetAtt': [logicalId(stack.ingress.function), 'Arn'] },
        },
      }),
    ) as { Properties: Record<string, unknown> }[];
    expect(fromEvents.map((p) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [logicalId(stack.ingress.function), 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: ruleArn,
      },
    ]);
  });
});

describe('failures of the ingress Lambda on partner events', () => {
  it('are retried twice by Lambda, then sent to the same DLQ (on-failure destination)', () => {
    expect(onlyResource(primary, 'AWS::Lambda::EventInvokeConfig').props).toMatchObject({
      FunctionName: { Ref: logicalId(stack.ingress.function) },
      MaximumRetryAttempts: ASYNC_RETRY_ATTEMPTS,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(partner.deadLetterQueue), 'Arn'] } } },
    });
  });

  it('can be written to the DLQ by the ingress role (SendMessage, the key through SQS only)', () => {
    const statements = statementsOfFunction(primary, 'stripe-webhooks-ingress');
    expect(actionsOn(statements, logicalId(partner.deadLetterQueue))).toEqual(['sqs:SendMessage']);
    const kms = statements.find((s) => JSON.stringify(s.Resource).includes(logicalId(partner.key)));
    expect(kms).toMatchObject({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Condition: { StringEquals: { 'kms:ViaService': 'sqs.us-east-1.amazonaws.com' } },
    });
  });
});

describe('the partner-events DLQ', () => {
  it('is encrypted with its own rotating key, which EventBridge may use for this rule only', () => {
    const { props } = onlyResource(primary, 'AWS::SQS::Queue', { QueueName: 'stripe-webhooks-partner-events-dlq' });
    expect(props).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(partner.key), 'Arn'] },
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const key = primary.toJSON().Resources[logicalId(partner.key)].Properties;
    expect(key.EnableKeyRotation).toBe(true);
    const forEvents = (key.KeyPolicy.Statement as Record<string, unknown>[]).filter(
      (s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'events.amazonaws.com' }),
    );
    expect(forEvents).toEqual([
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: {
          ArnEquals: {
            'aws:SourceArn': `arn:aws:events:us-east-1:123456789012:rule/${US_SOURCE}/stripe-webhooks-stripe-partner-events`,
          },
        },
      }),
    ]);
  });

  it('accepts messages from EventBridge for this rule only, and only over TLS', () => {
    const policy = onlyResource(primary, 'AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(partner.deadLetterQueue) }],
    }).props.PolicyDocument as {
      Statement: Record<string, unknown>[];
    };
    expect(policy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(partner.rule), 'Arn'] } } },
        }),
      ]),
    );
    primary.hasOutput('PartnerEventsDeadLetterQueueUrl', { Value: { Ref: logicalId(partner.deadLetterQueue) } });
  });
});

describe('configuration', () => {
  it('gives a plain partner source name to the primary region only', () => {
    const app = synthApp({ secondaryRegions: ['eu-west-1'], eventBridge: { partnerEventSourceName: US_SOURCE } });
    expect(ruleOf(app.templates['us-east-1']!)).toMatchObject({ EventBusName: US_SOURCE, State: 'ENABLED' });
    expect(partnerRuleCount(app.templates['eu-west-1']!)).toBe(0);
  });

  it('creates nothing of it without a partner source: the ingress stays API Gateway only', () => {
    const plain = synthApp({ secondaryRegions: ['eu-west-1'] });
    for (const regional of plain.stacks) {
      const template = plain.templates[regional.region]!;
      expect(partnerRuleCount(template)).toBe(0);
      template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
      const ingressArn = { 'Fn::GetAtt': [logicalId(regional.ingress.function), 'Arn'] };
      const principals = Object.values(
        template.findResources('AWS::Lambda::Permission', { Properties: { FunctionName: ingressArn } }),
      ).map((p) => (p as { Properties: { Principal: string } }).Properties.Principal);
      expect(principals).toEqual(['apigateway.amazonaws.com', 'apigateway.amazonaws.com']);
    }
  });
});
