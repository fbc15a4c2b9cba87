import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDeployedBundle, esbuildOptionsFromBundling, packageOf } from '../../bench/bundles';
import { builtinsImportedBy } from '../../bench/cold-start';
import { BUNDLING, ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../../lib/constructs/node-function';

// Inside the repository (bench/out is ignored), so the entry resolves packages from ./node_modules.
mkdirSync(join(PROJECT_ROOT, 'bench/out'), { recursive: true });
const dir = mkdtempSync(join(PROJECT_ROOT, 'bench/out/test-bundles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('esbuildOptionsFromBundling', () => {
  it('mirrors every option the Lambda functions are bundled with', () => {
    const options = esbuildOptionsFromBundling(BUNDLING, '/src/handler.ts', '/out');
    expect(options).toMatchObject({
      entryPoints: ['/src/handler.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: '/out/index.mjs',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      external: [],
      mainFields: ['module', 'main'],
      banner: { js: ESM_REQUIRE_BANNER },
    });
  });

  it('stops on a bundling option it does not mirror, naming it', () => {
    expect(() => esbuildOptionsFromBundling({ ...BUNDLING, nodeModules: ['stripe'] }, '/src/h.ts', '/out')).toThrow(
      /BUNDLING sets nodeModules/,
    );
  });

  it('keeps CDK defaults: the runtime SDK external when externalModules is unset, CommonJS to index.js', () => {
    const options = esbuildOptionsFromBundling({ target: 'node20' }, '/src/h.ts', '/out');
    expect(options.external).toEqual(['@aws-sdk/*']);
    expect(options.outfile).toBe('/out/index.js');
    expect(options.sourcemap).toBeUndefined();
  });
});

describe('buildDeployedBundle', () => {
  it('writes a minified ESM bundle with the banner and a source map, and attributes its bytes to packages', async () => {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, "import middy from '@middy/core';\nexport const handler = middy(async () => 'ok');\n");
    const built = await buildDeployedBundle(BUNDLING, entry, join(dir, 'out'));
    const code = readFileSync(built.file, 'utf8');
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(existsSync(`${built.file}.map`)).toBe(true);
    expect(built.bytes).toBe(Buffer.byteLength(code));
    expect(built.bytesByPackage.map((p) => p.name)).toContain('@middy/core');
    expect(built.bytesByPackage.map((p) => p.name)).toContain('(project)');
  });
});

describe('packageOf', () => {
  it('names the npm package of a bundled path, scoped or not, behind any prefix', () => {
    expect(packageOf('../main/node_modules/@smithy/core/dist-es/index.js')).toBe('@smithy/core');
    expect(packageOf('node_modules/stripe/esm/stripe.esm.node.js')).toBe('stripe');
    expect(packageOf('lambdas/ingress/core.ts')).toBe('(project)');
  });
});

describe('builtinsImportedBy', () => {
  it('lists the Node built-ins a bundle imports, however it imports them, and nothing else', () => {
    const code =
      'import{createHmac}from"node:crypto";import*as h from"http";const z=require("zlib");' +
      'const s=await import("node:stream");import{x}from"@aws-sdk/client-sqs";const y=require("./local");';
    expect(builtinsImportedBy(code)).toEqual(['crypto', 'http', 'stream', 'zlib']);
  });
});
