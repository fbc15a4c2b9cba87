/**
 * Bench 2b, the ingress cold path: what Stripe waits for when its webhook lands on a new Lambda container. In a
 * fresh Node process per run: import the deployed bundle, then handle one signed webhook in full: read the signing
 * secret from Secrets Manager, verify the signature, SendMessage to the FIFO queue, answer 200. Secrets Manager and
 * SQS are local HTTP stand-ins speaking the services' JSON protocols and checking every SigV4 signature
 * (local/secrets-manager.ts, bench/lib/sqs-stub.ts), so both the SDK and the aws4 client do all their real work.
 *
 * The naive twin (bench/naive/ingress-handler.ts: stripe + the AWS SDK from node_modules) handles the same webhook
 * against the same stand-ins, run by run in turn with ours. Figures are medians of CPU time (what the function's own
 * CPU share pays on Lambda, steadier on a shared machine) and of wall time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { BUNDLING, lambdaEntry, PROJECT_ROOT } from '../lib/constructs/node-function';
import { startSecretsManagerStub } from '../local/secrets-manager';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/stand-ins';
import { isMain, runMain } from '../scripts/cli';
import { buildDeployedBundle, buildNaive } from './bundles';
import { childEnv } from './lib/child-env';
import { startSqsStub } from './lib/sqs-stub';
import { median } from './lib/stats';
import { paymentSucceededEvent, webhookRequest } from './lib/stripe-events';

const run = promisify(execFile);
const CHILD = join(PROJECT_ROOT, 'bench/lib/cold-path-child.mjs');
const SECRET_ID = 'bench/webhook-signing';
const SIGNING_SECRET = 'whsec_bench_cold_path';
/** The Node flags the deployed ingress runs with: none (`sourceMapsAtRuntime: false` in lib/constructs/ingress.ts). */
export const INGRESS_NODE_OPTIONS: readonly string[] = [];

/** One cold path in one fresh process. */
export interface ColdPathRun {
  readonly importMs: number;
  readonly importCpuMs: number;
  readonly requestMs: number;
  readonly requestCpuMs: number;
}

/** A variant's runs and their medians (total = import + first request, per run, then the median). */
export interface ColdPathTiming {
  readonly id: string;
  readonly runs: ColdPathRun[];
  readonly median: ColdPathRun & { readonly totalMs: number; readonly totalCpuMs: number };
}

export interface ColdPathResults {
  readonly runsPerVariant: number;
  readonly ingress: ColdPathTiming;
  readonly naiveIngress: ColdPathTiming;
  /** naive / ours, by the medians of the totals. */
  readonly ratio: { readonly cpu: number; readonly wall: number };
  readonly loadAverage: { readonly atStart: number[]; readonly atEnd: number[] };
}

/** A module to run cold: the file Lambda imports, and the Node flags it runs with. */
export interface ColdPathVariant {
  readonly id: string;
  readonly file: string;
  readonly nodeOptions: readonly string[];
}

/** The environment of a cold-path child: childEnv with the local stand-ins' credentials, plus `extra`. */
export function coldPathEnv(extra: Record<string, string>): Record<string, string> {
  return childEnv({
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    ...extra,
  });
}

/** Imports `variant` in a fresh process and runs its handler once on `event`: the timings and the answer. */
export async function runColdPathChild(
  variant: ColdPathVariant,
  env: Record<string, string>,
  event: unknown,
): Promise<{ run: ColdPathRun; answer: unknown; stdout: string }> {
  const { stdout } = await run(process.execPath, [...variant.nodeOptions, CHILD, pathToFileURL(variant.file).href], {
    env: { ...env, COLD_PATH_EVENT: JSON.stringify(event) },
    timeout: 60_000,
    cwd: PROJECT_ROOT,
  });
  const out = JSON.parse(stdout.trim().split('\n').pop() ?? '') as ColdPathRun & { answer?: unknown };
  return {
    run: {
      importMs: out.importMs,
      importCpuMs: out.importCpuMs,
      requestMs: out.requestMs,
      requestCpuMs: out.requestCpuMs,
    },
    answer: out.answer,
    stdout,
  };
}

export function summarise(id: string, runs: ColdPathRun[]): ColdPathTiming {
  const m = (f: (r: ColdPathRun) => number) => median(runs.map(f));
  return {
    id,
    runs,
    median: {
      importMs: m((r) => r.importMs),
      importCpuMs: m((r) => r.importCpuMs),
      requestMs: m((r) => r.requestMs),
      requestCpuMs: m((r) => r.requestCpuMs),
      totalMs: m((r) => r.importMs + r.requestMs),
      totalCpuMs: m((r) => r.importCpuMs + r.requestCpuMs),
    },
  };
}

