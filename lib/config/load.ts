/**
 * Reading and validating the configuration. Sources, later ones winning (objects are merged key by key, arrays and
 * values are replaced):
 * 1. the schema's defaults (`DEFAULT_CONFIG`),
 * 2. the cdk.json context key `stripeWebhooks` (an object, or the same object as a JSON string from `-c`),
 * 3. the JSON file named by the context key `configFile` (`npx cdk synth -c configFile=config/prod.json`).
 *
 * Unknown keys are rejected, so a typo (`maxConcurency`) fails the synth instead of silently keeping a default.
 * Every error names the field and the value it was given.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Construct } from 'constructs';
import { configSchema, type StripeWebhooksConfig } from './schema';

/** An invalid configuration; the message lists every bad field with the value it was given. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The context key holding the configuration object in cdk.json. */
export const CONFIG_CONTEXT_KEY = 'stripeWebhooks';
/** The context key naming a JSON configuration file. */
export const CONFIG_FILE_CONTEXT_KEY = 'configFile';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges `override` over `base`: objects key by key, everything else (arrays included) replaced. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = mergeConfig(base[key], value);
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value as Json) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Validates a (partial) configuration and fills in the defaults. Throws a ConfigError naming every bad field and
 * the value it was given; `sources` says where the input came from, for the message.
 */
export function parseConfig(input: unknown, sources: readonly string[] = ['input']): StripeWebhooksConfig {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const prefix = issue.path.length > 0 ? `${field}.` : '';
      return `  - ${issue.keys.map((k) => `${prefix}${k}`).join(', ')}: unknown setting (check the spelling)`;
    }
    return `  - ${field}: ${issue.message}; got ${show(valueAt(input, issue.path))}`;
  });
  throw new ConfigError(
    `Invalid ${CONFIG_CONTEXT_KEY} configuration (from ${sources.join(' + ')}):\n${lines.join('\n')}`,
  );
}

function readContextObject(scope: Construct): unknown {
  const raw: unknown = scope.node.tryGetContext(CONFIG_CONTEXT_KEY);
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') {
    // `-c stripeWebhooks='{"appName":"x"}'` arrives as a string.
    try {
      return JSON.parse(raw);
    } catch {
      throw new ConfigError(`Context "${CONFIG_CONTEXT_KEY}" must be a JSON object; got ${show(raw)}`);
    }
  }
  if (!isPlainObject(raw)) throw new ConfigError(`Context "${CONFIG_CONTEXT_KEY}" must be an object; got ${show(raw)}`);
  return raw;
}

function readConfigFile(file: string): unknown {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`Config file ${file} must hold a JSON object; got ${show(parsed)}`);
  return parsed;
}

/**
 * Loads the configuration of an app: defaults, then the context key `stripeWebhooks`, then the JSON file named by
 * the context key `configFile` (relative to the working directory). Throws a ConfigError when it is invalid.
 */
export function loadConfig(scope: Construct): StripeWebhooksConfig {
  const sources: string[] = ['defaults'];
  let input: unknown = {};
  const fromContext = readContextObject(scope);
  if (fromContext !== undefined) {
    input = mergeConfig(input, fromContext);
    sources.push(`context "${CONFIG_CONTEXT_KEY}"`);
  }
  const file: unknown = scope.node.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') {
      throw new ConfigError(`Context "${CONFIG_FILE_CONTEXT_KEY}" must be a file path; got ${show(file)}`);
    }
    input = mergeConfig(input, readConfigFile(file));
    sources.push(file);
  }
  return parseConfig(input, sources);
}
