/**
 * The stacks of the reference app and the multi-region helper: `createRegionalStacks` builds one stack per region,
 * each holding a StripeWebhooks construct (lib/stripe-webhooks.ts), in the order and with the dependencies a
 * multi-region deploy needs (docs/multi-region.md).
 */
import { Aspects, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StripeWebhooksConfig } from '../config';
import { AppWideAcknowledgements } from '../constructs/app-wide-acknowledgements';
import { type RegionHealthCheck, ROUTE53_METRICS_REGION } from '../constructs/health-check-alarms';
import { type RegionRole, regionalHealthChecks, StripeWebhooks } from '../stripe-webhooks';

export { type RegionRole, regionalHealthChecks };

/** Props of a RegionalStack. */
export interface RegionalStackProps extends StackProps {
  readonly config: StripeWebhooksConfig;
  /** @default 'primary' (see StripeWebhooksProps) */
  readonly regionRole?: RegionRole;
  /** @default - none (see StripeWebhooksProps) */
  readonly healthChecks?: readonly RegionHealthCheck[];
  /** @default false (see StripeWebhooksProps) */
  readonly healthCheckAlarmHost?: boolean;
}

/** The pipeline's members a RegionalStack exposes as its own (tools and tests read them from the stack). */
const PIPELINE_MEMBERS = [
  'regionRole',
  'secrets',
  'eventQueue',
  'idempotencyTable',
  'eventSink',
  'ingress',
  'processor',
  'reconciler',
  'secretRotation',
  'replicationCheck',
  'webhookEndpoint',
  'failover',
  'partnerEvents',
  'stripeWebhookUrl',
  'alarms',
  'dashboard',
] as const;

export interface RegionalStack extends Pick<StripeWebhooks, (typeof PIPELINE_MEMBERS)[number]> {}

/**
 * One region's stack of the reference app: a StripeWebhooks construct whose id, `Default`, leaves it out of every
 * logical id, so stacks deployed before the construct existed update in place. Its members are the construct's.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above declares the pipeline members this constructor defines as getters.
export class RegionalStack extends Stack {
  /** The pipeline of this region. */
  readonly webhooks: StripeWebhooks;

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    const { config, regionRole, healthChecks, healthCheckAlarmHost, ...stackProps } = props;
    const retain = config.removalPolicy === 'retain';
    super(scope, id, {
      description: `Stripe webhooks (${config.appName}): verified ingress, FIFO queue, idempotent processor, EventBridge sink`,
      // Deleting the stack by mistake must not be one command away when it holds payments data; a region on its way
      // out (removingRegions) drops it, so that its stack can be deleted (docs/multi-region.md).
      terminationProtection: retain && !config.removingRegions.includes(stackProps.env?.region ?? ''),
      // Health check ids travel to the us-east-1 stack that alarms on them (lib/stacks/cross-region-references.ts).
      crossRegionReferences: config.failover.domainName !== undefined,
      ...stackProps,
    });
    Aspects.of(this).add(new AppWideAcknowledgements());
    const webhooks = new StripeWebhooks(this, 'Default', {
      ...config,
      ...(regionRole ? { regionRole } : {}),
      ...(healthChecks ? { healthChecks } : {}),
      ...(healthCheckAlarmHost ? { healthCheckAlarmHost } : {}),
    });
    this.webhooks = webhooks;
    for (const key of PIPELINE_MEMBERS)
      Object.defineProperty(this, key, { get: () => webhooks[key], enumerable: true });
  }
}

/**
 * One RegionalStack per configured region, named `<appName>-<region>`: the primary region first, then each
 * secondary region. Everything global (Route 53 failover records and health checks) belongs to the region it points
 * at, so each regional stack creates its own record.
 *
 * The primary depends on every secondary: its global-table replicas and secret replicas are encrypted with keys the
 * secondary stacks create, so `cdk deploy --all` deploys the secondaries first (and destroys them last). With a
 * domain and a us-east-1 primary, the primary also alarms on every region's health check (their metrics live in
 * us-east-1); any other primary leaves that to the app's monitoring stack (buildApp, lib/app.ts).
 */
export function createRegionalStacks(scope: Construct, config: StripeWebhooksConfig): RegionalStack[] {
  const stackFor = (region: string, regionRole: RegionRole, extra: Partial<RegionalStackProps> = {}) =>
    new RegionalStack(scope, `${config.appName}-${region}`, {
      env: { account: config.account, region },
      config,
      regionRole,
      ...extra,
    });
  // The secondaries first: a us-east-1 primary alarms on their health checks.
  const secondaries = config.secondaryRegions.map((region) => stackFor(region, 'secondary'));
  const primaryHostsAlarms =
    config.failover.domainName !== undefined && config.primaryRegion === ROUTE53_METRICS_REGION;
  const primary = stackFor(
    config.primaryRegion,
    'primary',
    primaryHostsAlarms ? { healthCheckAlarmHost: true, healthChecks: secondaries.flatMap(regionalHealthChecks) } : {},
  );
  for (const secondary of secondaries) {
    primary.addStackDependency(
      secondary,
      'the primary replicates its table and secrets with keys the secondary creates',
    );
  }
  return [primary, ...secondaries];
}
