/**
 * The fake Stripe's webhook endpoints (what the endpoint custom resource and the secret rotation manage):
 * `POST /v1/webhook_endpoints` (form-encoded like Stripe) answers the endpoint with its `secret` (only on create),
 * `GET` lists them newest first, `GET`/`POST`/`DELETE /v1/webhook_endpoints/:id` retrieve, update and delete one,
 * with Stripe's parameter checks and error shapes. Used by local/stripe-server.ts.
 */
import { randomBytes } from 'node:crypto';
import { type Answer, noSuch, pageLimit, stripeError, unrecognized } from './stripe-lists';

/** A webhook endpoint as the server keeps it: Stripe's object plus the signing secret it only shows on create. */
export interface WebhookEndpointRecord {
  id: string;
  object: 'webhook_endpoint';
  api_version: string | null;
  application: null;
  created: number;
  description: string | null;
  enabled_events: string[];
  livemode: boolean;
  metadata: Record<string, string>;
  status: 'enabled' | 'disabled';
  url: string;
  secret: string;
}

/** What a route may look at besides method and path. */
export interface RequestContext {
  readonly query: URLSearchParams;
  readonly account: string | undefined;
  readonly apiKey: string | undefined;
  /** The raw request body ('' for GET). */
  readonly body: string;
}

/** A decoded form body: `a=1` → string, `a[]=1`/`a[0]=1` → array, `a[k]=1` → object, as Stripe reads them. */
type FormParams = Record<string, string | string[] | Record<string, string>>;

class BadForm extends Error {}

/**
 * Decodes Stripe's form encoding (`application/x-www-form-urlencoded` with bracketed keys, one level deep: all the
 * webhook endpoint routes need). Hand-written because no form library here knows Stripe's bracket conventions.
 */
function parseForm(body: string): FormParams {
  const out: FormParams = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const m = /^([a-z_]+)(?:\[([^\]]*)\])?$/.exec(key);
    if (!m) throw new BadForm(`Invalid parameter: ${key}`);
    const name = m[1]!;
    const sub = m[2];
    const current = out[name];
    if (sub === undefined) {
      out[name] = value;
    } else if (sub === '' || /^\d+$/.test(sub)) {
      if (current !== undefined && !Array.isArray(current)) throw new BadForm(`Invalid array: ${name}`);
      out[name] = [...(current ?? []), value];
    } else {
      if (current !== undefined && (typeof current === 'string' || Array.isArray(current))) {
        throw new BadForm(`Invalid hash: ${name}`);
      }
      out[name] = { ...current, [sub]: value };
    }
  }
  return out;
}

const WEBHOOK_ENDPOINT_PARAMS = {
  create: new Set(['url', 'enabled_events', 'description', 'metadata', 'api_version', 'connect']),
  update: new Set(['url', 'enabled_events', 'description', 'metadata', 'disabled']),
};

/** The webhook endpoints of one fake Stripe: its routes, and what tests read. */
export interface WebhookEndpoints {
  /** `GET|POST /v1/webhook_endpoints` (`id` undefined) and `GET|POST|DELETE /v1/webhook_endpoints/:id`. */
  route(method: string, id: string | undefined, ctx: RequestContext): Answer;
  /** Every endpoint that exists now, oldest first, with its signing secret. */
  all(): WebhookEndpointRecord[];
  get(id: string): WebhookEndpointRecord | undefined;
}

