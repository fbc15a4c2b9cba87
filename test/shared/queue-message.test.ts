import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../lambdas/shared/errors';
import {
  decodeMessage,
  deduplicationId,
  encodeMessage,
  InvalidEventError,
  messageGroupId,
  toQueueMessage,
} from '../../lambdas/shared/queue-message';

const at = new Date('2026-11-26T00:00:00Z');

function classic(overrides: Record<string, unknown> = {}) {
  return {
    id: 'evt_1',
    object: 'event',
    type: 'payment_intent.succeeded',
    livemode: false,
    created: 1_790_000_000,
    api_version: '2025-09-30.clover',
    data: { object: { id: 'pi_1', object: 'payment_intent', amount: 100 } },
    ...overrides,
  };
}

describe('toQueueMessage', () => {
  it('describes a classic event by its object, and groups it on the platform', () => {
    const msg = toQueueMessage(classic(), 'webhook', at);
    expect(msg).toMatchObject({
      kind: 'snapshot',
      eventId: 'evt_1',
      type: 'payment_intent.succeeded',
      created: 1_790_000_000,
      apiVersion: '2025-09-30.clover',
      object: { type: 'payment_intent', id: 'pi_1' },
      receivedAt: '2026-11-26T00:00:00.000Z',
    });
    expect(msg.account).toBeUndefined();
    expect(messageGroupId(msg)).toBe('platform:pi_1');
    expect(deduplicationId(msg)).toBe('evt_1');
  });

  it('groups a Connect event by its connected account', () => {
    const msg = toQueueMessage(classic({ account: 'acct_9' }), 'webhook', at);
    expect(messageGroupId(msg)).toBe('acct_9:pi_1');
  });

  it('describes a thin event by its related object and context', () => {
    const msg = toQueueMessage(
      {
        id: 'evt_test_65',
        object: 'v2.core.event',
        type: 'v1.billing.meter.error_report_triggered',
        livemode: false,
        created: '2026-11-25T10:00:00.000Z',
        context: 'acct_2',
        related_object: { id: 'mtr_1', type: 'billing.meter', url: '/v1/billing/meters/mtr_1' },
      },
      'webhook',
      at,
    );
    expect(msg).toMatchObject({
      kind: 'thin',
      account: 'acct_2',
      created: Date.parse('2026-11-25T10:00:00.000Z') / 1000,
      object: { type: 'billing.meter', id: 'mtr_1', url: '/v1/billing/meters/mtr_1' },
    });
    expect(messageGroupId(msg)).toBe('acct_2:mtr_1');
  });

  it('groups an event about no object by its own id', () => {
    const msg = toQueueMessage(
      {
        id: 'evt_2',
        object: 'v2.core.event',
        type: 'v2.core.event_destination.ping',
        livemode: false,
        created: at.toISOString(),
      },
      'webhook',
      at,
    );
    expect(msg.object).toBeNull();
    expect(messageGroupId(msg)).toBe('platform:evt_2');
  });

  it.each([
    ['not an object', [1, 2], 'not_an_object'],
    ['bad id', classic({ id: 'ch_1' }), 'bad_event_id'],
    ['no type', classic({ type: '' }), 'bad_event_type'],
    ['livemode missing', classic({ livemode: undefined }), 'bad_livemode'],
    ['not an event', classic({ object: 'charge' }), 'not_an_event'],
    ['created as string', classic({ created: 'yesterday' }), 'bad_created'],
    ['no data.object', classic({ data: {} }), 'bad_data'],
  ])('rejects %s with a code', (_name, value, code) => {
    expect(() => toQueueMessage(value, 'webhook', at)).toThrow(InvalidEventError);
    try {
      toQueueMessage(value, 'webhook', at);
    } catch (err) {
      expect((err as InvalidEventError).code).toBe(code);
    }
  });
});

describe('encodeMessage / decodeMessage', () => {
  it('round-trips a message that fits', () => {
    const msg = toQueueMessage(classic(), 'webhook', at);
    const { body, kind } = encodeMessage(msg, 256 * 1024);
    expect(kind).toBe('snapshot');
    expect(decodeMessage(body)).toEqual(msg);
  });

  it('turns a message that does not fit into a reference without the payload', () => {
    const big = classic({ data: { object: { id: 'pi_1', object: 'payment_intent', blob: 'x'.repeat(5000) } } });
    const msg = toQueueMessage(big, 'webhook', at);
    const { body, kind } = encodeMessage(msg, 2048);
    expect(kind).toBe('reference');
    expect(Buffer.byteLength(body)).toBeLessThan(2048);
    const decoded = decodeMessage(body);
    expect(decoded.kind).toBe('reference');
    expect(decoded.event).toBeUndefined();
    expect(decoded.eventId).toBe('evt_1');
    expect(decoded.object).toEqual({ type: 'payment_intent', id: 'pi_1' });
  });

  it('writes characters SQS refuses as JSON escapes: the body is accepted and decodes to the same message', () => {
    const odd = 'a\uffff\ufffe b 🙂 \u0007';
    const msg = toQueueMessage(
      classic({ data: { object: { id: 'pi_1', object: 'payment_intent', description: odd } } }),
      'webhook',
      at,
    );
    const { body } = encodeMessage(msg, 256 * 1024);
    // Only what SQS accepts in a body (fauxqs also refuses astral characters, so those are escaped too).
    expect(body).toMatch(/^[\t\n\r\u0020-\ud7ff\ue000-\ufffd]*$/);
    expect(decodeMessage(body)).toEqual(msg);
  });

  it.each([
    ['not json', '{'],
    ['wrong version', '{"v":2}'],
    ['missing fields', '{"v":1,"kind":"snapshot"}'],
  ])('rejects a body that is %s as permanent', (_name, body) => {
    expect(() => decodeMessage(body)).toThrow(PermanentError);
  });
});
