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
 * The pieces, one concern each: stripe-objects.ts (the objects and retrieves), stripe-event-store.ts (events),
 * stripe-lists.ts (list queries), stripe-webhook-endpoints.ts, stripe-idempotency.ts (`Idempotency-Key`),
 * stripe-faults.ts; this file is the HTTP side (auth, routing, admin routes) and puts them together. Paths come from
 * stripe-api-paths.ts, the fake's own table, never the processor's (a fake sharing the code under test cannot catch
 * its mistakes).
 *
 * Hand-written on node:http rather than stripe-mock: stripe-mock is a Go binary (no downloads here), is stateless
 * (it cannot hold a newer state of an object than the webhook carried, the very thing fetch-before-process is
 * about), and has no fault injection.
 *
 * Apart from webhook endpoints only reads are implemented; anything else answers "Unrecognized request URL", as Stripe
 * does for unknown routes.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEventStore } from './stripe-event-store';
import { createFaultQueue, faultAnswer, type StripeFault } from './stripe-faults';
import { withIdempotencyKeys } from './stripe-idempotency';
import { type Answer, listAccounts, stripeError, unrecognized } from './stripe-lists';
import { createObjectStore, type StripeObject } from './stripe-objects';
import { createWebhookEndpoints, type RequestContext, type WebhookEndpointRecord } from './stripe-webhook-endpoints';

export type { RequestMatch, StripeFault } from './stripe-faults';
export { fixture, type StripeObject } from './stripe-objects';

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

/** Starts the server on 127.0.0.1. */
export async function startStripeServer(opts: StripeServerOptions = {}): Promise<StripeServer> {
  const objects = createObjectStore({ singletonsFromFixtures: opts.singletonsFromFixtures ?? false });
  const events = createEventStore();
  const faults = createFaultQueue();
  const endpoints = createWebhookEndpoints();
  const calls: RecordedCall[] = [];
  let validKeys: ReadonlySet<string> | undefined = opts.apiKeys ? new Set(opts.apiKeys) : undefined;
  const accountsByKey = new Map<string, string>();

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
    if (path === '/v1/events') return events.list(query, account, false);
    if (path === '/v2/core/events') return events.list(query, account, true);
    if (path === '/v1/accounts') return listAccounts(objects.connectedAccounts(), query);
    const v1Event = /^\/v1\/events\/([^/]+)$/.exec(path);
    if (v1Event) return events.retrieve(decodeURIComponent(v1Event[1]!), account, false);
    const v2Event = /^\/v2\/core\/events\/([^/]+)$/.exec(path);
    if (v2Event) return events.retrieve(decodeURIComponent(v2Event[1]!), account, true);
    if (path.startsWith('/v1/') || path.startsWith('/v2/')) return objects.retrieve(path, account);
    return unrecognized(method, path);
  }
  const routeIdempotently = withIdempotencyKeys(route);

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
      faults.take(method, url.pathname, account) ??
      opts.faultPolicy?.({ method, path: url.pathname, ...(account ? { account } : {}) });
    if (opts.latencyMs) await sleep(opts.latencyMs);
    if (fault?.kind === 'latency') await sleep(fault.ms);
    if (fault?.kind === 'reset') {
      record(0);
      req.socket.destroy();
      return;
    }
    let answer: Answer;
    const injected = faultAnswer(fault);
    if (injected) {
      answer = injected;
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
    setObject: (obj, o) => objects.set(obj, o?.account),
    deleteObject: (id, o) => objects.delete(id, o?.account),
    addEvent: (event) => events.add(event),
    resetCalls() {
      calls.length = 0;
    },
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
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
