/** Runs the operator CLI as `npm run ops -- ...` would, against one running local pipeline, capturing its output. */
import type { RuntimeInfo } from '../../local/runtime-info';
import { runOps } from '../../ops/cli';

export async function runOpsAgainst(
  info: RuntimeInfo,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOps(
    argv,
    { out: (t) => out.push(t), err: (t) => err.push(t) },
    { findRunning: async () => info },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}
