/**
 * The one table `npm run bench` prints: every figure next to its reference measured in the same run, with the ratio
 * (always "how many times better the project's figure is": reference/ours for times, sizes and dollars,
 * ours/reference for rates), and the target where the brief sets one.
 */
import type { BudgetResults } from './budget';
import type { ColdStartResults, ImportTiming } from './cold-start';
import type { CostResults } from './cost';
import { costRows } from './cost-report';
import type { IngressResults } from './ingress';
import { median } from './lib/stats';
import type { ThroughputResults } from './throughput';

export interface Row {
  readonly section: string;
  readonly measure: string;
  readonly ours: string;
  readonly reference: string;
  /** reference/ours or ours/reference, so that > 1 always means the project does better; '' when not comparable. */
  readonly ratio: string;
  readonly target: string;
}

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly value: number;
  readonly met: boolean;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
const perS = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;
const x = (v: number) => `${v.toFixed(2)}x`;
const higherBetter = (ours: number, ref: number) => x(ours / ref);
const lowerBetter = (ours: number, ref: number) => (ours === 0 ? 'n/a' : x(ref / ours));

/**
 * The median of the per-round ratios reference/ours: the two imports of a round ran one right after the other, so
 * this ratio is less sensitive than the ratio of medians to load that comes and goes on a shared machine.
 */
export function pairedRatio(reference: ImportTiming, ours: ImportTiming): number {
  return median(reference.runsMs.map((r, i) => r / ours.runsMs[i]!));
}

