/**
 * The idempotency store when other invocations write between its own requests, and when DynamoDB itself fails.
 * Invocation A talks to dynalite through a client whose requests can be paused: another invocation's real writes
 * (claim, recordFailure, forgetDone) land between A's failed conditional write and its read-back.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ClaimResult,
  createIdempotencyStore,
  type IdempotencyStore,
  LeaseLostError,
} from '../../lambdas/shared/idempotency-store';
import { createIdempotencyTable, type LocalDynamo, startDynamo, useDynamoWithTable } from './local-aws';

const TABLE = 'idempotency';
const LEASE_SECONDS = 60;
const meta = { type: 'invoice.paid', messageId: 'm-a' };

/** Called around each of A's DynamoDB requests (low-level command names: UpdateItemCommand, GetItemCommand, ...). */
type Interleave = (step: { command: string; phase: 'before' | 'after'; failed: boolean }) => Promise<void>;

const dynamo = useDynamoWithTable(TABLE);
let clock: number;
let seq = 0;
let eventId: string;
/** Invocation B: the other Lambda container, with its own client. */
let other: IdempotencyStore;
/** What A's client sent, in order. */
let sent: string[];

function clientFor(endpoint: string, interleave: Interleave = async () => undefined): DynamoDBClient {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      sent.push(command);
      await interleave({ command, phase: 'before', failed: false });
      try {
        const out = await next(args);
        await interleave({ command, phase: 'after', failed: false });
        return out;
      } catch (err) {
        await interleave({ command, phase: 'after', failed: true });
        throw err;
      }
    },
    { step: 'initialize', name: 'interleave' },
  );
  return client;
}

function storeOver(client: DynamoDBClient): IdempotencyStore {
  return createIdempotencyStore({
    client,
    tableName: TABLE,
    leaseSeconds: LEASE_SECONDS,
    doneTtlDays: 30,
    now: () => clock,
  });
}

/** Invocation A, whose claim lets `between` run after each conditional write the table refused. */
function invocationA(between: () => Promise<void>): IdempotencyStore {
  return storeOver(
    clientFor(dynamo().endpoint, async ({ command, phase, failed }) => {
      if (command === 'UpdateItemCommand' && phase === 'after' && failed) await between();
    }),
  );
}

async function claimed(store: IdempotencyStore, messageId: string): Promise<Extract<ClaimResult, { token: string }>> {
  const res = await store.claim(eventId, { ...meta, messageId });
  if (res.outcome !== 'claimed') throw new Error(`expected a claim, got ${JSON.stringify(res)}`);
  return res;
}

beforeEach(() => {
  clock = Date.UTC(2026, 0, 1);
  eventId = `evt_race_${++seq}`;
  sent = [];
  other = createIdempotencyStore({
    client: dynamo().client,
    tableName: TABLE,
    leaseSeconds: LEASE_SECONDS,
    doneTtlDays: 30,
    now: () => clock,
  });
});

