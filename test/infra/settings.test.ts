/**
 * One place for a setting: a Lambda's env.ts schema owns the default and limits of its variables; the config, the
 * constructs and the local runtime take them from there, and the README's configuration table is checked against
 * the config's defaults.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The dotted path of every setting (leaf) of a config object. */
function leaves(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix.slice(0, -1)];
  const entries = Object.entries(value);
  // A record setting such as failover.certificateArns (default {}) is one setting, not a section.
  if (entries.length === 0) return [prefix.slice(0, -1)];
  return entries.flatMap(([k, v]) => leaves(v, `${prefix}${k}.`));
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

  it('lists every setting of the config (a `section.*` row covers a whole section)', () => {
    const listed = rows.flatMap((r) => r.keys);
    const covered = (path: string) =>
      listed.some(
        (k) => k === path || k.startsWith(`${path}.`) || (k.endsWith('.*') && path.startsWith(k.slice(0, -1))),
      );
    // Settings whose default is "none" are absent from DEFAULT_CONFIG: take them from the schema's shape.
    const optional = ['account', 'stripeApiVersion', 'failover.domainName', 'eventBridge.partnerEventSourceName'];
    const missing = [...leaves(DEFAULT_CONFIG), ...optional].filter((path) => !covered(path));
    expect(missing).toEqual([]);
  });

  it('states a derived default as the rule the config applies (`setting` + N)', () => {
    let checked = 0;
    for (const { keys, defaults } of rows) {
      const rule = /^`([\w.]+)` \+ (\d+)$/.exec(defaults);
      if (rule === null) continue;
      const [key, base, plus] = [keys[0]!, rule[1]!, Number(rule[2])];
      expect(defaultAt(key), key).toBe((defaultAt(base) as number) + plus);
      const [section, field] = base.split('.') as [string, string];
      const changed = parseConfig({ [section]: { [field]: 200 } });
      expect(
        key.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], changed),
        key,
      ).toBe(200 + plus);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
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
    vi.doUnmock('../../lambdas/processor/env');
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
    // The lease's one rule (lambdas/processor/env.ts), changed in its one place.
    vi.doMock('../../lambdas/processor/env', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../lambdas/processor/env')>()),
      leaseSecondsFor: (timeoutSeconds: number) => timeoutSeconds + 1000,
    }));
    const { DEFAULT_CONFIG: changed } = await import('../../lib/config');
    expect(changed.ingress.maxBodyBytes).toBe(2_097_152);
    expect(changed.idempotency.leaseSeconds).toBe(changed.processor.timeoutSeconds + 1000);
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
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-processor',
      Environment: { Variables: { LEASE_SECONDS: String(changed.processor.timeoutSeconds + 1000) } },
    });
  });

  it('leaves no construct or local runtime falling back to a literal of its own for a config setting', () => {
    /** Literal fallbacks that are no config setting: AWS's own defaults and construct- or runtime-only knobs. */
    const notConfigSettings = [
      'fn.timeout ?? Duration.seconds(3)', // Lambda's own default timeout, for a function given none
      'spec.evaluationPeriods ?? 1', // an alarm's own shape (lib/constructs/runbook-alarm.ts)
      'props.timeout ?? Duration.minutes(5)', // the reconciler's timeout: not configurable
      'props.memorySize ?? 256', // the reconciler's and NodeFunction's memory: not configurable
      'props.timeout ?? Duration.seconds(10)', // NodeFunction's own default
      'opts.timeoutSeconds ?? 10', // the local processor's timeout, short so a local crash heals fast
      'opts.concurrency ?? 4', // local containers at once
      'opts.port ?? 3000', // the local HTTP port
    ];
    const files = [
      ...sourceFiles(join(PROJECT_ROOT, 'lib', 'constructs')),
      join(PROJECT_ROOT, 'lib', 'stripe-webhooks.ts'),
      join(PROJECT_ROOT, 'local', 'pipeline.ts'),
    ];
    const offenders = files.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/[\w.]+ \?\? (?:-?\d[\d_]*\b|Duration\.\w+\(\d[\d_]*\)|\{ rateLimit)/g)]
        .map((m) => m[0])
        .filter((fallback) => !notConfigSettings.includes(fallback))
        .map((fallback) => `${relative(PROJECT_ROOT, file)}: ${fallback}`),
    );
    expect(offenders).toEqual([]);
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