/** The table rows and the brief's targets, from the four benches' results. */
export function buildReport(
  ingress: IngressResults,
  cold: ColdStartResults,
  throughput: ThroughputResults,
  cost: CostResults,
  budget?: BudgetResults,
): { rows: Row[]; targets: Target[] } {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const row = (r: Partial<Row> & Pick<Row, 'section' | 'measure' | 'ours'>) =>
    rows.push({ reference: '', ratio: '', target: '', ...r });

  // 1. Ingress.
  for (const s of ingress.signature) {
    const size = kb(s.bodyBytes);
    row({
      section: '1 ingress',
      measure: `signature checks per CPU-second, ${size} body: verifyStripeSignature vs constructEvent`,
      ours: perS(s.verifyPerSecond),
      reference: perS(s.constructEventPerSecond),
      ratio: higherBetter(s.verifyPerSecond, s.constructEventPerSecond),
    });
    row({
      section: '1 ingress',
      measure: `  same work (verify + JSON.parse) vs constructEvent, ${size}`,
      ours: perS(s.verifyAndParsePerSecond),
      reference: perS(s.constructEventPerSecond),
      ratio: higherBetter(s.verifyAndParsePerSecond, s.constructEventPerSecond),
    });
  }
  for (const h of ingress.handler) {
    row({
      section: '1 ingress',
      measure: `ingress requests per CPU-second, ${kb(h.bodyBytes)}, SQS+SM stubbed at the wire: ours vs naive`,
      ours: perS(h.oursPerSecond),
      reference: perS(h.naivePerSecond),
      ratio: higherBetter(h.oursPerSecond, h.naivePerSecond),
    });
  }
  const seq = ingress.sequentialAgainstLocalSqs;
  row({
    section: '1 ingress',
    measure: 'ingress request vs fauxqs, one at a time (median): ours vs naive',
    ours: ms(seq.ours.medianMs),
    reference: ms(seq.naive.medianMs),
    ratio: lowerBetter(seq.ours.medianMs, seq.naive.medianMs),
  });

  // 2. Cold start.
  const ing = cold.ingress;
  row({
    section: '2 cold start',
    measure: 'ingress code size: bundle (gzip) vs naive node_modules on disk',
    ours: `${kb(ing.bundle.bytes)} (${kb(ing.bundle.gzipBytes)})`,
    reference: mb(ing.naive.nodeModulesBytes),
    ratio: lowerBetter(ing.bundle.bytes, ing.naive.nodeModulesBytes),
  });
  const importRatio = ing.naive.import.medianMs / ing.bundleImport.medianMs;
  const paired = pairedRatio(ing.naive.import, ing.bundleImport);
  row({
    section: '2 cold start',
    measure: `ingress import, fresh process, median of ${cold.runsPerVariant}: bundle vs naive twin`,
    ours: ms(ing.bundleImport.medianMs),
    reference: ms(ing.naive.import.medianMs),
    ratio: x(importRatio),
    target: `>= 3x: ${importRatio >= 3 ? 'met' : 'NOT met'} (run by run: median ${x(paired)})`,
  });
  const cpuRatio = ing.naive.import.medianCpuMs / ing.bundleImport.medianCpuMs;
  row({
    section: '2 cold start',
    measure: '  the same imports in CPU time (steadier under load)',
    ours: ms(ing.bundleImport.medianCpuMs),
    reference: ms(ing.naive.import.medianCpuMs),
    ratio: x(cpuRatio),
    target: `>= 3x: ${cpuRatio >= 3 ? 'met' : 'NOT met'}`,
  });
  targets.push({
    name: 'ingress bundle import uses >= 3x less CPU than its naive twin',
    target: '>= 3',
    value: cpuRatio,
    met: cpuRatio >= 3,
  });
  targets.push({
    name: 'ingress bundle imports >= 3x faster than its naive twin',
    target: '>= 3',
    value: importRatio,
    met: importRatio >= 3,
  });
  row({
    section: '2 cold start',
    measure: '  ingress: bundle vs our handler unbundled (node_modules)',
    ours: ms(ing.bundleImport.medianMs),
    reference: ms(ing.unbundledImport.medianMs),
    ratio: lowerBetter(ing.bundleImport.medianMs, ing.unbundledImport.medianMs),
  });
  row({
    section: '2 cold start',
    measure: '  ingress bundle without --enable-source-maps (what the maps cost)',
    ours: `${ms(ing.bundleImportNoSourceMaps.medianMs)} (CPU ${ms(ing.bundleImportNoSourceMaps.medianCpuMs)})`,
    reference: `${ms(ing.bundleImport.medianMs)} (CPU ${ms(ing.bundleImport.medianCpuMs)})`,
  });
  const cp = cold.coldPath;
  const cpOurs = cp.ingress.median;
  const cpNaive = cp.naiveIngress.median;
  const load = `load ${cp.loadAverage.atStart[0]} -> ${cp.loadAverage.atEnd[0]}`;
  row({
    section: '2 cold start',
    measure: `ingress cold path (import + first request: secret, verify, SendMessage), CPU, median of ${cp.runsPerVariant}`,
    ours: ms(cpOurs.totalCpuMs),
    reference: ms(cpNaive.totalCpuMs),
    ratio: x(cp.ratio.cpu),
    target: `<= 45 ms: ${cpOurs.totalCpuMs <= 45 ? 'met' : 'NOT met'}; >= 5x: ${cp.ratio.cpu >= 5 ? 'met' : 'NOT met'}`,
  });
  row({
    section: '2 cold start',
    measure: '  the same cold paths in wall time',
    ours: ms(cpOurs.totalMs),
    reference: ms(cpNaive.totalMs),
    ratio: x(cp.ratio.wall),
    target: load,
  });
  row({
    section: '2 cold start',
    measure: '  of which import / first request, CPU',
    ours: `${ms(cpOurs.importCpuMs)} / ${ms(cpOurs.requestCpuMs)}`,
    reference: `${ms(cpNaive.importCpuMs)} / ${ms(cpNaive.requestCpuMs)}`,
  });
  targets.push({
    name: 'ingress cold path (import + first request) CPU ms',
    target: '<= 45',
    value: cpOurs.totalCpuMs,
    met: cpOurs.totalCpuMs <= 45,
  });
  targets.push({
    name: 'ingress cold path uses >= 5x less CPU than the naive twin',
    target: '>= 5',
    value: cp.ratio.cpu,
    met: cp.ratio.cpu >= 5,
  });
  const probe = (id: string): ImportTiming | undefined => cold.probes.find((p) => p.id === id);
  for (const id of [
    'empty module',
    'Node built-ins the ingress bundle imports',
    '@aws-sdk/client-sqs (bundled)',
    '@aws-sdk/client-sqs (node_modules)',
    'Powertools logger+metrics (bundled)',
    '@middy/core (bundled)',
    '@aws-sdk/client-dynamodb (bundled)',
    "the processor's four AWS SDK clients (bundled)",
  ]) {
    const p = probe(id);
    if (p)
      row({ section: '2 cold start', measure: `  alone: ${id}`, ours: `${ms(p.medianMs)} (CPU ${ms(p.medianCpuMs)})` });
  }
  const stripeProbe = probe('stripe (node_modules)');
  if (stripeProbe) {
    row({
      section: '2 cold start',
      measure: '  alone: stripe (node_modules), in the naive twin only',
      ours: '',
      reference: `${ms(stripeProbe.medianMs)} (CPU ${ms(stripeProbe.medianCpuMs)})`,
    });
  }
  const proc = cold.processor;
  row({
    section: '2 cold start',
    measure: 'processor code size: bundle (gzip) vs node_modules on disk',
    ours: `${kb(proc.bundle.bytes)} (${kb(proc.bundle.gzipBytes)})`,
    reference: mb(proc.unbundled.nodeModulesBytes),
    ratio: lowerBetter(proc.bundle.bytes, proc.unbundled.nodeModulesBytes),
  });
  row({
    section: '2 cold start',
    measure: `processor import, median of ${cold.runsPerVariant}: bundle vs unbundled`,
    ours: ms(proc.bundleImport.medianMs),
    reference: ms(proc.unbundledImport.medianMs),
    ratio: lowerBetter(proc.bundleImport.medianMs, proc.unbundledImport.medianMs),
  });
  row({
    section: '2 cold start',
    measure: '  the same imports in CPU time',
    ours: ms(proc.bundleImport.medianCpuMs),
    reference: ms(proc.unbundledImport.medianCpuMs),
    ratio: lowerBetter(proc.bundleImport.medianCpuMs, proc.unbundledImport.medianCpuMs),
    target: `<= 60 ms: ${proc.bundleImport.medianCpuMs <= 60 ? 'met' : 'NOT met'}`,
  });
  targets.push({
    name: 'processor bundle import CPU ms',
    target: '<= 60',
    value: proc.bundleImport.medianCpuMs,
    met: proc.bundleImport.medianCpuMs <= 60,
  });
  const pcp = cold.processorColdPath;
  row({
    section: '2 cold start',
    measure: `processor cold path (import + first batch of 1: key, claim, fetch, handler, publish), median of ${pcp.runsPerVariant}`,
    ours: `${ms(pcp.processor.median.totalMs)} (CPU ${ms(pcp.processor.median.totalCpuMs)})`,
    target: `import / first batch CPU ${ms(pcp.processor.median.importCpuMs)} / ${ms(pcp.processor.median.requestCpuMs)}; load ${pcp.loadAverage.atStart[0]}`,
  });

  // 3. Throughput.
  const runs = throughput.runs;
  const find = (label: string) => runs.find((r) => r.label === label);
  for (const r of runs.filter((r) => r.label.startsWith('concurrency'))) {
    row({
      section: '3 throughput',
      measure: `unique events/s, ${r.uniqueEvents} webhooks, Stripe ${throughput.stripeLatencyMs} ms, processor ${r.label}`,
      ours: perS(r.eventsPerSecond),
      target: `${r.recordsPerInvocation.toFixed(1)} rec/inv, ${r.cpuMsPerEvent.toFixed(1)} CPU ms/event, ${r.failedRecords} failed`,
    });
  }
  const naiveRun = find('naive: batch size 1');
  const c4 = find('concurrency 4');
  if (naiveRun && c4) {
    row({
      section: '3 throughput',
      measure: 'processor time per invocation (mean): batch 10 vs batch 1, concurrency 4',
      ours: ms(c4.invocationMs.meanMs),
      reference: ms(naiveRun.invocationMs.meanMs),
      target: `per event: ${ms(c4.invocationMs.meanMs / c4.recordsPerInvocation)} vs ${ms(naiveRun.invocationMs.meanMs)}`,
    });
  }
  if (c4) {
    const v = c4.stripeCallsPerEvent;
    row({
      section: '3 throughput',
      measure: `Stripe calls per unique event, distinct objects (${c4.uniqueEvents} events)`,
      ours: v.toFixed(2),
      target: `exactly 1.0: ${v === 1 ? 'met' : 'NOT met'}`,
    });
    targets.push({ name: 'Stripe calls per event, distinct objects', target: '= 1.0', value: v, met: v === 1 });
  }
  const backlog = find('backlog burst');
  if (backlog) {
    const v = backlog.stripeCallsPerEvent;
    row({
      section: '3 throughput',
      measure: `Stripe calls per unique event, backlog: ${backlog.objects} objects x ${backlog.uniqueEvents / backlog.objects} events, created 30 s earlier`,
      ours: v.toFixed(2),
      reference: '1.00',
      ratio: lowerBetter(v, 1),
      target: `< 1.0: ${v < 1 ? 'met' : 'NOT met'}`,
    });
    targets.push({
      name: 'Stripe calls per event, backlog burst on shared objects',
      target: '< 1.0',
      value: v,
      met: v < 1,
    });
  }
  const live = find('live burst');
  if (live) {
    row({
      section: '3 throughput',
      measure: `Stripe calls per unique event, same shape arriving live (created now)`,
      ours: live.stripeCallsPerEvent.toFixed(2),
      reference: '1.00',
      ratio: lowerBetter(live.stripeCallsPerEvent, 1),
    });
  }

  // 4. Cost.
  costRows(cost, row, targets);
  if (budget) budgetRows(budget, row, targets);
  return { rows, targets };
}

