/**
 * A Lambda's environment as a schema shared by both sides: the CDK construct types the `environment` it passes
 * from it (a missing variable is a compile error at synth), and the handler validates it once at start-up
 * (a missing or malformed variable fails the cold start with a message naming the variable, not a later
 * `undefined` deep in a request).
 *
 * Hand-written rather than zod/valibot: this runs in every cold start of the ingress path, and a schema library
 * would add tens of kilobytes to the bundle for five variables.
 */

type Spec =
  | { readonly kind: 'string'; readonly optional?: boolean; readonly default?: string; readonly doc: string }
  | {
      readonly kind: 'int';
      readonly optional?: boolean;
      readonly default?: number;
      readonly min?: number;
      readonly max?: number;
      readonly doc: string;
    }
  | { readonly kind: 'bool'; readonly optional?: boolean; readonly default?: boolean; readonly doc: string };

export type EnvSchema = Readonly<Record<string, Spec>>;

type ValueOf<S extends Spec> = S extends { kind: 'int' } ? number : S extends { kind: 'bool' } ? boolean : string;
type IsOptional<S extends Spec> = S extends { optional: true }
  ? S extends { default: unknown }
    ? false
    : true
  : false;

/** The parsed, typed environment of a schema. */
export type EnvOf<T extends EnvSchema> = {
  readonly [K in keyof T]: IsOptional<T[K]> extends true ? ValueOf<T[K]> | undefined : ValueOf<T[K]>;
};

/** What a construct must pass as `environment`: every variable without a default, as a string. */
export type EnvInput<T extends EnvSchema> = {
  [K in keyof T as T[K] extends { default: unknown } ? never : T[K] extends { optional: true } ? never : K]: string;
} & {
  [K in keyof T as T[K] extends { default: unknown } ? K : T[K] extends { optional: true } ? K : never]?: string;
};

export class EnvError extends Error {
  override name = 'EnvError';
}

export function defineEnv<const T extends EnvSchema>(schema: T): T {
  return schema;
}

/** Validates `source` (default `process.env`) against `schema`; throws an EnvError naming every bad variable. */
export function parseEnv<T extends EnvSchema>(
  schema: T,
  source: Readonly<Record<string, string | undefined>> = process.env,
): EnvOf<T> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    const raw = source[name];
    if (raw === undefined || raw === '') {
      if (spec.default !== undefined) out[name] = spec.default;
      else if (!spec.optional) problems.push(`${name} is required (${spec.doc})`);
      continue;
    }
    switch (spec.kind) {
      case 'string':
        out[name] = raw;
        break;
      case 'int': {
        const n = Number(raw);
        if (!Number.isInteger(n)) problems.push(`${name} must be an integer, got "${raw}"`);
        else if (n < (spec.min ?? Number.NEGATIVE_INFINITY)) problems.push(`${name} must be >= ${spec.min}, got ${n}`);
        else if (n > (spec.max ?? Number.POSITIVE_INFINITY)) problems.push(`${name} must be <= ${spec.max}, got ${n}`);
        else out[name] = n;
        break;
      }
      case 'bool':
        if (raw === 'true' || raw === '1') out[name] = true;
        else if (raw === 'false' || raw === '0') out[name] = false;
        else problems.push(`${name} must be true or false, got "${raw}"`);
        break;
    }
  }
  if (problems.length > 0) throw new EnvError(`Invalid environment: ${problems.join('; ')}`);
  return out as EnvOf<T>;
}

/**
 * Values that satisfy a schema without meaning anything (defaults, minimums, `placeholder-<NAME>` strings; optional
 * variables left unset), so a handler module can be imported outside Lambda: the bundle tests and the cold-start
 * benchmark use it.
 */
export function placeholderEnv(schema: EnvSchema): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.optional === true) continue;
    if (spec.kind === 'int') out[name] = String(spec.default ?? spec.min ?? 300);
    else if (spec.kind === 'bool') out[name] = String(spec.default ?? false);
    else out[name] = spec.default ?? `placeholder-${name}`;
  }
  return out;
}
