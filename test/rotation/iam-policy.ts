/**
 * Just enough of IAM's policy evaluation to ask a synthesized template "may this role make this request?": Allow
 * statements only (the app writes no Deny), actions and resources with `*`/`?` wildcards, and the condition
 * operators the app uses. An operator it does not know makes a statement not apply, so it can only under-grant.
 * CloudFormation's intrinsic functions in ARNs are resolved with the partition, account and region given.
 */

export interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function glob(pattern: string, value: string, ignoreCase = false): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'i' : '').test(value);
}

/** Resolves Ref of pseudo parameters and Fn::Join; anything else becomes an unmatchable marker. */
export function resolveArn(value: unknown, env: { partition: string; account: string; region: string }): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (typeof v?.Ref === 'string') {
    const pseudo: Record<string, string> = {
      'AWS::Partition': env.partition,
      'AWS::AccountId': env.account,
      'AWS::Region': env.region,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[v.Ref] ?? `<unresolved:${v.Ref}>`;
  }
  if (Array.isArray(v?.['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveArn(p, env)).join(sep);
  }
  return `<unresolved:${JSON.stringify(value)}>`;
}

function conditionHolds(operator: string, expected: unknown, actual: string | string[] | undefined): boolean {
  const wanted = list(expected as string | string[]).map(String);
  const got = list(actual);
  switch (operator) {
    case 'StringEquals':
    case 'ArnEquals':
      return got.length === 1 && wanted.includes(got[0]!);
    case 'StringLike':
    case 'ArnLike':
      return got.length === 1 && wanted.some((w) => glob(w, got[0]!));
    case 'ForAnyValue:StringEquals':
      return got.some((g) => wanted.includes(g));
    case 'ForAllValues:StringEquals':
      return got.every((g) => wanted.includes(g));
    default:
      return false;
  }
}

/** Whether the statements allow `action` on `resourceArn` with the request `context` (condition keys). */
export function allows(
  statements: readonly PolicyStatement[],
  action: string,
  resourceArn: string,
  context: Record<string, string | string[]>,
  env: { partition: string; account: string; region: string },
): boolean {
  return statements.some((st) => {
    if (st.Effect !== 'Allow') return false;
    if (!list(st.Action).some((a) => glob(a, action, true))) return false;
    if (!list(st.Resource as unknown).some((r) => glob(resolveArn(r, env), resourceArn))) return false;
    return Object.entries(st.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, expected]) => conditionHolds(operator, expected, context[key])),
    );
  });
}
