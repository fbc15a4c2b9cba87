/**
 * Writing the webhook signing secret document (lambdas/shared/webhook-secret-document.ts): which entries are still
 * active, and how adding a new endpoint's secret shortens the older entries to the overlap.
 */
import { describe, expect, it } from 'vitest';
import {
  isActiveEntry,
  partitionByExpiry,
  serializeWebhookSecretDocument,
  withNewestEntry,
} from '../../lambdas/shared/webhook-secret-document';

const now = new Date('2026-11-27T00:00:00Z');
const DAY_MS = 24 * 3600 * 1000;
const overlapEnd = '2026-11-28T00:00:00.000Z';

describe('isActiveEntry', () => {
  it('counts an entry as expired from the instant of its expiresAt', () => {
    expect(isActiveEntry({ secret: 'whsec_a', expiresAt: '2026-11-27T00:00:00Z' }, now)).toBe(false);
    expect(isActiveEntry({ secret: 'whsec_a', expiresAt: '2026-11-27T00:00:00.001Z' }, now)).toBe(true);
    expect(isActiveEntry({ secret: 'whsec_a' }, now)).toBe(true);
  });

  it('splits a document into the active and the expired entries', () => {
    const doc = {
      secrets: [
        { secret: 'whsec_new' },
        { secret: 'whsec_old', expiresAt: '2026-11-26T00:00:00Z' },
        { secret: 'whsec_bad', expiresAt: 'some day' },
      ],
    };
    expect(partitionByExpiry(doc, now)).toEqual({ active: [doc.secrets[0]], expired: doc.secrets.slice(1) });
  });
});

describe('withNewestEntry', () => {
  it('puts the new secret first without expiry and lets an open-ended older one expire after the overlap', () => {
    const doc = { secrets: [{ secret: 'whsec_old', endpointId: 'we_old' }] };
    const out = withNewestEntry(doc, { secret: 'whsec_new', endpointId: 'we_new' }, now, DAY_MS);
    expect(out).toStrictEqual({
      secrets: [
        { secret: 'whsec_new', endpointId: 'we_new' },
        { secret: 'whsec_old', endpointId: 'we_old', expiresAt: overlapEnd },
      ],
    });
  });

  it('keeps the date of an older entry that expires by the end of the overlap, and cuts a later one', () => {
    const doc = {
      secrets: [
        { secret: 'whsec_soon', expiresAt: '2026-11-27T12:00:00Z' },
        { secret: 'whsec_at_end', expiresAt: '2026-11-28T00:00:00Z' },
        { secret: 'whsec_later', expiresAt: '2026-12-05T00:00:00Z' },
        { secret: 'whsec_bad', expiresAt: 'some day' },
      ],
    };
    const out = withNewestEntry(doc, { secret: 'whsec_new', endpointId: 'we_new' }, now, DAY_MS);
    expect(out.secrets.slice(1)).toStrictEqual([
      { secret: 'whsec_soon', expiresAt: '2026-11-27T12:00:00Z' },
      { secret: 'whsec_at_end', expiresAt: '2026-11-28T00:00:00Z' },
      { secret: 'whsec_later', expiresAt: overlapEnd },
      { secret: 'whsec_bad', expiresAt: 'some day' },
    ]);
  });

  it('does not list the new secret twice when the document already holds it', () => {
    const doc = { secrets: [{ secret: 'whsec_new', endpointId: 'we_new' }, { secret: 'whsec_old' }] };
    const out = withNewestEntry(doc, { secret: 'whsec_new', endpointId: 'we_new' }, now, DAY_MS);
    expect(out.secrets.map((e) => e.secret)).toEqual(['whsec_new', 'whsec_old']);
  });
});

describe('serializeWebhookSecretDocument', () => {
  it('writes only the secrets list with the known fields of each entry', () => {
    const doc = { secrets: [{ secret: 'whsec_a', endpointId: 'we_a', expiresAt: overlapEnd, note: 'x' }] };
    expect(JSON.parse(serializeWebhookSecretDocument({ ...doc, placeholder: true } as never))).toEqual({
      secrets: [{ secret: 'whsec_a', endpointId: 'we_a', expiresAt: overlapEnd }],
    });
  });
});
