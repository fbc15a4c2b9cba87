/** The environment the benches give the fresh Node processes they start. */

/** The parent's environment minus AWS and CDK settings, plus what a Lambda sets that the code reads at import. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !e[0].startsWith('AWS_') && !e[0].startsWith('CDK_') && e[0] !== 'NODE_OPTIONS',
    ),
  );
  return {
    ...base,
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}
