/**
 * Rotation of the webhook signing secret.
 *
 * Stripe shows an endpoint's signing secret only when the endpoint is created and cannot roll it through the API, so
 * rotating the secret means rotating the endpoint:
 *
 * - createSecret: create a NEW endpoint with the same URL, events, API version and description as the current one
 *   (the endpoint of the active entry that does not expire; the configured defaults when there is none), and put
 *   AWSPENDING = the new secret first, then every still-active older entry with `expiresAt` = now + overlap (an
 *   earlier date is kept). Entries that have already expired are dropped and their endpoints deleted. Repeating the step is safe:
 *   a pending value already put is kept; the create call carries an idempotency key derived from the token, so
 *   Stripe replays the same endpoint and secret for 24 hours; and an endpoint an earlier attempt of this rotation
 *   created but could not record (its metadata holds the token) is deleted.
 * - setSecret: nothing to set in Stripe (the endpoint exists and Stripe signs with its secret).
 * - testSecret: nothing to test when the pending version is empty or holds the current value (Secrets Manager
 *   testing the function as a rotation schedule is created, placeholder included). Otherwise: the pending endpoint
 *   exists and is enabled; a payload signed with the new secret verifies with the
 *   ingress's own verifier under the pending value; every secret active now is still active in the pending value.
 * - finishSecret: move AWSCURRENT to the pending version. The ingress reads the new value within its cache TTL, or
 *   at once on the first signature it cannot verify (it refreshes once on a bad signature).
 *
 * The old endpoint is deleted after the overlap by the hourly `cleanup` (an EventBridge schedule invokes this
 * function with `{ "action": "cleanup" }`): it deletes the endpoint of every expired entry, and every endpoint of
 * this app that no entry refers to any more (a failed or cancelled rotation's, ./orphans.ts). It only deletes in
 * Stripe and never rewrites the secret (so it cannot race a rotation or a deploy writing the secret); expired
 * entries are dropped by the next write (a rotation, or the endpoint custom resource).
 *
 * Between createSecret and finishSecret (seconds) the new endpoint already receives events signed with a secret the
 * ingress does not know yet: those deliveries get a 400 and Stripe retries them; the old endpoint delivers the same
 * events meanwhile, and the processor dedupes by event id.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Stripe from 'stripe';
import { verifyStripeSignature } from '../../ingress/signature';
import { describeError } from '../../shared/errors';
import {
  activeWebhookSecrets,
  parseWebhookSecretDocument,
  SecretFormatError,
  type WebhookSecretEntry,
} from '../../shared/secrets';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointSettings,
  isManagedBy,
  listEndpoints,
  managedMetadata,
  ROTATION_TOKEN_KEY,
  retrieveEndpoint,
  settingsOf,
} from '../../shared/webhook-endpoints';
import {
  partitionByExpiry,
  serializeWebhookSecretDocument,
  withNewestEntry,
} from '../../shared/webhook-secret-document';
import { recordRotationFailure, runRotationStep } from '../run-step';
import {
  isRotationEvent,
  pendingValueToTest,
  promotePending,
  putPending,
  RotationError,
  readCurrent,
  readPending,
} from '../secrets-manager';
import { orphanEndpoints, referencedEndpointIds } from './orphans';

/** The scheduled invocation that deletes the endpoints of expired entries. */
export interface CleanupEvent {
  readonly action: 'cleanup';
}

/** What the cleanup did. */
export interface CleanupResult {
  /** Endpoints deleted in Stripe now. */
  readonly deleted: readonly string[];
  /** Expired entries without an endpoint id: their endpoint (if any) must be deleted by hand. */
  readonly withoutEndpointId: number;
  /** Endpoints of this app no entry refers to (a failed or cancelled rotation's), deleted now: ./orphans.ts. */
  readonly orphans: readonly string[];
}

