/**
 * Bench 4, cost per million webhooks: each configuration's deployed shape read from its synthesized template (the
 * default config, and the lean one in config/lean.example.json), usage measured by benches 1 and 3, prices from
 * bench/prices.json; against the naive configuration (REST API, x86, 1 GB, batch size 1, secrets read on every
 * invocation) with its own measured usage.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCESS_LOG_FIELDS } from '../lib/constructs/ingress';
import { PROJECT_ROOT } from '../lib/constructs/node-function';
import { type CostBreakdown, costPerMillion, NAIVE_DEPLOYMENT, type PriceTable, type Usage } from './cost-model';
import { type DeployedShape, readDeployment, synthTemplate } from './deployment';
import type { IngressResults } from './ingress';
import type { RunResult, ThroughputResults } from './throughput';

/** Webhooks per month the time-dependent lines (secret cache refreshes, X-Ray sampling) are computed for. */
export const MONTHLY_WEBHOOKS = 1_000_000;
/** Conditional writes per cleanly processed event: claim (UpdateItem) and mark done (UpdateItem). */
export const DYNAMO_WRITES_PER_EVENT = 2;

/** The configurations the bench prices, each from its own template, with the brief's target (per million, X-Ray in). */
export const COST_CONFIGS = [
  { name: 'default', file: undefined, targetPerMillion: 4.5 },
  { name: 'lean', file: 'config/lean.example.json', targetPerMillion: 3.0 },
] as const;

/** One configuration's figures. */
export interface ConfigCost {
  readonly name: (typeof COST_CONFIGS)[number]['name'];
  /** Where the config comes from: the schema's defaults, or a file under config/. */
  readonly source: string;
  readonly deployment: DeployedShape;
  readonly usage: Usage;
  readonly cost: CostBreakdown;
  /**
   * The same when every processor batch holds one record: a quiet queue (FIFO event sources have no batching window,
   * so batches fill only when messages are waiting). Processor duration from the batch-size-1 run.
   */
  readonly withoutBatchFill: CostBreakdown;
  /** The brief's target for `cost.totalWithXray` (tracing as deployed). */
  readonly targetPerMillion: number;
  /** Per month whatever the traffic: secret storage and KMS keys in the template. */
  readonly fixedMonthly: { readonly dollars: number; readonly basis: string };
}

export interface CostResults {
  readonly prices: { readonly date: string; readonly region: string; readonly note: string };
  readonly monthlyWebhooks: number;
  /** The default configuration first, then the lean one. */
  readonly configs: readonly ConfigCost[];
  readonly naive: { readonly usage: Usage; readonly cost: CostBreakdown };
}

export function loadPrices(): PriceTable {
  return JSON.parse(readFileSync(new URL('./prices.json', import.meta.url), 'utf8')) as PriceTable;
}

/**
 * One API Gateway access log line as the Ingress construct's format writes it, filled with typical values (API
 * Gateway writes `-` for empty variables).
 */
export function accessLogLineBytes(): number {
  const typical: Record<string, string> = {
    '$context.requestId': 'JrNXLiF5IAMEVfA=',
    '$context.requestTime': '26/Nov/2026:01:33:19 +0000',
    '$context.identity.sourceIp': '54.187.174.169',
    '$context.identity.userAgent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    '$context.httpMethod': 'POST',
    '$context.routeKey': 'POST /stripe/webhook',
    '$context.path': '/stripe/webhook',
    '$context.status': '200',
    '$context.protocol': 'HTTP/1.1',
    '$context.responseLength': '52',
    '$context.responseLatency': '38',
    '$context.integrationStatus': '200',
    '$context.integrationLatency': '36',
    '$context.integrationErrorMessage': '-',
    '$context.error.message': '-',
  };
  const line = Object.fromEntries(
    Object.entries(ACCESS_LOG_FIELDS).map(([key, variable]) => [key, typical[variable] ?? '-']),
  );
  return Buffer.byteLength(JSON.stringify(line)) + 1;
}

function run(throughput: ThroughputResults, label: string): RunResult {
  const found = throughput.runs.find((r) => r.label === label);
  if (!found) throw new Error(`no throughput run "${label}"`);
  return found;
}

