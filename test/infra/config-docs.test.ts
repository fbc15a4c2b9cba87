/**
 * The configuration's types come from its zod schema (`z.output`), and its documentation sits on the schema's fields.
 * This reads the types the way an editor does (the TypeScript checker, on `DeepPartial<StripeWebhooksConfig>`, the
 * construct's props) and checks that every setting shows its JSDoc there, and that a `@default` spelling a value is
 * the value the schema actually fills in.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as config from '../../lib/config';
import { DEFAULT_CONFIG, type StripeWebhooksConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

interface Setting {
  readonly path: string;
  readonly doc: string;
  readonly defaultTag: string | undefined;
}

const PROBE = join(PROJECT_ROOT, 'test/infra/__config-docs-probe.ts');
const PROBE_SOURCE = [
  "import type { DeepPartial, StripeWebhooksConfig } from '../../lib/config';",
  'export declare const props: DeepPartial<StripeWebhooksConfig>;',
].join('\n');
const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  skipLibCheck: true,
  types: ['node'],
  declaration: true,
  emitDeclarationOnly: true,
};
const CONFIG_DIR = join(PROJECT_ROOT, 'lib', 'config');

/**
 * A program over the probe. With `declarations`, lib/config is seen only through those .d.ts files (its sources
 * hidden), as a user of the package sees it.
 */
function programOverProbe(declarations?: ReadonlyMap<string, string>): ts.Program {
  const host = ts.createCompilerHost(OPTIONS);
  const read = host.getSourceFile.bind(host);
  const exists = host.fileExists.bind(host);
  const virtual = (name: string) => (name === PROBE ? PROBE_SOURCE : declarations?.get(name));
  const hidden = (name: string) => declarations !== undefined && name.startsWith(CONFIG_DIR) && !name.endsWith('.d.ts');
  host.getSourceFile = (name, version, ...rest) => {
    const text = virtual(name);
    return text !== undefined ? ts.createSourceFile(name, text, version) : read(name, version, ...rest);
  };
  host.fileExists = (name) => virtual(name) !== undefined || (!hidden(name) && exists(name));
  return ts.createProgram([PROBE], OPTIONS, host);
}

/** The declarations tsc emits for lib/config (what `npm run build` ships), by path. */
function emittedDeclarations(program: ts.Program): Map<string, string> {
  const out = new Map<string, string>();
  program.emit(undefined, (name, text) => {
    if (name.startsWith(CONFIG_DIR)) out.set(name, text);
  });
  return out;
}

/** Every setting of the props type, as an editor's hover shows it: path, documentation, `@default` text. */
function settingsAsSeenThrough(program: ts.Program): Setting[] {
  const checker = program.getTypeChecker();
  const decl = program.getSourceFile(PROBE)?.statements.find(ts.isVariableStatement)?.declarationList.declarations[0];
  if (decl === undefined) throw new Error('probe declaration missing');
  const out: Setting[] = [];
  const walk = (type: ts.Type, prefix: string, value: unknown) => {
    for (const symbol of checker.getPropertiesOfType(checker.getNonNullableType(type))) {
      const path = `${prefix}${symbol.name}`;
      const inner = checker.getNonNullableType(checker.getTypeOfSymbol(symbol));
      const actual = (value as Record<string, unknown>)[symbol.name];
      const isSection =
        typeof actual === 'object' && actual !== null && !Array.isArray(actual) && inner.getProperties().length > 0;
      if (isSection) {
        walk(inner, `${path}.`, actual);
        continue;
      }
      const tag = symbol.getJsDocTags(checker).find((t) => t.name === 'default');
      out.push({
        path,
        doc: ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim(),
        defaultTag: tag ? ts.displayPartsToString(tag.text).trim() : undefined,
      });
    }
  };
  walk(checker.getTypeAtLocation(decl), '', DEFAULT_CONFIG);
  return out;
}

function defaultAt(path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], DEFAULT_CONFIG);
}

/** The value a `@default` tag spells, or undefined for prose without a figure (`- none`). */
function spelledValue(tag: string): { value: unknown } | undefined {
  if (tag.startsWith('-')) {
    // Prose may end with the value it comes to: `- MAX_BODY_BYTES's default in lambdas/ingress/env.ts (1 MiB)`.
    const figure = /\((\d+)( MiB)?\)$/.exec(tag);
    return figure ? { value: Number(figure[1]) * (figure[2] ? 1_048_576 : 1) } : undefined;
  }
  const quoted = /^'([^']*)'$/.exec(tag);
  if (quoted) return { value: quoted[1] };
  if (/^[A-Z][A-Z0-9_]*$/.test(tag)) return { value: (config as Record<string, unknown>)[tag] };
  try {
    return { value: JSON.parse(tag) };
  } catch {
    throw new Error(
      `@default ${tag}: neither a value (JSON, 'text', an exported CONSTANT) nor prose starting with "-"`,
    );
  }
}

describe('the configuration as users see it', () => {
  const sources = programOverProbe();
  const settings = settingsAsSeenThrough(sources);

  it('finds every setting of the default config through the props type', () => {
    expect(settings.length).toBeGreaterThan(60);
    expect(settings.map((s) => s.path)).toEqual(
      expect.arrayContaining([
        'ingress.maxBodyBytes',
        'alarms.thresholds.dlqMessages',
        'failover.healthCheck.intervalSeconds',
      ]),
    );
  });

  it('shows the JSDoc of every setting, and a @default on every one that has a default', () => {
    const undocumented = settings.filter((s) => s.doc === '' && s.defaultTag === undefined).map((s) => s.path);
    expect(undocumented).toEqual([]);
    const noDefaultTag = settings
      .filter((s) => defaultAt(s.path) !== undefined && s.defaultTag === undefined)
      .map((s) => s.path);
    expect(noDefaultTag).toEqual([]);
  });

  it('gives each @default that spells a value the value the schema fills in (prose starts with "-")', () => {
    let checked = 0;
    for (const { path, defaultTag } of settings) {
      if (defaultTag === undefined) continue;
      const spelled = spelledValue(defaultTag);
      if (spelled === undefined) continue;
      expect(defaultAt(path), `${path}: @default ${defaultTag}`).toEqual(spelled.value);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('shows the same documentation to users of the package, through the emitted declarations', () => {
    const declarations = emittedDeclarations(sources);
    expect([...declarations.keys()].map((f) => f.slice(CONFIG_DIR.length + 1))).toContain('pipeline.d.ts');
    expect(settingsAsSeenThrough(programOverProbe(declarations))).toEqual(settings);
  });

  it('keeps the parsed config and the props readonly at every depth', () => {
    // Compile-time checks: tsc (npm test) fails if any of these assignments becomes legal.
    const mutate = (c: StripeWebhooksConfig, p: config.DeepPartial<StripeWebhooksConfig>) => {
      // @ts-expect-error readonly
      c.processor.timeoutSeconds = 1;
      // @ts-expect-error readonly
      c.alarms.thresholds.dlqMessages = 1;
      // @ts-expect-error readonly array
      c.eventTypes.push('x');
      // @ts-expect-error readonly
      p.appName = 'x';
    };
    expect(typeof mutate).toBe('function');
  });
});
