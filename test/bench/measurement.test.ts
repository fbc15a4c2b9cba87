import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { captureStdout } from '../../bench/lib/log-capture';
import { opsPerSecond } from '../../bench/lib/measure';
import { median, percentile } from '../../bench/lib/stats';
import { pairedRatio } from '../../bench/report';
import { sqsPayloadBytes } from '../../bench/throughput';

describe('stats', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 50)).toBe(7);
  });
});

describe('opsPerSecond', () => {
  it('ranks a variant doing ten times the work about ten times slower', async () => {
    const work = (n: number) => {
      let x = 0;
      for (let i = 0; i < n; i++) x += Math.sqrt(i);
      return x;
    };
    const ops = await opsPerSecond(
      { light: () => work(2_000), heavy: () => work(20_000) },
      { rounds: 3, roundMs: 40, warmupMs: 20 },
    );
    expect(ops.light! / ops.heavy!).toBeGreaterThan(4);
  });
});

describe('captureStdout', () => {
  it('counts lines and bytes per service, tells EMF lines apart, prints nothing and restores stdout', () => {
    const original = process.stdout.write;
    const capture = captureStdout(['svc-a', 'svc-b']);
    process.stdout.write(
      '{"level":"INFO","service":"svc-a","message":"x"}\n{"_aws":{"Timestamp":1},"service":"svc-a"}\n',
    );
    process.stdout.write('{"service":"svc-b"}\nplain text\n');
    const tally = capture.stop();
    expect(process.stdout.write).toBe(original);
    expect(tally.lines).toEqual({ 'svc-a': 2, 'svc-b': 1, other: 1 });
    expect(tally.emfLines).toEqual({ 'svc-a': 1 });
    expect(tally.bytes['svc-b']).toBe('{"service":"svc-b"}\n'.length);
  });
});

describe('sqsPayloadBytes', () => {
  it('counts the body and every attribute name, type and value', () => {
    const record = {
      body: '{"a":1}',
      messageAttributes: { eventId: { dataType: 'String', stringValue: 'evt_1' } },
    } as unknown as SQSRecord;
    expect(sqsPayloadBytes(record)).toBe(7 + 'eventId'.length + 'String'.length + 'evt_1'.length);
  });
});

describe('pairedRatio', () => {
  it('compares imports round by round, so one slow round does not tilt the ratio', () => {
    const ours = { id: 'ours', medianMs: 0, runsMs: [10, 40, 10], medianCpuMs: 0, cpuRunsMs: [] };
    const reference = { id: 'ref', medianMs: 0, runsMs: [30, 60, 30], medianCpuMs: 0, cpuRunsMs: [] };
    // Per round: 3, 1.5, 3.
    expect(pairedRatio(reference, ours)).toBe(3);
  });
});
