/**
 * What the local console shows: every event the local pipeline saw, as it moved (received -> queued -> processing ->
 * done / retried / DLQ), each attempt, the object as fetched and the handler's result, per-object timelines and
 * counters. In memory, bounded (the oldest events are dropped past `capacity`), fed by the pipeline's hooks
 * (local/console/hooks.ts). Local only: nothing here is deployed.
 */

/** Where an event stands. `duplicate`: every delivery after the first found it DONE (skipped). */
export type EventStatus = 'queued' | 'processing' | 'done' | 'retried' | 'dlq';

export const EVENT_STATUSES: readonly EventStatus[] = ['queued', 'processing', 'done', 'retried', 'dlq'];

/** One processing attempt of one SQS message. */
export interface Attempt {
  readonly at: string;
  readonly messageId: string;
  /** SQS's ApproximateReceiveCount of this delivery. */
  readonly receiveCount: number;
  /** The processor container (log stream) that ran it. */
  readonly container?: string;
  outcome?: 'done' | 'duplicate' | 'retried' | 'dlq';
  reason?: string;
  finishedAt?: string;
}

export interface JournalEvent {
  readonly eventId: string;
  readonly type: string;
  readonly objectId?: string;
  readonly account?: string;
  status: EventStatus;
  readonly firstSeenAt: string;
  updatedAt: string;
  /** Deliveries the webhook accepted (Stripe's retries and copies included). */
  deliveries: number;
  /** The signed payload as the webhook received it (the first accepted delivery). */
  readonly payload?: string;
  /** The object as fetched and handed to the handler, and the handler's result. */
  object?: unknown;
  result?: unknown;
  /** Why it is in the DLQ or was last retried. */
  reason?: string;
  readonly attempts: Attempt[];
  /** Insertion order, for paging. */
  readonly seq: number;
}

/** One state of an object handed to a handler, in the order the handlers got them. */
export interface TimelineEntry {
  readonly at: string;
  readonly eventId: string;
  readonly type: string;
  /** The object's `status` (or another short summary) as handed to the handler. */
  readonly state: string;
}

export interface Counters {
  accepted: number;
  rejected: Record<string, number>;
  processed: number;
  duplicates: number;
  retried: number;
  deadLettered: number;
  stripeCalls: number;
}

export interface Page {
  readonly events: JournalEvent[];
  readonly page: number;
  readonly pages: number;
  readonly total: number;
}

export interface Filter {
  readonly type?: string;
  readonly object?: string;
  readonly status?: EventStatus;
}

export type JournalListener = (change: { readonly eventId?: string }) => void;

/** Events kept in memory before the oldest are dropped. */
export const DEFAULT_CAPACITY = 10_000;
/** Events per page of the list. */
export const PAGE_SIZE = 50;
/** States kept per object timeline. */
const TIMELINE_LENGTH = 200;

/** A short summary of an object's state for a timeline: its `status`, else whether it is deleted, else its type. */
export function stateOf(object: unknown): string {
  if (object === null || typeof object !== 'object') return 'no object';
  const o = object as Record<string, unknown>;
  if (o.deleted === true) return 'deleted';
  if (typeof o.status === 'string') return o.status;
  return typeof o.object === 'string' ? o.object : 'object';
}

export class EventJournal {
  private readonly events = new Map<string, JournalEvent>();
  private readonly timelines = new Map<string, TimelineEntry[]>();
  private readonly listeners = new Set<JournalListener>();
  private seq = 0;
  readonly counters: Counters = {
    accepted: 0,
    rejected: {},
    processed: 0,
    duplicates: 0,
    retried: 0,
    deadLettered: 0,
    stripeCalls: 0,
  };

