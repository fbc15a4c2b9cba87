import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../lambdas/shared/errors';
import {
  decodeMessage,
  deduplicationId,
  encodeMessage,
  InvalidEventError,
  MESSAGE_ATTRIBUTE_HEADROOM_BYTES,
  maxBodyBytes,
  messageGroupId,
  sqsSafeJson,
  sqsSafeText,
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

/** The InvalidEventError `act` throws (fails the test when it throws nothing or something else). */
function invalidEvent(act: () => unknown): InvalidEventError {
  try {
    act();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEventError);
    return err as InvalidEventError;
  }
  throw new Error('expected an InvalidEventError');
}

function thin(overrides: Record<string, unknown> = {}) {
  return {
    id: 'evt_test_thin_1',
    object: 'v2.core.event',
    type: 'v1.billing.meter.error_report_triggered',
    livemode: true,
    created: '2026-11-25T10:00:00.000Z',
    ...overrides,
  };
}

describe('toQueueMessage: what the sender is told about a refused event', () => {
  it.each([
    ['null', null, 'not_an_object', 'event must be a JSON object'],
    ['an id that only looks like one as a string', classic({ id: ['evt_1'] }), 'bad_event_id', 'evt_...'],
    ['a numeric type', classic({ type: 5 }), 'bad_event_type', 'event.type must be a non-empty string'],
    ['a type of 201 characters', classic({ type: 'a'.repeat(201) }), 'bad_event_type', 'at most 200 characters'],
    ['livemode as a string', classic({ livemode: 'false' }), 'bad_livemode', 'event.livemode must be a boolean'],
    ['object "charge"', classic({ object: 'charge' }), 'not_an_event', 'event.object must be "event"'],
    ['created NaN', classic({ created: Number.NaN }), 'bad_created', 'event.created must be a number'],
    ['created Infinity', classic({ created: Number.POSITIVE_INFINITY }), 'bad_created', 'must be a number'],
    ['data.object an array', classic({ data: { object: [] } }), 'bad_data', 'event.data.object must be an object'],
    ['a thin event created as a number', thin({ created: 12 }), 'bad_created', 'thin event.created must be an ISO'],
    ['a thin event created as a non-date', thin({ created: 'soon' }), 'bad_created', 'thin event.created'],
    ['a thin related_object array', thin({ related_object: [] }), 'bad_related_object', 'must have id and type'],
    [
      'a thin related_object without id',
      thin({ related_object: { type: 'billing.meter' } }),
      'bad_related_object',
      'id',
    ],
    ['a thin related_object without type', thin({ related_object: { id: 'mtr_1' } }), 'bad_related_object', 'type'],
  ])('refuses %s with its code and a sentence naming the field', (_name, value, code, message) => {
    const err = invalidEvent(() => toQueueMessage(value, 'webhook', at));
    expect(err.code).toBe(code);
    expect(err.name).toBe('InvalidEventError');
    expect(err.message).toContain(message);
  });

  it('accepts a type of exactly 200 characters', () => {
    expect(toQueueMessage(classic({ type: 'a'.repeat(200) }), 'webhook', at).type).toHaveLength(200);
  });
});

describe('toQueueMessage: what a message carries', () => {
  it('keeps every field of a classic event, and no key the event did not give', () => {
    const event = classic({ livemode: true, account: 'acct_1' });
    expect(toQueueMessage(event, 'reconcile', at)).toStrictEqual({
      v: 1,
      source: 'reconcile',
      kind: 'snapshot',
      eventId: 'evt_1',
      type: 'payment_intent.succeeded',
      account: 'acct_1',
      livemode: true,
      created: 1_790_000_000,
      apiVersion: '2025-09-30.clover',
      object: { type: 'payment_intent', id: 'pi_1' },
      event,
      receivedAt: '2026-11-26T00:00:00.000Z',
    });
  });

  it.each([
    ['an empty account and api_version', { account: '', api_version: '' }],
    ['a non-string account and api_version', { account: 7, api_version: 20_250_930 }],
  ])('leaves out %s', (_name, overrides) => {
    const msg = toQueueMessage(classic(overrides), 'webhook', at);
    expect('account' in msg).toBe(false);
    expect('apiVersion' in msg).toBe(false);
    expect(messageGroupId(msg)).toBe('platform:pi_1');
  });

  it.each([
    ['no object type', { id: 'cus_1', name: 'x' }],
    ['a numeric id', { id: 42, object: 'customer' }],
    ['an empty id', { id: '', object: 'customer' }],
  ])('describes an event whose data.object has %s as about no object, grouped by the event id', (_name, obj) => {
    const msg = toQueueMessage(classic({ data: { object: obj } }), 'webhook', at);
    expect(msg.object).toBeNull();
    expect(messageGroupId(msg)).toBe('platform:evt_1');
  });

  it('keeps every field of a thin event, and no url or account it did not give', () => {
    const event = thin({ related_object: { id: 'mtr_1', type: 'billing.meter' }, context: '' });
    expect(toQueueMessage(event, 'eventbridge', at)).toStrictEqual({
      v: 1,
      source: 'eventbridge',
      kind: 'thin',
      eventId: 'evt_test_thin_1',
      type: 'v1.billing.meter.error_report_triggered',
      livemode: true,
      created: Date.parse('2026-11-25T10:00:00.000Z') / 1000,
      object: { type: 'billing.meter', id: 'mtr_1' },
      event,
      receivedAt: '2026-11-26T00:00:00.000Z',
    });
  });

  it('treats a thin event with a null related_object as about no object, and ignores a non-string context', () => {
    const msg = toQueueMessage(thin({ related_object: null, context: 7 }), 'webhook', at);
    expect(msg.object).toBeNull();
    expect('account' in msg).toBe(false);
    expect(messageGroupId(msg)).toBe('platform:evt_test_thin_1');
  });
});

