/**
 * One way to build a Stripe client, for the Lambdas, the local runtime, the CLI and the tests.
 *
 * `apiBase` (e.g. `http://127.0.0.1:12111`) sends every call to a Stripe-compatible server (stripe-mock, the
 * embedded offline Stripe, a test server) through stripe-node's `host`/`port`/`protocol` options.
 */
import Stripe from 'stripe';

export interface StripeClientOptions {
  /** Base URL of a Stripe-compatible server; omit for the real API. */
  readonly apiBase?: string;
  /** stripe-node's own retries (409, 5xx, `Stripe-Should-Retry: true`; never 429). @default 0 */
  readonly maxNetworkRetries?: number;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** Pin an API version; omit to use the account's default / the library's. */
  readonly apiVersion?: string;
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
  return new Stripe(apiKey, {
    ...stripeConnection(options.apiBase),
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    timeout: options.timeoutMs ?? 10_000,
    telemetry: false,
    appInfo: { name: 'stripe-webhooks-aws' },
    ...(options.apiVersion ? { apiVersion: options.apiVersion as Stripe.LatestApiVersion } : {}),
  });
}