/** A webhook signed now, with a unique event id (the FIFO queue would drop a repeat). */
function signedWebhookNow(n: number) {
  const body = JSON.stringify(paymentSucceededEvent(`evt_cold_${n}_${Date.now()}`, `pi_cold_${n}`));
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', SIGNING_SECRET).update(`${t}.${body}`).digest('hex');
  return webhookRequest(body, `t=${t},v1=${v1}`);
}

/**
 * Runs the ingress cold path `runs` times for each variant, alternating, and checks every run answered 200 and put
 * its event on the queue (a run that fails stops the bench: a fast failure is not a figure).
 */
export async function runColdPathBench(
  ours: ColdPathVariant,
  naive: ColdPathVariant,
  runs: number,
  progress: (s: string) => void,
): Promise<ColdPathResults> {
  const atStart = loadavg().map((l) => Number(l.toFixed(2)));
  const sm = await startSecretsManagerStub();
  const sqs = await startSqsStub();
  sm.setSecret(SECRET_ID, SIGNING_SECRET);
  const env = coldPathEnv({
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    QUEUE_URL: sqs.queueUrl,
    WEBHOOK_SECRET_ID: SECRET_ID,
  });
  let n = 0;
  const once = async (variant: ColdPathVariant): Promise<ColdPathRun> => {
    n += 1;
    const sentBefore = sqs.messages.length;
    const { run: timing, answer, stdout } = await runColdPathChild(variant, env, signedWebhookNow(n));
    if ((answer as { statusCode?: number } | undefined)?.statusCode !== 200 || sqs.messages.length !== sentBefore + 1) {
      throw new Error(
        `${variant.id}: the cold path did not enqueue its webhook (answer ${JSON.stringify(answer)}, ` +
          `${sqs.messages.length - sentBefore} messages, ${sqs.badSignatures} bad signatures)\n${stdout}`,
      );
    }
    return timing;
  };
  const samples = { ours: [] as ColdPathRun[], naive: [] as ColdPathRun[] };
  try {
    await once(ours); // unmeasured: disk cache
    await once(naive);
    for (let r = 0; r < runs; r++) {
      progress(`cold paths in fresh processes, round ${r + 1}/${runs}`);
      samples.ours.push(await once(ours));
      samples.naive.push(await once(naive));
    }
  } finally {
    await sm.close();
    await sqs.close();
  }
  const ingress = summarise(ours.id, samples.ours);
  const naiveIngress = summarise(naive.id, samples.naive);
  return {
    runsPerVariant: runs,
    ingress,
    naiveIngress,
    ratio: {
      cpu: naiveIngress.median.totalCpuMs / ingress.median.totalCpuMs,
      wall: naiveIngress.median.totalMs / ingress.median.totalMs,
    },
    loadAverage: { atStart, atEnd: loadavg().map((l) => Number(l.toFixed(2))) },
  };
}

/**
 * `npx tsx bench/cold-path.ts [runs] [--ref <git ref>]`: this bench alone (builds the two ingress variants first).
 * `--ref` measures the ingress as it was at that commit (its lambdas/ extracted under bench/out), e.g. to record
 * the figure before a change.
 */
async function main(argv: string[]): Promise<void> {
  const refAt = argv.indexOf('--ref');
  const ref = refAt >= 0 ? argv[refAt + 1] : undefined;
  const runs = Number(argv.find((a, i) => /^\d+$/.test(a) && argv[i - 1] !== '--ref') ?? 11);
  const out = join(PROJECT_ROOT, 'bench/out/cold-path');
  let entry = lambdaEntry('lambdas/ingress/handler.ts');
  if (ref) {
    const tree = join(out, 'at-ref');
    rmSync(tree, { recursive: true, force: true });
    mkdirSync(tree, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${JSON.stringify(ref)} lambdas | tar -x -C ${JSON.stringify(tree)}`], {
      cwd: PROJECT_ROOT,
    });
    entry = join(tree, 'lambdas/ingress/handler.ts');
  }
  const ours = await buildDeployedBundle(BUNDLING, entry, join(out, 'ingress'));
  const naive = await buildNaive(join(PROJECT_ROOT, 'bench/naive/ingress-handler.ts'), join(out, 'naive'));
  const results = await runColdPathBench(
    { id: ref ? `ingress bundle at ${ref}` : 'ingress bundle', file: ours.file, nodeOptions: INGRESS_NODE_OPTIONS },
    { id: 'naive ingress', file: naive.file, nodeOptions: [] },
    runs,
    (s) => process.stderr.write(`${s}\n`),
  );
  const { runs: _o, ...oursMedian } = results.ingress;
  const { runs: _n, ...naiveMedian } = results.naiveIngress;
  process.stdout.write(
    `${JSON.stringify({ ours: oursMedian, naive: naiveMedian, ratio: results.ratio, load: results.loadAverage }, null, 1)}\n`,
  );
}

if (isMain(import.meta.url)) runMain(main);
