/**
 * The REST API variant of the ingress (`ingress.apiType: 'rest'`), with and without WAF: the same two routes to the
 * same Lambda, X-Ray on the stage, throttling, JSON access logs, and a web ACL that can only help (never blocks a
 * genuine Stripe delivery for being over 8 KB).
 */

import { Match } from 'aws-cdk-lib/assertions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REST_ACCESS_LOG_FIELDS, REST_STAGE_NAME } from '../../lib/constructs/ingress';
import { BODY_RULE_MATCHED, BODY_RULES, greaterThanPattern, MANAGED_RULE_GROUPS } from '../../lib/constructs/web-acl';
import { loadStripeWebhookIps } from '../../lib/stripe-ips';
import { environmentOf, logicalId, onlyResource, synthRegionalStack } from './helpers';

const rest = synthRegionalStack({ ingress: { apiType: 'rest', throttleRatePerSecond: 50, throttleBurst: 80 } });
const waf = synthRegionalStack({
  ingress: { apiType: 'rest', waf: true, wafRateLimitPer5Minutes: 3000, maxBodyBytes: 65536, stripeIpAllowlist: true },
});

describe('REST API ingress', () => {
  it('replaces the HTTP API with a regional REST API with exactly the webhook and health methods', () => {
    const { template } = rest;
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'stripe-webhooks-rest-api',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).map(
      (m) => (m as { Properties: { HttpMethod: string } }).Properties.HttpMethod,
    );
    expect(methods.sort()).toEqual(['GET', 'POST']);
  });

  it('proxies both methods to the ingress Lambda, and lets API Gateway invoke it for these two only', () => {
    const { template, stack } = rest;
    template.resourcePropertiesCountIs(
      'AWS::ApiGateway::Method',
      {
        Integration: {
          Type: 'AWS_PROXY',
          Uri: Match.objectLike({
            'Fn::Join': Match.arrayWith([
              Match.arrayWith([{ 'Fn::GetAtt': [logicalId(stack.ingress.function), 'Arn'] }]),
            ]),
          }),
        },
      },
      2,
    );
    const ingressArn = { 'Fn::GetAtt': [logicalId(stack.ingress.function), 'Arn'] };
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', { Properties: { FunctionName: ingressArn } }),
    ).map((p) => JSON.stringify((p as { Properties: { SourceArn: unknown } }).Properties.SourceArn));
    expect(permissions).toHaveLength(2);
    expect(permissions.some((arn) => arn.includes('/POST/stripe/webhook'))).toBe(true);
    expect(permissions.some((arn) => arn.includes('/GET/health'))).toBe(true);
  });

  it('refuses a webhook without a Stripe-Signature header in API Gateway (validated request parameter)', () => {
    const { template } = rest;
    const validator = onlyResource(template, 'AWS::ApiGateway::RequestValidator');
    expect(validator.props).toMatchObject({ ValidateRequestParameters: true, ValidateRequestBody: false });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestParameters: { 'method.request.header.Stripe-Signature': true },
      RequestValidatorId: { Ref: validator.id },
    });
  });

  it('traces the stage with X-Ray only when observability.tracing is on (off by default: its cost)', () => {
    expect(onlyResource(rest.template, 'AWS::ApiGateway::Stage').props.TracingEnabled).toBe(false);
    const traced = synthRegionalStack({ ingress: { apiType: 'rest' }, observability: { tracing: true } });
    expect(onlyResource(traced.template, 'AWS::ApiGateway::Stage').props.TracingEnabled).toBe(true);
  });

  it('throttles the stage and writes JSON access logs without bodies or headers', () => {
    const { template } = rest;
    const stage = onlyResource(template, 'AWS::ApiGateway::Stage').props;
    expect(stage).toMatchObject({
      StageName: REST_STAGE_NAME,
      MethodSettings: [
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 80,
          LoggingLevel: 'OFF',
          DataTraceEnabled: false,
        }),
      ],
    });
    const settings = stage.AccessLogSetting as { Format: string };
    expect(JSON.parse(settings.Format)).toEqual(REST_ACCESS_LOG_FIELDS);
    expect(settings.Format).not.toMatch(/body|header|signature|authorization/i);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/apigateway/stripe-webhooks-rest-api',
      RetentionInDays: 30,
    });
  });

  it("sets the account's API Gateway CloudWatch Logs role before the access-logged stage, and keeps it", () => {
    // Without it API Gateway refuses the stage: "CloudWatch Logs role ARN must be set in account settings".
    const account = onlyResource(rest.template, 'AWS::ApiGateway::Account');
    const roleId = (account.props.CloudWatchRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const resources = rest.template.toJSON().Resources as Record<string, Record<string, unknown>>;
    expect(resources[roleId]).toMatchObject({
      Type: 'AWS::IAM::Role',
      // Account-wide: other REST APIs of the account log through it, so it stays even after a failed first create.
      DeletionPolicy: 'Retain',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [expect.objectContaining({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        },
      },
    });
    expect(resources[account.id]).toMatchObject({ DeletionPolicy: 'Retain' });
    const stageId = logicalId(rest.stack.ingress.stage!);
    expect(resources[stageId]?.DependsOn).toContain(account.id);
  });

  it('leaves the account setting alone with ingress.apiGatewayAccountRole false', () => {
    const own = synthRegionalStack({ ingress: { apiType: 'rest', apiGatewayAccountRole: false } });
    own.template.resourceCountIs('AWS::ApiGateway::Account', 0);
    own.template.resourceCountIs('AWS::ApiGateway::Stage', 1);
  });

  it('outputs the webhook URL with the stage in its path', () => {
    const stageId = logicalId(rest.stack.ingress.stage!);
    rest.template.hasOutput('WebhookUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['/', { Ref: stageId }, '/stripe/webhook'])] },
    });
    rest.template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: REST_STAGE_NAME });
  });

  it('has no web ACL unless asked', () => {
    rest.template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });
});

