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
  /** Lambda's log format: Text writes START/END/REPORT lines on every invocation, JSON filters them by level. */
  readonly logFormat: 'JSON' | 'Text';
  /** JSON format only: the level of the platform lines Lambda writes (WARN drops platform.start/report). */
  readonly systemLogLevel: 'DEBUG' | 'INFO' | 'WARN';
  /** JSON format only: application lines below this level are dropped by Lambda (the bench measures INFO). */
  readonly applicationLogLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';
}

/** How Stripe's requests reach the ingress Lambda. */
export type IngressFront = 'http' | 'rest' | 'function-url';

/** What the cost depends on in a deployment's configuration. */
export interface DeploymentShape {
  /** API Gateway HTTP or REST API, or the ingress Lambda's own function URL (no per-request charge). */
  readonly api: IngressFront;
  /** Whether the processor publishes every processed event to an EventBridge bus (PutEvents per event). */
  readonly eventSink: boolean;
  readonly ingress: FunctionShape;
  readonly processor: FunctionShape & { readonly batchSize: number };
  /** How each function reads its Stripe secret: through a cache with a TTL, or from Secrets Manager every time. */
  readonly secrets:
    | { readonly mode: 'cached'; readonly ingressTtlSeconds: number; readonly processorTtlSeconds: number }
    | { readonly mode: 'per-invocation' };
  /** Whether the API stage writes an access log line per request. */
  readonly apiAccessLogs: boolean;
}

/** The naive configuration the brief compares against: REST API, x86, 1 GB, no batching, no secret cache. */
/** A function as Lambda creates it when nothing is set: Text logs with their START/END/REPORT lines. */
const NAIVE_FUNCTION: FunctionShape = {
  memoryMb: 1024,
  architecture: 'x86_64',
  tracing: false,
  logFormat: 'Text',
  systemLogLevel: 'INFO',
  applicationLogLevel: 'INFO',
};

