/**
 * One way to build a Stripe client, for the Lambdas, the local runtime, the CLI and the tests.
 *
 * `apiBase` (e.g. `http://127.0.0.1:12111`) sends every call to a Stripe-compatible server (stripe-mock, the
 * embedded offline Stripe, a test server) through stripe-node's `host`/`port`/`protocol` options.
 */
import Stripe from 'stripe';
import type { RequestBudget } from './request-budget';
import { parseApiKey, type SecretSource } from './secrets';

export interface StripeClientOptions {
  /** Base URL of a Stripe-compatible server; omit for the real API. */
  readonly apiBase?: string;
  /** stripe-node's own retries (409, 5xx, `Stripe-Should-Retry: true`; never 429). @default 0 */
  readonly maxNetworkRetries?: number;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** Pin an API version; omit to use the account's default / the library's. */
  readonly apiVersion?: string;
  /**
   * Every HTTP request this client sends (stripe-node's own retries included) waits for the budget first
   * (request-budget.ts); a function picks the budget by the API key's mode. @default - no budget
   */
  readonly budget?: RequestBudget | ((mode: 'live' | 'test' | undefined) => RequestBudget);
}

/** stripe-node's Node HTTP client, each request sent only once `budget` allows it. */
function budgetedHttpClient(budget: RequestBudget): Stripe.HttpClient {
  const inner = Stripe.createNodeHttpClient();
  const client = Object.create(inner) as Stripe.HttpClient;
  client.makeRequest = async (...args: Parameters<Stripe.HttpClient['makeRequest']>) => {
    await budget.take();
    return inner.makeRequest(...args);
  };
  return client;
}

export function stripeConnection(apiBase: string | undefined): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  if (!apiBase) return {};
  const url = new URL(apiBase);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`STRIPE_API_BASE must be an http(s) URL, got ${apiBase}`);
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
  };
}

export function createStripeClient(apiKey: string, options: StripeClientOptions = {}): Stripe {
  const mode = keyMode(apiKey);
  const budget = typeof options.budget === 'function' ? options.budget(mode) : options.budget;
  const client = new Stripe(apiKey, {
    ...stripeConnection(options.apiBase),
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    timeout: options.timeoutMs ?? 10_000,
    telemetry: false,
    appInfo: { name: 'stripe-webhooks-aws' },
    ...(budget ? { httpClient: budgetedHttpClient(budget) } : {}),
    ...(options.apiVersion ? { apiVersion: options.apiVersion as Stripe.LatestApiVersion } : {}),
  });
  if (mode) modes.set(client, mode);
  return client;
}

/** Whether a client's API key is a live or a test one (kept aside: stripe-node does not expose its key). */
const modes = new WeakMap<Stripe, 'live' | 'test'>();

/** `live` or `test` for secret and restricted keys (`sk_live_`, `rk_test_`...), undefined for anything else. */
export function keyMode(apiKey: string): 'live' | 'test' | undefined {
  const m = /^(?:sk|rk)_(live|test)_/.exec(apiKey);
  return m ? (m[1] as 'live' | 'test') : undefined;
}

/** The mode of the API key a client was built with by createStripeClient; undefined when unknown. */
export function stripeKeyMode(client: Stripe): 'live' | 'test' | undefined {
  return modes.get(client);
}

/** Stripe's answers that mean the key itself is refused: revoked or rolled (401), or lacking a permission (403). */
const KEY_REFUSED = new Set([401, 403]);

/**
 * A Stripe client for the API key a secret holds (plain or `{ "apiKey": ... }`), read through the secret's cache on
 * every call and rebuilt only when the key changes, so a rotated key takes effect without a deploy.
 *
 * When Stripe refuses the key (401/403: an operator rolled it, or a rotation promoted a new one and revoked the old),
 * the next call reads the secret past its cache (`refresh`, which the source rate-limits) instead of failing with the
 * cached, dead key until the cache expires. The refused request itself still fails, and its message is retried.
 */
export function stripeFromSecret(secret: SecretSource, options: StripeClientOptions = {}): () => Promise<Stripe> {
  let current: { apiKey: string; client: Stripe } | undefined;
  let refused = false;
  return async () => {
    const refresh = refused;
    refused = false;
    const apiKey = parseApiKey(await secret.get(refresh ? { refresh } : undefined));
    if (current?.apiKey !== apiKey) {
      const client = createStripeClient(apiKey, options);
      client.on('response', (response: { status?: number }) => {
        if (response.status !== undefined && KEY_REFUSED.has(response.status) && current?.client === client) {
          refused = true;
        }
      });
      current = { apiKey, client };
    }
    return current.client;
  };
}