  constructor(
    private readonly capacity = DEFAULT_CAPACITY,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: JournalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A delivery the webhook accepted (2xx: the message is on the queue). */
  accepted(e: { eventId: string; type: string; objectId?: string; account?: string; payload: string }): void {
    this.counters.accepted++;
    const known = this.events.get(e.eventId);
    if (known) {
      known.deliveries++;
      known.updatedAt = this.stamp();
    } else {
      const at = this.stamp();
      this.events.set(e.eventId, {
        eventId: e.eventId,
        type: e.type,
        ...(e.objectId ? { objectId: e.objectId } : {}),
        ...(e.account ? { account: e.account } : {}),
        status: 'queued',
        firstSeenAt: at,
        updatedAt: at,
        deliveries: 1,
        payload: e.payload,
        attempts: [],
        seq: this.seq++,
      });
      this.trim();
    }
    this.emit(e.eventId);
  }

  /** A delivery the webhook refused, by the `error` code it answered with. */
  rejected(reason: string): void {
    this.counters.rejected[reason] = (this.counters.rejected[reason] ?? 0) + 1;
    this.emit();
  }

  /** A processor invocation picked up the message. */
  processing(e: {
    eventId: string;
    type: string;
    objectId?: string;
    messageId: string;
    receiveCount: number;
    container?: string;
  }): void {
    const event = this.ensure(e);
    event.status = 'processing';
    event.updatedAt = this.stamp();
    event.attempts.push({
      at: event.updatedAt,
      messageId: e.messageId,
      receiveCount: e.receiveCount,
      ...(e.container ? { container: e.container } : {}),
    });
    this.emit(e.eventId);
  }

  /** The attempt of `messageId` ended. */
  finished(e: {
    eventId: string;
    type: string;
    objectId?: string;
    messageId: string;
    outcome: 'done' | 'duplicate' | 'retried' | 'dlq';
    reason?: string;
    object?: unknown;
    result?: unknown;
  }): void {
    const event = this.ensure(e);
    const at = this.stamp();
    const attempt = [...event.attempts].reverse().find((a) => a.messageId === e.messageId && !a.outcome);
    if (attempt) {
      attempt.outcome = e.outcome;
      attempt.finishedAt = at;
      if (e.reason) attempt.reason = e.reason;
    }
    event.updatedAt = at;
    switch (e.outcome) {
      case 'done':
        event.status = 'done';
        event.object = e.object;
        if (e.result !== undefined) event.result = e.result;
        delete event.reason;
        this.counters.processed++;
        if (event.objectId)
          this.addToTimeline(event.objectId, { at, eventId: e.eventId, type: e.type, state: stateOf(e.object) });
        break;
      case 'duplicate':
        this.counters.duplicates++;
        // A duplicate of an event already done leaves it done; one the journal never saw done is done too.
        event.status = 'done';
        break;
      case 'retried':
        this.counters.retried++;
        event.status = 'retried';
        if (e.reason) event.reason = e.reason;
        break;
      case 'dlq':
        this.counters.deadLettered++;
        event.status = 'dlq';
        if (e.reason) event.reason = e.reason;
        break;
    }
    this.emit(e.eventId);
  }

  /** Stripe API calls a processor invocation made. */
  stripeCalls(n: number): void {
    this.counters.stripeCalls += n;
    if (n > 0) this.emit();
  }

  get(eventId: string): JournalEvent | undefined {
    return this.events.get(eventId);
  }

  /** The states an object's handlers were handed, oldest first. */
  timeline(objectId: string): readonly TimelineEntry[] {
    return this.timelines.get(objectId) ?? [];
  }

  /** Stripe calls per processed event (accepted unique events that reached done). */
  callsPerEvent(): number | undefined {
    return this.counters.processed === 0 ? undefined : this.counters.stripeCalls / this.counters.processed;
  }

  /** Events with `status` (e.g. every event in the DLQ), newest first. */
  withStatus(status: EventStatus): JournalEvent[] {
    return [...this.events.values()].filter((e) => e.status === status).sort((a, b) => b.seq - a.seq);
  }

  /** The newest `n` events that failed (retried or in the DLQ), with their reasons, newest first. */
  lastErrors(n = 5): Array<Pick<JournalEvent, 'eventId' | 'type' | 'status' | 'reason' | 'updatedAt'>> {
    return [...this.events.values()]
      .filter((e) => e.status === 'retried' || e.status === 'dlq')
      .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : b.seq - a.seq))
      .slice(0, n)
      .map(({ eventId, type, status, reason, updatedAt }) => ({
        eventId,
        type,
        status,
        updatedAt,
        ...(reason ? { reason } : {}),
      }));
  }

  /** Counts of events by status. */
  byStatus(): Record<EventStatus, number> {
    const out = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
    for (const e of this.events.values()) out[e.status]++;
    return out;
  }

  /** The event types seen, for the filter. */
  types(): string[] {
    return [...new Set([...this.events.values()].map((e) => e.type))].sort();
  }

  /** One page (1-based) of the events matching `filter`, newest first. */
  list(filter: Filter = {}, page = 1): Page {
    const matching = [...this.events.values()]
      .filter(
        (e) =>
          (!filter.type || e.type === filter.type) &&
          (!filter.object || e.objectId === filter.object) &&
          (!filter.status || e.status === filter.status),
      )
      .sort((a, b) => b.seq - a.seq);
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
    const p = Math.min(Math.max(1, Math.floor(page) || 1), pages);
    return { events: matching.slice((p - 1) * PAGE_SIZE, p * PAGE_SIZE), page: p, pages, total: matching.length };
  }

  get size(): number {
    return this.events.size;
  }

  /** An event first seen by the processor (e.g. enqueued by the reconciler or a replay, not by the webhook). */
  private ensure(e: { eventId: string; type: string; objectId?: string }): JournalEvent {
    let event = this.events.get(e.eventId);
    if (!event) {
      const at = this.stamp();
      event = {
        eventId: e.eventId,
        type: e.type,
        ...(e.objectId ? { objectId: e.objectId } : {}),
        status: 'queued',
        firstSeenAt: at,
        updatedAt: at,
        deliveries: 0,
        attempts: [],
        seq: this.seq++,
      };
      this.events.set(e.eventId, event);
      this.trim();
    }
    return event;
  }

  private addToTimeline(objectId: string, entry: TimelineEntry): void {
    const list = this.timelines.get(objectId) ?? [];
    list.push(entry);
    if (list.length > TIMELINE_LENGTH) list.shift();
    this.timelines.set(objectId, list);
  }

  /** Drops the oldest events past the capacity (a Map iterates in insertion order). */
  private trim(): void {
    while (this.events.size > this.capacity) {
      const oldest = this.events.keys().next().value as string;
      this.events.delete(oldest);
    }
    while (this.timelines.size > this.capacity) {
      this.timelines.delete(this.timelines.keys().next().value as string);
    }
  }

  private stamp(): string {
    return this.now().toISOString();
  }

  private emit(eventId?: string): void {
    for (const l of this.listeners) l(eventId ? { eventId } : {});
  }
}
