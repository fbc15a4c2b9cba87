/**
 * The one way this app builds a Lambda function: arm64, a current Node.js runtime, ESM with source maps, an explicit
 * log group with retention, JSON logs, and X-Ray active tracing when the config's `observability.tracing` asks. The code comes from one of two places (docs/library.md):
 * - in this repository, the TypeScript entry, bundled by esbuild at synth (NodejsFunction);
 * - in the published package, which ships no Lambda sources, the bundle `npm run build` made from that same entry
 *   with the same esbuild options (`dist/lambdas/<entry>/index.mjs`), as a plain asset: a consumer's synth needs
 *   neither esbuild nor Docker nor this project's runtime dependencies.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  Code,
  type FunctionProps,
  Function as LambdaFunction,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';

/** The nearest folder at or above `dir` holding a package.json. */
function packageRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) throw new Error(`no package.json above ${dir}`);
  }
}

/**
 * The package root: the repository (this file is lib/constructs/node-function.ts) or, for a consumer, the installed
 * package (`node_modules/<name>`, whose code is the bundle dist/index.js).
 */
export const PROJECT_ROOT = packageRoot(fileURLToPath(new URL('.', import.meta.url)));

/** Every Lambda entry the constructs use; `npm run build` prebuilds each for the package. */
export const LAMBDA_ENTRIES = [
  'lambdas/ingress/handler.ts',
  'lambdas/processor/handler.ts',
  'lambdas/reconciler/handler.ts',
  'lambdas/rotation/webhook-secret/handler.ts',
  'lambdas/rotation/api-key/handler.ts',
  'lambdas/rotation/replication/handler.ts',
  'lambdas/webhook-endpoint/handler.ts',
] as const;

/** One of LAMBDA_ENTRIES. */
export type LambdaEntryPath = (typeof LAMBDA_ENTRIES)[number];

/** A Lambda entry file, given relative to the repository root (e.g. `lambdas/ingress/handler.ts`). */
export function lambdaEntry(relativePath: LambdaEntryPath): string {
  return join(PROJECT_ROOT, relativePath);
}

/** Where `npm run build` puts the bundle of an entry (relative to the package root), e.g. `dist/lambdas/lambdas/ingress/handler`. */
export function prebuiltBundleDir(relativeEntry: string): string {
  return join('dist', 'lambdas', relativeEntry.replace(/\.[cm]?[jt]s$/, ''));
}

/** The Lambda runtime every function uses: the current Node.js runtime on Lambda. */
export const NODE_RUNTIME = Runtime.NODEJS_24_X;

/**
 * ESM bundles of packages that still `require()` Node built-ins (parts of the AWS SDK) need a `require` in scope;
 * esbuild does not add one for ESM output.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);";

/** esbuild settings shared by every function. */
export const BUNDLING: NonNullable<NodejsFunctionProps['bundling']> = {
  format: OutputFormat.ESM,
  minify: true,
  sourceMap: true,
  // Stack traces need the mappings only, not a copy of every source file: keeps the asset small.
  sourcesContent: false,
  // node20, not the runtime's version: the benchmarks import the same bundles under the local Node 20.
  target: 'node20',
  // Prefer packages' ESM builds (smaller after tree shaking).
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  // Bundle the SDK clients we use, at the versions we pinned and tested, instead of the runtime's copy.
  externalModules: [],
};