describe('a claim racing another invocation', () => {
  it('claims the event when its holder releases it between the refused write and the read-back', async () => {
    const b = await claimed(other, 'm-b');
    const failure = { code: 'stripe_unavailable', message: 'Stripe answered 503', messageId: 'm-b', permanent: false };
    const a = invocationA(() => other.recordFailure(eventId, b.token, failure));

    expect(await a.claim(eventId, meta)).toMatchObject({ outcome: 'claimed', attempt: 2 });
    expect(sent).toEqual(['UpdateItemCommand', 'GetItemCommand', 'UpdateItemCommand']);
    expect(await other.get(eventId)).toMatchObject({ status: 'IN_PROGRESS', messageId: 'm-a', lastError: failure });
  });

  it('claims its own message when the holder dead-letters another message between the write and the read-back', async () => {
    const b = await claimed(other, 'm-b');
    const failure = { code: 'object_gone', message: 'gone', messageId: 'm-b', permanent: true };
    const a = invocationA(() => other.recordFailure(eventId, b.token, failure));

    // m-b is in the DLQ; m-a (a later delivery of the event) is not, so it gets its own run.
    expect(await a.claim(eventId, meta)).toMatchObject({ outcome: 'claimed', attempt: 2 });
  });

  it('claims the event afresh when replay --force deletes its DONE record between the write and the read-back', async () => {
    const b = await claimed(other, 'm-b');
    await other.markDone(eventId, b.token);
    const a = invocationA(async () => {
      expect(await other.forgetDone(eventId)).toBe(true);
    });

    expect(await a.claim(eventId, meta)).toMatchObject({ outcome: 'claimed', attempt: 1 });
    expect(await other.get(eventId)).toMatchObject({ status: 'IN_PROGRESS', messageId: 'm-a' });
  });

  it('claims a lease that runs out between the refused write and the read-back, rather than answer busy', async () => {
    await claimed(other, 'm-b');
    const leaseEnd = clock + LEASE_SECONDS * 1000;
    clock = leaseEnd - 1;
    const a = invocationA(async () => {
      clock = leaseEnd; // the lease ends at this very millisecond: claimable, as the table's condition says
    });

    expect(await a.claim(eventId, meta)).toMatchObject({ outcome: 'claimed', attempt: 2 });
  });

  it('answers busy for the rest of a live lease, rounded up to whole seconds', async () => {
    await claimed(other, 'm-b');
    clock += LEASE_SECONDS * 1000 - 1_500;
    expect(await storeOver(clientFor(dynamo().endpoint)).claim(eventId, meta)).toEqual({
      outcome: 'busy',
      retryAfterSeconds: 2,
    });
    clock += 1_499;
    expect(await other.claim(eventId, meta)).toEqual({ outcome: 'busy', retryAfterSeconds: 1 });
  });

  it('gives up after three rounds when the event is released and claimed again each time, and answers busy', async () => {
    let b = await claimed(other, 'm-b');
    const failure = { code: 'x', message: 'x', messageId: 'm-b', permanent: false };
    // Each round: B holds the event when A writes, and has released it (FAILED) when A reads it back.
    const a = storeOver(
      clientFor(dynamo().endpoint, async ({ command, phase, failed }) => {
        if (command !== 'UpdateItemCommand') return;
        if (phase === 'before' && (await other.get(eventId))?.status === 'FAILED') b = await claimed(other, 'm-b');
        if (phase === 'after' && failed) await other.recordFailure(eventId, b.token, failure);
      }),
    );

    expect(await a.claim(eventId, meta)).toEqual({ outcome: 'busy', retryAfterSeconds: 1 });
    expect(sent.filter((c) => c === 'UpdateItemCommand')).toHaveLength(3);
    expect(sent.filter((c) => c === 'GetItemCommand')).toHaveLength(3);
  });
});

describe('the store when DynamoDB fails', () => {
  it('throws a write DynamoDB refuses for another reason than the claim condition, instead of retrying it', async () => {
    const a = storeOver(clientFor(dynamo().endpoint));
    // DynamoDB's item limit is 400 KB: the update is refused whatever the item's state.
    const oversized = { type: 'x'.repeat(410 * 1024), messageId: 'm-a' };
    await expect(a.claim(eventId, oversized)).rejects.toMatchObject({ name: 'ValidationException' });
    expect(sent).toEqual(['UpdateItemCommand']);
  });

  describe('with DynamoDB stopped', () => {
    let down: LocalDynamo;
    let store: IdempotencyStore;
    let token: string;

    beforeEach(async () => {
      down = await startDynamo();
      await createIdempotencyTable(down.client, TABLE);
      store = storeOver(clientFor(down.endpoint));
      const claim = await store.claim(eventId, meta);
      if (claim.outcome !== 'claimed') throw new Error('expected a claim');
      token = claim.token;
      await down.close();
    });

    /** The connection error, not a verdict about the item: a lost lease would trip its alarm for nothing. */
    async function connectionError(p: Promise<unknown>): Promise<void> {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(LeaseLostError);
      expect(String((err as { code?: unknown }).code ?? (err as Error).message)).toMatch(/ECONN(REFUSED|RESET)/);
    }

    it('markDone throws the connection error, not LeaseLostError', async () => {
      await connectionError(store.markDone(eventId, token));
    });

    it('recordFailure throws the connection error, not LeaseLostError', async () => {
      await connectionError(
        store.recordFailure(eventId, token, { code: 'x', message: 'x', messageId: 'm-a', permanent: false }),
      );
    });

    it('markHandlerDone throws the connection error, not LeaseLostError', async () => {
      await connectionError(store.markHandlerDone(eventId, token, 'fulfil'));
    });

    it('forgetDone throws the connection error instead of answering that the event is not DONE', async () => {
      await connectionError(store.forgetDone(eventId));
    });

    it('claim throws the connection error', async () => {
      await connectionError(store.claim(eventId, meta));
    });
  });
});
