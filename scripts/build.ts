/**
 * `npm run build`: the package under dist/, as `npm pack` ships it (docs/library.md):
 * - dist/index.js, dist/runtime.js: the library and the handler-side API, each one ESM file (esbuild); npm packages
 *   stay imports (aws-cdk-lib and constructs are peer dependencies, zod a dependency);
 * - dist/types/: the declarations (tsc), with `.js` on relative imports so that Node16/NodeNext resolution finds them;
 * - dist/lambdas/<entry>/index.mjs: every Lambda, bundled with the options `cdk synth` uses here (BUNDLING), so that
 *   a consumer's synth needs neither esbuild nor this project's runtime dependencies (lib/constructs/node-function.ts);
 * - dist/stripe-webhook-ips.json, read by the library at synth.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { esbuildOptionsFromBundling } from '../bench/bundles';
import { BUNDLING, LAMBDA_ENTRIES, PROJECT_ROOT, prebuiltBundleDir } from '../lib/constructs/node-function';
import { STRIPE_WEBHOOK_IPS_FILE } from '../lib/stripe-ips';

const DIST = join(PROJECT_ROOT, 'dist');

/** The bare imports the library bundle may keep: what a consumer installs with it. */
export const LIBRARY_IMPORTS: readonly string[] = ['aws-cdk-lib', 'constructs', 'zod'];

/** Rewrites `from './x'` to `from './x.js'` (or `./x/index.js`) in every declaration file under `dir`. */
function addJsExtensions(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      addJsExtensions(path);
      continue;
    }
    if (!name.endsWith('.d.ts')) continue;
    const text = readFileSync(path, 'utf8').replace(
      /(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\2/g,
      (match, lead: string, quote: string, spec: string) => {
        if (/\.(js|json)$/.test(spec)) return match;
        const base = join(dirname(path), spec);
        const resolved = existsSync(`${base}.d.ts`)
          ? `${spec}.js`
          : existsSync(join(base, 'index.d.ts'))
            ? `${spec}/index.js`
            : undefined;
        if (resolved === undefined) throw new Error(`${path}: cannot resolve ${spec}`);
        return `${lead}${quote}${resolved}${quote}`;
      },
    );
    writeFileSync(path, text);
  }
}

async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  for (const [entry, out] of [
    ['lib/index.ts', 'index.js'],
    ['lib/runtime.ts', 'runtime.js'],
  ] as const) {
    const result = await build({
      entryPoints: [join(PROJECT_ROOT, entry)],
      outfile: join(DIST, out),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: true,
      metafile: true,
      logLevel: 'warning',
    });
    const imports = Object.values(result.metafile.outputs)
      .flatMap((o) => o.imports)
      .filter((i) => i.external && !i.path.startsWith('node:'))
      .map((i) => i.path);
    const stray = imports.filter((p) => !LIBRARY_IMPORTS.some((pkg) => p === pkg || p.startsWith(`${pkg}/`)));
    if (stray.length > 0)
      throw new Error(`${entry} imports ${[...new Set(stray)].join(', ')}: not a dependency of the package`);
  }
  copyFileSync(STRIPE_WEBHOOK_IPS_FILE, join(DIST, 'stripe-webhook-ips.json'));
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  addJsExtensions(join(DIST, 'types'));
  for (const entry of LAMBDA_ENTRIES) {
    const outdir = join(PROJECT_ROOT, prebuiltBundleDir(entry));
    mkdirSync(outdir, { recursive: true });
    await build({ ...esbuildOptionsFromBundling(BUNDLING, join(PROJECT_ROOT, entry), outdir), logLevel: 'warning' });
  }
  console.log(`built ${DIST}: library, runtime, declarations and ${LAMBDA_ENTRIES.length} Lambda bundles`);
}

await main();
