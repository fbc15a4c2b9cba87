import { beforeEach, describe, expect, it } from 'vitest';
import { createIdempotencyStore, type IdempotencyStore, LeaseLostError } from '../../lambdas/shared/idempotency-store';
import { useDynamoWithTable } from './local-aws';

const TABLE = 'idempotency';
const LEASE_SECONDS = 60;
const DONE_TTL_DAYS = 30;

const dynamo = useDynamoWithTable(TABLE);
let clock: number;
let store: IdempotencyStore;
let seq = 0;
/** A fresh event id per test, so tests never see each other's items. */
let eventId: string;

beforeEach(() => {
  clock = Date.UTC(2026, 0, 1);
  eventId = `evt_store_${++seq}`;
  store = createIdempotencyStore({
    client: dynamo().client,
    tableName: TABLE,
    leaseSeconds: LEASE_SECONDS,
    doneTtlDays: DONE_TTL_DAYS,
    now: () => clock,
  });
});

const meta = { type: 'payment_intent.succeeded', messageId: 'm-1' };

describe('idempotency store', () => {
  it('claims an unseen event id, and a second claim while the lease is live is busy until the lease ends', async () => {
    const first = await store.claim(eventId, meta);
    expect(first).toMatchObject({ outcome: 'claimed', attempt: 1 });

    clock += 20_000;
    const second = await store.claim(eventId, { ...meta, messageId: 'm-2' });
    expect(second).toEqual({ outcome: 'busy', retryAfterSeconds: LEASE_SECONDS - 20 });

    const record = await store.get(eventId);
    expect(record).toMatchObject({ status: 'IN_PROGRESS', attempts: 1, messageId: 'm-1', eventType: meta.type });
  });

  it('lets another invocation claim once the lease has lapsed (a crashed invocation does not block the event)', async () => {
    const crashed = await store.claim(eventId, meta);
    clock += LEASE_SECONDS * 1000 + 1;
    const retaken = await store.claim(eventId, { ...meta, messageId: 'm-2' });
    expect(retaken).toMatchObject({ outcome: 'claimed', attempt: 2 });
    if (crashed.outcome !== 'claimed' || retaken.outcome !== 'claimed') throw new Error('unreachable');
    expect(retaken.token).not.toBe(crashed.token);

    // The crashed invocation comes back: its token no longer holds the claim.
    await expect(store.markDone(eventId, crashed.token)).rejects.toBeInstanceOf(LeaseLostError);
    await store.markDone(eventId, retaken.token);
    expect(await store.get(eventId)).toMatchObject({ status: 'DONE', attempts: 2 });
  });

  it('answers done for a processed event id, with when it was done', async () => {
    const claimed = await store.claim(eventId, meta);
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    clock += 1_500;
    await store.markDone(eventId, claimed.token);

    clock += 86_400_000; // a day later Stripe retries the delivery
    expect(await store.claim(eventId, { ...meta, messageId: 'm-2' })).toEqual({
      outcome: 'done',
      doneAt: new Date(Date.UTC(2026, 0, 1) + 1_500).toISOString(),
    });
  });

  it('treats a DONE item past its TTL as absent (DynamoDB deletes expired items lazily)', async () => {
    const claimed = await store.claim(eventId, meta);
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    await store.markDone(eventId, claimed.token);

    clock += DONE_TTL_DAYS * 86_400_000 - 1_000;
    expect(await store.claim(eventId, meta)).toMatchObject({ outcome: 'done' });

    clock += 1_000; // the very second it expires: absent, as the claim's condition (expiresAt <= now) sees it
    expect(await store.get(eventId)).toBeUndefined();
    expect(await store.claim(eventId, meta)).toMatchObject({ outcome: 'claimed' });
  });

  it('recordFailure releases the lease at once and keeps the failure for the operator', async () => {
    const claimed = await store.claim(eventId, meta);
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    await store.recordFailure(eventId, claimed.token, {
      code: 'stripe_rate_limited',
      message: 'Stripe answered 429',
      messageId: 'm-1',
      permanent: false,
    });
    expect(await store.get(eventId)).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'stripe_rate_limited', permanent: false, messageId: 'm-1' },
    });

    // No waiting for the lease: the next delivery claims it straight away.
    const again = await store.claim(eventId, { ...meta, messageId: 'm-2' });
    expect(again).toMatchObject({ outcome: 'claimed', attempt: 2 });
    // The operator still sees the previous failure while the retry runs.
    expect((await store.get(eventId))?.lastError?.code).toBe('stripe_rate_limited');
  });

  it('does not hand the message a permanent failure already dead-lettered back for another run', async () => {
    const claimed = await store.claim(eventId, { ...meta, messageId: 'm-1' });
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    const failure = { code: 'object_gone', message: 'gone', messageId: 'm-1', permanent: true };
    await store.recordFailure(eventId, claimed.token, failure);
    const failedAt = (await store.get(eventId))?.lastError?.at;

    // The same message again (its invocation timed out after the DLQ move): in the DLQ already, not run again.
    expect(await store.claim(eventId, { ...meta, messageId: 'm-1' })).toEqual({ outcome: 'dead_lettered', failedAt });
    expect(await store.get(eventId)).toMatchObject({ status: 'FAILED', attempts: 1 });
    // Another message of the event (a later delivery, a replay, a redrive) is claimed as before.
    expect(await store.claim(eventId, { ...meta, messageId: 'm-2' })).toMatchObject({ outcome: 'claimed', attempt: 2 });
  });

  it('claims again the message whose failure was retryable (SQS redelivers it for another try)', async () => {
    const claimed = await store.claim(eventId, { ...meta, messageId: 'm-1' });
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    await store.recordFailure(eventId, claimed.token, { code: 'x', message: 'x', messageId: 'm-1', permanent: false });
    expect(await store.claim(eventId, { ...meta, messageId: 'm-1' })).toMatchObject({ outcome: 'claimed', attempt: 2 });
  });

  it('hands a first claim no finished handlers, and a retry the ones that succeeded, in name order', async () => {
    const first = await store.claim(eventId, meta);
    if (first.outcome !== 'claimed') throw new Error('expected a claim');
    expect(first.handlersDone).toEqual([]);
    // Marked in the order they finished, not by name.
    await store.markHandlerDone(eventId, first.token, 'ledger');
    await store.markHandlerDone(eventId, first.token, 'fulfil');
    await store.recordFailure(eventId, first.token, { code: 'x', message: 'x', messageId: 'm-1', permanent: false });

    const retry = await store.claim(eventId, meta);
    expect(retry).toMatchObject({ outcome: 'claimed', attempt: 2, handlersDone: ['fulfil', 'ledger'] });
    expect((await store.get(eventId))?.handlersDone).toEqual(['fulfil', 'ledger']);
  });

  it('refuses markDone, recordFailure and markHandlerDone with a token that does not hold the claim', async () => {
    const claimed = await store.claim(eventId, meta);
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    await expect(store.markDone(eventId, 'not-the-token')).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      store.recordFailure(eventId, 'not-the-token', { code: 'x', message: 'x', messageId: 'm', permanent: true }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.markHandlerDone(eventId, 'not-the-token', 'ledger')).rejects.toThrow(
      new LeaseLostError(`the claim on ${eventId} was lost before handler ledger was recorded`),
    );
    expect(await store.get(eventId)).toMatchObject({ status: 'IN_PROGRESS', token: claimed.token });

    await store.markDone(eventId, claimed.token);
    // A second markDone (same token) does not flip a DONE item either: the token was removed.
    await expect(store.markDone(eventId, claimed.token)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('keeps the item for doneTtlDays after its last write, whether claimed, failed or done', async () => {
    const ttlAfter = (ms: number) => Math.floor(ms / 1000) + DONE_TTL_DAYS * 86_400;
    const claimed = await store.claim(eventId, meta);
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    expect((await store.get(eventId))?.expiresAt).toBe(ttlAfter(clock));

    clock += 5_000;
    await store.recordFailure(eventId, claimed.token, { code: 'x', message: 'x', messageId: 'm-1', permanent: false });
    expect((await store.get(eventId))?.expiresAt).toBe(ttlAfter(clock));

    clock += 5_000;
    const again = await store.claim(eventId, meta);
    if (again.outcome !== 'claimed') throw new Error('expected a claim');
    clock += 5_000;
    await store.markDone(eventId, again.token);
    expect((await store.get(eventId))?.expiresAt).toBe(ttlAfter(clock));
  });

  it('keeps the first 500 characters of a failure message', async () => {
    const claimed = await store.claim(eventId, meta);
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    const message = `${'a'.repeat(500)}${'b'.repeat(1500)}`;
    await store.recordFailure(eventId, claimed.token, { code: 'x', message, messageId: 'm-1', permanent: true });
    expect((await store.get(eventId))?.lastError).toMatchObject({
      message: 'a'.repeat(500),
      permanent: true,
      at: new Date(clock).toISOString(),
    });
  });

  it('says which event lost its claim, with the lease_lost code the processor reports', async () => {
    const claimed = await store.claim(eventId, meta);
    if (claimed.outcome !== 'claimed') throw new Error('expected a claim');
    await expect(store.markDone(eventId, 'stale-token')).rejects.toMatchObject({
      name: 'LeaseLostError',
      code: 'lease_lost',
      message: `the claim on ${eventId} was lost before it was marked done`,
    });
    const failure = { code: 'x', message: 'x', messageId: 'm-1', permanent: false };
    await expect(store.recordFailure(eventId, 'stale-token', failure)).rejects.toMatchObject({
      name: 'LeaseLostError',
      code: 'lease_lost',
      message: `the claim on ${eventId} was lost before its failure was recorded`,
    });
  });

  it('gives exactly one of many concurrent claims the event', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.claim(eventId, { ...meta, messageId: `m-${i}` })),
    );
    expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'busy')).toHaveLength(7);
  });
});
