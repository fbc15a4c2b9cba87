import { describe, expect, it } from 'vitest';
import { loadPrices } from '../../bench/cost';
import {
  cachedSecretCallsPerMonth,
  chunks,
  costPerMillion,
  type DeploymentShape,
  dynamoItemBytes,
  type FunctionShape,
  NAIVE_DEPLOYMENT,
  platformLogBytes,
  platformLogLines,
  type Usage,
  xraySampledFraction,
} from '../../bench/cost-model';

const prices = loadPrices();

const jsonWarn = { logFormat: 'JSON', systemLogLevel: 'WARN', applicationLogLevel: 'INFO' } as const;
const shape: DeploymentShape = {
  api: 'http',
  eventSink: true,
  ingress: { memoryMb: 256, architecture: 'arm64', tracing: false, ...jsonWarn },
  processor: { memoryMb: 512, architecture: 'arm64', tracing: false, batchSize: 10, ...jsonWarn },
  secrets: { mode: 'cached', ingressTtlSeconds: 300, processorTtlSeconds: 300 },
  apiAccessLogs: true,
};

const usage: Usage = {
  webhookBytes: 2_000,
  ingressBilledMs: 10,
  processorBilledMs: 100,
  recordsPerInvocation: 10,
  sqsMessageBytes: 2_000,
  eventBridgeEntryBytes: 1_500,
  dynamoWritesPerEvent: 2,
  dynamoItemBytes: 300,
  logBytesPerEvent: { ingress: 800, processor: 600, apiAccess: 400 },
  monthlyWebhooks: 1_000_000,
};

const line = (breakdown: ReturnType<typeof costPerMillion>, prefix: string) => {
  const found = breakdown.lines.find((l) => l.component.startsWith(prefix));
  if (!found) throw new Error(`no line ${prefix}`);
  return found.dollars;
};

describe('chunks', () => {
  it('bills one request per started 64 KB chunk, and at least one', () => {
    expect(chunks(0, 65_536)).toBe(1);
    expect(chunks(65_536, 65_536)).toBe(1);
    expect(chunks(65_537, 65_536)).toBe(2);
  });
});

