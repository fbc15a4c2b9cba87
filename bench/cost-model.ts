/**
 * Cost per million webhooks: pure arithmetic over a deployment's shape (read from the synthesized template, or the
 * naive configuration), usage measured by the bench, and the price table in bench/prices.json.
 *
 * Per million unique webhooks, each delivered once and processed once (retries and duplicates add to every line).
 * Lambda bills each invocation's duration rounded up to the millisecond; local durations stand in for Lambda's.
 */

/** bench/prices.json. */
export interface PriceTable {
  readonly region: string;
  readonly currency: string;
  readonly date: string;
  readonly note: string;
  readonly sources: Readonly<Record<string, string>>;
  readonly lambda: { readonly requestsPerMillion: number; readonly gbSecond: Readonly<Record<Architecture, number>> };
  readonly apiGateway: {
    readonly httpApiPerMillion: number;
    readonly httpApiMeteringBytes: number;
    readonly restApiPerMillion: number;
  };
  readonly sqs: { readonly fifoRequestsPerMillion: number; readonly chunkBytes: number };
  readonly dynamodb: {
    readonly onDemandWriteRequestUnitsPerMillion: number;
    readonly onDemandReadRequestUnitsPerMillion: number;
    readonly writeUnitBytes: number;
    readonly readUnitBytes: number;
  };
  readonly secretsManager: { readonly apiCallsPer10k: number; readonly secretPerMonth: number };
  readonly eventBridge: { readonly customEventsPerMillion: number; readonly chunkBytes: number };
  readonly cloudWatchLogs: { readonly ingestionPerGB: number };
  readonly xray: { readonly tracesRecordedPerMillion: number };
  readonly kms: { readonly keyPerMonth: number; readonly requestsPer10k: number };
}

export type Architecture = 'arm64' | 'x86_64';

export interface FunctionShape {
  readonly memoryMb: number;
  readonly architecture: Architecture;
  /** X-Ray active tracing. */
  readonly tracing: boolean;
}

/** What the cost depends on in a deployment's configuration. */
export interface DeploymentShape {
  readonly api: 'http' | 'rest';
  readonly ingress: FunctionShape;
  readonly processor: FunctionShape & { readonly batchSize: number };
  /** How each function reads its Stripe secret: through a cache with a TTL, or from Secrets Manager every time. */
  readonly secrets: { readonly mode: 'cached'; readonly ttlSeconds: number } | { readonly mode: 'per-invocation' };
  /** Whether the API stage writes an access log line per request. */
  readonly apiAccessLogs: boolean;
}

/** The naive configuration the brief compares against: REST API, x86, 1 GB, no batching, no secret cache. */
export const NAIVE_DEPLOYMENT: DeploymentShape = {
  api: 'rest',
  ingress: { memoryMb: 1024, architecture: 'x86_64', tracing: false },
  processor: { memoryMb: 1024, architecture: 'x86_64', tracing: false, batchSize: 1 },
  secrets: { mode: 'per-invocation' },
  apiAccessLogs: true,
};

/** Measured (or estimated, where noted) usage per webhook. */
export interface Usage {
  /** Mean webhook request body, bytes. */
  readonly webhookBytes: number;
  /** Mean billed milliseconds of one ingress invocation. */
  readonly ingressBilledMs: number;
  /** Mean billed milliseconds of one processor invocation. */
  readonly processorBilledMs: number;
  /** Records per processor invocation (at most the batch size). */
  readonly recordsPerInvocation: number;
  /** Mean SQS message payload (body + attributes), bytes. */
  readonly sqsMessageBytes: number;
  /** Mean EventBridge entry, bytes. */
  readonly eventBridgeEntryBytes: number;
  /** DynamoDB writes per event (claim + mark done) and the item's size, bytes. */
  readonly dynamoWritesPerEvent: number;
  readonly dynamoItemBytes: number;
  /** CloudWatch Logs bytes per event, per source. */
  readonly logBytesPerEvent: { readonly ingress: number; readonly processor: number; readonly apiAccess: number };
  /** Webhooks per 30-day month, spread evenly: sets container counts (secret refreshes) and X-Ray sampling. */
  readonly monthlyWebhooks: number;
}

export interface CostLine {
  readonly component: string;
  readonly dollars: number;
  /** How the figure was computed, in words and numbers. */
  readonly basis: string;
}

export interface CostBreakdown {
  /** The components the brief's price table covers. */
  readonly lines: CostLine[];
  readonly total: number;
  /** X-Ray traces, billed as deployed but outside the brief's table (0 when tracing is off). */
  readonly xray: CostLine;
  readonly totalWithXray: number;
}

const MONTH_SECONDS = 30 * 24 * 3600;
const MILLION = 1_000_000;
const GB = 1024 ** 3;

