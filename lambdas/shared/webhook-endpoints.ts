/**
 * Stripe webhook endpoints as this app manages them (the endpoint custom resource and the webhook secret rotation).
 *
 * Every endpoint the app creates carries metadata `managed_by=stripe-webhooks-aws` and `app=<appName>`; the app only
 * ever discovers (and deletes without being told its id) endpoints carrying both, so an endpoint an operator made in
 * the Dashboard is left alone unless the webhook secret names it.
 */
import type Stripe from 'stripe';

/** Metadata key and value marking an endpoint as created by this project. */
export const MANAGED_BY_KEY = 'managed_by';
export const MANAGED_BY_VALUE = 'stripe-webhooks-aws';
/** Metadata key naming the deployment (`appName`) an endpoint belongs to. */
export const APP_KEY = 'app';
/** Metadata key holding the Secrets Manager ClientRequestToken of the rotation that created an endpoint. */
export const ROTATION_TOKEN_KEY = 'rotation_token';

/** What a webhook endpoint should look like. */
export interface EndpointSettings {
  readonly url: string;
  readonly enabledEvents: readonly string[];
  /** Fixed at creation (Stripe cannot change it later). @default - the account's default version */
  readonly apiVersion?: string;
  readonly description?: string;
}

/** The metadata of an endpoint this app creates. */
export function managedMetadata(appName: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [MANAGED_BY_KEY]: MANAGED_BY_VALUE, [APP_KEY]: appName, ...extra };
}

/** Whether `endpoint` was created by this app (for `appName`). */
export function isManagedBy(endpoint: Pick<Stripe.WebhookEndpoint, 'metadata'>, appName: string): boolean {
  return endpoint.metadata?.[MANAGED_BY_KEY] === MANAGED_BY_VALUE && endpoint.metadata?.[APP_KEY] === appName;
}

/** Whether a Stripe error means "no such object" (404 resource_missing). */
export function isResourceMissing(err: unknown): boolean {
  const e = err as { statusCode?: unknown; code?: unknown } | null;
  return e?.statusCode === 404 && (e.code === 'resource_missing' || e.code === undefined);
}

/** Every webhook endpoint of the account (Stripe pages lists; stripe-node follows the pages). */
export async function listEndpoints(stripe: Stripe): Promise<Stripe.WebhookEndpoint[]> {
  const all: Stripe.WebhookEndpoint[] = [];
  for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) all.push(endpoint);
  return all;
}

/** The endpoint, or undefined when Stripe has no such endpoint (any other error is thrown). */
export async function retrieveEndpoint(stripe: Stripe, id: string): Promise<Stripe.WebhookEndpoint | undefined> {
  try {
    return await stripe.webhookEndpoints.retrieve(id);
  } catch (err) {
    if (isResourceMissing(err)) return undefined;
    throw err;
  }
}

/** Deletes an endpoint; an endpoint that is already gone counts as deleted (so every caller can retry). */
export async function deleteEndpoint(stripe: Stripe, id: string): Promise<'deleted' | 'already_gone'> {
  try {
    await stripe.webhookEndpoints.del(id);
    return 'deleted';
  } catch (err) {
    if (isResourceMissing(err)) return 'already_gone';
    throw err;
  }
}

/** The settings of an existing endpoint (to recreate it: a rotation makes a new endpoint just like the old one). */
export function settingsOf(endpoint: Stripe.WebhookEndpoint): EndpointSettings {
  return {
    url: endpoint.url,
    enabledEvents: [...endpoint.enabled_events],
    ...(endpoint.api_version ? { apiVersion: endpoint.api_version } : {}),
    ...(endpoint.description ? { description: endpoint.description } : {}),
  };
}

/**
 * Creates an endpoint and returns it with its signing secret (Stripe shows the secret only in this answer).
 * `idempotencyKey` makes a retry of the same logical request (a rotation step, a CloudFormation request) get the
 * same endpoint and secret back instead of a second endpoint: Stripe replays the first answer for 24 hours.
 */
export async function createEndpoint(
  stripe: Stripe,
  settings: EndpointSettings,
  metadata: Record<string, string>,
  idempotencyKey: string,
): Promise<Stripe.WebhookEndpoint & { secret: string }> {
  const created = await stripe.webhookEndpoints.create(
    {
      url: settings.url,
      enabled_events: [...settings.enabledEvents] as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
      metadata,
      ...(settings.apiVersion
        ? { api_version: settings.apiVersion as Stripe.WebhookEndpointCreateParams.ApiVersion }
        : {}),
      ...(settings.description ? { description: settings.description } : {}),
    },
    { idempotencyKey },
  );
  if (typeof created.secret !== 'string' || created.secret === '') {
    throw new Error(`Stripe created webhook endpoint ${created.id} without returning its signing secret`);
  }
  return created as Stripe.WebhookEndpoint & { secret: string };
}

/** Whether two event type lists hold the same types (order does not matter to Stripe). */
export function sameEvents(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((t) => right.has(t));
}
