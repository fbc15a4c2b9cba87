/**
 * A Stripe-compatible HTTP server for tests, the soak test and the offline local runtime (`npm start` without a
 * Stripe key). It answers the reads the pipeline makes the way Stripe does:
 *
 * - `GET /v1/<collection>/<id>` (and nested paths, and `/v2/...` objects): the stored object, per account
 *   (`Stripe-Account`, or `Stripe-Context` for v2 calls); `404 resource_missing` for an unknown id of a known type;
 *   `404` without a code ("Unrecognized request URL") for a path Stripe has no route for;
 * - deleted objects: `{ id, object, deleted: true }` for customers, `404 resource_missing` for the rest;
 * - `GET /v1/events` (`limit`, `starting_after`, `ending_before`, `created[gte|gt|lte|lt]`, `type` with a `*`
 *   wildcard, `types[]`), newest first, per account (`Stripe-Account`); `GET /v1/events/:id`; thin events:
 *   `GET /v2/core/events` (`created_gte`..., `types`, `limit`, `page` through `next_page_url`) and `/:id`;
 * - `GET /v1/accounts`: the connected accounts (objects of type `account` stored for the platform);
 * - every answer carries a `Request-Id`; errors are shaped like Stripe's (`{ error: { type, code, message, param } }`);
 * - faults on demand (queued with `inject`, or decided per request by `faultPolicy`): 429 (with `Retry-After` /
 *   `Stripe-Should-Retry`), 5xx, latency, connection reset;
 * - webhook endpoints (the custom resource and the secret rotation manage them): `POST /v1/webhook_endpoints`
 *   (form-encoded like Stripe: `url`, `enabled_events[]`, `metadata[...]`, `description`, `api_version`) answers the
 *   endpoint with its `secret` (only on create, as Stripe does); `GET /v1/webhook_endpoints` lists them newest first;
 *   `GET`/`POST`/`DELETE /v1/webhook_endpoints/:id` retrieve, update (`disabled` too) and delete one;
 * - `Idempotency-Key` on a POST: a repeat with the same key and parameters replays the first answer (the new
 *   endpoint's `secret` included); the same key with other parameters is refused, as Stripe does;
 * - optionally a fixed set of valid API keys (`apiKeys`): any other key is refused with 401, so tests can stage a
 *   bad key; `GET /v1/account` answers the account a key belongs to (`setAccountForKey`, default `acct_local`).
 *
 * Hand-written on node:http rather than stripe-mock: stripe-mock is a Go binary (no downloads here), is stateless
 * (it cannot hold a newer state of an object than the webhook carried, the very thing fetch-before-process is
 * about), and has no fault injection.
 *
 * Apart from webhook endpoints only reads are implemented; anything else answers "Unrecognized request URL", as Stripe
 * does for unknown routes.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSingleton, OBJECT_TYPE_BY_COLLECTION, SINGLETON_TYPE_BY_PATH, servedPath } from './stripe-api-paths';
import {
  type Answer,
  listAccounts,
  listClassicEvents,
  listThinEvents,
  noSuch,
  PLATFORM,
  type StoredEvent,
  stripeError,
  unrecognized,
} from './stripe-lists';
import { createWebhookEndpoints, type RequestContext, type WebhookEndpointRecord } from './stripe-webhook-endpoints';

/** A Stripe object as stored: at least `id` and `object`. */
export interface StripeObject {
  id: string;
  object: string;
  [k: string]: unknown;
}

/** Which requests a fault applies to (all given fields must match). */
export interface RequestMatch {
  method?: string;
  /** Exact path (without query) or a pattern. */
  path?: string | RegExp;
  /** The `Stripe-Account` / `Stripe-Context` of the request; `null` = platform requests only. */
  account?: string | null;
}

