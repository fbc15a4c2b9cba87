/**
 * The list endpoints of the local Stripe server (stripe-server.ts) and the shapes of its answers: List Events
 * (`GET /v1/events`, per account with `Stripe-Account`), the v2 events list of thin events (`GET /v2/core/events`,
 * per context with `Stripe-Context`, paged by `next_page_url`) and the platform's connected accounts
 * (`GET /v1/accounts`). Pure functions over the server's state, newest first as Stripe lists.
 */

/** The key of the platform's own objects and events. */
export const PLATFORM = '';

export interface StoredEvent {
  readonly event: Record<string, unknown>;
  readonly account: string;
  readonly created: number;
  readonly seq: number;
  readonly thin: boolean;
}

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function stripeError(
  status: number,
  type: string,
  message: string,
  extra: { code?: string; param?: string } = {},
): Answer {
  return { status, body: { error: { type, message, ...extra } } };
}

export function unrecognized(method: string, path: string): Answer {
  return stripeError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
}

export function noSuch(type: string, id: string): Answer {
  return stripeError(404, 'invalid_request_error', `No such ${type}: '${id}'`, {
    code: 'resource_missing',
    param: 'id',
  });
}

/** The `limit` of a list request (1 to 100), or the 400 Stripe answers to a bad one. */
export function pageLimit(query: URLSearchParams, fallback: number): number | Answer {
  const raw = query.get('limit');
  const limit = raw === null ? fallback : Number(raw);
  if (Number.isInteger(limit) && limit >= 1 && limit <= 100) return limit;
  return stripeError(400, 'invalid_request_error', 'Invalid integer: limit must be between 1 and 100', {
    param: 'limit',
  });
}

export function listClassicEvents(
  events: readonly StoredEvent[],
  query: URLSearchParams,
  account: string | undefined,
): Answer {
  const limit = pageLimit(query, 10);
  if (typeof limit !== 'number') return limit;
  const created = (op: string) => {
    const v = query.get(`created[${op}]`);
    return v === null ? undefined : Number(v);
  };
  const exact = query.get('created');
  const gte = created('gte');
  const gt = created('gt');
  const lte = created('lte');
  const lt = created('lt');
  // `types[]=a` and stripe-node's indexed `types[0]=a` alike (Stripe accepts both).
  const listed = [...query.entries()].filter(([k]) => /^types\[\d*\]$/.test(k)).map(([, v]) => v);
  const typePatterns = [...listed, ...(query.get('type') ? [query.get('type') as string] : [])].map(
    (t) => new RegExp(`^${t.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`),
  );

  const matching = events
    .filter((e) => !e.thin && e.account === (account ?? PLATFORM))
    .filter((e) => exact === null || e.created === Number(exact))
    .filter((e) => (gte === undefined || e.created >= gte) && (gt === undefined || e.created > gt))
    .filter((e) => (lte === undefined || e.created <= lte) && (lt === undefined || e.created < lt))
    .filter((e) => typePatterns.length === 0 || typePatterns.some((p) => p.test(String(e.event.type))))
    // Newest first, like Stripe; events created in the same second keep the order they were added in.
    .sort((a, b) => b.created - a.created || b.seq - a.seq);

  let start = 0;
  let end = matching.length;
  const after = query.get('starting_after');
  const before = query.get('ending_before');
  if (after) {
    const i = matching.findIndex((e) => e.event.id === after);
    if (i < 0) return noSuch('event', after);
    start = i + 1;
  } else if (before) {
    const i = matching.findIndex((e) => e.event.id === before);
    if (i < 0) return noSuch('event', before);
    end = i;
    start = Math.max(0, i - limit);
  }
  const page = matching.slice(start, Math.min(end, start + limit));
  const hasMore = before ? start > 0 : start + limit < end;
  return {
    status: 200,
    body: { object: 'list', data: page.map((e) => e.event), has_more: hasMore, url: '/v1/events' },
  };
}

/** A Stripe time filter value: Unix seconds, or an RFC 3339 time as v2 APIs take. */
function seconds(value: string | null): number | undefined {
  if (value === null) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value) / 1000;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * `GET /v2/core/events`: thin events newest first, filtered by `created_gt|gte|lt|lte` (RFC 3339, as the current
 * SDKs send them; `created[gte]` too) and `types`, `limit` (default 20, at most 100), paged by an opaque `page` token
 * that `next_page_url` carries, as v2 lists are.
 */
export function listThinEvents(
  events: readonly StoredEvent[],
  query: URLSearchParams,
  context: string | undefined,
): Answer {
  const limit = pageLimit(query, 20);
  if (typeof limit !== 'number') return limit;
  const bound = (op: string) => seconds(query.get(`created_${op}`) ?? query.get(`created[${op}]`));
  const [gt, gte, lt, lte] = ['gt', 'gte', 'lt', 'lte'].map(bound);
  const types = [...query.entries()].filter(([k]) => /^types(\[\d*\])?$/.test(k)).map(([, v]) => v);
  const matching = events
    .filter((e) => e.thin && e.account === (context ?? PLATFORM))
    .filter((e) => (gt === undefined || e.created > gt) && (gte === undefined || e.created >= gte))
    .filter((e) => (lt === undefined || e.created < lt) && (lte === undefined || e.created <= lte))
    .filter((e) => types.length === 0 || types.includes(String(e.event.type)))
    .sort((a, b) => b.created - a.created || b.seq - a.seq);
  const page = query.get('page');
  const start = page === null ? 0 : Number(Buffer.from(page, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0) {
    return stripeError(400, 'invalid_request_error', 'Invalid page token', { param: 'page' });
  }
  const data = matching.slice(start, start + limit).map((e) => e.event);
  let next: string | null = null;
  if (start + limit < matching.length) {
    const rest = new URLSearchParams(query);
    rest.set('page', Buffer.from(String(start + limit)).toString('base64url'));
    next = `/v2/core/events?${rest.toString()}`;
  }
  return { status: 200, body: { data, next_page_url: next, previous_page_url: null } };
}

/** `GET /v1/accounts`: the platform's connected accounts, newest first (`limit`, `starting_after`). */
export function listAccounts(
  accounts: ReadonlyArray<Record<string, unknown> & { id: string }>,
  query: URLSearchParams,
): Answer {
  const limit = pageLimit(query, 10);
  if (typeof limit !== 'number') return limit;
  const all = [...accounts].reverse();
  let start = 0;
  const after = query.get('starting_after');
  if (after) {
    const i = all.findIndex((a) => a.id === after);
    if (i < 0) return noSuch('account', after);
    start = i + 1;
  }
  return {
    status: 200,
    body: {
      object: 'list',
      data: all.slice(start, start + limit),
      has_more: start + limit < all.length,
      url: '/v1/accounts',
    },
  };
}
