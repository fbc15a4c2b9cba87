/**
 * The reconciler's own two items in the idempotency table (their keys cannot clash with event ids, which are
 * `evt_...`):
 * - `reconciler#lock`: who runs now (`owner`, a random token per run) and until when (`lockExpiresAtMs`). Taken with
 *   a conditional write, renewed before every slice, deleted at the end; a crashed run's lock simply expires.
 * - `reconciler#checkpoint`: the `created` time (Unix seconds) up to which every event has been enqueued. It only
 *   moves forward (conditional update). It also keeps `sliceSeconds` when a slice was too busy for one invocation.
 *
 * Neither item has `expiresAt`, the table's TTL attribute: DynamoDB would delete an item once that time passes, and
 * the idempotency store treats an item past it as absent. The lock's expiry is therefore a separate attribute.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

import { CHECKPOINT_KEY, LOCK_KEY } from './keys';

export { CHECKPOINT_KEY, LOCK_KEY };

export type LockResult =
  | { readonly acquired: true }
  | { readonly acquired: false; readonly heldBy?: string; readonly expiresAtMs?: number };

export interface ReconcilerState {
  /** Takes the lock for `leaseMs` unless another owner holds a live one. */
  acquireLock(owner: string, leaseMs: number): Promise<LockResult>;
  /** Extends the lock; false when `owner` no longer holds it (it expired and another run took it). */
  renewLock(owner: string, leaseMs: number): Promise<boolean>;
  /** Deletes the lock if `owner` still holds it. */
  releaseLock(owner: string): Promise<void>;
  /** Unix seconds, or undefined before the first run completed a slice. */
  getCheckpoint(): Promise<number | undefined>;
  /** Moves the checkpoint to `to` (Unix seconds) if that is later; returns whether it moved. */
  advanceCheckpoint(to: number): Promise<boolean>;
  /** The slice length a previous run asked for after a slice did not fit in one invocation. */
  getSliceHint(): Promise<number | undefined>;
  /** Stores (or, with undefined, clears) that slice length. */
  setSliceHint(seconds: number | undefined): Promise<void>;
}

export interface ReconcilerStateOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Unix milliseconds. @default Date.now */
  readonly now?: () => number;
}

export function createReconcilerState(opts: ReconcilerStateOptions): ReconcilerState {
  const doc = DynamoDBDocumentClient.from(opts.client, { marshallOptions: { removeUndefinedValues: true } });
  const now = opts.now ?? Date.now;
  const TableName = opts.tableName;

  /** True when the write happened, false when its condition did not hold. */
  async function conditional(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  return {
    async acquireLock(owner, leaseMs) {
      const t = now();
      const ok = await conditional(() =>
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: LOCK_KEY },
            UpdateExpression: 'SET #owner = :owner, lockExpiresAtMs = :until, acquiredAt = :at',
            ConditionExpression: 'attribute_not_exists(pk) OR lockExpiresAtMs <= :now OR #owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':owner': owner,
              ':until': t + leaseMs,
              ':at': new Date(t).toISOString(),
              ':now': t,
            },
          }),
        ),
      );
      if (ok) return { acquired: true };
      const res = await doc.send(new GetCommand({ TableName, Key: { pk: LOCK_KEY }, ConsistentRead: true }));
      const item = res.Item as { owner?: string; lockExpiresAtMs?: number } | undefined;
      return {
        acquired: false,
        ...(item?.owner ? { heldBy: item.owner } : {}),
        ...(item?.lockExpiresAtMs !== undefined ? { expiresAtMs: item.lockExpiresAtMs } : {}),
      };
    },

    async renewLock(owner, leaseMs) {
      const t = now();
      return conditional(() =>
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: LOCK_KEY },
            UpdateExpression: 'SET lockExpiresAtMs = :until',
            // Only a live lock of our own: once it lapsed, another run may have started and we must stop.
            ConditionExpression: '#owner = :owner AND lockExpiresAtMs > :now',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner, ':until': t + leaseMs, ':now': t },
          }),
        ),
      );
    },

    async releaseLock(owner) {
      await conditional(() =>
        doc.send(
          new DeleteCommand({
            TableName,
            Key: { pk: LOCK_KEY },
            ConditionExpression: '#owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner },
          }),
        ),
      );
    },

    async getCheckpoint() {
      const res = await doc.send(new GetCommand({ TableName, Key: { pk: CHECKPOINT_KEY }, ConsistentRead: true }));
      const value = (res.Item as { checkpoint?: unknown } | undefined)?.checkpoint;
      return typeof value === 'number' ? value : undefined;
    },

    async getSliceHint() {
      const res = await doc.send(new GetCommand({ TableName, Key: { pk: CHECKPOINT_KEY }, ConsistentRead: true }));
      const value = (res.Item as { sliceSeconds?: unknown } | undefined)?.sliceSeconds;
      return typeof value === 'number' ? value : undefined;
    },

    async setSliceHint(seconds) {
      await doc.send(
        new UpdateCommand({
          TableName,
          Key: { pk: CHECKPOINT_KEY },
          ...(seconds === undefined
            ? { UpdateExpression: 'REMOVE sliceSeconds' }
            : { UpdateExpression: 'SET sliceSeconds = :s', ExpressionAttributeValues: { ':s': seconds } }),
        }),
      );
    },

    async advanceCheckpoint(to) {
      return conditional(() =>
        doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: CHECKPOINT_KEY },
            UpdateExpression: 'SET checkpoint = :to, updatedAt = :at',
            ConditionExpression: 'attribute_not_exists(checkpoint) OR checkpoint < :to',
            ExpressionAttributeValues: { ':to': to, ':at': new Date(now()).toISOString() },
          }),
        ),
      );
    },
  };
}