export function createWebhookEndpoints(): WebhookEndpoints {
  /** By id, in creation order. */
  const endpoints = new Map<string, WebhookEndpointRecord>();

  /** The public view of an endpoint: Stripe shows the signing secret only in the answer to its creation. */
  function endpointView(e: WebhookEndpointRecord, withSecret = false): Record<string, unknown> {
    const { secret, ...rest } = e;
    return withSecret ? { ...structuredClone(rest), secret } : structuredClone(rest);
  }

  function unknownParam(params: FormParams, allowed: ReadonlySet<string>): Answer | undefined {
    const unknown = Object.keys(params).find((k) => !allowed.has(k));
    return unknown === undefined
      ? undefined
      : stripeError(400, 'invalid_request_error', `Received unknown parameter: ${unknown}`, { param: unknown });
  }

  /** Checks the params create and update share; answers the error Stripe would, or undefined. */
  function endpointParamError(params: FormParams): Answer | undefined {
    if (params.url !== undefined) {
      let ok = false;
      try {
        ok = typeof params.url === 'string' && /^https?:$/.test(new URL(params.url).protocol);
      } catch {
        ok = false;
      }
      if (!ok)
        return stripeError(400, 'invalid_request_error', 'Invalid URL: url must be an http(s) URL', { param: 'url' });
    }
    if (params.enabled_events !== undefined) {
      const events = params.enabled_events;
      if (!Array.isArray(events) || events.length === 0) {
        return stripeError(400, 'invalid_request_error', 'Invalid array: enabled_events must list event types', {
          param: 'enabled_events',
        });
      }
      const bad = events.find((t) => !/^(\*|[a-z0-9_]+(\.[a-z0-9_]+)+)$/.test(t));
      if (bad !== undefined) {
        return stripeError(400, 'invalid_request_error', `Invalid enabled_events: ${bad} is not an event type`, {
          param: 'enabled_events',
        });
      }
    }
    if (params.metadata !== undefined && typeof params.metadata !== 'object' && params.metadata !== '') {
      return stripeError(400, 'invalid_request_error', 'Invalid hash: metadata', { param: 'metadata' });
    }
    for (const name of ['description', 'api_version', 'disabled', 'connect'] as const) {
      if (params[name] !== undefined && typeof params[name] !== 'string') {
        return stripeError(400, 'invalid_request_error', `Invalid string: ${name}`, { param: name });
      }
    }
    return undefined;
  }

  /** Metadata after an update: `''` unsets a key, as Stripe does; `metadata=` clears every key. */
  function mergeMetadata(current: Record<string, string>, update: FormParams[string] | undefined) {
    if (update === undefined) return current;
    if (update === '') return {};
    const merged = { ...current };
    for (const [k, v] of Object.entries(update as Record<string, string>)) {
      if (v === '') delete merged[k];
      else merged[k] = v;
    }
    return merged;
  }

  function createEndpoint(params: FormParams, apiKey: string | undefined): Answer {
    const invalid = unknownParam(params, WEBHOOK_ENDPOINT_PARAMS.create) ?? endpointParamError(params);
    if (invalid) return invalid;
    for (const required of ['url', 'enabled_events'] as const) {
      if (params[required] === undefined) {
        return stripeError(400, 'invalid_request_error', `Missing required param: ${required}.`, { param: required });
      }
    }
    const endpoint: WebhookEndpointRecord = {
      id: `we_${randomBytes(12).toString('hex')}`,
      object: 'webhook_endpoint',
      api_version: typeof params.api_version === 'string' ? params.api_version : null,
      application: null,
      created: Math.floor(Date.now() / 1000),
      description: typeof params.description === 'string' && params.description !== '' ? params.description : null,
      enabled_events: [...(params.enabled_events as string[])],
      livemode: apiKey?.includes('_live_') ?? false,
      metadata: mergeMetadata({}, params.metadata),
      status: 'enabled',
      url: params.url as string,
      secret: `whsec_${randomBytes(24).toString('base64url')}`,
    };
    endpoints.set(endpoint.id, endpoint);
    return { status: 200, body: endpointView(endpoint, true) };
  }

  function updateEndpoint(endpoint: WebhookEndpointRecord, params: FormParams): Answer {
    const invalid = unknownParam(params, WEBHOOK_ENDPOINT_PARAMS.update) ?? endpointParamError(params);
    if (invalid) return invalid;
    if (params.disabled !== undefined && params.disabled !== 'true' && params.disabled !== 'false') {
      return stripeError(400, 'invalid_request_error', 'Invalid boolean: disabled', { param: 'disabled' });
    }
    if (typeof params.url === 'string') endpoint.url = params.url;
    if (Array.isArray(params.enabled_events)) endpoint.enabled_events = [...params.enabled_events];
    if (typeof params.description === 'string') endpoint.description = params.description || null;
    endpoint.metadata = mergeMetadata(endpoint.metadata, params.metadata);
    if (params.disabled !== undefined) endpoint.status = params.disabled === 'true' ? 'disabled' : 'enabled';
    return { status: 200, body: endpointView(endpoint) };
  }

  function listEndpoints(query: URLSearchParams): Answer {
    const limit = pageLimit(query, 10);
    if (typeof limit !== 'number') return limit;
    // Newest first, like every Stripe list.
    const all = [...endpoints.values()].reverse();
    let start = 0;
    let end = all.length;
    const after = query.get('starting_after');
    const before = query.get('ending_before');
    if (after) {
      const i = all.findIndex((e) => e.id === after);
      if (i < 0) return noSuch('webhook_endpoint', after);
      start = i + 1;
    } else if (before) {
      const i = all.findIndex((e) => e.id === before);
      if (i < 0) return noSuch('webhook_endpoint', before);
      end = i;
      start = Math.max(0, i - limit);
    }
    const page = all.slice(start, Math.min(end, start + limit));
    return {
      status: 200,
      body: {
        object: 'list',
        data: page.map((e) => endpointView(e)),
        has_more: before ? start > 0 : start + limit < end,
        url: '/v1/webhook_endpoints',
      },
    };
  }

  function webhookEndpointRoute(method: string, id: string | undefined, ctx: RequestContext): Answer {
    let params: FormParams;
    try {
      params = parseForm(ctx.body);
    } catch (err) {
      return stripeError(400, 'invalid_request_error', (err as Error).message);
    }
    if (id === undefined) {
      if (method === 'GET') return listEndpoints(ctx.query);
      if (method === 'POST') return createEndpoint(params, ctx.apiKey);
      return unrecognized(method, '/v1/webhook_endpoints');
    }
    const endpoint = endpoints.get(id);
    if (!endpoint) return noSuch('webhook_endpoint', id);
    if (method === 'GET') return { status: 200, body: endpointView(endpoint) };
    if (method === 'POST') return updateEndpoint(endpoint, params);
    if (method === 'DELETE') {
      endpoints.delete(id);
      return { status: 200, body: { id, object: 'webhook_endpoint', deleted: true } };
    }
    return unrecognized(method, `/v1/webhook_endpoints/${id}`);
  }

  return {
    route: webhookEndpointRoute,
    all: () => [...endpoints.values()].map((e) => structuredClone(e)),
    get: (id) => {
      const e = endpoints.get(id);
      return e ? structuredClone(e) : undefined;
    },
  };
}
