import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ingressEnv } from '../../lambdas/ingress/env';
import { ACCESS_LOG_FIELDS, HEALTH_PATH, WEBHOOK_PATH } from '../../lib/constructs/ingress';
import { actionsOn, environmentOf, logicalId, onlyResource, statementsOfFunction, synthRegionalStack } from './helpers';

const { template, stack } = synthRegionalStack();

describe('Ingress HTTP API', () => {
  it('is an HTTP API (not REST) with exactly the webhook and health routes', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      Name: 'stripe-webhooks-http-api',
    });
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey,
    );
    expect(WEBHOOK_PATH).toBe('/stripe/webhook');
    expect(HEALTH_PATH).toBe('/health');
    expect(routeKeys.sort()).toEqual(['GET /health', 'POST /stripe/webhook']);
  });

  it('sends both routes to the ingress Lambda with payload format 2.0', () => {
    const fnId = logicalId(stack.ingress.function);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    const { id: integrationId } = onlyResource(template, 'AWS::ApiGatewayV2::Integration');
    template.resourcePropertiesCountIs(
      'AWS::ApiGatewayV2::Route',
      { Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] } },
      2,
    );
  });

  it('lets API Gateway invoke the function only for these two routes', () => {
    const fnId = logicalId(stack.ingress.function);
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] } },
      }),
    ).map((p) => JSON.stringify((p as { Properties: { SourceArn: unknown } }).Properties.SourceArn));
    expect(permissions).toHaveLength(2);
    expect(permissions.some((arn) => arn.includes('/*/*/stripe/webhook'))).toBe(true);
    expect(permissions.some((arn) => arn.includes('/*/*/health'))).toBe(true);
  });

  it('throttles the default stage with the configured rate and burst', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 }),
    });
    const custom = synthRegionalStack({ ingress: { throttleRatePerSecond: 50, throttleBurst: 75 } }).template;
    custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 75 }),
    });
  });

  it('writes JSON access logs, without body or headers, to a log group with the configured retention', () => {
    const logGroupId = logicalId(stack.ingress.accessLogGroup!);
    const { props } = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
    const settings = props.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toEqual(ACCESS_LOG_FIELDS);
    expect(format.requestId).toBe('$context.requestId');
    expect(format.status).toBe('$context.status');
    expect(settings.Format).not.toMatch(/body|header|signature|authorization/i);
    // What on-call needs of a request, and none of what the log event or another field already says (its bytes are
    // paid once per webhook).
    expect(Object.keys(format).sort()).toEqual(
      [
        'requestId',
        'sourceIp',
        'httpMethod',
        'path',
        'status',
        'responseLatency',
        'integrationStatus',
        'integrationError',
        'error',
      ].sort(),
    );
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/apigateway/stripe-webhooks-http-api',
      RetentionInDays: 30,
    });
    synthRegionalStack({ logRetentionDays: 90 }).template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/apigateway/stripe-webhooks-http-api',
      RetentionInDays: 90,
    });
  });

  it('outputs the webhook URL to register with Stripe, and the event types to enable', () => {
    const apiId = logicalId(stack.ingress.api!);
    template.hasOutput('WebhookUrl', {
      Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, '/stripe/webhook']] },
    });
    template.hasOutput('WebhookEventTypes', { Value: Match.stringLikeRegexp('^payment_intent\\.succeeded,') });
  });
});

describe('Ingress Lambda', () => {
  it('gets the queue URL, the secret name and the limits in its environment', () => {
    const queueId = logicalId(stack.eventQueue.queue);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-ingress',
      MemorySize: 256,
      Timeout: 10,
      Environment: {
        Variables: Match.objectLike({
          QUEUE_URL: { Ref: queueId },
          WEBHOOK_SECRET_ID: 'stripe-webhooks/stripe-webhook-secret',
          SIGNATURE_TOLERANCE_SECONDS: '300',
          MAX_BODY_BYTES: '1048576',
          MAX_MESSAGE_BYTES: String(262_144),
        }),
      },
    });
  });

  it('passes config changes through to the environment', () => {
    const { template: custom } = synthRegionalStack({
      ingress: { signatureToleranceSeconds: 120, maxBodyBytes: 65536, memoryMb: 512, timeoutSeconds: 20 },
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-ingress',
      MemorySize: 512,
      Timeout: 20,
      Environment: { Variables: Match.objectLike({ SIGNATURE_TOLERANCE_SECONDS: '120', MAX_BODY_BYTES: '65536' }) },
    });
  });

  it('sets every required variable of lambdas/ingress/env.ts', () => {
    const variables = environmentOf(template, 'stripe-webhooks-ingress');
    const required = Object.entries(ingressEnv)
      .filter(([, spec]) => !('default' in spec) && !('optional' in spec && spec.optional))
      .map(([name]) => name);
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(Object.keys(variables)).toContain(name);
  });

  it('may send to (and health-probe) the event queue and read the webhook secret, and nothing else', () => {
    const statements = statementsOfFunction(template, 'stripe-webhooks-ingress');
    expect(actionsOn(statements, logicalId(stack.eventQueue.queue))).toEqual([
      'sqs:GetQueueAttributes',
      'sqs:SendMessage',
    ]);
    expect(actionsOn(statements, logicalId(stack.eventQueue.deadLetterQueue))).toEqual([]);
    expect(actionsOn(statements, logicalId(stack.secrets.webhookSecret))).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(actionsOn(statements, logicalId(stack.secrets.apiKey))).toEqual([]);
    expect(actionsOn(statements, logicalId(stack.idempotencyTable.table))).toEqual([]);
    expect(actionsOn(statements, logicalId(stack.eventSink!.bus))).toEqual([]);
    const kms = statements.find((s) => JSON.stringify(s.Resource).includes(logicalId(stack.eventQueue.key)));
    expect(kms?.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'sqs.us-east-1.amazonaws.com' } });
  });
});
