/**
 * The processor's X-Ray tracing (tracing.ts) outside Lambda: it only runs the work. (In Lambda's environment:
 * tracing.test.ts; the X-Ray SDK reads the environment once, when loaded, hence two files.)
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProcessorTracing } from '../../lambdas/processor/tracing';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('processor tracing outside Lambda', () => {
  it('only runs the work outside Lambda, handing on its result and its failure', async () => {
    vi.stubEnv('AWS_EXECUTION_ENV', '');
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'true');
    const tracing = createProcessorTracing('tracing-test');

    expect(await tracing.trace('Stripe fetch', { eventType: 'invoice.paid' }, async () => 5)).toBe(5);
    expect(await tracing.invocation(async () => 6)).toBe(6);
    const client = new SQSClient({});
    expect(tracing.captureClient(client)).toBe(client);
    await expect(
      tracing.invocation(() => tracing.trace('Stripe fetch', {}, async () => Promise.reject(new Error('boom')))),
    ).rejects.toThrow('boom');
  });
});
