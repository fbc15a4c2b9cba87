/**
 * Bench 2, cold-start proxy: each Lambda bundle (built as CDK builds it) against a naive build of the same function,
 * by size and by the median time to import it in a fresh Node process. Importing is the part of a cold start the
 * code controls (Lambda's own runtime start-up is the same for both), so its ratio is the comparison that matters.
 *
 * Probes (each package alone, built both ways) show what dominates what remains.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { ingressEnv } from '../lambdas/ingress/env';
import { processorEnv } from '../lambdas/processor/env';
import { placeholderEnv } from '../lambdas/shared/env';
import { BUNDLING, lambdaEntry, PROJECT_ROOT } from '../lib/constructs/node-function';
import {
  type BuiltCode,
  buildDeployedBundle,
  buildNaive,
  esbuildOptionsFromBundling,
  nodeModulesClosureBytes,
} from './bundles';
import { type ColdPathResults, INGRESS_NODE_OPTIONS, runColdPathBench } from './cold-path';
import { childEnv } from './lib/child-env';
import { median } from './lib/stats';
import { PROCESSOR_NODE_OPTIONS, type ProcessorColdPathResults, runProcessorColdPath } from './processor-cold-path';

const run = promisify(execFile);

/** Where the builds go (ignored by git and biome). */
export const OUT_DIR = join(PROJECT_ROOT, 'bench/out');

/** One piece of code to import in fresh processes. */
interface Variant {
  readonly id: string;
  readonly file: string;
  /** Extra Node flags (NODE_OPTIONS of the deployed function: INGRESS_NODE_OPTIONS, PROCESSOR_NODE_OPTIONS). */
  readonly nodeOptions: string;
  readonly env: Record<string, string>;
}

export interface ImportTiming {
  readonly id: string;
  /** Wall-clock milliseconds of the import, median over the runs. */
  readonly medianMs: number;
  readonly runsMs: number[];
  /**
   * CPU milliseconds (user + system, all threads) the import used, median over the runs. Unlike wall time it hardly
   * moves when other processes compete for the CPU, so it is the steadier comparison on a shared machine.
   */
  readonly medianCpuMs: number;
  readonly cpuRunsMs: number[];
}

export interface CodeSize {
  /** The file Lambda imports. */
  readonly bytes: number;
  /** gzip -9 of it: about what the zip asset holds. */
  readonly gzipBytes: number;
  readonly sourceMapBytes: number;
  readonly topPackages: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
}

export interface FunctionColdStart {
  readonly bundle: CodeSize;
  /** The project's handler, transpiled only, npm packages from node_modules. */
  readonly unbundled: { readonly bytes: number; readonly nodeModulesBytes: number };
  /** Import of the deployed bundle with the Node flags it is deployed with. */
  readonly bundleImport: ImportTiming;
  /** The same bundle without --enable-source-maps: what the source maps cost. */
  readonly bundleImportNoSourceMaps: ImportTiming;
  readonly unbundledImport: ImportTiming;
}

export interface ColdStartResults {
  readonly runsPerVariant: number;
  readonly ingress: FunctionColdStart & {
    /** The naive twin (bench/naive/ingress-handler.ts): stripe + client-sqs + client-secrets-manager, unbundled. */
    readonly naive: { readonly bytes: number; readonly nodeModulesBytes: number; readonly import: ImportTiming };
  };
  readonly processor: FunctionColdStart;
  /** Import + first full request in a fresh process, ours against the naive twin (bench/cold-path.ts). */
  readonly coldPath: ColdPathResults;
  /** Import + first batch of one record in a fresh process (bench/processor-cold-path.ts). */
  readonly processorColdPath: ProcessorColdPathResults;
  /** Import of single packages (and an empty module, Node's floor), bundled with BUNDLING or from node_modules. */
  readonly probes: ImportTiming[];
}

/** Imports `file` in a fresh Node process; returns the wall and CPU milliseconds the import took in that process. */
async function importOnce(variant: Variant): Promise<{ ms: number; cpuMs: number }> {
  const url = pathToFileURL(variant.file).href;
  const script = [
    'const c0 = process.cpuUsage();',
    'const t0 = performance.now();',
    `const m = await import(${JSON.stringify(url)});`,
    'const ms = performance.now() - t0;',
    'const c = process.cpuUsage(c0);',
    'if (Object.keys(m).length === 0) process.exit(3);',
    'process.stdout.write(JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000 }));',
  ].join('\n');
  const args = [...(variant.nodeOptions ? variant.nodeOptions.split(' ') : []), '--input-type=module', '-e', script];
  const { stdout } = await run(process.execPath, args, { env: variant.env, timeout: 60_000, cwd: PROJECT_ROOT });
  return JSON.parse(stdout) as { ms: number; cpuMs: number };
}

