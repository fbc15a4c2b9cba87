/**
 * The props of StripeWebhooks and the rules that tie a pipeline to its region (lib/stripe-webhooks.ts).
 */

import { ConfigError, type DeepPartial, type StripeWebhooksConfig } from './config';
import type { RegionalFailover } from './constructs/failover';
import type { RegionHealthCheck } from './constructs/health-check-alarms';

/** Whether a region receives and processes events (primary) or stands by for failover (secondary). */
export type RegionRole = 'primary' | 'secondary';

/**
 * Props of StripeWebhooks: the configuration (each field documented with its `@default` on the schema in lib/config/ and the
 * README's configuration table; validated at synth, a bad value fails with the field, the value and the fix), plus
 * the region's part in a multi-region set.
 */
export interface StripeWebhooksProps extends DeepPartial<StripeWebhooksConfig> {
  /**
   * The region's part in the active/passive setup. Both run the whole pipeline; the primary owns the global
   * idempotency table and the Stripe secrets (replicated to every secondary region), a secondary creates its replica
   * keys and refers to its replicas by name.
   * @default 'primary'
   */
  readonly regionRole?: RegionRole;
  /**
   * Other regions' Route 53 health checks to alarm on, with `healthCheckAlarmHost`. Their metrics exist only in
   * us-east-1, so only a us-east-1 stack creates these alarms (see lib/constructs/health-check-alarms.ts).
   * @default - none
   */
  readonly healthChecks?: readonly RegionHealthCheck[];
  /**
   * This (us-east-1) stack alarms on the app's health checks: its own and `healthChecks`. createRegionalStacks sets
   * it on a us-east-1 primary; otherwise the app's monitoring stack holds them (lib/app.ts).
   * @default false
   */
  readonly healthCheckAlarmHost?: boolean;
}

/** The health check of a region's failover record, if it has one. */
export function regionalHealthChecks(webhooks: {
  readonly region: string;
  readonly failover?: RegionalFailover | undefined;
}): RegionHealthCheck[] {
  return webhooks.failover
    ? [{ region: webhooks.region, healthCheckId: webhooks.failover.healthCheck.healthCheckId }]
    : [];
}

/** The stack's region must be the one the config gives this role (the multi-region wiring depends on it). */
export function checkRegion(
  path: string,
  role: RegionRole,
  region: string,
  regionKnown: boolean,
  config: StripeWebhooksConfig,
): void {
  const problem =
    role === 'primary'
      ? region !== config.primaryRegion && `primaryRegion is ${config.primaryRegion} but the stack is in ${region}`
      : !regionKnown
        ? 'a secondary region needs a stack with an explicit env.region'
        : !config.secondaryRegions.includes(region) &&
          `the stack's region ${region} is not one of secondaryRegions (${config.secondaryRegions.join(', ') || 'none'})`;
  if (problem) throw new ConfigError(`Invalid StripeWebhooks ${path}: ${problem}`);
}
