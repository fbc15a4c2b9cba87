/**
 * The lean configuration (config/lean.example.json): the ingress behind its own Lambda function URL (no API Gateway,
 * no access log) and no EventBridge sink (handler Lambdas consume the events). What the template must hold for it to
 * work, and to stay safe: a public URL guarded by the signature check alone, throttled by reserved concurrency.
 */
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { createRegionalStacks } from '../../lib/stacks/regional-stack';
import { logicalId, NO_BUNDLING, synthRegionalStack } from './helpers';

const LEAN_FILE = join(PROJECT_ROOT, 'config', 'lean.example.json');

describe('config/lean.example.json', () => {
  const app = new App({ context: { ...NO_BUNDLING, configFile: LEAN_FILE } });
  const config = loadConfig(app);
  const [stack] = createRegionalStacks(app, config);
  const template = Template.fromStack(stack!);
  const ingressId = logicalId(stack!.ingress.function);
  const processorId = logicalId(stack!.processor.function);

  it('is one region with a function URL and no event sink', () => {
    expect(config).toMatchObject({
      secondaryRegions: [],
      ingress: { apiType: 'function-url', functionUrlReservedConcurrency: 10 },
      eventSink: { enabled: false },
    });
  });

  it('fronts the ingress with a public, buffered function URL and no API Gateway or access log', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      InvokeMode: 'BUFFERED',
      TargetFunctionArn: { 'Fn::GetAtt': [ingressId, 'Arn'] },
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup')).map((r) =>
      String((r.Properties as { LogGroupName?: unknown }).LogGroupName),
    );
    expect(logGroups.some((name) => name.includes('apigateway'))).toBe(false);
  });

  it('lets anyone invoke the ingress through its URL only, and throttles it with reserved concurrency', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).map(
      (r) => r.Properties as Record<string, unknown>,
    );
    const onIngress = permissions.filter((p) => JSON.stringify(p.FunctionName).includes(ingressId));
    expect(onIngress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' }),
        expect.objectContaining({ Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true }),
      ]),
    );
    // No unconditional public invoke: every '*' permission is tied to the function URL.
    for (const p of onIngress.filter((q) => q.Principal === '*')) {
      expect(p.FunctionUrlAuthType ?? p.InvokedViaFunctionUrl, JSON.stringify(p)).toBeDefined();
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-lean-ingress',
      ReservedConcurrentExecutions: 10,
    });
  });

  it('outputs the function URL with the webhook path, so POST /stripe/webhook is what Stripe calls', () => {
    const outputs = template.findOutputs('*');
    const webhook = Object.values(outputs).find((o) => JSON.stringify(o.Value).includes('stripe/webhook'));
    const urlId = logicalId(stack!.ingress.function.node.findChild('FunctionUrl'));
    // The URL ends with '/': the path follows without its leading slash.
    expect(webhook?.Value).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [urlId, 'FunctionUrl'] }, 'stripe/webhook']] });
  });

  it('leaves the EventBridge bus out: no bus, no EVENT_BUS_NAME, no PutEvents grant', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
    const processor = template.findResources('AWS::Lambda::Function')[processorId]!;
    const variables = (processor.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment
      .Variables;
    expect(variables).not.toHaveProperty('EVENT_BUS_NAME');
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('events:PutEvents');
    expect(stack!.eventSink).toBeUndefined();
  });

  it("alarms on the function URL's 5xx answers and graphs its requests", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'stripe-webhooks-lean-ingress-5xx',
      Namespace: 'AWS/Lambda',
      MetricName: 'Url5xxCount',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ingressId } }],
    });
    const dashboard = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard).toContain('UrlRequestCount');
    expect(dashboard).toContain('function URL');
  });
});

describe('a function URL with the default reserved concurrency', () => {
  it('takes it from the config', () => {
    const { template } = synthRegionalStack({
      ingress: { apiType: 'function-url', functionUrlReservedConcurrency: 3 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-ingress',
      ReservedConcurrentExecutions: 3,
    });
    // The HTTP API keeps its stage throttle and sets no reserved concurrency.
    const http = synthRegionalStack().template;
    http.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-ingress',
      ReservedConcurrentExecutions: Match.absent(),
    });
  });
});