/** Median import time of each variant over `runs` fresh processes, the variants taking turns run by run. */
async function timeImports(variants: readonly Variant[], runs: number, progress: (s: string) => void) {
  const samples = new Map<string, { ms: number; cpuMs: number }[]>(variants.map((v) => [v.id, []]));
  for (const v of variants) await importOnce(v); // one unmeasured run each: disk cache
  for (let r = 0; r < runs; r++) {
    progress(`imports in fresh processes, round ${r + 1}/${runs}`);
    for (const v of variants) samples.get(v.id)!.push(await importOnce(v));
  }
  return new Map(
    variants.map((v) => {
      const runs = samples.get(v.id)!;
      const runsMs = runs.map((r) => r.ms);
      const cpuRunsMs = runs.map((r) => r.cpuMs);
      return [v.id, { id: v.id, medianMs: median(runsMs), runsMs, medianCpuMs: median(cpuRunsMs), cpuRunsMs }] as const;
    }),
  );
}

function size(built: BuiltCode): CodeSize {
  return {
    bytes: built.bytes,
    gzipBytes: gzipSync(readFileSync(built.file), { level: 9 }).length,
    sourceMapBytes: built.sourceMapBytes,
    topPackages: built.bytesByPackage.slice(0, 6),
  };
}

/** A tiny module that loads and uses one package the way a handler does at module scope. */
const PROBES: Record<string, string> = {
  'empty module': 'export const handler = async () => ({ statusCode: 200 });',
  '@aws-sdk/client-sqs':
    "import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';\nexport const client = new SQSClient({});\nexport const Command = SendMessageCommand;",
  'Powertools logger+metrics': [
    "import { Logger } from '@aws-lambda-powertools/logger';",
    "import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';",
    "import { Metrics } from '@aws-lambda-powertools/metrics';",
    "import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';",
    "export const logger = new Logger({ serviceName: 'probe' });",
    "export const metrics = new Metrics({ namespace: 'Probe', serviceName: 'probe' });",
    'export const middlewares = [injectLambdaContext(logger), logMetrics(metrics)];',
  ].join('\n'),
  '@middy/core': "import middy from '@middy/core';\nexport const handler = middy(async () => undefined);",
  // The processor's target (import <= 60 ms) against what it must keep (issue 13: the processor keeps the AWS SDK):
  // its four clients constructed as lambdas/processor/handler.ts does, and DynamoDB's alone (no processor without it).
  '@aws-sdk/client-dynamodb':
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport const client = new DynamoDBClient({});",
  "the processor's four AWS SDK clients": [
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
    "import { EventBridgeClient } from '@aws-sdk/client-eventbridge';",
    "import { LambdaClient } from '@aws-sdk/client-lambda';",
    "import { SQSClient } from '@aws-sdk/client-sqs';",
    'export const clients = [new DynamoDBClient({}), new EventBridgeClient({}), new LambdaClient({}), new SQSClient({})];',
  ].join('\n'),
  stripe: "import Stripe from 'stripe';\nexport const webhooks = Stripe.webhooks;",
};
/** Probes measured one way only (the other adds nothing to the comparison). */
const BUNDLED_ONLY = new Set([
  'Powertools logger+metrics',
  '@middy/core',
  '@aws-sdk/client-dynamodb',
  "the processor's four AWS SDK clients",
]);
const UNBUNDLED_ONLY = new Set(['empty module', 'stripe', 'Node built-ins the ingress bundle imports']);
const NOT_PACKAGES = new Set(['empty module', 'Node built-ins the ingress bundle imports']);

/** The Node built-in modules a bundle imports (static, dynamic or through require). */
export function builtinsImportedBy(code: string): string[] {
  const specifiers = [
    ...code.matchAll(/\bfrom\s*["']([^"']+)["']/g),
    ...code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g),
    ...code.matchAll(/\brequire\s*\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]!);
  const names = specifiers.map((spec) => spec.replace(/^node:/, '')).filter((name) => builtinModules.includes(name));
  return [...new Set(names)].sort();
}

async function buildProbes(ingressBundle: string): Promise<Variant[]> {
  const dir = join(OUT_DIR, 'probes');
  mkdirSync(dir, { recursive: true });
  const builtins = builtinsImportedBy(readFileSync(ingressBundle, 'utf8'));
  const probes: Record<string, string> = {
    ...PROBES,
    'Node built-ins the ingress bundle imports': [
      ...builtins.map((name, i) => `import * as m${i} from 'node:${name}';`),
      `export const modules = [${builtins.map((_, i) => `m${i}`).join(', ')}];`,
    ].join('\n'),
  };
  const variants: Variant[] = [];
  for (const [name, code] of Object.entries(probes)) {
    const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');
    // From node_modules: the probe file sits in the repository, so bare imports resolve to ./node_modules.
    const unbundled = join(dir, `${slug}.unbundled.mjs`);
    writeFileSync(unbundled, `${code}\n`);
    if (!BUNDLED_ONLY.has(name)) {
      const id = NOT_PACKAGES.has(name) ? name : `${name} (node_modules)`;
      variants.push({ id, file: unbundled, nodeOptions: '', env: childEnv({}) });
    }
    if (!UNBUNDLED_ONLY.has(name)) {
      const options = esbuildOptionsFromBundling(BUNDLING, unbundled, join(dir, `${slug}.bundle`));
      await build({ ...options, logLevel: 'error' });
      variants.push({ id: `${name} (bundled)`, file: options.outfile!, nodeOptions: '', env: childEnv({}) });
    }
  }
  return variants;
}

