/**
 * The deployed configuration, read from the SYNTHESIZED CloudFormation template (not from config defaults), so the
 * cost figures follow whatever the stack really deploys: function memory and architecture, tracing, the event source's
 * batch size, the API type, the secret cache TTL, access logging, and the fixed-cost resources (secrets, KMS keys).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ingressEnv } from '../lambdas/ingress/env';
import { processorEnv } from '../lambdas/processor/env';
import { parseConfig } from '../lib/config';
import { PROJECT_ROOT } from '../lib/constructs/node-function';
import { createRegionalStacks } from '../lib/stacks/regional-stack';
import type { Architecture, DeploymentShape, FunctionShape, IngressFront } from './cost-model';

/** A CloudFormation template, as much of it as is read here. */
export interface Template {
  readonly Resources: Readonly<
    Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>
  >;
}

/** A DeploymentShape plus what the template says beyond it. */
export interface DeployedShape extends DeploymentShape {
  readonly processorMaxConcurrency: number | undefined;
  readonly functionNames: { readonly ingress: string; readonly processor: string };
  /** Resources with a monthly price whatever the traffic. */
  readonly fixed: { readonly secrets: number; readonly kmsKeys: number };
}

/** Synthesizes the regional stack of `configInput` (default config when omitted) without bundling; its template. */
export function synthTemplate(configInput: unknown = {}): Template {
  const context = (
    JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
  ).context;
  // No bundling: the template's properties do not depend on the code (the cold-start bench builds that).
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const [stack] = createRegionalStacks(app, parseConfig(configInput));
  if (!stack) throw new Error('the config produced no stack');
  return app.synth().getStackByName(stack.stackName).template as Template;
}

function ofType(template: Template, type: string) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** A function's cost-relevant settings, with Lambda's defaults where the template sets none. */
function fnShape(props: Record<string, unknown>): FunctionShape {
  const arch = ((props.Architectures as string[] | undefined)?.[0] ?? 'x86_64') as Architecture;
  const logging = (props.LoggingConfig ?? {}) as {
    LogFormat?: FunctionShape['logFormat'];
    SystemLogLevel?: FunctionShape['systemLogLevel'];
    ApplicationLogLevel?: FunctionShape['applicationLogLevel'];
  };
  return {
    memoryMb: Number(props.MemorySize ?? 128),
    architecture: arch,
    tracing: (props.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active',
    logFormat: logging.LogFormat ?? 'Text',
    systemLogLevel: logging.SystemLogLevel ?? 'INFO',
    applicationLogLevel: logging.ApplicationLogLevel ?? 'INFO',
  };
}

/** Whether the function's environment sets `name` (to a string or a reference). */
function hasEnv(props: Record<string, unknown>, name: string): boolean {
  const vars = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
  return vars?.[name] !== undefined;
}

function envVar(props: Record<string, unknown>, name: string): string | undefined {
  const vars = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
  const v = vars?.[name];
  return typeof v === 'string' ? v : undefined;
}

/** Reads the cost-relevant shape of a regional stack's template. Throws when a piece it needs is missing. */
export function readDeployment(template: Template): DeployedShape {
  const functions = ofType(template, 'AWS::Lambda::Function');
  const named = (suffix: string) => {
    const found = functions.find(([, r]) => String(r.Properties?.FunctionName ?? '').endsWith(suffix));
    if (!found) throw new Error(`no Lambda function named *${suffix} in the template`);
    return found;
  };
  const [, ingress] = named('-ingress');
  const [processorId, processor] = named('-processor');

  const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping').filter(([, r]) =>
    JSON.stringify(r.Properties?.FunctionName ?? '').includes(processorId),
  );
  const mapping = mappings[0]?.[1].Properties;
  if (!mapping) throw new Error('no event source mapping for the processor in the template');

  const httpApis = ofType(template, 'AWS::ApiGatewayV2::Api').filter(([, r]) => r.Properties?.ProtocolType === 'HTTP');
  const restApis = ofType(template, 'AWS::ApiGateway::RestApi');
  const ingressId = named('-ingress')[0];
  const functionUrls = ofType(template, 'AWS::Lambda::Url').filter(([, r]) =>
    JSON.stringify(r.Properties?.TargetFunctionArn ?? '').includes(ingressId),
  );
  const fronts = httpApis.length + restApis.length + functionUrls.length;
  if (fronts !== 1) {
    throw new Error(
      `expected one front for the ingress in the template, found ${httpApis.length} HTTP API(s), ${restApis.length} REST API(s) and ${functionUrls.length} function URL(s)`,
    );
  }
  const api: IngressFront = httpApis.length === 1 ? 'http' : restApis.length === 1 ? 'rest' : 'function-url';
  const stages = [...ofType(template, 'AWS::ApiGatewayV2::Stage'), ...ofType(template, 'AWS::ApiGateway::Stage')];
  const apiAccessLogs = stages.some(([, r]) => r.Properties?.AccessLogSettings !== undefined);

  // Both functions read their secret through the same cache; the TTL is the variable when set, else its default.
  const ttl = (props: Record<string, unknown>, fallback: unknown) =>
    Number(envVar(props, 'SECRET_CACHE_SECONDS') ?? fallback);
  const ingressTtl = ttl(ingress.Properties ?? {}, ingressEnv.SECRET_CACHE_SECONDS.default);
  const processorTtl = ttl(processor.Properties ?? {}, processorEnv.SECRET_CACHE_SECONDS.default);

  return {
    api,
    // The processor publishes to a bus only when it is given one (lambdas/processor/env.ts).
    eventSink: hasEnv(processor.Properties ?? {}, 'EVENT_BUS_NAME'),
    ingress: fnShape(ingress.Properties ?? {}),
    processor: { ...fnShape(processor.Properties ?? {}), batchSize: Number(mapping.BatchSize ?? 10) },
    secrets: { mode: 'cached', ingressTtlSeconds: ingressTtl, processorTtlSeconds: processorTtl },
    apiAccessLogs,
    processorMaxConcurrency: (mapping.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency,
    functionNames: {
      ingress: String(ingress.Properties?.FunctionName),
      processor: String(processor.Properties?.FunctionName),
    },
    fixed: {
      secrets: ofType(template, 'AWS::SecretsManager::Secret').length,
      kmsKeys: ofType(template, 'AWS::KMS::Key').length,
    },
  };
}
