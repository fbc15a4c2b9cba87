/**
 * The processor's X-Ray tracing (tracing.ts) on its own, in Lambda's environment as far as the X-Ray SDK can tell
 * (its daemon a local UDP socket): it sends the invocation's and the fetches' subsegments, failures marked on them,
 * and still hands every failure on. The X-Ray SDK reads that environment once, when loaded: outside Lambda is
 * tracing-off.test.ts (another file, so another module cache).
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';

interface SentSegment {
  name: string;
  fault?: boolean;
  error?: boolean;
  cause?: { exceptions?: Array<{ message?: string }> };
  annotations?: Record<string, unknown>;
  subsegments?: SentSegment[];
}

/** Every (sub)segment received, nested ones included. */
function flatten(list: readonly SentSegment[]): SentSegment[] {
  return list.flatMap((s) => [s, ...flatten(s.subsegments ?? [])]);
}

afterEach(() => {
  vi.unstubAllEnvs();
});

/** tracing.ts loaded afresh under `env` (the Tracer and the X-Ray SDK read it when loaded). */
async function tracingUnder(env: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  const { createProcessorTracing } = await import('../../lambdas/processor/tracing');
  return createProcessorTracing('tracing-test');
}

describe('processor tracing', () => {
  it('sends the invocation and fetch subsegments, each failure marked on its own, and hands the failures on', async () => {
    const daemon = createSocket('udp4');
    const segments: SentSegment[] = [];
    daemon.on('message', (msg) => segments.push(JSON.parse(msg.toString('utf8').split('\n')[1]!) as SentSegment));
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    try {
      const tracing = await tracingUnder({
        POWERTOOLS_TRACE_ENABLED: 'true',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        LAMBDA_TASK_ROOT: '/var/task',
        _HANDLER: undefined,
        _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272794;Parent=53995c3f42cd8ad8;Sampled=1',
        AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}`,
        AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      });

      const invocation = tracing.invocation(async () => {
        expect(await tracing.trace('Stripe fetch', { eventType: 'invoice.paid' }, async () => 'fetched')).toBe(
          'fetched',
        );
        await expect(
          tracing.trace('Stripe fetch', { eventType: 'invoice.voided' }, async () =>
            Promise.reject(new Error('Stripe is down')),
          ),
        ).rejects.toThrow('Stripe is down');
        throw new Error('the batch failed');
      });

      await expect(invocation).rejects.toThrow('the batch failed');
      await expect.poll(() => flatten(segments).some((s) => s.name === '## handler')).toBe(true);
      const fetches = flatten(segments).filter((s) => s.name === 'Stripe fetch');
      expect(fetches).toHaveLength(2);
      const failed = fetches.find((s) => s.annotations?.eventType === 'invoice.voided');
      const fetched = fetches.find((s) => s.annotations?.eventType === 'invoice.paid');
      expect(failed?.cause?.exceptions?.[0]?.message).toBe('Stripe is down');
      expect(fetched?.cause).toBeUndefined();
      const handler = flatten(segments).find((s) => s.name === '## handler');
      expect(JSON.stringify(handler)).toContain('the batch failed');
      expect(handler?.annotations).toMatchObject({ Service: 'tracing-test' });
    } finally {
      daemon.close();
    }
  });
});
