import { describe, expect, it } from 'vitest';
import { readDeployment, synthTemplate, type Template } from '../../bench/deployment';

describe('readDeployment', () => {
  it('reads the cost-relevant settings from the synthesized template, not from defaults', () => {
    const deployed = readDeployment(
      synthTemplate({
        processor: { memoryMb: 1024, batchSize: 4, maxConcurrency: 7 },
        ingress: { memoryMb: 384 },
        observability: { tracing: true },
      }),
    );
    expect(deployed).toMatchObject({
      api: 'http',
      eventSink: true,
      ingress: { memoryMb: 384, architecture: 'arm64', logFormat: 'JSON', systemLogLevel: 'WARN' },
      processor: { memoryMb: 1024, architecture: 'arm64', logFormat: 'JSON', systemLogLevel: 'WARN', batchSize: 4 },
      processorMaxConcurrency: 7,
      secrets: { mode: 'cached', ingressTtlSeconds: 300, processorTtlSeconds: 300 },
      apiAccessLogs: true,
      fixed: { secrets: 2, kmsKeys: 4 },
    });
  }, 60_000);

  it('finds no tracing in the default template (observability.tracing is off), so the cost model adds no X-Ray', () => {
    const deployed = readDeployment(synthTemplate({}));
    expect(deployed.ingress.tracing).toBe(false);
    expect(deployed.processor.tracing).toBe(false);
  }, 60_000);

  it('recognises a REST API, the x86 default and functions without tracing', () => {
    const template: Template = {
      Resources: {
        Api: { Type: 'AWS::ApiGateway::RestApi', Properties: {} },
        Ingress: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'app-ingress', MemorySize: 1024 } },
        Processor: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            FunctionName: 'app-processor',
            MemorySize: 1024,
            Environment: { Variables: { SECRET_CACHE_SECONDS: '60' } },
          },
        },
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: { FunctionName: { Ref: 'Processor' }, BatchSize: 1 },
        },
      },
    };
    expect(readDeployment(template)).toMatchObject({
      api: 'rest',
      eventSink: false,
      ingress: { memoryMb: 1024, architecture: 'x86_64', tracing: false, logFormat: 'Text', systemLogLevel: 'INFO' },
      processor: { memoryMb: 1024, architecture: 'x86_64', tracing: false, batchSize: 1 },
      secrets: { mode: 'cached', ingressTtlSeconds: 300, processorTtlSeconds: 60 },
      apiAccessLogs: false,
    });
  });

  it('refuses a template without the processor or its event source', () => {
    const onlyIngress: Template = {
      Resources: {
        Ingress: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'app-ingress' } },
      },
    };
    expect(() => readDeployment(onlyIngress)).toThrow(/no Lambda function named \*-processor/);
    const noMapping: Template = {
      Resources: {
        ...onlyIngress.Resources,
        Processor: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'app-processor' } },
      },
    };
    expect(() => readDeployment(noMapping)).toThrow(/no event source mapping/);
  });
});
