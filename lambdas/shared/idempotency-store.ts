/**
 * The idempotency table: one item per Stripe event id, so an event delivered twice (Stripe retries, SQS
 * redeliveries, a replay, the reconciler) is applied once.
 *
 * Table: partition key `pk` (S) = the Stripe event id; TTL attribute `expiresAt` (Unix seconds). States:
 * - `IN_PROGRESS`: claimed by one invocation, with a lease (`leaseExpiresAtMs`). A crashed invocation's lease runs
 *   out and the event becomes claimable again, so a crash never blocks an event for good.
 * - `DONE`: processed; later copies are skipped until `expiresAt` (at least 30 days: Stripe retries for 3 days and
 *   keeps events for 30).
 * - `FAILED`: the last attempt failed and released its lease; claimable at once. `lastError` stays for the operator.
 *   Except by the very message a permanent failure already moved to the DLQ: when that message comes back (its
 *   invocation timed out or its delete was lost after the move), it is not run again, since the DLQ already holds
 *   it. SQS's deduplication of the DLQ send covers only 5 minutes; a backed-off retry can come later than that.
 * `handlersDone` (a string set) names the handler Lambdas that already succeeded for the event: it survives a failed
 * attempt, so a retry runs only the others (StripeWebhooks.addHandler).
 *
 * Conditional writes only: no transactions (dynalite has none) and no ReturnValuesOnConditionCheckFailure (dynalite
 * ignores it), so after a failed condition the item is read back with a consistent GetItem. DynamoDB deletes expired
 * items lazily (up to days later), so every reader here treats an item past `expiresAt` as absent.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export type IdempotencyStatus = 'IN_PROGRESS' | 'DONE' | 'FAILED';

/** The last failure of an event, kept for the operator (short and log-safe: no bodies, no secrets). */
export interface RecordedFailure {
  readonly code: string;
  readonly message: string;
  readonly messageId: string;
  /** True when the message went to the DLQ; false when SQS will redeliver it. */
  readonly permanent: boolean;
  /** ISO 8601. */
  readonly at: string;
}

/** One item of the idempotency table. */
export interface IdempotencyRecord {
  /** The Stripe event id. */
  readonly pk: string;
  readonly status: IdempotencyStatus;
  readonly eventType: string;
  /** How many times the event was claimed (each claim is one processing attempt). */
  readonly attempts: number;
  /** The SQS message id of the last claim. */
  readonly messageId: string;
  /** The current claim's token (IN_PROGRESS only). */
  readonly token?: string;
  /** When the current lease runs out, Unix milliseconds (IN_PROGRESS only). */
  readonly leaseExpiresAtMs?: number;
  /** ISO 8601 of the last claim. */
  readonly claimedAt: string;
  /** ISO 8601, DONE only. */
  readonly doneAt?: string;
  readonly lastError?: RecordedFailure;
  /** The handler Lambdas that succeeded for this event, in any attempt. */
  readonly handlersDone?: readonly string[];
  /** TTL, Unix seconds: DynamoDB deletes the item some time after this; readers treat it as absent from then. */
  readonly expiresAt: number;
}

export type ClaimResult =
  | { outcome: 'claimed'; token: string; attempt: number; handlersDone: readonly string[] }
  /** Processed before: skip the message, report success. */
  | { outcome: 'done'; doneAt: string }
  /** A live lease held by another invocation: retry after the lease runs out. */
  | { outcome: 'busy'; retryAfterSeconds: number }
  /** This very message already failed permanently and was moved to the DLQ: delete it, do not run it again. */
  | { outcome: 'dead_lettered'; failedAt: string };

export interface IdempotencyStore {
  /** Claims an event id for processing (absent, expired, FAILED, or IN_PROGRESS with a lapsed lease). */
  claim(eventId: string, meta: { type: string; messageId: string }): Promise<ClaimResult>;
  /**
   * Records that the handler Lambda `handler` succeeded for a claimed event, so no later attempt runs it again.
   * Throws LeaseLostError when `token` no longer holds the claim.
   */
  markHandlerDone(eventId: string, token: string, handler: string): Promise<void>;
  /** Marks a claimed event DONE. Throws LeaseLostError when `token` no longer holds the claim. */
  markDone(eventId: string, token: string): Promise<void>;
  /**
   * Releases a claim after a failure (status FAILED, claimable at once) and keeps the failure for the operator.
   * Throws LeaseLostError when `token` no longer holds the claim (another invocation's record is left alone).
   */
  recordFailure(
    eventId: string,
    token: string,
    failure: { code: string; message: string; messageId: string; permanent: boolean },
  ): Promise<void>;
  /** The item for an event id; an item past `expiresAt` counts as absent. */
  get(eventId: string): Promise<IdempotencyRecord | undefined>;
  /**
   * Deletes the record of a DONE event so it can be processed again (the operator's `replay --force`). Returns
   * false, and leaves the item alone, when it is not DONE: absent, FAILED (claimable anyway) or being processed.
   */
  forgetDone(eventId: string): Promise<boolean>;
}

