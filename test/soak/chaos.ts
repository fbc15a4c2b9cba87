/**
 * Fault injection for the soak test, one processor invocation at a time (the local pipeline's `invokeProcessor`
 * hook), and a record of what every invocation did, so the test can tell a legitimate repeat from a bug.
 *
 * - Crash: right after the sink publish of a chosen event (its first attempt only), the invocation dies as a
 *   Lambda does: its handle rejects at once (the poller fails the whole batch, deletes nothing), and every
 *   dependency call of that invocation that was not finished, or comes later, hangs for ever, so nothing of it
 *   continues (no Stripe call, no DynamoDB write, no publish, no SQS call).
 * - Stall: the business handler of a chosen event (first attempt only) waits until a while past the invocation's
 *   deadline and past the visibility timeout, so the poller times the invocation out and the event's message comes
 *   back. Then the handler carries on, as the local poller lets a timed-out invocation do: a zombie, still holding
 *   the event's lease. Only the lease stops the redelivered message from running the event a second time meanwhile.
 *
 * Processors live in the local runtime's containers (local/containers.ts): one processor per container, built over
 * that container's dependencies the first time the container runs an invocation, so whatever a processor keeps
 * across invocations stays in its container; the runtime throws away a container whose invocation crashed or timed
 * out, as Lambda resets such an execution environment, and this module then builds a processor for the new one.
 */
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { createProcessor, type Processor, type ProcessorDeps } from '../../lambdas/processor/core';
import type { EventHandler, HandlerRegistry } from '../../lambdas/processor/registry';
import type { IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import type { InvocationContext } from '../../local/poller';

export interface ChaosPlan {
  readonly crashAfterPublish: ReadonlySet<string>;
  readonly stall: ReadonlySet<string>;
  /** How long past the invocation's deadline a stalled handler resumes. */
  readonly stallPastDeadlineMs: number;
}

/** One invocation, as the test sees it afterwards. */
export interface InvocationRecord {
  readonly id: number;
  /** Event ids whose business handler ran in this invocation. */
  readonly executed: Set<string>;
  /** Event ids this invocation published to the sink. */
  readonly published: Set<string>;
  /** Event ids this invocation marked DONE (the DynamoDB write succeeded, whatever happened after). */
  readonly markedDone: Set<string>;
  /** Why it died, if it did. */
  death?: string;
  /** The poller's deadline passed while it was still running (its work may have carried on: a zombie). */
  timedOut?: boolean;
  /** DLQ sends it made, as `eventId` -> the original message id and when (for explaining a second DLQ copy). */
  readonly deadLetterSends: Array<{ eventId: string; messageId: string; at: number; answered?: string }>;
}

/** A Stripe request as the processor made it. */
export interface StripeRequest {
  readonly invocation: number;
  /** `account path`: requests that share a key ask about the same object. */
  readonly key: string;
  readonly startedAt: number;
  endedAt?: number;
  status?: number;
  /** The Retry-After of a 429, seconds. */
  retryAfterSeconds?: number;
}

/** A business handler run: which message of which invocation ran it. */
export interface Execution {
  readonly eventId: string;
  readonly invocation: number;
  /** The SQS SequenceNumber of the message being processed (FIFO order within its group). */
  readonly sequenceNumber: bigint;
}

export interface Chaos {
  /** The pipeline's `invokeProcessor`. */
  readonly invoke: (event: SQSEvent, context: InvocationContext, deps: ProcessorDeps) => Promise<SQSBatchResponse>;
  readonly invocations: ReadonlyArray<InvocationRecord>;
  readonly executions: ReadonlyArray<Execution>;
  readonly stripeRequests: ReadonlyArray<StripeRequest>;
  /** Invocations in which a handler stalled. */
  readonly stalledInvocations: ReadonlySet<number>;
  readonly counts: {
    crashes: number;
    stalls: number;
    /** Claims answered "already DONE" (a duplicate skipped by the idempotency table). */
    duplicatesSkipped: number;
    /** Claims answered "busy" (a live lease held by another invocation). */
    busy: number;
    /** Batches holding two or more records of one message group. */
    batchesWithGroupMates: number;
    /** Records returned for redelivery, unattempted, because an earlier record of their group failed. */
    leftBehindAFailure: number;
    maxReceiveCount: number;
    /** The longest delay the processor put on a message (ChangeMessageVisibility after a 429 or a busy lease). */
    longestDelaySeconds: number;
  };
  /** Invocations whose processor is still running (dead ones excepted: they never finish). */
  running(): number;
}

/** A promise that never settles: what every call of a dead invocation returns. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Lambda execution environment: one processor, whose dependencies are those of the invocation it runs now. */
interface Container {
  readonly processor: Processor;
  run(deps: ProcessorDeps): void;
}

function createContainer(base: ProcessorDeps): Container {
  let current = base;
  const deps: ProcessorDeps = {
    ...base,
    store: {
      claim: (...args) => current.store.claim(...args),
      markHandlerDone: (...args) => current.store.markHandlerDone(...args),
      markDone: (...args) => current.store.markDone(...args),
      recordFailure: (...args) => current.store.recordFailure(...args),
      get: (...args) => current.store.get(...args),
      forgetDone: (...args) => current.store.forgetDone(...args),
    },
    stripe: () => current.stripe(),
    sink: { publish: (event) => current.sink.publish(event) },
    sqs: new Proxy(base.sqs, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return (...args: unknown[]) => (current.sqs.send as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    }),
    registry: {
      on: base.registry.on,
      types: base.registry.types,
      resolve: (type) => current.registry.resolve(type),
    },
  };
  return {
    processor: createProcessor(deps),
    run(invocationDeps) {
      current = invocationDeps;
    },
  };
}

export function createChaos(plan: ChaosPlan): Chaos {
  const invocations: InvocationRecord[] = [];
  const executions: Execution[] = [];
  const stripeRequests: StripeRequest[] = [];
  const crashed = new Set<string>();
  const stalled = new Set<string>();
  const stalledInvocations = new Set<number>();
  const counts: Chaos['counts'] = {
    crashes: 0,
    stalls: 0,
    duplicatesSkipped: 0,
    busy: 0,
    batchesWithGroupMates: 0,
    leftBehindAFailure: 0,
    maxReceiveCount: 0,
    longestDelaySeconds: 0,
  };
  let live = 0;
  /** One processor per runtime container: `deps` is the container's own (the same object for all its invocations). */
  const containers = new WeakMap<ProcessorDeps, Container>();

  async function invoke(event: SQSEvent, context: InvocationContext, deps: ProcessorDeps): Promise<SQSBatchResponse> {
    const record: InvocationRecord = {
      id: invocations.length + 1,
      executed: new Set(),
      published: new Set(),
      markedDone: new Set(),
      deadLetterSends: [],
    };
    invocations.push(record);
    const sequenceOf = new Map(event.Records.map((r) => [r.messageId, BigInt(r.attributes.SequenceNumber ?? '0')]));
    const groups = new Map<string, number>();
    for (const r of event.Records) {
      const group = r.attributes.MessageGroupId ?? r.messageId;
      groups.set(group, (groups.get(group) ?? 0) + 1);
      counts.maxReceiveCount = Math.max(counts.maxReceiveCount, Number(r.attributes.ApproximateReceiveCount));
    }
    if ([...groups.values()].some((n) => n > 1)) counts.batchesWithGroupMates++;
    /** The message each event of this invocation is being processed from (set when its claim succeeds). */
    const messageOf = new Map<string, string>();
    /** Messages whose claim was asked for (attempted), in this invocation. */
    const attempted = new Set<string>();

    let dead = false;
    let die!: (err: Error) => void;
    const death = new Promise<never>((_, reject) => {
      die = reject;
    });
    death.catch(() => undefined);
    const kill = (why: string) => {
      if (dead) return;
      dead = true;
      record.death = why;
      live--;
      die(new Error(`invocation ${record.id} died: ${why}`));
    };

    /** Runs a dependency call unless the invocation is dead; a call that finishes after its death never returns. */
    const guard = <T>(call: () => Promise<T>): Promise<T> => {
      if (dead) return never();
      return call().then(
        (value) => (dead ? never<T>() : value),
        (err: unknown) => (dead ? never<T>() : Promise.reject(err)),
      );
    };

    const base = deps.store;
    const store: IdempotencyStore = {
      claim: (eventId, meta) =>
        guard(async () => {
          attempted.add(meta.messageId);
          const result = await base.claim(eventId, meta);
          if (result.outcome === 'claimed') messageOf.set(eventId, meta.messageId);
          if (result.outcome === 'done') counts.duplicatesSkipped++;
          if (result.outcome === 'busy') counts.busy++;
          return result;
        }),
      markHandlerDone: (eventId, token, handler) => guard(() => base.markHandlerDone(eventId, token, handler)),
      markDone: (eventId, token) =>
        guard(async () => {
          await base.markDone(eventId, token);
          record.markedDone.add(eventId);
        }),
      recordFailure: (eventId, token, failure) => guard(() => base.recordFailure(eventId, token, failure)),
      get: (eventId) => guard(() => base.get(eventId)),
      forgetDone: (eventId) => guard(() => base.forgetDone(eventId)),
    };

    const stripe = async (): Promise<Stripe> => {
      const client = await guard(() => deps.stripe());
      return new Proxy(client, {
        get(target, prop, receiver) {
          if (prop !== 'rawRequest') return Reflect.get(target, prop, receiver);
          return (
            method: string,
            path: string,
            params?: unknown,
            options?: { stripeAccount?: string; stripeContext?: string },
          ) => {
            const request: StripeRequest = {
              invocation: record.id,
              key: `${options?.stripeAccount ?? options?.stripeContext ?? ''} ${path}`,
              startedAt: Date.now(),
            };
            stripeRequests.push(request);
            return guard(async () => {
              try {
                const body = await target.rawRequest(method, path, params as Record<string, unknown>, options);
                request.status = 200;
                return body;
              } catch (err) {
                const e = err as { statusCode?: number; headers?: Record<string, string | undefined> };
                request.status = e.statusCode ?? 0;
                const retryAfter = Number(e.headers?.['retry-after']);
                if (e.statusCode === 429 && retryAfter > 0) request.retryAfterSeconds = retryAfter;
                throw err;
              } finally {
                request.endedAt = Date.now();
              }
            });
          };
        },
      });
    };

    const sink: ProcessorDeps['sink'] = {
      publish: async (processed) => {
        await guard(async () => {
          await deps.sink.publish(processed);
          record.published.add(processed.eventId);
        });
        if (plan.crashAfterPublish.has(processed.eventId) && !crashed.has(processed.eventId)) {
          crashed.add(processed.eventId);
          counts.crashes++;
          kill(`crash after publishing ${processed.eventId}`);
          return never();
        }
      },
    };

    const sqsClient = deps.sqs;
    const sqs = new Proxy(sqsClient, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return (...args: Parameters<SQSClient['send']>) => {
          const [command] = args;
          if (command instanceof ChangeMessageVisibilityBatchCommand) {
            for (const entry of command.input.Entries ?? []) {
              counts.longestDelaySeconds = Math.max(counts.longestDelaySeconds, entry.VisibilityTimeout ?? 0);
            }
          }
          const attrs = command instanceof SendMessageCommand ? (command.input.MessageAttributes ?? {}) : {};
          if (attrs.OriginalMessageId) {
            const send = {
              eventId: attrs.EventId?.StringValue ?? '?',
              messageId: attrs.OriginalMessageId?.StringValue ?? '?',
              at: Date.now(),
            } as InvocationRecord['deadLetterSends'][number];
            record.deadLetterSends.push(send);
            return guard(async () => {
              const out = (await (target.send as (...a: unknown[]) => Promise<unknown>)(...args)) as {
                MessageId?: string;
              };
              send.answered = out.MessageId;
              return out;
            });
          }
          return guard(() => (target.send as (...a: unknown[]) => Promise<unknown>)(...args));
        };
      },
    });

    const registry: HandlerRegistry = {
      on: deps.registry.on,
      types: deps.registry.types,
      resolve(type) {
        const handler = deps.registry.resolve(type);
        const wrapped: EventHandler = async (ctx) => {
          const { eventId } = ctx.event;
          if (plan.stall.has(eventId) && !stalled.has(eventId)) {
            stalled.add(eventId);
            counts.stalls++;
            stalledInvocations.add(record.id);
            await sleep(context.getRemainingTimeInMillis() + plan.stallPastDeadlineMs);
          }
          return guard(() => {
            record.executed.add(eventId);
            const messageId = messageOf.get(eventId);
            executions.push({
              eventId,
              invocation: record.id,
              sequenceNumber: (messageId && sequenceOf.get(messageId)) || -1n,
            });
            return handler(ctx);
          });
        };
        return wrapped;
      },
    };

    let container = containers.get(deps);
    if (!container) {
      container = createContainer(deps);
      containers.set(deps, container);
    }
    container.run({ ...deps, store, stripe, sink, sqs, registry });
    live++;
    let settled = false;
    const deadline = setTimeout(() => {
      if (!settled && !dead) record.timedOut = true;
    }, context.getRemainingTimeInMillis());
    const running = container.processor.handle(event, context).then(
      (response) => {
        settled = true;
        clearTimeout(deadline);
        if (!dead) live--;
        countLeftBehind(event, response, attempted);
        return response;
      },
      (err: unknown) => {
        settled = true;
        clearTimeout(deadline);
        if (!dead) live--;
        throw err;
      },
    );
    return Promise.race([running, death]);
  }

  /** Records reported failed unattempted because an earlier record of their group was attempted and failed. */
  function countLeftBehind(event: SQSEvent, response: SQSBatchResponse, attempted: Set<string>): void {
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    /** Per group: whether its first failed record was attempted (not merely left for lack of time). */
    const firstFailureAttempted = new Map<string, boolean>();
    for (const r of event.Records) {
      if (!failed.has(r.messageId)) continue;
      const group = r.attributes.MessageGroupId ?? r.messageId;
      const first = firstFailureAttempted.get(group);
      if (first === undefined) firstFailureAttempted.set(group, attempted.has(r.messageId));
      else if (first && !attempted.has(r.messageId)) counts.leftBehindAFailure++;
    }
  }

  return { invoke, invocations, executions, stripeRequests, stalledInvocations, counts, running: () => live };
}
