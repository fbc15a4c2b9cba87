/**
 * Writing the webhook signing secret document (the format lambdas/shared/secrets.ts reads): the endpoint custom
 * resource and the webhook secret rotation both add a new endpoint's secret in front and let the older ones expire
 * after an overlap, during which the ingress accepts all of them.
 */
import type { WebhookSecretDocument, WebhookSecretEntry } from './secrets';

/** Whether an entry still verifies signatures at `now` (the rule activeWebhookSecrets applies). */
export function isActiveEntry(entry: WebhookSecretEntry, now: Date): boolean {
  return entry.expiresAt === undefined || Date.parse(entry.expiresAt) > now.getTime();
}

/** The entries still active at `now`, and those that have expired (an unparseable `expiresAt` counts as expired). */
export function partitionByExpiry(
  doc: WebhookSecretDocument,
  now: Date,
): { active: WebhookSecretEntry[]; expired: WebhookSecretEntry[] } {
  const active: WebhookSecretEntry[] = [];
  const expired: WebhookSecretEntry[] = [];
  for (const entry of doc.secrets) (isActiveEntry(entry, now) ? active : expired).push(entry);
  return { active, expired };
}

/**
 * A document with `entry` first (no expiry) and every other entry expiring at the latest `overlapMs` after `now`
 * (an entry that already expires sooner keeps its date). Entries are copied field by field, so nothing but
 * `secret`, `endpointId` and `expiresAt` is written back.
 */
export function withNewestEntry(
  doc: WebhookSecretDocument,
  entry: { secret: string; endpointId: string },
  now: Date,
  overlapMs: number,
): WebhookSecretDocument {
  const overlapEnd = now.getTime() + overlapMs;
  const older = doc.secrets
    .filter((e) => e.secret !== entry.secret)
    .map((e): WebhookSecretEntry => {
      const current = e.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(e.expiresAt);
      const expiresAt =
        Number.isNaN(current) || current <= overlapEnd ? e.expiresAt : new Date(overlapEnd).toISOString();
      return {
        secret: e.secret,
        ...(e.endpointId !== undefined ? { endpointId: e.endpointId } : {}),
        expiresAt: expiresAt ?? new Date(overlapEnd).toISOString(),
      };
    });
  return { secrets: [{ secret: entry.secret, endpointId: entry.endpointId }, ...older] };
}

/** The JSON stored in Secrets Manager (only the `secrets` list: no placeholder or stray fields survive a rewrite). */
export function serializeWebhookSecretDocument(doc: WebhookSecretDocument): string {
  return JSON.stringify({
    secrets: doc.secrets.map((e) => ({
      secret: e.secret,
      ...(e.endpointId !== undefined ? { endpointId: e.endpointId } : {}),
      ...(e.expiresAt !== undefined ? { expiresAt: e.expiresAt } : {}),
    })),
  });
}