/** The claim `token` no longer holds the event: its lease ran out and another invocation claimed it. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  readonly code = 'lease_lost';
}

export interface IdempotencyStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** How long a claim is held; must exceed the processor's timeout so a live invocation never loses its lease. */
  readonly leaseSeconds: number;
  /** How long every item is kept after its last write (DONE items: how long duplicates are recognised). */
  readonly doneTtlDays: number;
  /** Clock, Unix milliseconds (tests move it to expire leases and items). @default Date.now */
  readonly now?: () => number;
}

/** A claim can race with another invocation's write between the failed condition and the read-back; retry a little. */
const CLAIM_ATTEMPTS = 3;
const MAX_ERROR_MESSAGE_CHARS = 500;

export function createIdempotencyStore(opts: IdempotencyStoreOptions): IdempotencyStore {
  const doc = DynamoDBDocumentClient.from(opts.client, { marshallOptions: { removeUndefinedValues: true } });
  const now = opts.now ?? Date.now;
  const TableName = opts.tableName;
  const ttlSeconds = opts.doneTtlDays * 86_400;

  async function read(eventId: string): Promise<IdempotencyRecord | undefined> {
    const res = await doc.send(new GetCommand({ TableName, Key: { pk: eventId }, ConsistentRead: true }));
    const item = res.Item as IdempotencyRecord | undefined;
    if (!item) return undefined;
    return item.expiresAt * 1000 <= now() ? undefined : { ...item, ...handlersDoneOf(item) };
  }

  async function tryClaim(eventId: string, meta: { type: string; messageId: string }) {
    const t = now();
    const token = randomUUID();
    try {
      const res = await doc.send(
        new UpdateCommand({
          TableName,
          Key: { pk: eventId },
          // `attempts` survives a FAILED or lapsed claim (the operator sees how often it was tried); an item
          // past its TTL that DynamoDB has not deleted yet keeps its count too, which only overstates it.
          UpdateExpression:
            'SET #status = :inProgress, #token = :token, leaseExpiresAtMs = :lease, ' +
            'attempts = if_not_exists(attempts, :zero) + :one, eventType = :type, messageId = :messageId, ' +
            'claimedAt = :claimedAt, expiresAt = :expiresAt REMOVE doneAt',
          ConditionExpression:
            'attribute_not_exists(pk) OR expiresAt <= :nowSeconds ' +
            'OR (#status = :failed AND NOT (lastError.#permanent = :true AND lastError.messageId = :messageId)) ' +
            'OR (#status = :inProgress AND leaseExpiresAtMs <= :nowMs)',
          ExpressionAttributeNames: { '#status': 'status', '#token': 'token', '#permanent': 'permanent' },
          ExpressionAttributeValues: {
            ':inProgress': 'IN_PROGRESS',
            ':failed': 'FAILED',
            ':true': true,
            ':token': token,
            ':lease': t + opts.leaseSeconds * 1000,
            ':zero': 0,
            ':one': 1,
            ':type': meta.type,
            ':messageId': meta.messageId,
            ':claimedAt': new Date(t).toISOString(),
            ':expiresAt': Math.floor(t / 1000) + ttlSeconds,
            ':nowSeconds': Math.floor(t / 1000),
            ':nowMs': t,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const attributes = res.Attributes as { attempts?: unknown; handlersDone?: unknown } | undefined;
      const attempt = Number(attributes?.attempts ?? 1);
      return { outcome: 'claimed', token, attempt, handlersDone: handlersDoneOf(attributes).handlersDone } as const;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  }

  return {
    async claim(eventId, meta) {
      for (let i = 0; i < CLAIM_ATTEMPTS; i++) {
        const claimed = await tryClaim(eventId, meta);
        if (claimed) return claimed;
        const item = await read(eventId);
        if (item?.status === 'DONE') return { outcome: 'done', doneAt: item.doneAt ?? item.claimedAt };
        // Stryker disable next-line OptionalChaining: a FAILED item always has lastError (one update writes both).
        if (item?.status === 'FAILED' && item.lastError?.permanent && item.lastError.messageId === meta.messageId) {
          return { outcome: 'dead_lettered', failedAt: item.lastError.at };
        }
        if (item?.status === 'IN_PROGRESS' && item.leaseExpiresAtMs !== undefined && item.leaseExpiresAtMs > now()) {
          return { outcome: 'busy', retryAfterSeconds: Math.max(1, Math.ceil((item.leaseExpiresAtMs - now()) / 1000)) };
        }
        // Absent, FAILED or lapsed by now: the item changed between the write and the read; claim again.
      }
      // Still racing after a few rounds: another invocation is churning this id; let SQS bring the message back.
      return { outcome: 'busy', retryAfterSeconds: 1 };
    },

    async markHandlerDone(eventId, token, handler) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: eventId },
            UpdateExpression: 'ADD handlersDone :handler',
            ConditionExpression: '#token = :token AND #status = :inProgress',
            ExpressionAttributeNames: { '#status': 'status', '#token': 'token' },
            ExpressionAttributeValues: {
              ':handler': new Set([handler]),
              ':token': token,
              ':inProgress': 'IN_PROGRESS',
            },
          }),
        );
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) {
          throw new LeaseLostError(`the claim on ${eventId} was lost before handler ${handler} was recorded`);
        }
        throw err;
      }
    },

    async markDone(eventId, token) {
      const t = now();
      try {
        await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: eventId },
            UpdateExpression:
              'SET #status = :done, doneAt = :doneAt, expiresAt = :expiresAt REMOVE #token, leaseExpiresAtMs',
            ConditionExpression: '#token = :token AND #status = :inProgress',
            ExpressionAttributeNames: { '#status': 'status', '#token': 'token' },
            ExpressionAttributeValues: {
              ':done': 'DONE',
              ':inProgress': 'IN_PROGRESS',
              ':token': token,
              ':doneAt': new Date(t).toISOString(),
              ':expiresAt': Math.floor(t / 1000) + ttlSeconds,
            },
          }),
        );
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) {
          throw new LeaseLostError(`the claim on ${eventId} was lost before it was marked done`);
        }
        throw err;
      }
    },

    async recordFailure(eventId, token, failure) {
      const t = now();
      const lastError: RecordedFailure = {
        code: failure.code,
        message: failure.message.slice(0, MAX_ERROR_MESSAGE_CHARS),
        messageId: failure.messageId,
        permanent: failure.permanent,
        at: new Date(t).toISOString(),
      };
      try {
        await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk: eventId },
            UpdateExpression:
              'SET #status = :failed, lastError = :lastError, expiresAt = :expiresAt REMOVE #token, leaseExpiresAtMs',
            ConditionExpression: '#token = :token AND #status = :inProgress',
            ExpressionAttributeNames: { '#status': 'status', '#token': 'token' },
            ExpressionAttributeValues: {
              ':failed': 'FAILED',
              ':inProgress': 'IN_PROGRESS',
              ':token': token,
              ':lastError': lastError,
              ':expiresAt': Math.floor(t / 1000) + ttlSeconds,
            },
          }),
        );
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) {
          throw new LeaseLostError(`the claim on ${eventId} was lost before its failure was recorded`);
        }
        throw err;
      }
    },

    get: read,

    async forgetDone(eventId) {
      try {
        await doc.send(
          new DeleteCommand({
            TableName,
            Key: { pk: eventId },
            ConditionExpression: '#status = :done',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':done': 'DONE' },
          }),
        );
        return true;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return false;
        throw err;
      }
    },
  };
}

/** `handlersDone` as a sorted array (DynamoDB returns a string set as a Set; absent means none). */
function handlersDoneOf(item: { handlersDone?: unknown } | undefined): { handlersDone: string[] } {
  const value = item?.handlersDone;
  const names = value instanceof Set || Array.isArray(value) ? [...value].map(String) : [];
  return { handlersDone: names.sort() };
}
