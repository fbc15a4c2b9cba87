/** composeReconciler: the reconciler Lambda and `npm run reconcile` take every run setting from the environment. */
import { describe, expect, it } from 'vitest';
import { reconcilerSettings } from '../../lambdas/reconciler/compose';
import { reconcilerEnv } from '../../lambdas/reconciler/env';
import { parseEnv } from '../../lambdas/shared/env';

const required = { TABLE_NAME: 't', QUEUE_URL: 'q', DLQ_URL: 'd', STRIPE_API_KEY_SECRET_ID: 'k' };

describe('reconcilerSettings', () => {
  it('gives the reconciler what each variable says', () => {
    const env = parseEnv(reconcilerEnv, {
      ...required,
      MAX_REQUESTS_PER_SECOND: '7',
      GRACE_SECONDS: '11',
      OVERLAP_SECONDS: '13',
      INITIAL_LOOKBACK_HOURS: '17',
      SLICE_SECONDS: '600',
      EVENT_TYPES: 'invoice.paid, charge.refunded',
      CONNECTED_ACCOUNTS: 'false',
      THIN_EVENTS: 'false',
      MAX_MESSAGE_BYTES: '65536',
      LOCK_SECONDS: '120',
    });
    expect(reconcilerSettings(env)).toEqual({
      maxRequestsPerSecond: 7,
      graceSeconds: 11,
      overlapSeconds: 13,
      initialLookbackHours: 17,
      sliceSeconds: 600,
      eventTypes: ['invoice.paid', 'charge.refunded'],
      connectedAccounts: false,
      thinEvents: false,
      maxMessageBytes: 65_536,
      lockMs: 120_000,
    });
  });

  it("gives the variables' defaults when the construct sets none", () => {
    const settings = reconcilerSettings(parseEnv(reconcilerEnv, required));
    expect(settings.graceSeconds).toBe(reconcilerEnv.GRACE_SECONDS.default);
    expect(settings.lockMs).toBe(reconcilerEnv.LOCK_SECONDS.default * 1000);
    expect(settings.eventTypes).toEqual([]);
  });
});
