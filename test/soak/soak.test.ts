/**
 * The CI soak: 2,000 unique Stripe events (and their duplicate deliveries, late copies and poison events) through the
 * whole local pipeline on the container runtime, with Stripe faults, processor crashes and timeouts (engine.ts says
 * what is injected and what each check means). `npm run soak -- --events 100000` runs the same at scale.
 *
 * Bounded and deterministic in what it asserts: the scene comes from a seed (SOAK_SEED), every wait is for a
 * condition under an overall deadline, and no assertion depends on how fast anything ran. The Retry-After check is a
 * lower bound that SQS's visibility timeout enforces, never an upper bound.
 */
import { describe, expect, it } from 'vitest';
import { runSoak, VISIBILITY_SECONDS } from './engine';
import { ciScenario } from './scenario';

const SEED = process.env.SOAK_SEED ?? 'soak-1';
/** A bound, not the expected time (85 to 125 s were measured on 2 cores with a load average of 8 to 13). */
const OVERALL_DEADLINE_MS = 170_000;

describe(`soak (seed ${SEED})`, () => {
  it('applies every good event exactly once, in order, from fresh state, through Stripe faults, crashes and timeouts', async () => {
    const r = await runSoak({ seed: SEED, scenario: ciScenario, deadlineMs: OVERALL_DEADLINE_MS });
    console.log(
      `soak seed=${SEED}: ${r.uniqueEvents} unique events (${r.poisonEvents} poison) on ${r.objects} objects, ` +
        `${r.webhookDeliveries} webhook deliveries + ${r.lateCopies} late copies; ${r.stripeCalls} Stripe calls = ` +
        `${r.stripeCallsPerEvent.toFixed(2)} per unique event (429: ${r.stripe429}); ${r.poller.invocations} invocations ` +
        `on ${r.poller.coldStarts} containers, ${r.poller.failedRecords} records returned for retry, ` +
        `${r.chaos.crashes} crashes, ${r.poller.timeouts} timeouts; lost ${r.lost}, doubled ${r.doubled}, stale ` +
        `${r.stale}; drained in ${r.drainSeconds.toFixed(1)} s, peak RSS ${r.peakRssMb} MB`,
    );
    expect(r.goodEvents).toBeGreaterThanOrEqual(2000);
    expect(r.objects).toBeGreaterThanOrEqual(200);

    // Every delivery was accepted: the ingress never failed under the burst.
    expect(r.answers).toEqual({ 200: r.webhookDeliveries });
    // The headline figures, and every finding behind them.
    expect({ lost: r.lost, doubled: r.doubled, stale: r.stale }).toEqual({ lost: 0, doubled: 0, stale: 0 });
    // Out of order, Retry-After ignored, unexpected dead letters, ... (lists of examples; the keys of checks.ts).
    expect(r.findings).toEqual(Object.fromEntries(Object.keys(r.findings).map((k) => [k, []])));

    // The faults really happened (a soak that injected nothing would pass the checks above vacuously).
    expect(r.chaos.crashes).toBe(r.chaos.deaths);
    expect(r.chaos.crashes).toBe(ciScenario.crashes);
    expect(r.chaos.stalls).toBe(ciScenario.stalls);
    // A stall times its invocation out, unless a crash in the same invocation killed it first.
    expect(r.poller.timeouts).toBeGreaterThanOrEqual(r.chaos.stalledAlive);
    expect(r.stripe429).toBeGreaterThan(0);
    expect(r.injected.withRetryAfter).toBeGreaterThan(0);
    expect(r.chaos.longestDelaySeconds).toBeGreaterThan(VISIBILITY_SECONDS);
    expect(r.chaos.duplicatesSkipped).toBeGreaterThanOrEqual(r.lateCopies);
    expect(r.chaos.busy).toBeGreaterThan(0);
    expect(r.chaos.batchesWithGroupMates).toBeGreaterThan(0);
    expect(r.chaos.leftBehindAFailure).toBeGreaterThan(0);
    // Containers were recycled, so state kept across invocations was exercised across cold starts too.
    expect(r.poller.coldStarts).toBeGreaterThan(4);
    // Fetches are shared within a batch only: below one call per event with the group mates SQS batches hold.
    expect(r.stripeCallsPerEvent).toBeLessThan(1);
  }, 200_000);
});
