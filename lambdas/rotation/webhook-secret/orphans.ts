/**
 * Orphan endpoints: endpoints this app created (metadata `managed_by` + `app`) that no entry of the webhook secret
 * refers to, current or pending. A rotation that failed or was cancelled after createSecret made its endpoint, or a
 * custom resource request that failed after creating one, leaves such an endpoint behind: nobody holds its signing
 * secret, so its deliveries all fail, and it counts toward Stripe's limit of 16 endpoints per account (a full
 * account cannot rotate any more). The hourly cleanup deletes them.
 *
 * Only endpoints older than `ORPHAN_GRACE_MS` count: a rotation or a deploy creates its endpoint a few seconds
 * before it writes the secret that refers to it, and must not lose it in between.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type Stripe from 'stripe';
import { parseWebhookSecretDocument } from '../../shared/secrets';
import { isManagedBy } from '../../shared/webhook-endpoints';
import { readCurrent, readSecretValue, rotationInProgress } from '../secrets-manager';

/** How old an unreferenced endpoint must be before it counts as an orphan. */
export const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/** Every endpoint id the webhook secret refers to: its current value and, during a rotation, its pending one. */
export async function referencedEndpointIds(sm: SecretsManagerClient, secretId: string): Promise<Set<string>> {
  const values = [(await readCurrent(sm, secretId)).value];
  const pendingVersion = await rotationInProgress(sm, secretId);
  if (pendingVersion) {
    const pending = await readSecretValue(sm, secretId, { versionId: pendingVersion });
    if (pending !== undefined) values.push(pending);
  }
  const ids = new Set<string>();
  for (const value of values) {
    for (const entry of parseWebhookSecretDocument(value).secrets) if (entry.endpointId) ids.add(entry.endpointId);
  }
  return ids;
}

/** The endpoints of `appName` that `referenced` does not hold and that are older than the grace period at `nowMs`. */
export function orphanEndpoints(
  endpoints: readonly Stripe.WebhookEndpoint[],
  referenced: ReadonlySet<string>,
  appName: string,
  nowMs: number,
): Stripe.WebhookEndpoint[] {
  return endpoints.filter(
    (e) => isManagedBy(e, appName) && !referenced.has(e.id) && nowMs - e.created * 1000 >= ORPHAN_GRACE_MS,
  );
}