export type StripeFault = (
  | {
      kind: 'rate_limit';
      /** Sent as `Retry-After` when set. */
      retryAfterSeconds?: number;
      /** Sent as `Stripe-Should-Retry` when set. */
      shouldRetry?: boolean;
    }
  | { kind: 'server_error' /** @default 500 */; status?: number; shouldRetry?: boolean }
  /** Delays the answer, then answers normally. */
  | { kind: 'latency'; ms: number }
  /** Destroys the socket without an answer (recorded with status 0). */
  | { kind: 'reset' }
) & {
  /** How many matching requests this fault applies to. @default 1 */
  times?: number;
  match?: RequestMatch;
};

export interface RecordedCall {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  readonly query: string;
  /** `Stripe-Account` (or `Stripe-Context`) header. */
  readonly account?: string;
  /** HTTP status answered; 0 for a reset connection. */
  readonly status: number;
}

export interface StripeServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (pass it as `apiBase` to createStripeClient). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  /** Stores (or replaces) an object; later GETs answer it. */
  setObject(obj: StripeObject, opts?: { account?: string }): void;
  /** Deletes an object: later GETs answer `deleted: true` (customers) or 404 `resource_missing` (the rest). */
  deleteObject(id: string, opts?: { account?: string }): void;
  /** Adds an event, served by `GET /v1/events[/:id]` (classic) or `GET /v2/core/events/:id` (thin). */
  addEvent(event: Record<string, unknown>): void;
  /** Every request answered so far, in order. */
  readonly calls: ReadonlyArray<RecordedCall>;
  resetCalls(): void;
  /** Queues a fault for the next `times` matching requests. Faults apply in the order they were injected. */
  inject(fault: StripeFault): void;
  /** Drops every fault not yet used. */
  clearFaults(): void;
  /** Every webhook endpoint that exists now, oldest first, each with its signing secret (so a test can sign as Stripe). */
  webhookEndpoints(): WebhookEndpointRecord[];
  /** One webhook endpoint with its signing secret, or undefined once deleted. */
  webhookEndpoint(id: string): WebhookEndpointRecord | undefined;
  /** Only these API keys are accepted from now on (others get 401); `undefined` accepts any key again. */
  setApiKeys(keys: readonly string[] | undefined): void;
  /** The account `GET /v1/account` answers for requests made with `apiKey`. */
  setAccountForKey(apiKey: string, accountId: string): void;
}

export interface StripeServerOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** Added to every answer. @default 0 */
  latencyMs?: number;
  /**
   * Offline mode for `npm start`: a singleton (e.g. `/v1/balance`), which always exists in Stripe, is served from
   * local/fixtures (Stripe's own example objects) until one is set. An unknown id of any other type answers 404
   * `resource_missing`, like Stripe: objects are created on demand (`npm run ops -- stripe create`, or the admin API).
   */
  singletonsFromFixtures?: boolean;
  /**
   * Serve `POST /_local/objects` (`{ object, account? }`), `POST /_local/objects/:id/delete` (`{ account? }`) and
   * `POST /_local/events` (an event), so another process on this machine (`npm run demo`) can set the scene.
   * @default false
   */
  admin?: boolean;
  /** Accept only these API keys (any other gets 401 like a revoked or mistyped key). @default - any key */
  apiKeys?: readonly string[];
  /**
   * Asked for every request that no injected fault matched: the fault to answer it with, if any. The soak test uses
   * it to keep a steady rate of 429s, 5xx, latency and resets, which a queue of injected faults cannot do. The
   * returned fault's `times` and `match` are ignored.
   */
  faultPolicy?: (request: { method: string; path: string; account?: string }) => StripeFault | undefined;
}

/** Object types whose retrieve answers `{ id, object, deleted: true }` once deleted (the rest answer 404). */
const RETRIEVABLE_WHEN_DELETED: ReadonlySet<string> = new Set(['customer']);

/** Nested collections (sub-resources under a parent): known routes, so an unknown id there is `resource_missing`. */
const NESTED_COLLECTION =
  /^\/v1\/(customers|accounts|application_fees|transfers)\/[^/]+\/(sources|external_accounts|persons|capabilities|refunds|reversals|balance_transactions|cash_balance_transactions)$/;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The API key of a request: `Authorization: Bearer <key>` (stripe-node) or Basic `<key>:` (curl -u). */
function apiKeyOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const [scheme, value] = authorization.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') return Buffer.from(value, 'base64').toString('utf8').split(':', 1)[0];
  return undefined;
}

/** A key shown the way Stripe shows one in an error message: prefix and last four characters only. */
function redactKey(key: string): string {
  const prefix = /^[a-z]+_(live|test)_/.exec(key)?.[0] ?? '';
  return `${prefix}********${key.slice(-4)}`;
}

let fixtures: Record<string, StripeObject> | undefined;
/** Stripe's example object of `type` (local/fixtures), a fresh copy. */
export function fixture(type: string): StripeObject | undefined {
  fixtures ??= (
    JSON.parse(readFileSync(new URL('./fixtures/stripe-objects.json', import.meta.url), 'utf8')) as {
      resources: Record<string, StripeObject>;
    }
  ).resources;
  const found = fixtures[type];
  return found ? structuredClone(found) : undefined;
}

/** Starts the server on 127.0.0.1. */
export async function startStripeServer(opts: StripeServerOptions = {}): Promise<StripeServer> {
  const objects = new Map<string, Map<string, { obj: StripeObject; deleted: boolean }>>();
  const events: StoredEvent[] = [];
  const calls: RecordedCall[] = [];
  let faults: Array<StripeFault & { remaining: number }> = [];
  let seq = 0;
  const endpoints = createWebhookEndpoints();
  /** POST answers by API key + Idempotency-Key, with the request they answered. */
  const idempotent = new Map<string, { fingerprint: string; answer: Answer }>();
  let validKeys: ReadonlySet<string> | undefined = opts.apiKeys ? new Set(opts.apiKeys) : undefined;
  const accountsByKey = new Map<string, string>();

  const store = (account: string | undefined) => {
    const key = account ?? PLATFORM;
    let m = objects.get(key);
    if (!m) {
      m = new Map();
      objects.set(key, m);
    }
    return m;
  };

  function takeFault(method: string, path: string, account: string | undefined): StripeFault | undefined {
    for (const f of faults) {
      if (f.remaining <= 0) continue;
      const m = f.match;
      if (m?.method && m.method.toUpperCase() !== method) continue;
      if (m?.path !== undefined && (typeof m.path === 'string' ? m.path !== path : !m.path.test(path))) continue;
      if (m?.account !== undefined && (m.account ?? undefined) !== account) continue;
      f.remaining--;
      faults = faults.filter((x) => x.remaining > 0);
      return f;
    }
    return undefined;
  }

  /** Connected accounts: the platform's objects of type `account`, in the order they were first stored. */
  function connectedAccounts(): Array<StripeObject> {
    return [...store(undefined).values()].filter((o) => o.obj.object === 'account' && !o.deleted).map((o) => o.obj);
  }

  function getObject(path: string, account: string | undefined): Answer {
    const singletonType = SINGLETON_TYPE_BY_PATH.get(path);
    if (singletonType) {
      const fromStore = store(account).get(singletonType)?.obj;
      if (fromStore) return { status: 200, body: fromStore };
      const fx = opts.singletonsFromFixtures ? fixture(singletonType) : undefined;
      return fx ? { status: 200, body: fx } : unrecognized('GET', path);
    }
    const cut = path.lastIndexOf('/');
    const collection = path.slice(0, cut);
    let id: string;
    try {
      id = decodeURIComponent(path.slice(cut + 1));
    } catch {
      return unrecognized('GET', path);
    }
    if (collection.split('/').length < 3 || id === '') return unrecognized('GET', path);

    const stored = store(account).get(id);
    if (stored) {
      // The right object behind the wrong collection is a client bug Stripe answers with 404: surface it here too.
      const served = servedPath(stored.obj);
      if (served !== undefined && served !== path) return noSuch(stored.obj.object, id);
      if (!stored.deleted) return { status: 200, body: stored.obj };
      if (RETRIEVABLE_WHEN_DELETED.has(stored.obj.object)) {
        return { status: 200, body: { id, object: stored.obj.object, deleted: true } };
      }
      return noSuch(stored.obj.object, id);
    }

    const type = OBJECT_TYPE_BY_COLLECTION.get(collection);
    if (type) return noSuch(type, id);
    if (collection.startsWith('/v2/') || NESTED_COLLECTION.test(collection)) {
      return noSuch(collection.split('/').pop() ?? 'object', id);
    }
    return unrecognized('GET', path);
  }

  function getEvent(id: string, account: string | undefined, thin: boolean): Answer {
    const found = events.find((e) => e.event.id === id && e.thin === thin && e.account === (account ?? PLATFORM));
    return found ? { status: 200, body: found.event } : noSuch(thin ? 'v2.core.event' : 'event', id);
  }

  function route(method: string, path: string, ctx: RequestContext): Answer {
    const { query, account } = ctx;
    if (path === '/v1/webhook_endpoints') return endpoints.route(method, undefined, ctx);
    const endpoint = /^\/v1\/webhook_endpoints\/([^/]+)$/.exec(path);
    if (endpoint) return endpoints.route(method, decodeURIComponent(endpoint[1]!), ctx);
    if (method !== 'GET') return unrecognized(method, path);
    if (path === '/v1/account') {
      const id = (ctx.apiKey && accountsByKey.get(ctx.apiKey)) || 'acct_local';
      return { status: 200, body: { id, object: 'account' } };
    }
    if (path === '/v1/events') return listClassicEvents(events, query, account);
    if (path === '/v2/core/events') return listThinEvents(events, query, account);
    if (path === '/v1/accounts') return listAccounts(connectedAccounts(), query);
    const v1Event = /^\/v1\/events\/([^/]+)$/.exec(path);
    if (v1Event) return getEvent(decodeURIComponent(v1Event[1]!), account, false);
    const v2Event = /^\/v2\/core\/events\/([^/]+)$/.exec(path);
    if (v2Event) return getEvent(decodeURIComponent(v2Event[1]!), account, true);
    if (path.startsWith('/v1/') || path.startsWith('/v2/')) return getObject(path, account);
    return unrecognized(method, path);
  }

  /**
   * `route`, with Stripe's idempotency for POSTs: the same key (per API key) and the same parameters replay the first
   * answer, other parameters are refused. Like Stripe, answers of 5xx are not kept (the request may be retried).
   */
  function routeIdempotently(method: string, path: string, ctx: RequestContext, key: string | undefined): Answer {
    if (method !== 'POST' || key === undefined) return route(method, path, ctx);
    const cacheKey = `${ctx.apiKey ?? ''}\u0000${key}`;
    const fingerprint = `${method} ${path}\u0000${ctx.account ?? ''}\u0000${ctx.body}`;
    const seen = idempotent.get(cacheKey);
    if (seen) {
      if (seen.fingerprint !== fingerprint) {
        return stripeError(
          400,
          'idempotency_error',
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      }
      return { ...seen.answer, headers: { ...seen.answer.headers, 'Idempotent-Replayed': 'true' } };
    }
    const answer = route(method, path, ctx);
    if (answer.status < 500) idempotent.set(cacheKey, { fingerprint, answer });
    return answer;
  }

  /** The admin routes (see StripeServerOptions.admin): they call the same methods a test calls in process. */
  async function adminRoute(method: string, path: string, req: IncomingMessage): Promise<Answer> {
    if (method !== 'POST') return unrecognized(method, path);
    let body: Record<string, unknown>;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return stripeError(400, 'invalid_request_error', 'admin request body must be JSON');
    }
    const account = typeof body.account === 'string' ? { account: body.account } : undefined;
    try {
      if (path === '/_local/objects') {
        api.setObject(body.object as StripeObject, account);
        return { status: 200, body: { ok: true } };
      }
      const del = /^\/_local\/objects\/([^/]+)\/delete$/.exec(path);
      if (del) {
        api.deleteObject(decodeURIComponent(del[1]!), account);
        return { status: 200, body: { ok: true } };
      }
      if (path === '/_local/events') {
        api.addEvent(body);
        return { status: 200, body: { ok: true } };
      }
    } catch (err) {
      return stripeError(400, 'invalid_request_error', err instanceof Error ? err.message : String(err));
    }
    return unrecognized(method, path);
  }

  function send(res: ServerResponse, answer: Answer): void {
    res.writeHead(answer.status, {
      'Content-Type': 'application/json',
      'Request-Id': `req_${randomBytes(8).toString('hex')}`,
      ...answer.headers,
    });
    res.end(JSON.stringify(answer.body));
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const account = header('stripe-account') ?? header('stripe-context');
    const record = (status: number) =>
      calls.push({ method, path: url.pathname, query: url.search, ...(account ? { account } : {}), status });

    if (opts.admin && url.pathname.startsWith('/_local/')) {
      send(res, await adminRoute(method, url.pathname, req));
      return;
    }
    // Read the whole body (POSTs): the webhook endpoint routes need it, and Node keeps the socket waiting otherwise.
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');

    const fault =
      takeFault(method, url.pathname, account) ??
      opts.faultPolicy?.({ method, path: url.pathname, ...(account ? { account } : {}) });
    if (opts.latencyMs) await sleep(opts.latencyMs);
    if (fault?.kind === 'latency') await sleep(fault.ms);
    if (fault?.kind === 'reset') {
      record(0);
      req.socket.destroy();
      return;
    }
    let answer: Answer;
    if (fault?.kind === 'rate_limit') {
      answer = stripeError(429, 'invalid_request_error', 'Too many requests hit the API too quickly.', {
        code: 'rate_limit',
      });
      answer.headers = {
        ...(fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {}),
        ...(fault.shouldRetry !== undefined ? { 'Stripe-Should-Retry': String(fault.shouldRetry) } : {}),
      };
    } else if (fault?.kind === 'server_error') {
      answer = stripeError(fault.status ?? 500, 'api_error', 'An unknown error occurred (injected).');
      if (fault.shouldRetry !== undefined) answer.headers = { 'Stripe-Should-Retry': String(fault.shouldRetry) };
    } else if (!header('authorization')) {
      answer = stripeError(
        401,
        'invalid_request_error',
        'You did not provide an API key. Provide it in the Authorization header (Bearer auth).',
      );
    } else if (validKeys && !validKeys.has(apiKeyOf(header('authorization')) ?? '')) {
      const key = apiKeyOf(header('authorization')) ?? '';
      answer = stripeError(401, 'invalid_request_error', `Invalid API Key provided: ${redactKey(key)}`);
    } else {
      const ctx: RequestContext = {
        query: url.searchParams,
        account,
        apiKey: apiKeyOf(header('authorization')),
        body,
      };
      answer = routeIdempotently(method, url.pathname, ctx, header('idempotency-key'));
    }
    record(answer.status);
    send(res, answer);
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, stripeError(500, 'api_error', `local Stripe server error: ${String(err)}`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const api: StripeServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Clients keep connections alive (stripe-node does): close them or close() waits for them.
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    setObject(obj, o) {
      if (typeof obj.id !== 'string' || obj.id === '' || typeof obj.object !== 'string') {
        throw new Error('setObject needs an object with a string id and object');
      }
      // Singletons (balance...) are stored under their type: they have no id of their own to be asked by.
      const key = isSingleton(obj.object) ? obj.object : obj.id;
      store(o?.account).set(key, { obj: structuredClone(obj), deleted: false });
    },
    deleteObject(id, o) {
      const stored = store(o?.account).get(id);
      if (!stored) throw new Error(`deleteObject: no object ${id}${o?.account ? ` on ${o.account}` : ''}`);
      stored.deleted = true;
    },
    addEvent(event) {
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
    resetCalls() {
      calls.length = 0;
    },
    inject(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    webhookEndpoints: () => endpoints.all(),
    webhookEndpoint: (id) => endpoints.get(id),
    setApiKeys(keys) {
      validKeys = keys ? new Set(keys) : undefined;
    },
    setAccountForKey(apiKey, accountId) {
      accountsByKey.set(apiKey, accountId);
    },
  };
  return api;
}
