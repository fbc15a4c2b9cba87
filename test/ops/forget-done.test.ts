/** The idempotency store's forgetDone (replay --force): clears DONE records only. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdempotencyStore, type IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { createIdempotencyTable, type RunningService, startDynamo } from '../../local/stand-ins';

let dynamo: RunningService<DynamoDBClient>;
let store: IdempotencyStore;
const meta = { type: 'invoice.paid', messageId: 'm-1' };

beforeAll(async () => {
  dynamo = await startDynamo();
  await createIdempotencyTable(dynamo.client, 'idem');
  store = createIdempotencyStore({ client: dynamo.client, tableName: 'idem', leaseSeconds: 60, doneTtlDays: 35 });
});
afterAll(async () => {
  await dynamo.close();
});

describe('forgetDone', () => {
  it('deletes a DONE record, so the next claim processes the event again', async () => {
    const claim = await store.claim('evt_forget_done', meta);
    if (claim.outcome !== 'claimed') throw new Error('not claimed');
    await store.markDone('evt_forget_done', claim.token);
    expect(await store.claim('evt_forget_done', meta)).toMatchObject({ outcome: 'done' });

    expect(await store.forgetDone('evt_forget_done')).toBe(true);

    expect(await store.get('evt_forget_done')).toBeUndefined();
    expect(await store.claim('evt_forget_done', meta)).toMatchObject({ outcome: 'claimed', attempt: 1 });
  });

  it('leaves an event being processed (IN_PROGRESS) alone, and says so', async () => {
    await store.claim('evt_forget_busy', meta);
    expect(await store.forgetDone('evt_forget_busy')).toBe(false);
    expect(await store.get('evt_forget_busy')).toMatchObject({ status: 'IN_PROGRESS' });
    expect(await store.forgetDone('evt_forget_absent')).toBe(false);
  });
});
