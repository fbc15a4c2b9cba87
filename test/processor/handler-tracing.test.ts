/**
 * The Lambda entry point with X-Ray tracing on (`observability.tracing: true`), in Lambda's environment as far as the
 * X-Ray SDK can tell (LAMBDA_TASK_ROOT, AWS_EXECUTION_ENV, a sampled _X_AMZN_TRACE_ID): it must still process, and
 * send its subsegments to the X-Ray daemon address, here a local UDP socket.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentIntent } from '../../bench/lib/stripe-events';
import { lambdaContext, sqsRecord, startProcessorHandler } from './handler-fixture';
import { classicEvent } from './harness';

interface SentSegment {
  name: string;
  trace_id?: string;
  annotations?: Record<string, unknown>;
  subsegments?: SentSegment[];
}

const TRACE_ID = '1-5759e988-bd862e3fe1be46a994272793';
let daemon: Socket;
const segments: SentSegment[] = [];
let fixture: Awaited<ReturnType<typeof startProcessorHandler>>;

beforeAll(async () => {
  daemon = createSocket('udp4');
  // Each datagram: a JSON header line, then the (sub)segment document.
  daemon.on('message', (msg) => segments.push(JSON.parse(msg.toString('utf8').split('\n')[1]!) as SentSegment));
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  fixture = await startProcessorHandler({
    POWERTOOLS_TRACE_ENABLED: 'true',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: 'index.handler',
    _X_AMZN_TRACE_ID: `Root=${TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1`,
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}`,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  });
});

afterAll(async () => {
  await fixture.close();
  daemon.close();
});

/** Every (sub)segment received, nested ones included. */
function flatten(list: readonly SentSegment[]): SentSegment[] {
  return list.flatMap((s) => [s, ...flatten(s.subsegments ?? [])]);
}

describe('processor Lambda handler with tracing on', () => {
  it('processes the batch and sends the handler, Stripe fetch and DynamoDB subsegments to X-Ray', async () => {
    fixture.stripe.setObject(paymentIntent('pi_handler_traced'));
    const event = classicEvent('payment_intent.succeeded', paymentIntent('pi_handler_traced'), { id: 'evt_traced_1' });

    const res = await fixture.handler({ Records: [sqsRecord(event, 'm-1')] }, lambdaContext);

    expect(res.batchItemFailures).toEqual([]);
    expect(fixture.stripe.calls.some((c) => c.path === '/v1/payment_intents/pi_handler_traced')).toBe(true);
    await expect.poll(() => flatten(segments).some((s) => s.name === '## index.handler')).toBe(true);
    const all = flatten(segments);
    expect(all.every((s) => s.trace_id === undefined || s.trace_id === TRACE_ID)).toBe(true);
    expect(all.find((s) => s.name === 'Stripe fetch')?.annotations).toMatchObject({
      eventType: 'payment_intent.succeeded',
    });
    expect(all.some((s) => s.name === 'DynamoDB')).toBe(true);
  });
});
