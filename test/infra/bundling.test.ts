/**
 * The real build: esbuild bundles every Lambda handler (the ingress, the processor, the reconciler, both secret
 * rotations, the webhook endpoint custom resource, the secret replication check), and `cdk synth` runs offline
 * through the CLI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingressEnv } from '../../lambdas/ingress/env';
import { processorEnv } from '../../lambdas/processor/env';
import { reconcilerEnv } from '../../lambdas/reconciler/env';
import { apiKeyRotationEnv } from '../../lambdas/rotation/api-key/env';
import { replicationCheckEnv } from '../../lambdas/rotation/replication/env';
import { webhookSecretRotationEnv } from '../../lambdas/rotation/webhook-secret/env';
import { placeholderEnv } from '../../lambdas/shared/env';
import { webhookEndpointEnv } from '../../lambdas/webhook-endpoint/env';
import { parseConfig } from '../../lib/config';
import { ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../../lib/constructs/node-function';
import { createRegionalStacks } from '../../lib/stacks/regional-stack';
import { CDK_JSON_CONTEXT } from './helpers';

const outdir = mkdtempSync(join(tmpdir(), 'stripe-webhooks-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The environment of a child process with no AWS settings or credentials at all. */
function envWithoutAws(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')),
  );
}

/**
 * Modules a bundle loads at run time that are not Node built-ins (static, dynamic or require). A specifier right
 * after `[` is text, not code: the SDK's SigV4a error message tells the reader to add
 * `[require("@aws-sdk/signature-v4-crt");]`, and minified code never puts a `[` before an import or require.
 */
function externalImports(code: string): string[] {
  const specifiers = [
    ...code.matchAll(/\bfrom\s*["']([^"']+)["']/g),
    ...code.matchAll(/(?<!\[)\bimport\s*\(?\s*["']([^"']+)["']/g),
    ...code.matchAll(/(?<!\[)\brequire\s*\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers.filter((spec) => !spec.startsWith('node:') && !builtinModules.includes(spec));
}

/** Each function, by the suffix of its name (`<appName>-<suffix>`), with the environment schema of its handler. */
const FUNCTIONS = {
  ingress: ingressEnv,
  processor: processorEnv,
  reconciler: reconcilerEnv,
  'rotate-webhook-secret': webhookSecretRotationEnv,
  'rotate-api-key': apiKeyRotationEnv,
  'webhook-endpoint': webhookEndpointEnv,
  'secret-replication-check': replicationCheckEnv,
} as const;
type FunctionSuffix = keyof typeof FUNCTIONS;

const bundles = new Map<FunctionSuffix, string>();

beforeAll(() => {
  // Bundling on: no 'aws:cdk:bundling-stacks' override.
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT } });
  // The endpoint managed by the stack and a replica region, so every handler of the primary is bundled.
  const [stack] = createRegionalStacks(
    app,
    parseConfig({ stripeEndpoint: { manage: true }, secondaryRegions: ['us-west-2'] }),
  );
  const assembly = app.synth();
  const template = assembly.getStackByName(stack!.stackName).template as {
    Resources: Record<string, { Type: string; Properties: { FunctionName?: string; Code?: { S3Key?: string } } }>;
  };
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    // aws-cdk-lib's own Provider framework function (prebuilt by CDK, not bundled from this repository).
    if (r.Properties.FunctionName?.endsWith('-webhook-endpoint-provider')) continue;
    const hash = r.Properties.Code?.S3Key?.replace(/\.zip$/, '');
    const which = (Object.keys(FUNCTIONS) as FunctionSuffix[]).find((k) =>
      r.Properties.FunctionName?.endsWith(`-${k}`),
    );
    if (!which) throw new Error(`a function this test does not know: ${r.Properties.FunctionName}`);
    bundles.set(which, join(assembly.directory, `asset.${hash}`));
  }
}, 180_000);

it('bundles every function of the stack', () => {
  expect([...bundles.keys()].sort()).toEqual(Object.keys(FUNCTIONS).sort());
});

describe.each(Object.keys(FUNCTIONS) as FunctionSuffix[])('the %s bundle', (which) => {
  const dir = () => bundles.get(which) ?? '';
  it('is a minified ESM file with a source map and the createRequire banner', () => {
    const code = readFileSync(join(dir(), 'index.mjs'), 'utf8');
    expect(existsSync(join(dir(), 'index.mjs.map'))).toBe(true);
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
  });

  it('bundles its dependencies (the AWS SDK included) instead of importing them at run time', () => {
    expect(externalImports(readFileSync(join(dir(), 'index.mjs'), 'utf8'))).toEqual([]);
  });

  it('imports under the local Node.js and exports a handler function', () => {
    const env = {
      ...envWithoutAws(),
      ...placeholderEnv(FUNCTIONS[which]),
      AWS_REGION: 'us-east-1',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    const url = pathToFileURL(join(dir(), 'index.mjs')).href;
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(url)}); console.log(typeof m.handler);`],
      { env, encoding: 'utf8', timeout: 30_000 },
    );
    expect(out.trim()).toBe('function');
  });
});

describe('the bundle check', () => {
  it('would notice a package left external', () => {
    const sample =
      'import{createRequire as __cr}from"module";import{a}from"node:crypto";import{SQSClient}from"@aws-sdk/client-sqs";' +
      'const s=await import("stripe");const z=require("zod");const f=require("fs");' +
      'throw new Error(`call [require("@aws-sdk/signature-v4-crt");] or [import "@aws-sdk/signature-v4-crt";]`);';
    expect(externalImports(sample)).toEqual(['@aws-sdk/client-sqs', 'stripe', 'zod']);
  });
});

describe('npx cdk synth', () => {
  it('works offline with no AWS region, profile or credentials', () => {
    const cliOut = mkdtempSync(join(tmpdir(), 'stripe-webhooks-cli-'));
    try {
      execFileSync(
        process.execPath,
        [join(PROJECT_ROOT, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--quiet', '--output', cliOut],
        { cwd: PROJECT_ROOT, env: envWithoutAws(), encoding: 'utf8', timeout: 120_000, stdio: 'pipe' },
      );
      expect(existsSync(join(cliOut, 'stripe-webhooks-us-east-1.template.json'))).toBe(true);
    } finally {
      rmSync(cliOut, { recursive: true, force: true });
    }
  }, 120_000);

  it('stops on a bad config with the field and value, before building anything', () => {
    let stderr = '';
    try {
      execFileSync(
        process.execPath,
        [
          join(PROJECT_ROOT, 'node_modules/aws-cdk/bin/cdk'),
          'synth',
          '--quiet',
          '-c',
          'stripeWebhooks={"queue":{"maxReceiveCount":1}}',
        ],
        { cwd: PROJECT_ROOT, env: envWithoutAws(), encoding: 'utf8', timeout: 120_000, stdio: 'pipe' },
      );
    } catch (err) {
      stderr = String((err as { stderr?: string }).stderr);
    }
    expect(stderr).toMatch(/queue\.maxReceiveCount: must be >= 5 .*; got 1/);
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
