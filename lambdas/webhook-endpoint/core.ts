/**
 * The Stripe webhook endpoint as a CloudFormation custom resource (`Custom::StripeWebhookEndpoint`), behind
 * aws-cdk-lib's custom-resources Provider framework: `handle` takes the CloudFormation event and returns the
 * framework's answer (`PhysicalResourceId`, `Data`) or throws; the framework answers CloudFormation either way,
 * including when this module fails to load.
 *
 * `Manage` ('true'/'false') says whether the stack manages the endpoint. The resource exists whenever the primary
 * region does, so that turning management off is an Update that hands the endpoint over (nothing in Stripe changes,
 * and a later Delete deletes nothing), not a Delete of the resource that would delete the live endpoint.
 *
 * Managed, Create and Update both make Stripe match the properties (`Url`, `EnabledEvents`, `ApiVersion`,
 * `Description`), and leave exactly one current endpoint: the one reported in `Data.EndpointId`.
 *
 * - An endpoint whose secret the webhook secret holds (an active entry) with the same URL (and API version, when one
 *   is set) is kept; its events, description and tags are updated when they differ. If its entry is one already
 *   expiring (the URL went A -> B, and now back to A: what CloudFormation sends when it rolls a failed update back),
 *   it becomes the current entry again and the others expire after the overlap: the cleanup must delete B, not A.
 *   Nothing at all is written when everything already matches (an unchanged Update, or a Create run again).
 * - Otherwise (first deploy, a new URL or API version) a new endpoint is created and its secret put in front of the
 *   webhook secret; the older entries stay active for the overlap, exactly as after a rotation, and the hourly
 *   cleanup of the rotation Lambda deletes their endpoints once they expire. So a URL change creates the new endpoint
 *   before the old one goes, and no delivery is refused meanwhile.
 *
 * Stripe shows a signing secret only when it creates the endpoint, so an endpoint found in Stripe (URL + tags) whose
 * secret the webhook secret does not hold is useless: on Create such leftovers of a failed earlier attempt are deleted
 * once the new endpoint is stored. The create call's idempotency key is the CloudFormation request id, so a retried
 * invocation of the same request gets the same endpoint and secret back.
 *
 * Delete (managed) removes every endpoint tagged for this deployment (`app=<appName>`); the secret stays, under its
 * removal policy. The physical id never changes, so CloudFormation never deletes an endpoint behind an Update's back.
 *
 * The signing secret goes to Secrets Manager only: the answer's Data holds the endpoint id and URL.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { readCurrent, rotationInProgress } from '../shared/secret-versions';
import { parseWebhookSecretDocument, type WebhookSecretEntry } from '../shared/secrets';
import { ApiKeyNotSetError } from '../shared/stripe-from-api-key-secret';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointSettings,
  isManagedBy,
  listEndpoints,
  managedMetadata,
  ROTATION_TOKEN_KEY,
  retrieveEndpoint,
  sameEvents,
} from '../shared/webhook-endpoints';
import { partitionByExpiry, serializeWebhookSecretDocument, withNewestEntry } from '../shared/webhook-secret-document';

/** The custom resource type in the template. */
export const RESOURCE_TYPE = 'Custom::StripeWebhookEndpoint';

/** What the Provider framework expects back from the handler. Data is never a secret (CloudFormation shows it). */
export interface ProviderResult {
  readonly PhysicalResourceId: string;
  readonly Data: Record<string, string>;
}

/** Invalid resource properties (a template bug, reported as the failure reason). */
export class PropertyError extends Error {
  override name = 'PropertyError';
}