/** Props of a NodeFunction. */
export interface NodeFunctionProps {
  /** Absolute path of the handler file (see `lambdaEntry`). */
  readonly entry: string;
  /** Explicit function name; the log group is `/aws/lambda/<functionName>`. */
  readonly functionName: string;
  /** @default - no description */
  readonly description?: string;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /**
   * The function's environment. Merged over this construct's defaults (`NODE_OPTIONS=--enable-source-maps`,
   * `POWERTOOLS_SERVICE_NAME=<functionName>`, `POWERTOOLS_METRICS_NAMESPACE=StripeWebhooks`): every variable the
   * caller passes is kept as given. A caller that sets NODE_OPTIONS should keep `--enable-source-maps`; one that
   * sets POWERTOOLS_SERVICE_NAME changes the `service` dimension its alarms must match (see `serviceName`).
   * @default - only the defaults
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Run with `NODE_OPTIONS=--enable-source-maps`, so stack traces in the logs point into the TypeScript sources.
   * Node then reads and parses the bundle's source map at every cold start (about 16 ms of CPU for the ingress,
   * docs/performance.md, about 40 ms for the processor: both run without). Without it the map still ships in the asset, and a minified position in a stack trace maps
   * back offline (docs/observability.md).
   * @default true
   */
  readonly sourceMapsAtRuntime?: boolean;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * X-Ray active tracing (the config's `observability.tracing`). The function learns it from POWERTOOLS_TRACE_ENABLED
   * (Powertools Tracer reads the same variable), so a handler loads no tracer when it is off. Off, the role gets no
   * X-Ray permission.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Why the function needs no dead-letter queue for asynchronous invocations (the reason given to cdk-nag's
   * Serverless-LambdaDLQ). Functions invoked asynchronously (schedules, CloudFormation) must say why.
   * @default - it is invoked synchronously only
   */
  readonly noDeadLetterQueueReason?: string;
}

// cdk-nag findings every function here raises, and why they are accepted (test/infra/nag.test.ts checks them).
const XRAY_WILDCARD_REASON =
  'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions, so Resource "*" is the only ' +
  'possible scope; the tests check that X-Ray is the only statement with Resource "*".';
/** Why a function or API stage without X-Ray tracing is accepted (cdk-nag's tracing rules). */
export const NO_TRACING_REASON =
  'X-Ray tracing is off by default for its cost: Lambda active tracing samples by a fixed rule (1 request/s + 5%), ' +
  'so at low volume nearly every invocation is traced, which costs more than the rest of the pipeline; the config ' +
  'switch observability.tracing turns it on (README, docs/observability.md).';
const ASYNC_DLQ_REASON =
  'A Lambda dead-letter queue only catches asynchronous invocations; these functions are invoked synchronously ' +
  '(API Gateway, SQS event source), so failures go back to Stripe (retries) or to the SQS redrive policy and FIFO DLQ.';

/** A bundled Node.js Lambda function with its own log group and a role scoped to it. */
export class NodeFunction extends Construct {
  /** The Lambda function (a NodejsFunction when built from source). */
  readonly function: LambdaFunction;
  /** The function's log group (`/aws/lambda/<functionName>`), created with the stack so its retention is set. */
  readonly logGroup: LogGroup;
  /** The function's execution role: writes to its own log group only (no AWSLambdaBasicExecutionRole). */
  readonly role: Role;
  /**
   * The Powertools service name (`service` key of every log line, `service` dimension of every custom metric): the
   * function name unless the caller's environment sets POWERTOOLS_SERVICE_NAME. Unique per app and function, so two
   * deployments in one account and region never feed each other's alarms.
   */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    this.serviceName = props.environment?.POWERTOOLS_SERVICE_NAME ?? props.functionName;
    const tracing = props.tracing ?? false;

    this.logGroup = new LogGroup(this, 'LogGroup', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });

    // Hand-made rather than CDK's default role: AWSLambdaBasicExecutionRole may create and write any log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.functionName}`,
    });
    this.logGroup.grantWrite(this.role);

    const common = {
      role: this.role,
      functionName: props.functionName,
      description: props.description,
      runtime: NODE_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      environment: {
        ...(props.sourceMapsAtRuntime === false ? {} : { NODE_OPTIONS: '--enable-source-maps' }),
        POWERTOOLS_SERVICE_NAME: this.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_TRACE_ENABLED: String(tracing),
        ...props.environment,
      },
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      // Off: no TracingConfig at all, so CDK adds no X-Ray statement to the role either.
      tracing: tracing ? Tracing.ACTIVE : Tracing.DISABLED,
    } satisfies Omit<FunctionProps, 'code' | 'handler'>;
    this.function = existsSync(props.entry)
      ? new NodejsFunction(this, 'Function', {
          ...common,
          entry: props.entry,
          handler: 'handler',
          projectRoot: PROJECT_ROOT,
          depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
          bundling: BUNDLING,
        })
      : new LambdaFunction(this, 'Function', {
          ...common,
          code: Code.fromAsset(prebuiltCode(props.entry)),
          handler: 'index.handler',
        });

    if (tracing) {
      // The X-Ray statement is the one CDK adds for active tracing, in the role's default policy.
      const defaultPolicy: IConstruct | undefined = this.role.node.tryFindChild('DefaultPolicy');
      if (defaultPolicy) {
        Validations.of(defaultPolicy).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: XRAY_WILDCARD_REASON,
        });
      }
    } else {
      Validations.of(this.function).acknowledge({ id: 'Serverless-LambdaTracing', reason: NO_TRACING_REASON });
    }
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: props.noDeadLetterQueueReason ?? ASYNC_DLQ_REASON,
    });
  }
}

/** The prebuilt bundle folder of an entry that is not here as source (an installed package); fails with the fix. */
function prebuiltCode(entry: string): string {
  const dir = join(PROJECT_ROOT, prebuiltBundleDir(relative(PROJECT_ROOT, entry)));
  if (!existsSync(join(dir, 'index.mjs'))) {
    throw new Error(
      `No Lambda code for ${relative(PROJECT_ROOT, entry)}: neither the source nor its bundle ${dir}/index.mjs exists (in the repository, run npm run build)`,
    );
  }
  return dir;
}