describe('REST API ingress with WAF', () => {
  const { template, stack } = waf;

  it('associates a regional web ACL with the stage', () => {
    const acl = onlyResource(template, 'AWS::WAFv2::WebACL');
    expect(acl.props).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    const association = onlyResource(template, 'AWS::WAFv2::WebACLAssociation').props;
    expect(association.WebACLArn).toEqual({ 'Fn::GetAtt': [acl.id, 'Arn'] });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: {
        'Fn::Join': [
          '',
          Match.arrayWith([
            { Ref: logicalId(stack.ingress.api!) },
            '/stages/',
            { Ref: logicalId(stack.ingress.stage!) },
          ]),
        ],
      },
    });
  });

  it("runs AWS's IP reputation, core and known-bad-inputs groups, with every body rule only counting", () => {
    const rules = onlyResource(template, 'AWS::WAFv2::WebACL').props.Rules as {
      Name: string;
      Statement: { ManagedRuleGroupStatement?: { Name: string; RuleActionOverrides?: unknown[] } };
      VisibilityConfig: { CloudWatchMetricsEnabled: boolean; SampledRequestsEnabled: boolean };
    }[];
    const managed = rules.flatMap((r) =>
      r.Statement.ManagedRuleGroupStatement ? [r.Statement.ManagedRuleGroupStatement] : [],
    );
    expect(managed.map((m) => m.Name)).toEqual([...MANAGED_RULE_GROUPS]);
    // Customer-entered text (names, descriptions, metadata) rides in Stripe's events: an XSS or Log4j pattern in it
    // must not block the delivery of a genuine, HMAC-signed event.
    const counted = (group: string) =>
      ((managed.find((m) => m.Name === group)?.RuleActionOverrides ?? []) as { Name: string; ActionToUse: unknown }[])
        .filter((o) => JSON.stringify(o.ActionToUse) === '{"Count":{}}')
        .map((o) => o.Name)
        .sort();
    expect(counted('AWSManagedRulesCommonRuleSet')).toEqual([
      'CrossSiteScripting_BODY',
      'EC2MetaDataSSRF_BODY',
      'GenericLFI_BODY',
      'GenericRFI_BODY',
      'SizeRestrictions_BODY',
    ]);
    expect(counted('AWSManagedRulesKnownBadInputsRuleSet')).toEqual(['JavaDeserializationRCE_BODY', 'Log4JRCE_BODY']);
    for (const rule of rules) {
      expect(rule.VisibilityConfig, rule.Name).toMatchObject({
        CloudWatchMetricsEnabled: true,
        SampledRequestsEnabled: true,
      });
    }
  });

  it('counts the requests the counted injection rules matched in one rule, with a metric and an alarm', () => {
    const rules = onlyResource(template, 'AWS::WAFv2::WebACL').props.Rules as {
      Name: string;
      Priority: number;
      Action?: unknown;
      Statement: { OrStatement?: { Statements: { LabelMatchStatement: { Scope: string; Key: string } }[] } };
      VisibilityConfig: { MetricName: string };
    }[];
    const matched = rules.find((r) => r.Name === BODY_RULE_MATCHED);
    expect(matched?.Action).toEqual({ Count: {} });
    // After the managed groups, whose labels it reads.
    expect(matched!.Priority).toBeGreaterThan(Math.max(...rules.filter((r) => r !== matched).map((r) => r.Priority)));
    const keys = matched!.Statement.OrStatement!.Statements.map((st) => st.LabelMatchStatement.Key).sort();
    expect(keys).toEqual(
      Object.values(BODY_RULES)
        .flatMap((r) => Object.values(r))
        .filter((k) => !k.endsWith('SizeRestrictions_Body'))
        .sort(),
    );
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmName: 'stripe-webhooks-waf-body-rule-matched' },
    });
    expect(Object.values(alarms)).toHaveLength(1);
    const alarm = Object.values(alarms)[0] as { Properties: Record<string, unknown> };
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/WAFV2',
      MetricName: 'CountedRequests',
      Threshold: 5,
      Dimensions: expect.arrayContaining([
        { Name: 'WebACL', Value: 'stripe-webhooks-ingress' },
        { Name: 'Region', Value: 'us-east-1' },
        { Name: 'Rule', Value: matched!.VisibilityConfig.MetricName },
      ]),
    });
    expect(
      rest.template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: Match.stringLikeRegexp('waf') },
      }),
    ).toEqual({});
  });

  it('blocks one IP over the configured rate, and bodies declared larger than the ingress limit with 413', () => {
    const rules = onlyResource(template, 'AWS::WAFv2::WebACL').props.Rules as Record<string, unknown>[];
    expect(rules).toContainEqual(
      expect.objectContaining({
        Name: 'RateLimitPerIp',
        Action: { Block: {} },
        Statement: { RateBasedStatement: { Limit: 3000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
      }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({
        Name: 'BodyTooLarge',
        Action: { Block: { CustomResponse: { ResponseCode: 413 } } },
        Statement: {
          RegexMatchStatement: expect.objectContaining({
            FieldToMatch: { SingleHeader: { Name: 'content-length' } },
            RegexString: greaterThanPattern(65536),
          }),
        },
      }),
    );
  });

  it("passes Stripe's webhook IPs to the Lambda when the allowlist is on", () => {
    const variables = environmentOf(template, 'stripe-webhooks-ingress');
    expect(variables.ALLOWED_SOURCE_IPS).toBe(loadStripeWebhookIps().WEBHOOKS.join(','));
    expect(environmentOf(rest.template, 'stripe-webhooks-ingress')).not.toHaveProperty('ALLOWED_SOURCE_IPS');
  });
});

describe('greaterThanPattern (the WAF body size rule)', () => {
  it('matches exactly the decimal numbers above the limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50_000_000 }), fc.integer({ min: 0, max: 100_000_000 }), (limit, value) => {
        const re = new RegExp(greaterThanPattern(limit));
        expect(re.test(String(value)), `${value} > ${limit}`).toBe(value > limit);
      }),
      { numRuns: 2000 },
    );
  });

  it('handles the edges: the limit itself, one more, nines, leading zeros, non-numbers', () => {
    const re = new RegExp(greaterThanPattern(1_048_576));
    expect(['1048576', '1048575', '0', '999999', '', 'abc', '1048577x'].map((v) => re.test(v))).toEqual(
      Array(7).fill(false),
    );
    expect(['1048577', '1048580', '2000000', '10000000', '0001048577'].every((v) => re.test(v))).toBe(true);
    expect(new RegExp(greaterThanPattern(999)).test('1000')).toBe(true);
    expect(new RegExp(greaterThanPattern(999)).test('999')).toBe(false);
    expect(greaterThanPattern(1_048_576).length).toBeLessThan(200);
  });
});