/** Requests SQS, EventBridge or HTTP APIs bill for a payload: one per started chunk, at least one. */
export function chunks(bytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(bytes / chunkBytes));
}

/**
 * The share of invocations X-Ray records under the default sampling rule (the first request each second, then 5%
 * of the rest), at an even `perSecond` rate.
 */
export function xraySampledFraction(perSecond: number): number {
  if (perSecond <= 1) return 1;
  return (1 + 0.05 * (perSecond - 1)) / perSecond;
}

/** Secrets Manager calls per month for one function reading through a cache: each warm container refreshes per TTL. */
export function cachedSecretCallsPerMonth(opts: {
  invocationsPerMonth: number;
  invocationSeconds: number;
  ttlSeconds: number;
}): number {
  const perSecond = opts.invocationsPerMonth / MONTH_SECONDS;
  // Little's law: containers busy at once; at least one stays warm while traffic flows.
  const containers = Math.max(1, Math.ceil(perSecond * opts.invocationSeconds));
  const refreshes = containers * (MONTH_SECONDS / Math.max(1, opts.ttlSeconds));
  return Math.min(opts.invocationsPerMonth, refreshes);
}

/** Dollars per million webhooks for `deployment` at `usage` and `prices`, by component. */
export function costPerMillion(deployment: DeploymentShape, usage: Usage, prices: PriceTable): CostBreakdown {
  const lines: CostLine[] = [];
  const add = (component: string, dollars: number, basis: string) => lines.push({ component, dollars, basis });
  const perMonthToPerMillion = MILLION / usage.monthlyWebhooks;

  // API Gateway.
  if (deployment.api === 'http') {
    // HTTP APIs meter requests in 512 KB increments.
    const metered = MILLION * chunks(usage.webhookBytes, prices.apiGateway.httpApiMeteringBytes);
    add(
      'API Gateway (HTTP API)',
      (metered / MILLION) * prices.apiGateway.httpApiPerMillion,
      `${fmt(metered)} metered requests x $${prices.apiGateway.httpApiPerMillion}/M`,
    );
  } else {
    add(
      'API Gateway (REST API)',
      prices.apiGateway.restApiPerMillion,
      `1M requests x $${prices.apiGateway.restApiPerMillion}/M`,
    );
  }

  // Lambda.
  const lambda = (name: string, fn: FunctionShape, invocations: number, billedMs: number) => {
    const gbSeconds = invocations * (fn.memoryMb / 1024) * (billedMs / 1000);
    const price = prices.lambda.gbSecond[fn.architecture];
    add(
      `Lambda ${name}: requests`,
      (invocations / MILLION) * prices.lambda.requestsPerMillion,
      `${fmt(invocations)} invocations x $${prices.lambda.requestsPerMillion}/M`,
    );
    add(
      `Lambda ${name}: compute`,
      gbSeconds * price,
      `${fmt(invocations)} x ${fn.memoryMb} MB x ${billedMs.toFixed(1)} ms = ${fmt(gbSeconds)} GB-s (${fn.architecture}) x $${price}`,
    );
  };
  const processorInvocations = MILLION / Math.min(usage.recordsPerInvocation, deployment.processor.batchSize);
  lambda('ingress', deployment.ingress, MILLION, usage.ingressBilledMs);
  lambda('processor', deployment.processor, processorInvocations, usage.processorBilledMs);

  // SQS FIFO: SendMessage per event; per processor invocation one ReceiveMessage (its payload in 64 KB chunks) and
  // one DeleteMessageBatch.
  const recordsPerBatch = MILLION / processorInvocations;
  const sends = MILLION * chunks(usage.sqsMessageBytes, prices.sqs.chunkBytes);
  const receives = processorInvocations * chunks(usage.sqsMessageBytes * recordsPerBatch, prices.sqs.chunkBytes);
  const deletes = processorInvocations;
  const sqsRequests = sends + receives + deletes;
  add(
    'SQS FIFO requests',
    (sqsRequests / MILLION) * prices.sqs.fifoRequestsPerMillion,
    `${fmt(sends)} sends + ${fmt(receives)} receives + ${fmt(deletes)} deletes (${Math.round(usage.sqsMessageBytes)} B messages) x $${prices.sqs.fifoRequestsPerMillion}/M`,
  );

  // DynamoDB on demand.
  const wru = MILLION * usage.dynamoWritesPerEvent * chunks(usage.dynamoItemBytes, prices.dynamodb.writeUnitBytes);
  add(
    'DynamoDB writes',
    (wru / MILLION) * prices.dynamodb.onDemandWriteRequestUnitsPerMillion,
    `${fmt(wru)} WRU (${usage.dynamoWritesPerEvent} conditional writes/event, ${Math.round(usage.dynamoItemBytes)} B item) x $${prices.dynamodb.onDemandWriteRequestUnitsPerMillion}/M`,
  );

  // Secrets Manager: both functions read a Stripe secret.
  let secretCalls: number;
  let secretBasis: string;
  if (deployment.secrets.mode === 'per-invocation') {
    secretCalls = MILLION + processorInvocations;
    secretBasis = `one GetSecretValue per invocation: ${fmt(MILLION)} ingress + ${fmt(processorInvocations)} processor`;
  } else {
    const ttl = deployment.secrets.ttlSeconds;
    const monthly = usage.monthlyWebhooks;
    const ingressCalls = cachedSecretCallsPerMonth({
      invocationsPerMonth: monthly,
      invocationSeconds: usage.ingressBilledMs / 1000,
      ttlSeconds: ttl,
    });
    const processorCalls = cachedSecretCallsPerMonth({
      invocationsPerMonth: monthly / recordsPerBatch,
      invocationSeconds: usage.processorBilledMs / 1000,
      ttlSeconds: ttl,
    });
    secretCalls = (ingressCalls + processorCalls) * perMonthToPerMillion;
    secretBasis = `cache TTL ${ttl} s: one refresh per warm container per TTL, ${fmt(usage.monthlyWebhooks)} webhooks/month spread evenly`;
  }
  add(
    'Secrets Manager API calls',
    (secretCalls / 10_000) * prices.secretsManager.apiCallsPer10k,
    `${fmt(secretCalls)} calls (${secretBasis}) x $${prices.secretsManager.apiCallsPer10k}/10k`,
  );

  // EventBridge.
  const entries = MILLION * chunks(usage.eventBridgeEntryBytes, prices.eventBridge.chunkBytes);
  add(
    'EventBridge PutEvents',
    (entries / MILLION) * prices.eventBridge.customEventsPerMillion,
    `${fmt(entries)} events (${Math.round(usage.eventBridgeEntryBytes)} B entries) x $${prices.eventBridge.customEventsPerMillion}/M`,
  );

  // CloudWatch Logs.
  const logs = usage.logBytesPerEvent;
  const perEvent = logs.ingress + logs.processor + (deployment.apiAccessLogs ? logs.apiAccess : 0);
  const gb = (MILLION * perEvent) / GB;
  add(
    'CloudWatch Logs ingestion',
    gb * prices.cloudWatchLogs.ingestionPerGB,
    `${Math.round(perEvent)} B/event (ingress ${Math.round(logs.ingress)}, processor ${Math.round(logs.processor)}${deployment.apiAccessLogs ? `, API access ${Math.round(logs.apiAccess)}` : ''}) = ${gb.toFixed(2)} GB x $${prices.cloudWatchLogs.ingestionPerGB}/GB`,
  );

  // X-Ray: outside the brief's table, but on the bill when tracing is active.
  const ingressRate = usage.monthlyWebhooks / MONTH_SECONDS;
  const processorRate = ingressRate / recordsPerBatch;
  const traces =
    (deployment.ingress.tracing ? MILLION * xraySampledFraction(ingressRate) : 0) +
    (deployment.processor.tracing ? processorInvocations * xraySampledFraction(processorRate) : 0);
  const xray: CostLine = {
    component: 'X-Ray traces (not in the brief table)',
    dollars: (traces / MILLION) * prices.xray.tracesRecordedPerMillion,
    basis:
      traces === 0
        ? 'tracing off'
        : `${fmt(traces)} traces recorded (default sampling: 1/s + 5%, at ${ingressRate.toFixed(2)} webhooks/s) x $${prices.xray.tracesRecordedPerMillion}/M`,
  };
  const total = lines.reduce((sum, l) => sum + l.dollars, 0);
  return { lines, total, xray, totalWithXray: total + xray.dollars };
}

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n % 1e6 === 0 ? 0 : 2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(n < 10 ? 2 : 0);
}

/** A DynamoDB attribute value, as the low-level API returns it. */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { M: Record<string, AttributeValue> }
  | { L: AttributeValue[] };

/**
 * The size DynamoDB bills an item at: attribute names plus values (strings in UTF-8 bytes, numbers about one byte per
 * two significant digits plus one, booleans and nulls one byte, maps and lists 3 bytes plus one per element).
 */
export function dynamoItemBytes(item: Readonly<Record<string, AttributeValue>>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) total += Buffer.byteLength(name, 'utf8') + valueBytes(value);
  return total;
}

function valueBytes(value: AttributeValue): number {
  if ('S' in value) return Buffer.byteLength(value.S, 'utf8');
  if ('N' in value) {
    const digits = value.N.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
    return Math.ceil(Math.max(1, digits) / 2) + 1;
  }
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('M' in value)
    return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + Buffer.byteLength(k) + valueBytes(v) + 1, 0);
  return 3 + value.L.reduce((n, v) => n + valueBytes(v) + 1, 0);
}