describe('costPerMillion', () => {
  it('totals exactly its lines', () => {
    const cost = costPerMillion(shape, usage, prices);
    expect(cost.total).toBeCloseTo(
      cost.lines.reduce((n, l) => n + l.dollars, 0),
      10,
    );
    expect(cost.totalWithXray).toBe(cost.total + cost.xray.dollars);
  });

  it('prices an HTTP API at $1.00 and a REST API at $3.50 per million', () => {
    expect(line(costPerMillion(shape, usage, prices), 'API Gateway')).toBeCloseTo(1.0);
    expect(line(costPerMillion({ ...shape, api: 'rest' }, usage, prices), 'API Gateway')).toBeCloseTo(3.5);
  });

  it('charges x86 a quarter more than arm64 for the same GB-seconds', () => {
    const arm = line(costPerMillion(shape, usage, prices), 'Lambda ingress: compute');
    const x86 = line(
      costPerMillion({ ...shape, ingress: { ...shape.ingress, architecture: 'x86_64' } }, usage, prices),
      'Lambda ingress: compute',
    );
    // 1M x 0.25 GB x 0.010 s = 2,500 GB-s.
    expect(arm).toBeCloseTo(2_500 * 0.0000133334, 6);
    expect(x86 / arm).toBeCloseTo(1.25, 3);
  });

  it('bills one processor invocation per batch, never fewer records than the batch size allows', () => {
    expect(line(costPerMillion(shape, usage, prices), 'Lambda processor: requests')).toBeCloseTo(0.02);
    // 10 records measured, but the template says batches of 5: 200k invocations.
    const capped = costPerMillion({ ...shape, processor: { ...shape.processor, batchSize: 5 } }, usage, prices);
    expect(line(capped, 'Lambda processor: requests')).toBeCloseTo(0.04);
  });

  it('counts SQS sends per message chunk and one receive chunk and one delete per batch', () => {
    // 1M sends + 100k receives (10 x 2 KB = one chunk) + 100k deletes = 1.2M requests.
    expect(line(costPerMillion(shape, usage, prices), 'SQS')).toBeCloseTo(1.2 * 0.5);
    // 10 x 7,000 B per batch = 70,000 B: two chunks per receive.
    const big = costPerMillion(shape, { ...usage, sqsMessageBytes: 7_000 }, prices);
    expect(line(big, 'SQS')).toBeCloseTo(1.3 * 0.5);
  });

  it('reads secrets once per invocation in the naive configuration, once per TTL per container when cached', () => {
    const naive = costPerMillion(NAIVE_DEPLOYMENT, { ...usage, recordsPerInvocation: 1 }, prices);
    // 1M ingress + 1M processor GetSecretValue calls at $0.05 per 10k.
    expect(line(naive, 'Secrets Manager')).toBeCloseTo(10);
    // One warm container per function, 8,640 five-minute periods in 30 days.
    expect(line(costPerMillion(shape, usage, prices), 'Secrets Manager')).toBeCloseTo((2 * 8_640 * 0.05) / 10_000, 6);
    // Each function refreshes on its own TTL: an hour for the ingress is 720 refreshes a month.
    const longer = costPerMillion(
      { ...shape, secrets: { mode: 'cached', ingressTtlSeconds: 3_600, processorTtlSeconds: 300 } },
      usage,
      prices,
    );
    expect(line(longer, 'Secrets Manager')).toBeCloseTo(((720 + 8_640) * 0.05) / 10_000, 6);
  });

  it('adds X-Ray only when tracing is active, outside the brief total', () => {
    const off = costPerMillion(shape, usage, prices);
    expect(off.xray.dollars).toBe(0);
    const on = costPerMillion(
      { ...shape, ingress: { ...shape.ingress, tracing: true }, processor: { ...shape.processor, tracing: true } },
      usage,
      prices,
    );
    // At 0.39 webhooks/s every invocation is sampled: 1M ingress + 100k processor traces at $5/M.
    expect(on.xray.dollars).toBeCloseTo(5.5);
    expect(on.total).toBe(off.total);
  });

  it('leaves the API access log out of the log bytes when the stage writes none', () => {
    const withAccess = line(costPerMillion(shape, usage, prices), 'CloudWatch Logs');
    const without = line(costPerMillion({ ...shape, apiAccessLogs: false }, usage, prices), 'CloudWatch Logs');
    expect(withAccess / without).toBeCloseTo(1_800 / 1_400, 6);
  });

  it("bills Lambda's platform lines per invocation unless the system log level drops them", () => {
    const warn = line(costPerMillion(shape, usage, prices), 'CloudWatch Logs');
    const info = { ...shape.ingress, systemLogLevel: 'INFO' } as const;
    const atInfo = costPerMillion(
      { ...shape, ingress: info, processor: { ...shape.processor, systemLogLevel: 'INFO' } },
      usage,
      prices,
    );
    // Per event: the ingress's start + report, and the processor's once per 10-record batch.
    const platform = platformLogBytes(info) + platformLogBytes({ ...info, memoryMb: 512 }) / 10;
    expect(platform).toBeGreaterThan(300);
    expect(line(atInfo, 'CloudWatch Logs') - warn).toBeCloseTo(((1e6 * platform) / 1024 ** 3) * 0.5, 6);
  });

  it('refuses a function whose application logs Lambda filters at another level than the bench measured', () => {
    const quiet = { ...shape, processor: { ...shape.processor, applicationLogLevel: 'WARN' as const } };
    expect(() => costPerMillion(quiet, usage, prices)).toThrow(/processor function logs at WARN/);
  });

  it('charges nothing for a function URL and no EventBridge line without a sink', () => {
    const lean = costPerMillion({ ...shape, api: 'function-url', eventSink: false }, usage, prices);
    expect(line(lean, 'Lambda function URL')).toBe(0);
    expect(lean.lines.some((l) => l.component.startsWith('API Gateway'))).toBe(false);
    expect(lean.lines.some((l) => l.component.startsWith('EventBridge'))).toBe(false);
    const full = costPerMillion(shape, usage, prices);
    expect(full.total - lean.total).toBeCloseTo(1.0 + 1.0, 6);
  });
});

