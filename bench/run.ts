/**
 * `npm run bench`: performance and cost benchmarks (not part of `npm test`). Runs the five benches in order, prints
 * one table and writes bench/results.json with every figure and the machine it ran on.
 *
 *   1. ingress verification   bench/ingress.ts
 *   2. cold-start proxy        bench/cold-start.ts
 *   3. local throughput        bench/throughput.ts
 *   4. cost per million        bench/cost.ts (+ cost-model.ts, deployment.ts, prices.json)
 *   5. Stripe budget, latency  bench/budget.ts
 *
 * Options: `--quick` runs smaller samples (a smoke run; its figures are not for quoting, so they go to
 * bench/out/results-quick.json and the tracked bench/results.json is left as it is). `--cost` runs only what bench 4
 * needs (benches 1 and 3, then the cost of each configuration) and writes bench/out/results-cost.json: to check a
 * change of cost without the cold-start and budget benches.
 */
import { execFileSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { PROJECT_ROOT } from '../lib/constructs/node-function';
import { startStripeServer } from '../local/stripe-server';
import { isMain, runMain } from '../scripts/cli';
import { runBudgetBench } from './budget';
import { runColdStartBench } from './cold-start';
import { runCostBench } from './cost';
import { costRows } from './cost-report';
import { runIngressBench } from './ingress';
import { machine } from './lib/machine';
import { buildReport, formatTable, type Row, type Target } from './report';
import { runThroughputBench } from './throughput';

const STRIPE_LATENCY_MS = 20;
/**
 * Where a run's figures go: the recorded run is tracked (bench/results.json, quoted in docs/performance.md); a
 * `--quick` smoke run's figures are not for quoting and go to the git-ignored bench/out/.
 */
export function resultsFileFor(quick: boolean): string {
  return join(PROJECT_ROOT, quick ? 'bench/out/results-quick.json' : 'bench/results.json');
}

/** `--cost`: benches 1 and 3 (what the cost model reads), then bench 4, printed and written to bench/out/. */
async function costOnly(progress: (section: string) => (s: string) => void): Promise<void> {
  const host = machine();
  const ingress = await runIngressBench(progress('1 ingress'));
  const stripe = await startStripeServer({ latencyMs: STRIPE_LATENCY_MS });
  let throughput: Awaited<ReturnType<typeof runThroughputBench>>;
  try {
    throughput = await runThroughputBench(stripe, STRIPE_LATENCY_MS, progress('3 throughput'), 600);
  } finally {
    await stripe.close();
  }
  progress('4 cost')('synthesizing the templates and computing');
  const cost = runCostBench(ingress, throughput);
  const rows: Row[] = [];
  const targets: Target[] = [];
  costRows(cost, (r) => rows.push({ reference: '', ratio: '', target: '', ...r }), targets);
  const file = join(PROJECT_ROOT, 'bench/out/results-cost.json');
  mkdirSync(dirname(file), { recursive: true });
  const machineInfo = { ...host, loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))) };
  writeFileSync(
    file,
    `${JSON.stringify({ command: 'npm run bench -- --cost', machine: machineInfo, targets, cost }, null, 2)}\n`,
  );
  process.stdout.write(`\n${formatTable(rows)}\n\n`);
  process.stdout.write(
    `load ${host.loadAverageAtStart.join(' ')} -> ${machineInfo.loadAverageAtEnd.join(' ')}; results in ${relative(PROJECT_ROOT, file)}\n`,
  );
  for (const t of targets)
    process.stdout.write(`target ${t.met ? 'met    ' : 'NOT met'}  ${t.name} (${t.target}): ${t.value.toFixed(2)}\n`);
}

async function main(argv: string[]): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // The local poller's workers share one AbortSignal: at concurrency 16 Node warns about 16 listeners on it, which is
  // expected here and would only clutter the output.
  setMaxListeners(64);
  const quick = argv.includes('--quick');
  const started = Date.now();
  const host = machine();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  const progress = (section: string) => (s: string) => process.stderr.write(`[${elapsed()}] ${section}: ${s}\n`);

  process.stderr.write(
    `bench on ${host.cpuModel} x${host.cores}, Node ${host.node}, load ${host.loadAverageAtStart.join(' ')}\n`,
  );
  if (argv.includes('--cost')) return costOnly(progress);
  const ingress = await runIngressBench(progress('1 ingress'));
  const cold = await runColdStartBench(progress('2 cold start'), quick ? 9 : 11);
  const stripe = await startStripeServer({ latencyMs: STRIPE_LATENCY_MS });
  let throughput: Awaited<ReturnType<typeof runThroughputBench>>;
  try {
    throughput = await runThroughputBench(stripe, STRIPE_LATENCY_MS, progress('3 throughput'), quick ? 200 : 600);
  } finally {
    await stripe.close();
  }
  progress('4 cost')('synthesizing the template and computing');
  const cost = runCostBench(ingress, throughput);
  const budget = await runBudgetBench(progress('5 budget'), quick ? { events: 150, latencyEvents: 60 } : {});

  const { rows, targets } = buildReport(ingress, cold, throughput, cost, budget);
  const durationSeconds = (Date.now() - started) / 1000;
  const results = {
    command: quick ? 'npm run bench -- --quick' : 'npm run bench',
    date: new Date(started).toISOString(),
    durationSeconds,
    machine: { ...host, loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))) },
    notes: [
      'Local durations (fauxqs, dynalite, a local Stripe server, all in this one process) stand in for Lambda durations.',
      'Ratios are "times better for the project": reference/ours for times, sizes and dollars; ours/reference for rates.',
      `Prices: ${cost.prices.region}, ${cost.prices.date}. ${cost.prices.note}`,
    ],
    targets,
    table: rows,
    ingress,
    coldStart: cold,
    throughput,
    cost,
    budget,
  };
  // Four significant digits are plenty for measurements this noisy, and keep the file readable.
  const rounded = (_key: string, value: unknown) =>
    typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value;
  const resultsFile = resultsFileFor(quick);
  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(results, rounded, 2)}\n`);
  // Written in the repository's JSON style, so `npx biome check .` stays clean after a run.
  execFileSync(
    process.execPath,
    [join(PROJECT_ROOT, 'node_modules/@biomejs/biome/bin/biome'), 'format', '--write', resultsFile],
    {
      stdio: 'ignore',
    },
  );

  process.stdout.write(`\n${formatTable(rows)}\n\n`);
  process.stdout.write(
    `${host.cpuModel} x${host.cores}, Node ${host.node}, load ${host.loadAverageAtStart.join(' ')} -> ${results.machine.loadAverageAtEnd.join(' ')}; ` +
      `${durationSeconds.toFixed(0)} s; results in ${relative(PROJECT_ROOT, resultsFile)}\n`,
  );
  for (const t of targets)
    process.stdout.write(`target ${t.met ? 'met    ' : 'NOT met'}  ${t.name} (${t.target}): ${t.value.toFixed(2)}\n`);
}

if (isMain(import.meta.url)) runMain(main);
