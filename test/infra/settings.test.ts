/**
 * One place for a setting: a Lambda's env.ts schema owns the default and limits of its variables; the config, the
 * constructs and the local runtime take them from there, and the README's configuration table is checked against
 * the config's defaults.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The value at a dotted path of the default config. */
function defaultAt(path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], DEFAULT_CONFIG);
}

describe('the README configuration table', () => {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('### Configuration'), readme.indexOf('## Tests'));
  const rows = [...table.matchAll(/^\| `([^`]+)`((?: \/ `[^`]+`)*) \| ([^|]+) \|/gm)].map((m) => {
    const first = m[1]!;
    const more = [...(m[2] ?? '').matchAll(/`([^`]+)`/g)].map((k) => k[1]!);
    const parent = first.includes('.') ? `${first.slice(0, first.lastIndexOf('.'))}.` : '';
    return { keys: [first, ...more.map((k) => (k.includes('.') ? k : `${parent}${k}`))], defaults: m[3]!.trim() };
  });

  it('lists settings that exist', () => {
    expect(rows.length).toBeGreaterThan(25);
    for (const { keys } of rows) {
      for (const key of keys.filter((k) => !k.endsWith('*')))
        expect(defaultAt(key) !== undefined || key, key).toBeTruthy();
    }
  });

  it('gives each literal default the value the config has', () => {
    let checked = 0;
    for (const { keys, defaults } of rows) {
      const values = defaults.split(' / ').map((d) => d.trim());
      keys.forEach((key, i) => {
        const literal = /^`([^`]+)`$/.exec(values[i] ?? '')?.[1];
        if (literal === undefined) return; // prose ("none", "timeout + 60", "see lib/config/alarms.ts")
        const actual = defaultAt(key);
        expect(typeof actual === 'string' ? actual : JSON.stringify(actual), key).toBe(literal);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(25);
  });
});

describe('a default written once', () => {
  afterEach(() => {
    vi.doUnmock('../../lambdas/ingress/env');
    vi.resetModules();
  });

  it("takes ingress.maxBodyBytes's default and limits from the ingress env schema, everywhere", async () => {
    const { ingressEnv } = await import('../../lambdas/ingress/env');
    const { configSchema } = await import('../../lib/config');
    const spec = ingressEnv.MAX_BODY_BYTES;
    expect(DEFAULT_CONFIG.ingress.maxBodyBytes).toBe(spec.default);
    expect(configSchema.safeParse({ ingress: { maxBodyBytes: spec.max } }).success).toBe(true);
    expect(configSchema.safeParse({ ingress: { maxBodyBytes: spec.max + 1 } }).success).toBe(false);
    expect(configSchema.safeParse({ ingress: { maxBodyBytes: spec.min - 1 } }).success).toBe(false);
  });

  it("changes the config and the ingress Lambda's environment when only the schema line changes", async () => {
    vi.resetModules();
    vi.doMock('../../lambdas/ingress/env', async (importOriginal) => {
      const { ingressEnv } = await importOriginal<typeof import('../../lambdas/ingress/env')>();
      return { ingressEnv: { ...ingressEnv, MAX_BODY_BYTES: { ...ingressEnv.MAX_BODY_BYTES, default: 2_097_152 } } };
    });
    const { DEFAULT_CONFIG: changed } = await import('../../lib/config');
    expect(changed.ingress.maxBodyBytes).toBe(2_097_152);
    const { App, Stack } = await import('aws-cdk-lib');
    const { Template } = await import('aws-cdk-lib/assertions');
    const { StripeWebhooks } = await import('../../lib/stripe-webhooks');
    const { NO_BUNDLING } = await import('./helpers');
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'S', { env: { region: 'us-east-1' } });
    new StripeWebhooks(stack, 'Default', {});
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-ingress',
      Environment: { Variables: { MAX_BODY_BYTES: '2097152' } },
    });
  });

  it('is written nowhere else in the code: no other file repeats the value next to the setting', () => {
    const spellings = ['1_048_576', '1048576'];
    const offenders = ['lib', 'lambdas', 'local', 'bin']
      .flatMap((d) => sourceFiles(join(PROJECT_ROOT, d)))
      .filter((file) => !file.endsWith(join('lambdas', 'ingress', 'env.ts')))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => /maxBodyBytes|MAX_BODY_BYTES/.test(line) && spellings.some((s) => line.includes(s)))
          .map((line) => `${relative(PROJECT_ROOT, file)}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });
});