export const NAIVE_DEPLOYMENT: DeploymentShape = {
  api: 'rest',
  eventSink: true,
  ingress: NAIVE_FUNCTION,
  processor: { ...NAIVE_FUNCTION, batchSize: 1 },
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

const TYPICAL_REQUEST_ID = 'c6af9ac6-7b61-11e6-9a41-93e812345678';
const TYPICAL_TIME = '2026-11-26T01:33:19.123Z';
const TYPICAL_TRACE = {
  spanId: '4a3f9b2c1d0e5f67',
  type: 'X-Amzn-Trace-Id',
  value: 'Root=1-6745a3b1-0123456789abcdef01234567;Parent=4a3f9b2c1d0e5f67;Sampled=1',
};

/**
 * The platform lines Lambda itself writes to the function's log group for one successful warm invocation, filled with
 * typical values, by log format and system log level. Text: START, END and REPORT (plus the X-Ray ids with tracing).
 * JSON: `platform.start` and `platform.report` at INFO, `platform.runtimeDone` too at DEBUG, none at WARN (Lambda's
 * log-level filtering; the JSON records are the Telemetry API's). Failed invocations and cold starts log more; both
 * are left out, like retries.
 */
export function platformLogLines(fn: FunctionShape): string[] {
  const id = TYPICAL_REQUEST_ID;
  const metrics = { durationMs: 2.07, billedDurationMs: 3, memorySizeMB: fn.memoryMb, maxMemoryUsedMB: 78 };
  if (fn.logFormat === 'Text') {
    const xray = fn.tracing
      ? `XRAY TraceId: 1-6745a3b1-0123456789abcdef01234567\tSegmentId: 4a3f9b2c1d0e5f67\tSampled: true\t`
      : '';
    return [
      `START RequestId: ${id} Version: $LATEST`,
      `END RequestId: ${id}`,
      `REPORT RequestId: ${id}\tDuration: 2.07 ms\tBilled Duration: 3 ms\tMemory Size: ${fn.memoryMb} MB\tMax Memory Used: 78 MB\t${xray}`,
    ];
  }
  if (fn.systemLogLevel === 'WARN') return [];
  const tracing = fn.tracing ? { tracing: TYPICAL_TRACE } : {};
  const record = (type: string, body: Record<string, unknown>) =>
    JSON.stringify({ time: TYPICAL_TIME, type, record: { requestId: id, ...body } });
  const lines = [record('platform.start', { version: '$LATEST', ...tracing })];
  if (fn.systemLogLevel === 'DEBUG') {
    lines.push(
      record('platform.runtimeDone', {
        status: 'success',
        ...tracing,
        metrics: { durationMs: 2.01, producedBytes: 52 },
        spans: [
          { name: 'responseLatency', start: TYPICAL_TIME, durationMs: 0.9 },
          { name: 'responseDuration', start: TYPICAL_TIME, durationMs: 0.1 },
        ],
      }),
    );
  }
  lines.push(record('platform.report', { metrics, ...tracing, status: 'success' }));
  return lines;
}

/** Bytes of `platformLogLines(fn)`, one newline each. */
export function platformLogBytes(fn: FunctionShape): number {
  return platformLogLines(fn).reduce((n, line) => n + Buffer.byteLength(line, 'utf8') + 1, 0);
}

/** CloudWatch Logs bytes per event by source, as `deployment` writes them at `usage`. */
export function logBytesPerEvent(
  deployment: DeploymentShape,
  usage: Usage,
): { ingress: number; processor: number; apiAccess: number; platform: number; total: number } {
  const logs = usage.logBytesPerEvent;
  const recordsPerBatch = Math.min(usage.recordsPerInvocation, deployment.processor.batchSize);
  const platform = platformLogBytes(deployment.ingress) + platformLogBytes(deployment.processor) / recordsPerBatch;
  const apiAccess = deployment.apiAccessLogs ? logs.apiAccess : 0;
  return {
    ingress: logs.ingress,
    processor: logs.processor,
    apiAccess,
    platform,
    total: logs.ingress + logs.processor + apiAccess + platform,
  };
}

/** Dollars per million webhooks for `deployment` at `usage` and `prices`, by component. */
export function costPerMillion(deployment: DeploymentShape, usage: Usage, prices: PriceTable): CostBreakdown {
  const lines: CostLine[] = [];
  const add = (component: string, dollars: number, basis: string) => lines.push({ component, dollars, basis });
  const perMonthToPerMillion = MILLION / usage.monthlyWebhooks;

  for (const [name, fn] of [
    ['ingress', deployment.ingress],
    ['processor', deployment.processor],
  ] as const) {
    if (fn.logFormat === 'JSON' && fn.applicationLogLevel !== 'INFO') {
      throw new Error(
        `the ${name} function logs at ${fn.applicationLogLevel}: the bench measures application logs at INFO only`,
      );
    }
  }

  // The front: API Gateway, or the function URL (no charge of its own: only the Lambda invocation it makes).
  if (deployment.api === 'function-url') {
    add('Lambda function URL', 0, 'no per-request charge: the ingress invocation is billed below');
  } else if (deployment.api === 'http') {
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
    const { ingressTtlSeconds, processorTtlSeconds } = deployment.secrets;
    const monthly = usage.monthlyWebhooks;
    const ingressCalls = cachedSecretCallsPerMonth({
      invocationsPerMonth: monthly,
      invocationSeconds: usage.ingressBilledMs / 1000,
      ttlSeconds: ingressTtlSeconds,
    });
    const processorCalls = cachedSecretCallsPerMonth({
      invocationsPerMonth: monthly / recordsPerBatch,
      invocationSeconds: usage.processorBilledMs / 1000,
      ttlSeconds: processorTtlSeconds,
    });
    secretCalls = (ingressCalls + processorCalls) * perMonthToPerMillion;
    secretBasis = `cache TTL ${ingressTtlSeconds} s ingress, ${processorTtlSeconds} s processor: one refresh per warm container per TTL, ${fmt(usage.monthlyWebhooks)} webhooks/month spread evenly`;
  }
  add(
    'Secrets Manager API calls',
    (secretCalls / 10_000) * prices.secretsManager.apiCallsPer10k,
    `${fmt(secretCalls)} calls (${secretBasis}) x $${prices.secretsManager.apiCallsPer10k}/10k`,
  );

  // EventBridge: only when the processor publishes to a bus.
  if (deployment.eventSink) {
    const entries = MILLION * chunks(usage.eventBridgeEntryBytes, prices.eventBridge.chunkBytes);
    add(
      'EventBridge PutEvents',
      (entries / MILLION) * prices.eventBridge.customEventsPerMillion,
      `${fmt(entries)} events (${Math.round(usage.eventBridgeEntryBytes)} B entries) x $${prices.eventBridge.customEventsPerMillion}/M`,
    );
  }

  // CloudWatch Logs: what the code writes, the access log, and the platform lines Lambda adds per invocation.
  const logs = logBytesPerEvent(deployment, usage);
  const gb = (MILLION * logs.total) / GB;
  add(
    'CloudWatch Logs ingestion',
    gb * prices.cloudWatchLogs.ingestionPerGB,
    `${Math.round(logs.total)} B/event (ingress ${Math.round(logs.ingress)}, processor ${Math.round(logs.processor)}${logs.apiAccess ? `, API access ${Math.round(logs.apiAccess)}` : ''}, Lambda platform lines ${Math.round(logs.platform)}) = ${gb.toFixed(2)} GB x $${prices.cloudWatchLogs.ingestionPerGB}/GB`,
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