describe('messageGroupId', () => {
  it('cuts a group id to the 128 characters SQS allows', () => {
    const group = messageGroupId({
      account: `acct_${'a'.repeat(100)}`,
      object: { type: 't', id: `x_${'b'.repeat(100)}` },
      eventId: 'evt_1',
    });
    expect(group).toHaveLength(128);
    expect(group).toBe(`acct_${'a'.repeat(100)}:x_${'b'.repeat(20)}`);
  });
});

describe('encodeMessage: the size limit', () => {
  it('keeps the attribute headroom free of the queue limit', () => {
    expect(maxBodyBytes(262_144)).toBe(262_144 - MESSAGE_ATTRIBUTE_HEADROOM_BYTES);
    expect(MESSAGE_ATTRIBUTE_HEADROOM_BYTES).toBe(4096);
  });

  it('keeps the payload of a message exactly as large as the limit, and drops it one byte below', () => {
    const msg = toQueueMessage(
      classic({ data: { object: { id: 'pi_1', object: 'payment_intent', note: 'é' } } }),
      'webhook',
      at,
    );
    const size = Buffer.byteLength(encodeMessage(msg, 1_000_000).body, 'utf8');
    expect(encodeMessage(msg, size).kind).toBe('snapshot');
    expect(encodeMessage(msg, size - 1).kind).toBe('reference');
  });

  it('lets an error other than a too-deep event reach the caller', () => {
    const msg = toQueueMessage(
      classic({ data: { object: { id: 'pi_1', object: 'payment_intent', n: 1n } } }),
      'webhook',
      at,
    );
    expect(() => encodeMessage(msg, 256 * 1024)).toThrow(TypeError);
  });
});

describe('sqsSafeJson / sqsSafeText', () => {
  it('writes a refused character as a four-digit \\u escape', () => {
    expect(sqsSafeJson('"a\u0001b\uffff"')).toBe('"a\\u0001b\\uffff"');
  });

  it('replaces a refused character in an attribute with U+FFFD and keeps astral characters', () => {
    expect(sqsSafeText('a\uffffb\u0000🙂')).toBe('a\ufffdb\ufffd🙂');
  });
});

describe('decodeMessage: why a body is refused', () => {
  const valid = { v: 1, kind: 'snapshot', eventId: 'evt_1', type: 't', created: 1 };

  it.each([
    ['not JSON', '{', 'message body is not JSON'],
    ['JSON null', 'null', 'message is not a v1 queue message'],
    ['an array', '[1]', 'message is not a v1 queue message'],
    ['of another version', JSON.stringify({ ...valid, v: 2 }), 'message is not a v1 queue message'],
    ['without eventId', JSON.stringify({ ...valid, eventId: undefined }), 'message lacks eventId, type or created'],
    ['without type', JSON.stringify({ ...valid, type: 5 }), 'message lacks eventId, type or created'],
    ['without created', JSON.stringify({ ...valid, created: '1' }), 'message lacks eventId, type or created'],
    ['of an unknown kind', JSON.stringify({ ...valid, kind: 'full' }), 'unknown message kind full'],
    ['without a kind', JSON.stringify({ ...valid, kind: undefined }), 'unknown message kind undefined'],
  ])('refuses a body %s as a permanent bad_message', (_name, body, message) => {
    let caught: unknown;
    try {
      decodeMessage(body);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PermanentError);
    expect((caught as PermanentError).code).toBe('bad_message');
    expect((caught as PermanentError).message).toBe(message);
  });

  it.each(['snapshot', 'thin', 'reference'])('accepts kind %s', (kind) => {
    expect(decodeMessage(JSON.stringify({ ...valid, kind })).kind).toBe(kind);
  });
});
