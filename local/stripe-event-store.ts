/**
 * The local Stripe's events (local/stripe-server.ts): classic (`GET /v1/events[/:id]`) and thin
 * (`GET /v2/core/events[/:id]`), per account; the list queries are in local/stripe-lists.ts.
 */
import { type Answer, listClassicEvents, listThinEvents, noSuch, PLATFORM, type StoredEvent } from './stripe-lists';

export interface EventStore {
  /** Adds an event (classic, or thin when its `object` is `v2.core.event`). */
  add(event: Record<string, unknown>): void;
  /** `GET /v1/events/:id` (classic) or `GET /v2/core/events/:id` (thin). */
  retrieve(id: string, account: string | undefined, thin: boolean): Answer;
  /** `GET /v1/events` (classic) or `GET /v2/core/events` (thin). */
  list(query: URLSearchParams, account: string | undefined, thin: boolean): Answer;
}

export function createEventStore(): EventStore {
  const events: StoredEvent[] = [];
  let seq = 0;
  return {
    add(event) {
      if (typeof event.id !== 'string') throw new Error('addEvent needs an event with a string id');
      const thin = event.object === 'v2.core.event';
      const created =
        typeof event.created === 'number' ? event.created : Math.floor(Date.parse(String(event.created)) / 1000);
      if (!Number.isFinite(created)) throw new Error('addEvent needs `created` (Unix seconds, or ISO for thin events)');
      const account = thin ? event.context : event.account;
      events.push({
        event: structuredClone(event),
        account: typeof account === 'string' && account !== '' ? account : PLATFORM,
        created,
        seq: seq++,
        thin,
      });
    },
    retrieve(id, account, thin) {
      const found = events.find((e) => e.event.id === id && e.thin === thin && e.account === (account ?? PLATFORM));
      return found ? { status: 200, body: found.event } : noSuch(thin ? 'v2.core.event' : 'event', id);
    },
    list(query, account, thin) {
      return thin ? listThinEvents(events, query, account) : listClassicEvents(events, query, account);
    },
  };
}