/** What the webhook secret rotation needs; every client is passed in. */
export interface WebhookSecretRotationDeps {
  sm: SecretsManagerClient;
  /** A Stripe client with the current API key (it needs write access to webhook endpoints). */
  stripe: () => Promise<Stripe>;
  /** The webhook secret's id (the cleanup has no event naming it). */
  webhookSecretId: string;
  /** Tags the endpoints this deployment creates (metadata `app`). */
  appName: string;
  /** Used when the current endpoint is unknown (entries without an endpoint id, or the endpoint is gone). */
  defaults: EndpointSettings;
  /** How long the old secrets stay active after a rotation, milliseconds. */
  overlapMs: number;
  logger: Logger;
  metrics?: Metrics;
  /** The clock, milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/** The webhook secret rotation: the four steps, the cleanup, and `handle` dispatching on the event. */
export interface WebhookSecretRotation {
  createSecret(secretId: string, token: string): Promise<void>;
  setSecret(secretId: string, token: string): Promise<void>;
  testSecret(secretId: string, token: string): Promise<void>;
  finishSecret(secretId: string, token: string): Promise<void>;
  cleanup(): Promise<CleanupResult>;
  /** A Secrets Manager rotation event, or the scheduled `{ action: 'cleanup' }`. */
  handle(event: unknown): Promise<CleanupResult | undefined>;
}

/** How far from our clock a signature timestamp may be in testSecret (the ingress's own default). */
const TEST_TOLERANCE_SECONDS = 300;

export function createWebhookSecretRotation(deps: WebhookSecretRotationDeps): WebhookSecretRotation {
  const { sm, logger } = deps;
  const now = () => new Date((deps.now ?? Date.now)());

  /**
   * The settings to give the new endpoint: the current endpoint's own (the entry that does not expire, whatever its
   * place in the list), else the configured defaults.
   */
  async function currentSettings(stripe: Stripe, active: readonly WebhookSecretEntry[]): Promise<EndpointSettings> {
    const withId = active.filter((e) => e.endpointId !== undefined);
    const currentId = (withId.find((e) => e.expiresAt === undefined) ?? withId[0])?.endpointId;
    if (currentId) {
      const endpoint = await retrieveEndpoint(stripe, currentId);
      if (endpoint) return settingsOf(endpoint);
      logger.warn('current webhook endpoint not found in Stripe: creating the new one from the configuration', {
        endpointId: currentId,
      });
    }
    return deps.defaults;
  }

  async function createSecret(secretId: string, token: string): Promise<void> {
    const current = await readCurrent(sm, secretId);
    if ((await readPending(sm, secretId, token)) !== undefined) {
      logger.info('createSecret: the pending value exists already', { versionId: token });
      return;
    }
    const at = now();
    const { active, expired } = partitionByExpiry(parseWebhookSecretDocument(current.value), at);
    const stripe = await deps.stripe();

    // Entries past their overlap verify nothing any more: retire their endpoints and leave them out.
    for (const entry of expired) {
      if (entry.endpointId) {
        const outcome = await deleteEndpoint(stripe, entry.endpointId);
        logger.info('deleted the endpoint of an expired secret', { endpointId: entry.endpointId, outcome });
      }
    }

    const settings = await currentSettings(stripe, active);
    const created = await createEndpoint(
      stripe,
      settings,
      managedMetadata(deps.appName, { [ROTATION_TOKEN_KEY]: token }),
      `rotate-webhook-secret-${token}`,
    );
    // An earlier attempt of this rotation may have created an endpoint whose answer (and secret) was lost after
    // Stripe's 24-hour idempotency window: nobody can verify its deliveries, so it goes.
    for (const endpoint of await listEndpoints(stripe)) {
      if (
        endpoint.id !== created.id &&
        endpoint.metadata?.[ROTATION_TOKEN_KEY] === token &&
        isManagedBy(endpoint, deps.appName)
      ) {
        await deleteEndpoint(stripe, endpoint.id);
        logger.warn('deleted an endpoint from an earlier attempt of this rotation', { endpointId: endpoint.id });
      }
    }

    const pending = withNewestEntry(
      { secrets: active },
      { secret: created.secret, endpointId: created.id },
      at,
      deps.overlapMs,
    );
    await putPending(sm, secretId, token, serializeWebhookSecretDocument(pending));
    logger.info('createSecret: new endpoint created and pending value put', {
      versionId: token,
      endpointId: created.id,
      url: created.url,
      olderSecretsUntil: new Date(at.getTime() + deps.overlapMs).toISOString(),
    });
  }

  async function setSecret(): Promise<void> {
    // Nothing to do: Stripe signs with the new endpoint's secret from the moment it exists.
  }

  async function testSecret(secretId: string, token: string): Promise<void> {
    const pendingValue = await pendingValueToTest(sm, secretId, token);
    if (pendingValue === undefined) {
      // Secrets Manager testing the function without a rotation (a rotation schedule being created): pass.
      logger.info('testSecret: the pending version holds no new value; nothing to test', { versionId: token });
      return;
    }
    const pending = parseWebhookSecretDocument(pendingValue);
    const newest = pending.secrets[0];
    if (!newest?.endpointId) throw new RotationError('the pending value does not start with a new endpoint');

    const endpoint = await retrieveEndpoint(await deps.stripe(), newest.endpointId);
    if (!endpoint) throw new RotationError(`the new endpoint ${newest.endpointId} does not exist in Stripe`);
    if (endpoint.status !== 'enabled') {
      throw new RotationError(`the new endpoint ${newest.endpointId} is ${endpoint.status}, not enabled`);
    }

    // Sign as Stripe does (stripe-node's signer) and verify as the ingress does, under the pending value.
    const at = now();
    const nowSeconds = Math.floor(at.getTime() / 1000);
    const payload = JSON.stringify({ id: `evt_rotation_test_${token}`, object: 'event', type: 'rotation.test' });
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: newest.secret, timestamp: nowSeconds });
    const verdict = verifyStripeSignature(Buffer.from(payload, 'utf8'), header, activeWebhookSecrets(pending, at), {
      toleranceSeconds: TEST_TOLERANCE_SECONDS,
      nowSeconds,
    });
    if (!verdict.ok) throw new RotationError(`a payload signed with the new secret does not verify: ${verdict.reason}`);