/** The rows as an aligned plain-text table (also valid inside a Markdown code block). */
export function formatTable(rows: readonly Row[]): string {
  const header: Row = {
    section: 'Bench',
    measure: 'Measure',
    ours: 'This project',
    reference: 'Reference',
    ratio: 'Ratio',
    target: 'Target / note',
  };
  const all = [header, ...rows];
  const keys = ['section', 'measure', 'ours', 'reference', 'ratio', 'target'] as const;
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: Row) =>
    keys
      .map((k, i) =>
        k === 'ours' || k === 'reference' || k === 'ratio' ? r[k].padStart(widths[i]!) : r[k].padEnd(widths[i]!),
      )
      .join(' | ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Bench 5: the Stripe request budget against a hard limit, and the latency at half the budget. */
function budgetRows(
  b: BudgetResults,
  row: (r: Partial<Row> & Pick<Row, 'section' | 'measure' | 'ours'>) => void,
  targets: Target[],
): void {
  const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
  const load = `load ${b.loadAverage.atStart[0]} -> ${b.loadAverage.atEnd[0]}`;
  for (const run of [b.distinct, b.shared]) {
    const paced = run === b.distinct;
    row({
      section: '5 budget',
      measure: `Stripe budget ${b.budgetPerSecond}/s used, ${run.label} backlog (${run.events} events), Stripe limit ${b.limitPerSecond}/s`,
      ours: pct(run.budgetUsed),
      target: `${paced ? `>= 90%: ${run.budgetUsed >= 0.9 ? 'met' : 'NOT met'}` : 'Stripe not the bottleneck'}; ${b.concurrency} containers, ${load}`,
    });
    row({
      section: '5 budget',
      measure: `  429s from Stripe; most requests in one second`,
      ours: `${run.rateLimited}; ${run.maxInOneSecond}`,
      target: `0 429s: ${run.rateLimited === 0 ? 'met' : 'NOT met'}`,
    });
    row({
      section: '5 budget',
      measure: `  Stripe calls per event (${run.objects} objects)`,
      ours: run.callsPerEvent.toFixed(2),
    });
    if (paced) {
      targets.push({
        name: `Stripe budget used, ${run.label} backlog`,
        target: '>= 0.9',
        value: run.budgetUsed,
        met: run.budgetUsed >= 0.9,
      });
    }
    targets.push({
      name: `Stripe 429s, ${run.label} backlog`,
      target: '0',
      value: run.rateLimited,
      met: run.rateLimited === 0,
    });
  }
  targets.push({
    name: 'Stripe calls per event, distinct objects',
    target: '1.00',
    value: b.distinct.callsPerEvent,
    met: Math.abs(b.distinct.callsPerEvent - 1) < 0.005,
  });
  targets.push({
    name: 'Stripe calls per event, backlog on shared objects',
    target: '< 1.0',
    value: b.shared.callsPerEvent,
    met: b.shared.callsPerEvent < 1,
  });
  const l = b.latency;
  row({
    section: '6 latency',
    measure: `webhook 2xx to handler start, ${l.events} webhooks at ${l.ratePerSecond}/s (half the budget): p50 / p95 / p99`,
    ours: `${ms(l.p50Ms)} / ${ms(l.p95Ms)} / ${ms(l.p99Ms)}`,
    target: `max ${ms(l.maxMs)}, ${l.rateLimited} 429s`,
  });
}
