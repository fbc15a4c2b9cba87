/**
 * Bench 4's rows in the table `npm run bench` prints (bench/report.ts): per configuration (the default, then the lean
 * one), every cost line against the naive configuration, the totals with X-Ray as deployed against the brief's
 * targets, and the per-event figures the brief budgets (DynamoDB write units, log bytes).
 */
import type { ConfigCost, CostResults } from './cost';
import { logBytesPerEvent } from './cost-model';
import type { Row, Target } from './report';

type AddRow = (r: Partial<Row> & Pick<Row, 'section' | 'measure' | 'ours'>) => void;

/**
 * Log bytes a processed event may cost in the default configuration (ingress + processor + access log + Lambda's
 * platform lines): 640 B is $0.30 per million at $0.50/GB, what the $4.50 target leaves the logs once the lines the
 * configuration fixes (API, SQS, DynamoDB, EventBridge, Lambda requests) are paid.
 */
export const LOG_BYTES_PER_EVENT_BUDGET = 640;

const usd = (v: number) => `$${v < 0.1 ? v.toFixed(3) : v.toFixed(2)}`;
const ratio = (ours: number, ref: number) => (ours === 0 ? 'n/a' : `${(ref / ours).toFixed(2)}x`);

/** What the template says of a configuration, in one cell. */
function shapeOf(c: ConfigCost): string {
  const d = c.deployment;
  const front = d.api === 'function-url' ? 'function URL' : `${d.api.toUpperCase()} API`;
  const tracing = d.ingress.tracing || d.processor.tracing ? 'tracing on' : 'tracing off';
  return [
    front,
    `${d.ingress.architecture} ${d.ingress.memoryMb}/${d.processor.memoryMb} MB`,
    `batch ${d.processor.batchSize}`,
    d.secrets.mode === 'cached'
      ? `secret cache ${d.secrets.ingressTtlSeconds}/${d.secrets.processorTtlSeconds} s`
      : 'secret per call',
    d.eventSink ? 'EventBridge sink' : 'no sink',
    d.apiAccessLogs ? 'access log' : 'no access log',
    tracing,
  ].join(', ');
}

/** Bench 4's rows and targets. */
export function costRows(cost: CostResults, row: AddRow, targets: Target[]): void {
  const naive = cost.naive.cost;
  for (const c of cost.configs) {
    const section = `4 cost ${c.name} / 1M`;
    row({
      section,
      measure: `configuration (${c.source}, from its template; vs naive)`,
      ours: shapeOf(c),
      reference: 'REST, x86_64, 1024/1024 MB, batch 1, secret per call, Text logs',
    });
    for (const line of c.cost.lines) {
      const naiveLine = naive.lines.find((l) => l.component.split(' (')[0] === line.component.split(' (')[0]);
      row({
        section,
        measure: `  ${line.component}`,
        ours: usd(line.dollars),
        reference: naiveLine ? usd(naiveLine.dollars) : '',
        ratio: naiveLine ? ratio(line.dollars, naiveLine.dollars) : '',
      });
    }
    row({
      section,
      measure: "total per million webhooks (the brief's components)",
      ours: usd(c.cost.total),
      reference: usd(naive.total),
      ratio: ratio(c.cost.total, naive.total),
    });
    row({
      section,
      measure: '  + X-Ray traces as deployed (from the template)',
      ours: usd(c.cost.xray.dollars),
      reference: usd(naive.xray.dollars),
      target: c.cost.xray.basis,
    });
    const met = c.cost.totalWithXray <= c.targetPerMillion;
    row({
      section,
      measure: 'total including X-Ray as deployed',
      ours: usd(c.cost.totalWithXray),
      reference: usd(naive.totalWithXray),
      ratio: ratio(c.cost.totalWithXray, naive.totalWithXray),
      target: `<= ${usd(c.targetPerMillion)}: ${met ? 'met' : 'NOT met'}`,
    });
    targets.push({
      name: `cost per million webhooks, ${c.name} config, X-Ray as deployed`,
      target: `<= ${c.targetPerMillion}`,
      value: c.cost.totalWithXray,
      met,
    });
    row({
      section,
      measure: '  the same if every batch held 1 record (quiet queue: no batching window on FIFO)',
      ours: usd(c.withoutBatchFill.totalWithXray),
      reference: usd(naive.totalWithXray),
      ratio: ratio(c.withoutBatchFill.totalWithXray, naive.totalWithXray),
    });
    row({
      section: `4 cost ${c.name} / month`,
      measure: `fixed, whatever the traffic: ${c.fixedMonthly.basis}`,
      ours: usd(c.fixedMonthly.dollars),
    });
  }
  perEventRows(cost.configs[0]!, row, targets);
}

/** Per-event resource figures of the default configuration: DynamoDB write units and log bytes, with their budgets. */
function perEventRows(c: ConfigCost, row: AddRow, targets: Target[]): void {
  const u = c.usage;
  const wru = u.dynamoWritesPerEvent * Math.max(1, Math.ceil(u.dynamoItemBytes / 1024));
  row({
    section: '4 per event',
    measure: `DynamoDB write units per event (${u.dynamoWritesPerEvent} writes of a ${Math.round(u.dynamoItemBytes)} B item)`,
    ours: wru.toFixed(2),
    target: 'claim before the handler, done after it: see docs/performance.md',
  });
  const logs = logBytesPerEvent(c.deployment, u);
  const within = logs.total <= LOG_BYTES_PER_EVENT_BUDGET;
  row({
    section: '4 per event',
    measure: `log bytes per event, ${c.name} config (ingress ${Math.round(logs.ingress)} + processor ${Math.round(logs.processor)} + access ${Math.round(logs.apiAccess)} + Lambda platform ${Math.round(logs.platform)})`,
    ours: `${Math.round(logs.total).toLocaleString('en-US')} B`,
    target: `<= ${LOG_BYTES_PER_EVENT_BUDGET.toLocaleString('en-US')} B: ${within ? 'met' : 'NOT met'}`,
  });
  targets.push({
    name: 'log bytes per event',
    target: `<= ${LOG_BYTES_PER_EVENT_BUDGET}`,
    value: logs.total,
    met: within,
  });
}