describe('platformLogLines', () => {
  const fn: FunctionShape = {
    memoryMb: 256,
    architecture: 'arm64',
    tracing: false,
    logFormat: 'JSON',
    systemLogLevel: 'INFO',
    applicationLogLevel: 'INFO',
  };

  it('writes start and report at INFO, runtimeDone too at DEBUG, nothing at WARN', () => {
    const types = (f: FunctionShape) => platformLogLines(f).map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types(fn)).toEqual(['platform.start', 'platform.report']);
    expect(types({ ...fn, systemLogLevel: 'DEBUG' })).toEqual([
      'platform.start',
      'platform.runtimeDone',
      'platform.report',
    ]);
    expect(platformLogLines({ ...fn, systemLogLevel: 'WARN' })).toEqual([]);
  });

  it('writes START, END and REPORT in the Text format whatever the level, with the trace ids when traced', () => {
    const text = { ...fn, logFormat: 'Text', systemLogLevel: 'WARN' } as const;
    expect(platformLogLines(text).map((l) => l.split(' ')[0])).toEqual(['START', 'END', 'REPORT']);
    expect(platformLogBytes({ ...text, tracing: true })).toBeGreaterThan(platformLogBytes(text));
  });
});

describe('cachedSecretCallsPerMonth', () => {
  it('refreshes per container per TTL, and never more often than the function is invoked', () => {
    expect(cachedSecretCallsPerMonth({ invocationsPerMonth: 1e6, invocationSeconds: 0.01, ttlSeconds: 300 })).toBe(
      8_640,
    );
    // ~38.6 invocations/s x 1 s each: 39 containers busy at once.
    expect(cachedSecretCallsPerMonth({ invocationsPerMonth: 1e8, invocationSeconds: 1, ttlSeconds: 300 })).toBe(
      39 * 8_640,
    );
    expect(cachedSecretCallsPerMonth({ invocationsPerMonth: 100, invocationSeconds: 0.01, ttlSeconds: 300 })).toBe(100);
  });
});

describe('xraySampledFraction', () => {
  it('samples everything up to one request a second, then 5% of the rest', () => {
    expect(xraySampledFraction(0.4)).toBe(1);
    expect(xraySampledFraction(21)).toBeCloseTo(2 / 21);
  });
});

describe('dynamoItemBytes', () => {
  it('sizes names and values as DynamoDB bills them', () => {
    // 'pk' (2) + 'evt_1' (5); 'attempts' (8) + 3 significant digits (2 + 1); 'ok' (2) + 1; 'tags' (4) + 3 + ('a' + 1).
    expect(
      dynamoItemBytes({ pk: { S: 'evt_1' }, attempts: { N: '123' }, ok: { BOOL: true }, tags: { L: [{ S: 'a' }] } }),
    ).toBe(7 + 11 + 3 + 9);
  });

  it('keeps an idempotency item in one write unit', () => {
    const item = {
      pk: { S: 'evt_1NkBqR2eZvKYlo2C0Jq4Kx9z' },
      status: { S: 'DONE' },
      eventType: { S: 'payment_intent.succeeded' },
      attempts: { N: '1' },
      messageId: { S: '3f1c2a7e-9b1d-4c55-8d2e-1a2b3c4d5e6f' },
      claimedAt: { S: '2026-11-26T01:33:19.000Z' },
      doneAt: { S: '2026-11-26T01:33:19.120Z' },
      expiresAt: { N: '1767231199' },
    };
    expect(dynamoItemBytes(item)).toBeLessThan(1024);
  });
});