/** Reads the resource properties (CloudFormation passes every scalar as a string). */
export function endpointSettingsFrom(props: Record<string, unknown>): EndpointSettings {
  const { Url, EnabledEvents, ApiVersion, Description } = props;
  if (typeof Url !== 'string' || !/^https?:\/\//.test(Url)) throw new PropertyError('Url must be an http(s) URL');
  if (
    !Array.isArray(EnabledEvents) ||
    EnabledEvents.length === 0 ||
    !EnabledEvents.every((e) => typeof e === 'string')
  ) {
    throw new PropertyError('EnabledEvents must be a non-empty list of event types');
  }
  if (ApiVersion !== undefined && typeof ApiVersion !== 'string')
    throw new PropertyError('ApiVersion must be a string');
  if (Description !== undefined && typeof Description !== 'string') {
    throw new PropertyError('Description must be a string');
  }
  return {
    url: Url,
    enabledEvents: EnabledEvents as string[],
    ...(ApiVersion ? { apiVersion: ApiVersion } : {}),
    ...(Description ? { description: Description } : {}),
  };
}

/** Whether the properties say the stack manages the endpoint (`Manage`, absent = managed: older templates). */
export function isManaged(props: Record<string, unknown> | undefined): boolean {
  return props?.Manage !== 'false' && props?.Manage !== false;
}

/** What the custom resource needs; every client is passed in. */
export interface WebhookEndpointResourceDeps {
  sm: SecretsManagerClient;
  /** A Stripe client with the current API key (it needs write access to webhook endpoints). */
  stripe: () => Promise<Stripe>;
  webhookSecretId: string;
  /** Tags the endpoints (metadata `app`) and names the physical id. */
  appName: string;
  /** How long the older secrets stay active after a new endpoint replaced theirs, milliseconds. */
  overlapMs: number;
  logger: Logger;
  /** The clock, milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/** The custom resource's behaviour; `handle` takes the CloudFormation event. */
export interface WebhookEndpointResource {
  readonly physicalResourceId: string;
  handle(event: CloudFormationCustomResourceEvent): Promise<ProviderResult>;
}

export function createWebhookEndpointResource(deps: WebhookEndpointResourceDeps): WebhookEndpointResource {
  const { sm, logger, appName, webhookSecretId } = deps;
  const physicalResourceId = `${appName}-stripe-webhook-endpoint`;
  const now = () => new Date((deps.now ?? Date.now)());

  const result = (endpoint: { id: string; url: string } | undefined, managed = true): ProviderResult => ({
    PhysicalResourceId: physicalResourceId,
    Data: { EndpointId: endpoint?.id ?? '', Url: endpoint?.url ?? '', Managed: String(managed) },
  });

  async function writeSecret(secrets: readonly WebhookSecretEntry[]): Promise<void> {
    await sm.send(
      new PutSecretValueCommand({
        SecretId: webhookSecretId,
        SecretString: serializeWebhookSecretDocument({ secrets }),
      }),
    );
  }

  /** Brings the endpoint's settings in line with `desired` (events, description, our tags). */
  async function align(stripe: Stripe, endpoint: Stripe.WebhookEndpoint, desired: EndpointSettings): Promise<void> {
    const update: Stripe.WebhookEndpointUpdateParams = {};
    if (!sameEvents(endpoint.enabled_events, desired.enabledEvents)) {
      update.enabled_events = [...desired.enabledEvents] as Stripe.WebhookEndpointUpdateParams.EnabledEvent[];
    }
    if ((endpoint.description ?? '') !== (desired.description ?? '')) update.description = desired.description ?? '';
    // An endpoint made in the Dashboard whose secret was put here is adopted: from now on the stack manages it.
    if (!isManagedBy(endpoint, appName)) update.metadata = managedMetadata(appName);
    if (Object.keys(update).length === 0) return;
    await stripe.webhookEndpoints.update(endpoint.id, update);
    logger.info('webhook endpoint updated', { endpointId: endpoint.id, fields: Object.keys(update) });
  }

  /** Makes Stripe and the webhook secret match `desired`. */
  async function ensure(desired: EndpointSettings, requestId: string, isCreate: boolean): Promise<ProviderResult> {
    const busy = await rotationInProgress(sm, webhookSecretId);
    if (busy) {
      // Writing the secret now would be lost when the rotation promotes the value it computed before.
      throw new Error(
        `a rotation of ${webhookSecretId} is in progress (version ${busy}): deploy again once it has finished, or ` +
          'cancel it (docs/rotation.md)',
      );
    }
    const doc = parseWebhookSecretDocument((await readCurrent(sm, webhookSecretId)).value);
    const at = now();
    const { active, expired } = partitionByExpiry(doc, at);
    const stripe = await deps.stripe();

    const held: { entry: WebhookSecretEntry; endpoint: Stripe.WebhookEndpoint }[] = [];
    for (const entry of active) {
      const endpoint = entry.endpointId ? await retrieveEndpoint(stripe, entry.endpointId) : undefined;
      if (endpoint) held.push({ entry, endpoint });
    }
    const matching = held.filter(
      ({ endpoint: e }) =>
        e.url === desired.url && (desired.apiVersion === undefined || e.api_version === desired.apiVersion),
    );
    // The current entry (no expiry) if it matches, else the matching one that expires last.
    const kept = [...matching].sort((a, b) => expiryOf(b.entry) - expiryOf(a.entry))[0];
    if (kept) {
      await align(stripe, kept.endpoint, desired);
      if (kept.entry.expiresAt !== undefined) {
        // Back to an endpoint that was being replaced (a rollback): it is the current one again, the others expire.
        const next = withNewestEntry(
          { secrets: active },
          { secret: kept.entry.secret, endpointId: kept.endpoint.id },
          at,
          deps.overlapMs,
        );
        await writeSecret(next.secrets);
        logger.info('webhook endpoint made current again', {
          endpointId: kept.endpoint.id,
          expiring: held.filter((h) => h !== kept).map((h) => h.endpoint.id),
        });
      }
      logger.info('webhook endpoint in place', { endpointId: kept.endpoint.id, url: desired.url });
      return result(kept.endpoint);
    }

    const created = await createEndpoint(stripe, desired, managedMetadata(appName), `cfn-${requestId}`);
    for (const entry of expired) if (entry.endpointId) await deleteEndpoint(stripe, entry.endpointId);
    const next = withNewestEntry(
      { secrets: active },
      { secret: created.secret, endpointId: created.id },
      at,
      deps.overlapMs,
    );
    await writeSecret(next.secrets);
    logger.info('webhook endpoint created and its secret stored', {
      endpointId: created.id,
      url: created.url,
      replaced: held.map((h) => h.endpoint.id),
      olderSecretsUntil: new Date(at.getTime() + deps.overlapMs).toISOString(),
    });

    if (isCreate) {
      const stored = new Set(next.secrets.map((e) => e.endpointId));
      for (const endpoint of await listEndpoints(stripe)) {
        if (
          endpoint.url === desired.url &&
          isManagedBy(endpoint, appName) &&
          !stored.has(endpoint.id) &&
          endpoint.metadata?.[ROTATION_TOKEN_KEY] === undefined
        ) {
          await deleteEndpoint(stripe, endpoint.id);
          logger.warn('deleted a managed endpoint whose secret was never stored', { endpointId: endpoint.id });
        }
      }
    }
    return result(created);
  }

  /** Deletes every endpoint tagged for this deployment. */
  async function remove(): Promise<ProviderResult> {
    let stripe: Stripe;
    try {
      stripe = await deps.stripe();
    } catch (err) {
      // Without a key nothing can have been created (Create needs one): let the stack delete or roll back.
      if (err instanceof ApiKeyNotSetError) {
        logger.warn('no usable Stripe API key: no webhook endpoint deleted', { error: err.message });
        return result(undefined);
      }
      throw err;
    }
    const deleted: string[] = [];
    for (const endpoint of await listEndpoints(stripe)) {
      if (!isManagedBy(endpoint, appName)) continue;
      await deleteEndpoint(stripe, endpoint.id);
      deleted.push(endpoint.id);
    }
    logger.info('webhook endpoints deleted', { endpointIds: deleted });
    return result(undefined);
  }

  async function handle(event: CloudFormationCustomResourceEvent): Promise<ProviderResult> {
    logger.info('custom resource request', { requestType: event.RequestType, requestId: event.RequestId });
    if (!isManaged(event.ResourceProperties)) {
      // Not (or no longer) managed: the endpoint, if any, is the operator's; nothing in Stripe changes, even on Delete.
      logger.info('webhook endpoint not managed by the stack: nothing to do', { requestType: event.RequestType });
      return result(undefined, false);
    }
    if (event.RequestType === 'Delete') return remove();
    const desired = endpointSettingsFrom(event.ResourceProperties);
    const firstManaged =
      event.RequestType === 'Create' || (event.RequestType === 'Update' && !isManaged(event.OldResourceProperties));
    return ensure(desired, event.RequestId, firstManaged);
  }

  return { physicalResourceId, handle };
}

/** When an entry stops verifying signatures, ms since the epoch (no expiry = never). */
function expiryOf(entry: WebhookSecretEntry): number {
  return entry.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(entry.expiresAt);
}