/** Processor log bytes per event as in Lambda: the local lines plus the Lambda context keys on every log line. */
function processorLogBytes(r: RunResult, contextBytesPerLine: number): number {
  return r.logs.processor.bytes + contextBytesPerLine * r.logs.processor.logLines;
}

/** The measured usage of this project's functions (the same code in every configuration). */
function measuredUsage(ingress: IngressResults, throughput: ThroughputResults) {
  const batched = run(throughput, 'concurrency 4');
  const unbatched = run(throughput, 'naive: batch size 1');
  const common = {
    webhookBytes: batched.webhookBytes,
    sqsMessageBytes: batched.sqsMessageBytes,
    eventBridgeEntryBytes: batched.eventBridgeEntryBytes,
    dynamoWritesPerEvent: DYNAMO_WRITES_PER_EVENT,
    dynamoItemBytes: batched.dynamoItemBytes,
    monthlyWebhooks: MONTHLY_WEBHOOKS,
  };
  const accessLog = accessLogLineBytes();
  const ours: Usage = {
    ...common,
    ingressBilledMs: ingress.sequentialAgainstLocalSqs.ours.meanBilledMs,
    processorBilledMs: batched.invocationMs.meanBilledMs,
    recordsPerInvocation: batched.recordsPerInvocation,
    logBytesPerEvent: {
      ingress: ingress.logPerRequest.bytes,
      processor: processorLogBytes(batched, ingress.lambdaContextBytesPerLine),
      apiAccess: accessLog,
    },
  };
  const quiet: Usage = {
    ...ours,
    processorBilledMs: unbatched.invocationMs.meanBilledMs,
    recordsPerInvocation: 1,
    logBytesPerEvent: {
      ...ours.logBytesPerEvent,
      processor: processorLogBytes(unbatched, ingress.lambdaContextBytesPerLine),
    },
  };
  const naive: Usage = {
    ...quiet,
    ingressBilledMs: ingress.sequentialAgainstLocalSqs.naive.meanBilledMs,
    // The twin logs its own line per webhook, measured beside ours.
    logBytesPerEvent: {
      ...quiet.logBytesPerEvent,
      ingress: ingress.naiveLogPerRequest.bytes,
    },
  };
  return { ours, quiet, naive };
}

/** The config input of one of COST_CONFIGS: nothing (the defaults) or its file. */
function configInput(file: string | undefined): unknown {
  return file === undefined ? {} : JSON.parse(readFileSync(join(PROJECT_ROOT, file), 'utf8'));
}

/** Runs bench 4 over the results of benches 1 and 3. */
export function runCostBench(ingress: IngressResults, throughput: ThroughputResults): CostResults {
  const prices = loadPrices();
  const usage = measuredUsage(ingress, throughput);
  const configs = COST_CONFIGS.map((c): ConfigCost => {
    const deployment = readDeployment(synthTemplate(configInput(c.file)));
    const fixedDollars =
      deployment.fixed.secrets * prices.secretsManager.secretPerMonth +
      deployment.fixed.kmsKeys * prices.kms.keyPerMonth;
    return {
      name: c.name,
      source: c.file ?? 'the schema defaults',
      deployment,
      usage: usage.ours,
      cost: costPerMillion(deployment, usage.ours, prices),
      withoutBatchFill: costPerMillion(deployment, usage.quiet, prices),
      targetPerMillion: c.targetPerMillion,
      fixedMonthly: {
        dollars: fixedDollars,
        basis: `${deployment.fixed.secrets} secrets x $${prices.secretsManager.secretPerMonth} + ${deployment.fixed.kmsKeys} KMS keys x $${prices.kms.keyPerMonth}, per month`,
      },
    };
  });
  return {
    prices: { date: prices.date, region: prices.region, note: prices.note },
    monthlyWebhooks: MONTHLY_WEBHOOKS,
    configs,
    naive: { usage: usage.naive, cost: costPerMillion(NAIVE_DEPLOYMENT, usage.naive, prices) },
  };
}
