import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { INGRESS_NODE_OPTIONS } from '../../bench/cold-path';
import { PROCESSOR_NODE_OPTIONS } from '../../bench/processor-cold-path';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import { BUNDLING, ESM_REQUIRE_BANNER, lambdaEntry, NodeFunction } from '../../lib/constructs/node-function';
import {
  environmentOf,
  functionProps,
  logicalId,
  NO_BUNDLING,
  statementsOfFunction,
  synthRegionalStack,
} from './helpers';

const { template, stack } = synthRegionalStack();
const traced = synthRegionalStack({ observability: { tracing: true } });
const FUNCTIONS = ['stripe-webhooks-ingress', 'stripe-webhooks-processor'] as const;

describe('both Lambda functions', () => {
  it.each(FUNCTIONS)('%s runs on arm64 with the Node.js 24 runtime, ESM handler and JSON logs', (name) => {
    expect(functionProps(template, name)).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' },
    });
  });

  it.each(FUNCTIONS)('%s has no X-Ray tracing by default, and says so to its code', (name) => {
    expect(functionProps(template, name).TracingConfig).toBeUndefined();
    expect(environmentOf(template, name).POWERTOOLS_TRACE_ENABLED).toBe('false');
    expect(JSON.stringify(statementsOfFunction(template, name))).not.toContain('xray:');
  });

  it.each(FUNCTIONS)('%s has active tracing with observability.tracing on, and says so to its code', (name) => {
    expect(functionProps(traced.template, name).TracingConfig).toEqual({ Mode: 'Active' });
    expect(environmentOf(traced.template, name).POWERTOOLS_TRACE_ENABLED).toBe('true');
  });

  it.each(FUNCTIONS)('%s runs without --enable-source-maps: parsing the map costs its cold start', (name) => {
    expect(environmentOf(template, name)).not.toHaveProperty('NODE_OPTIONS');
  });

  it('matches the Node flags the cold-path benches run the bundles with', () => {
    const flags = (name: string) =>
      String(environmentOf(template, name).NODE_OPTIONS ?? '')
        .split(' ')
        .filter(Boolean);
    expect(flags('stripe-webhooks-ingress')).toEqual([...INGRESS_NODE_OPTIONS]);
    expect(flags('stripe-webhooks-processor')).toEqual([...PROCESSOR_NODE_OPTIONS]);
  });

  it.each(FUNCTIONS)(
    '%s tags logs and metrics with its own name as service and the one metrics namespace the alarms read',
    (name) => {
      expect(environmentOf(template, name)).toMatchObject({
        POWERTOOLS_SERVICE_NAME: name,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      });
      const construct = name.endsWith('ingress') ? stack.ingress : stack.processor;
      expect(construct.serviceName).toBe(name);
    },
  );

  it("gives each app its own service names, so two deployments in one region never feed each other's alarms", () => {
    const other = synthRegionalStack({ appName: 'acme-pay' });
    expect(environmentOf(other.template, 'acme-pay-ingress').POWERTOOLS_SERVICE_NAME).toBe('acme-pay-ingress');
    expect(other.stack.processor.serviceName).toBe('acme-pay-processor');
  });

  it.each(FUNCTIONS)('%s logs to its own log group, kept for the configured number of days', (name) => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/${name}`, RetentionInDays: 30 });
    const week = synthRegionalStack({ logRetentionDays: 7, removalPolicy: 'destroy' }).template;
    week.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: `/aws/lambda/${name}`, RetentionInDays: 7 },
      DeletionPolicy: 'Delete',
    });
  });

  it.each(FUNCTIONS)('%s has a role without AWS managed policies that may write only to its own log group', (name) => {
    const roleId = (functionProps(template, name).Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    const logStatements = statementsOfFunction(template, name).filter((s) =>
      (Array.isArray(s.Action) ? s.Action : [s.Action]).some((a) => a.startsWith('logs:')),
    );
    const fn = name.endsWith('ingress') ? stack.ingress.function : stack.processor.function;
    const logGroupId = logicalId(fn.node.scope!.node.findChild('LogGroup'));
    expect(logStatements).toEqual([
      expect.objectContaining({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      }),
    ]);
  });

  it('grants nothing on Resource "*" with tracing off (the default)', () => {
    for (const name of FUNCTIONS) {
      expect(statementsOfFunction(template, name).filter((s) => JSON.stringify(s.Resource) === '"*"')).toEqual([]);
    }
  });

  it('with tracing on, grants only X-Ray on Resource "*" (X-Ray has no resource-level permissions)', () => {
    for (const name of FUNCTIONS) {
      const wildcard = statementsOfFunction(traced.template, name).filter((s) => JSON.stringify(s.Resource) === '"*"');
      expect(wildcard).toHaveLength(1);
      expect([wildcard[0]!.Action].flat().sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
  });
});

describe('NodeFunction', () => {
  it('bundles as minified ESM with source maps for node20, with a require() banner and the SDK inside', () => {
    expect(BUNDLING).toMatchObject({
      format: OutputFormat.ESM,
      minify: true,
      sourceMap: true,
      target: 'node20',
      mainFields: ['module', 'main'],
      externalModules: [],
      banner: ESM_REQUIRE_BANNER,
    });
    expect(ESM_REQUIRE_BANNER).toBe(
      "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);",
    );
  });

  it("keeps every variable of the caller's environment next to its own defaults", () => {
    const s = new Stack(new App({ context: NO_BUNDLING }), 'S');
    const fn = new NodeFunction(s, 'Fn', {
      entry: lambdaEntry('lambdas/ingress/handler.ts'),
      functionName: 'merge-test',
      timeout: Duration.seconds(5),
      logRetention: RetentionDays.ONE_WEEK,
      environment: { FOO: 'bar', POWERTOOLS_SERVICE_NAME: 'custom' },
    });
    Template.fromStack(s).hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'merge-test',
      Timeout: 5,
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          FOO: 'bar',
          POWERTOOLS_SERVICE_NAME: 'custom',
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          POWERTOOLS_TRACE_ENABLED: 'false',
        },
      },
    });
    // Alarms built on this function's metrics must follow the caller's service name.
    expect(fn.serviceName).toBe('custom');
  });

  it("keeps the caller's NODE_OPTIONS rather than overwriting it", () => {
    const s = new Stack(new App({ context: NO_BUNDLING }), 'S');
    new NodeFunction(s, 'Fn', {
      entry: lambdaEntry('lambdas/ingress/handler.ts'),
      functionName: 'node-options-test',
      environment: { NODE_OPTIONS: '--enable-source-maps --max-old-space-size=200' },
    });
    Template.fromStack(s).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps --max-old-space-size=200' }) },
    });
  });
});