/** Runs bench 2. `runs` fresh processes per variant (at least 9). */
export async function runColdStartBench(progress: (s: string) => void, runs = 11): Promise<ColdStartResults> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  progress('building the Lambda bundles (BUNDLING) and the naive builds');
  const built = {
    ingress: await buildDeployedBundle(BUNDLING, lambdaEntry('lambdas/ingress/handler.ts'), join(OUT_DIR, 'ingress')),
    processor: await buildDeployedBundle(
      BUNDLING,
      lambdaEntry('lambdas/processor/handler.ts'),
      join(OUT_DIR, 'processor'),
    ),
    ingressUnbundled: await buildNaive(lambdaEntry('lambdas/ingress/handler.ts'), join(OUT_DIR, 'ingress-unbundled')),
    processorUnbundled: await buildNaive(
      lambdaEntry('lambdas/processor/handler.ts'),
      join(OUT_DIR, 'processor-unbundled'),
    ),
    naiveIngress: await buildNaive(
      join(PROJECT_ROOT, 'bench/naive/ingress-handler.ts'),
      join(OUT_DIR, 'naive-ingress'),
    ),
  };
  const ingressEnvVars = childEnv(placeholderEnv(ingressEnv));
  const processorEnvVars = childEnv(placeholderEnv(processorEnv));
  const ingressMaps = INGRESS_NODE_OPTIONS.join(' ');
  const variants: Variant[] = [
    { id: 'ingress bundle', file: built.ingress.file, nodeOptions: ingressMaps, env: ingressEnvVars },
    { id: 'ingress bundle, no source maps', file: built.ingress.file, nodeOptions: '', env: ingressEnvVars },
    { id: 'ingress unbundled', file: built.ingressUnbundled.file, nodeOptions: '', env: ingressEnvVars },
    { id: 'naive ingress', file: built.naiveIngress.file, nodeOptions: '', env: ingressEnvVars },
    {
      id: 'processor bundle',
      file: built.processor.file,
      nodeOptions: PROCESSOR_NODE_OPTIONS.join(' '),
      env: processorEnvVars,
    },
    { id: 'processor bundle, no source maps', file: built.processor.file, nodeOptions: '', env: processorEnvVars },
    { id: 'processor unbundled', file: built.processorUnbundled.file, nodeOptions: '', env: processorEnvVars },
    ...(await buildProbes(built.ingress.file)),
  ];
  const timings = await timeImports(variants, runs, progress);
  const t = (id: string) => timings.get(id)!;
  const coldPath = await runColdPathBench(
    { id: 'ingress bundle', file: built.ingress.file, nodeOptions: INGRESS_NODE_OPTIONS },
    { id: 'naive ingress', file: built.naiveIngress.file, nodeOptions: [] },
    runs,
    progress,
  );
  const processorColdPath = await runProcessorColdPath(
    { id: 'processor bundle', file: built.processor.file, nodeOptions: PROCESSOR_NODE_OPTIONS },
    runs,
    progress,
  );

  const ingressPackages = [
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    '@aws-lambda-powertools/parameters',
    '@aws-sdk/client-sqs',
    '@aws-sdk/client-secrets-manager',
    '@middy/core',
  ];
  const processorPackages = [
    ...ingressPackages,
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-eventbridge',
    'stripe',
  ];
  return {
    runsPerVariant: runs,
    ingress: {
      bundle: size(built.ingress),
      unbundled: {
        bytes: built.ingressUnbundled.bytes,
        nodeModulesBytes: nodeModulesClosureBytes(ingressPackages, PROJECT_ROOT),
      },
      bundleImport: t('ingress bundle'),
      bundleImportNoSourceMaps: t('ingress bundle, no source maps'),
      unbundledImport: t('ingress unbundled'),
      naive: {
        bytes: built.naiveIngress.bytes,
        nodeModulesBytes: nodeModulesClosureBytes(
          ['stripe', '@aws-sdk/client-sqs', '@aws-sdk/client-secrets-manager'],
          PROJECT_ROOT,
        ),
        import: t('naive ingress'),
      },
    },
    processor: {
      bundle: size(built.processor),
      unbundled: {
        bytes: built.processorUnbundled.bytes,
        nodeModulesBytes: nodeModulesClosureBytes(processorPackages, PROJECT_ROOT),
      },
      bundleImport: t('processor bundle'),
      bundleImportNoSourceMaps: t('processor bundle, no source maps'),
      unbundledImport: t('processor unbundled'),
    },
    coldPath,
    processorColdPath,
    probes: variants
      .filter((v) => !v.id.startsWith('ingress') && !v.id.startsWith('naive') && !v.id.startsWith('processor'))
      .map((v) => t(v.id)),
  };
}
