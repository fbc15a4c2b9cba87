/**
 * Building Lambda code for the cold-start bench: the deployed bundles (esbuild run with the options CDK derives from
 * lib/constructs/node-function.ts's BUNDLING) and naive builds (our TypeScript transpiled, every npm package left to
 * be imported from node_modules at run time, as a zip of node_modules would be).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build, type Metafile } from 'esbuild';

/** BUNDLING keys the mirror maps to esbuild options (every other key that is set stops the bench). */
const MIRRORED = new Set<string>([
  'format',
  'minify',
  'sourceMap',
  'sourceMapMode',
  'sourcesContent',
  'target',
  'mainFields',
  'banner',
  'footer',
  'externalModules',
  'define',
  'loader',
  'keepNames',
  'inject',
  'logLevel',
  'metafile',
]);

/**
 * The esbuild options `cdk synth` uses for a NodejsFunction with these bundling options (aws-cdk-lib 2.x
 * `Bundling.buildEsbuildArgs`: `--bundle --platform=node --outfile=index.mjs|index.js` plus one flag per option).
 * Throws on a bundling option it does not know how to mirror, so the bench never silently measures a different build
 * from the one deployed.
 */
export function esbuildOptionsFromBundling(bundling: BundlingOptions, entry: string, outdir: string): BuildOptions {
  const unknown = Object.entries(bundling)
    .filter(([key, value]) => value !== undefined && !MIRRORED.has(key))
    .map(([key]) => key);
  if (unknown.length > 0) {
    throw new Error(`BUNDLING sets ${unknown.join(', ')}, which bench/bundles.ts does not mirror yet`);
  }
  if (!bundling.target) throw new Error('BUNDLING must set target (CDK would derive it from the runtime)');
  const esm = bundling.format === 'esm';
  const sourceMap = bundling.sourceMapMode ?? bundling.sourceMap;
  const mode = bundling.sourceMapMode;
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: bundling.target,
    ...(bundling.format ? { format: bundling.format as 'esm' | 'cjs' } : {}),
    outfile: join(outdir, esm ? 'index.mjs' : 'index.js'),
    minify: bundling.minify === true,
    ...(sourceMap
      ? { sourcemap: mode === undefined || mode === 'default' ? true : (mode as 'inline' | 'external' | 'both') }
      : {}),
    sourcesContent: bundling.sourcesContent ?? true,
    // CDK's own default (the runtime's SDK) applies only when externalModules is not given.
    external: bundling.externalModules ?? ['@aws-sdk/*'],
    ...(bundling.loader ? { loader: bundling.loader as BuildOptions['loader'] } : {}),
    ...(bundling.define ? { define: bundling.define } : {}),
    ...(bundling.keepNames ? { keepNames: true } : {}),
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.footer ? { footer: { js: bundling.footer } } : {}),
    ...(bundling.mainFields ? { mainFields: bundling.mainFields } : {}),
    ...(bundling.inject ? { inject: bundling.inject } : {}),
  };
}

export interface BuiltCode {
  /** The file Lambda would import (index.mjs). */
  readonly file: string;
  /** Bytes of that file. */
  readonly bytes: number;
  /** Bytes of its source map, if any. */
  readonly sourceMapBytes: number;
  /** Output bytes per npm package (`(project)` for our own code), largest first; bundles only. */
  readonly bytesByPackage: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
}

/** Builds `entry` as CDK would with `bundling`, into `outdir`. */
export async function buildDeployedBundle(
  bundling: BundlingOptions,
  entry: string,
  outdir: string,
): Promise<BuiltCode> {
  const options = esbuildOptionsFromBundling(bundling, entry, outdir);
  const result = await build({ ...options, metafile: true, logLevel: 'error' });
  return describeBuild(options.outfile!, result.metafile);
}

/**
 * A naive build of `entry`: our TypeScript transpiled into one unminified ESM file, with every npm package left
 * external (imported from node_modules at run time).
 */
export async function buildNaive(entry: string, outdir: string): Promise<BuiltCode> {
  const outfile = join(outdir, 'index.mjs');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    metafile: true,
    logLevel: 'error',
  });
  return describeBuild(outfile, result.metafile);
}

function describeBuild(outfile: string, metafile: Metafile): BuiltCode {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith(outfile.split('/').pop()!))?.[1];
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const name = packageOf(path);
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  let sourceMapBytes = 0;
  try {
    sourceMapBytes = statSync(`${outfile}.map`).size;
  } catch {
    // no source map for this build
  }
  return {
    file: outfile,
    bytes: statSync(outfile).size,
    sourceMapBytes,
    bytesByPackage: [...byPackage.entries()]
      .map(([name, bytes]) => ({ name, bytes }))
      .sort((a, b) => b.bytes - a.bytes),
  };
}

/** The npm package a bundled input path belongs to (`@scope/name` or `name`), or `(project)`. */
export function packageOf(inputPath: string): string {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(inputPath.replaceAll('\\', '/'));
  return match ? match[1]! : '(project)';
}

/**
 * Bytes on disk of `packages` and everything they depend on (package.json `dependencies`, resolved as Node resolves
 * them from `fromDir`): what a Lambda zip of node_modules for a naive build would carry, unzipped.
 */
export function nodeModulesClosureBytes(packages: readonly string[], fromDir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const queue = packages.map((name) => ({ name, from: fromDir }));
  while (queue.length > 0) {
    const { name, from } = queue.shift()!;
    const dir = resolvePackageDir(name, from);
    if (!dir || seen.has(dir)) continue;
    seen.add(dir);
    total += directoryBytes(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) queue.push({ name: dep, from: dir });
  }
  return total;
}

function resolvePackageDir(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    try {
      if (statSync(join(candidate, 'package.json')).isFile()) return candidate;
    } catch {
      // not here: look one directory up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Bytes of every file under `dir`, nested node_modules excluded (they are packages of their own). */
function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') total += directoryBytes(path);
    } else if (entry.isFile()) {
      total += statSync(path).size;
    }
  }
  return total;
}