    // The overlap: nothing the ingress accepts now may stop being accepted when the pending value becomes current.
    const pendingActive = new Set(activeWebhookSecrets(pending, at));
    let currentActive: string[] = [];
    try {
      currentActive = activeWebhookSecrets(parseWebhookSecretDocument((await readCurrent(sm, secretId)).value), at);
    } catch (err) {
      if (!(err instanceof SecretFormatError)) throw err; // a placeholder or empty current value: nothing to keep
    }
    const dropped = currentActive.filter((s) => !pendingActive.has(s)).length;
    if (dropped > 0) throw new RotationError(`the pending value drops ${dropped} secret(s) that are active now`);
  }

  async function finishSecret(secretId: string, token: string): Promise<void> {
    const outcome = await promotePending(sm, secretId, token);
    logger.info('finishSecret: pending version is now AWSCURRENT', { versionId: token, outcome });
  }

  async function cleanup(): Promise<CleanupResult> {
    const at = now();
    const { expired } = partitionByExpiry(
      parseWebhookSecretDocument((await readCurrent(sm, deps.webhookSecretId)).value),
      at,
    );
    const withoutEndpointId = expired.filter((e) => e.endpointId === undefined).length;
    if (withoutEndpointId > 0) {
      logger.warn(
        'expired webhook secret entries without an endpointId: delete their endpoints in the Stripe Dashboard',
        { count: withoutEndpointId },
      );
    }
    const expiredIds = new Set(expired.flatMap((e) => (e.endpointId ? [e.endpointId] : [])));
    // Read before listing: an endpoint created after this read is younger than the grace period anyway.
    const referenced = await referencedEndpointIds(sm, deps.webhookSecretId);

    // One list call, then deletes only for endpoints that still exist: expired entries stay in the secret until the
    // next write, and this runs every hour.
    const stripe = await deps.stripe();
    const endpoints = await listEndpoints(stripe);
    const deleted: string[] = [];
    for (const endpoint of endpoints) {
      if (!expiredIds.has(endpoint.id)) continue;
      if ((await deleteEndpoint(stripe, endpoint.id)) === 'deleted') deleted.push(endpoint.id);
    }
    if (deleted.length > 0) logger.info('deleted the endpoints of expired webhook secrets', { endpointIds: deleted });

    const orphans: string[] = [];
    for (const endpoint of orphanEndpoints(endpoints, referenced, deps.appName, at.getTime())) {
      if ((await deleteEndpoint(stripe, endpoint.id)) === 'deleted') orphans.push(endpoint.id);
    }
    if (orphans.length > 0) {
      logger.warn('deleted endpoints of this app that no secret entry refers to', { endpointIds: orphans });
    }
    return { deleted, withoutEndpointId, orphans };
  }

  const steps = { createSecret, setSecret, testSecret, finishSecret };

  async function handle(event: unknown): Promise<CleanupResult | undefined> {
    if (isRotationEvent(event)) {
      await runRotationStep(event, steps, { sm, logger, metrics: deps.metrics, secret: 'webhook' });
      return undefined;
    }
    if ((event as Partial<CleanupEvent> | null)?.action === 'cleanup') {
      try {
        return await cleanup();
      } catch (err) {
        // The old endpoint keeps receiving (and failing) deliveries until this succeeds: same alarm as a rotation.
        recordRotationFailure(deps.metrics, 'webhook');
        logger.error('webhook endpoint cleanup failed', { error: describeError(err) });
        throw err;
      }
    }
    throw new RotationError('unsupported event: expected a Secrets Manager rotation step or { "action": "cleanup" }');
  }

  return { ...steps, cleanup, handle };
}
