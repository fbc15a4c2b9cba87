/**
 * The configuration of where events come in: Route 53 failover between regions and Stripe's EventBridge
 * destination, with their cross-field rules.
 */
import { z } from 'zod';
import {
  ACM_CERTIFICATE_ARN,
  dnsName,
  HOSTED_ZONE_ID,
  int,
  PARTNER_EVENT_SOURCE,
  region,
  type Section,
  type Strict,
} from './limits';

/** The Route 53 health check of each region's `GET /health` (the failover trigger). */
export const healthCheckShape = {
  /** Seconds between checks from each Route 53 checker: 10 (fast, costs more) or 30. @default 30 */
  intervalSeconds: z
    .union([z.literal(10), z.literal(30)], { error: 'must be 10 or 30 (the intervals Route 53 offers)' })
    .default(30),
  /**
   * Consecutive failed checks before a region counts as unhealthy (1..10). Time to fail over is about
   * intervalSeconds x failureThreshold, plus the record's TTL (60 s for alias records).
   * @default 3
   */
  failureThreshold: int(1, 10, "Route 53's range").default(3),
};
export const healthCheckSchema: Strict<typeof healthCheckShape> = z.strictObject(healthCheckShape);

/**
 * One public webhook URL in front of every region, with Route 53 failover between them. Without `domainName` there is
 * no failover: each region outputs its own execute-api URL and the operator points Stripe at the primary's.
 */
export const failoverShape = {
  /**
   * The name Stripe posts to, e.g. `webhooks.example.com`. Each regional HTTP API gets it as a custom domain, and
   * Route 53 failover records send it to the primary while the primary's health check passes, else to the secondary.
   * @default - no custom domain, no failover records
   */
  domainName: dnsName('webhooks.example.com').optional(),
  /** The Route 53 public hosted zone that holds `domainName` (no lookups: its id is given). Required with it. */
  hostedZoneId: z
    .string()
    .regex(HOSTED_ZONE_ID, 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ')
    .optional(),
  /** That zone's name, e.g. `example.com`. Required with `domainName`. */
  hostedZoneName: z
    .string()
    .transform((name) => name.replace(/\.$/, ''))
    .pipe(dnsName('example.com'))
    .optional(),
  /**
   * An existing ACM certificate for `domainName` in each region, by region. A region without one gets a certificate
   * created in its stack and validated through DNS in the hosted zone.
   * @default {}
   */
  certificateArns: z
    .record(region, z.string().regex(ACM_CERTIFICATE_ARN, 'must be an ACM certificate ARN'))
    .default({}),
  /** The Route 53 health check of each region's `GET /health` (the failover trigger). */
  healthCheck: healthCheckSchema.prefault({}) as Section<typeof healthCheckSchema>,
};
export const failoverSchema: Strict<typeof failoverShape> = z.strictObject(failoverShape);

const partnerEventSourceName = z
  .string()
  .regex(PARTNER_EVENT_SOURCE, 'must be a Stripe partner event source name such as aws.partner/stripe.com/ed_...');

/** Stripe's Amazon EventBridge destination, as a second way in besides webhooks. */
export const eventBridgeShape = {
  /**
   * The Stripe partner event source (`aws.partner/stripe.com/ed_...`), associated with a partner event bus of the
   * same name. A plain name belongs to the primary region; an object maps regions to their own source (a Stripe
   * destination delivers to one region). Rules in secondary regions are created disabled: enabling one is a failover
   * step (docs/multi-region.md), since two regions consuming the same events at once could both process an event.
   * @default - no EventBridge ingress
   */
  partnerEventSourceName: z
    .union([partnerEventSourceName, z.record(region, partnerEventSourceName)], {
      error: 'must be a partner event source name, or an object mapping regions to names',
    })
    .optional(),
};
export const eventBridgeSchema: Strict<typeof eventBridgeShape> = z.strictObject(eventBridgeShape);

/** The cross-field rules of `failover`: a domain needs its zone, certificates match their region, two regions at most. */
export function checkFailover(
  f: z.output<typeof failoverSchema>,
  regions: readonly string[],
  ctx: z.RefinementCtx,
): void {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: 'custom', path: ['failover', ...path], message });
  if (f.domainName === undefined) {
    if (f.hostedZoneId !== undefined) issue(['hostedZoneId'], 'is only used with failover.domainName; set it too');
    if (f.hostedZoneName !== undefined) issue(['hostedZoneName'], 'is only used with failover.domainName; set it too');
    if (Object.keys(f.certificateArns).length > 0) {
      issue(['certificateArns'], 'is only used with failover.domainName; set it too');
    }
    return;
  }
  if (f.hostedZoneId === undefined) issue(['hostedZoneId'], 'is required with failover.domainName');
  if (f.hostedZoneName === undefined) issue(['hostedZoneName'], 'is required with failover.domainName');
  else if (f.domainName !== f.hostedZoneName && !f.domainName.endsWith(`.${f.hostedZoneName}`)) {
    issue(['domainName'], `must be in the hosted zone ${f.hostedZoneName}`);
  }
  if (regions.length > 2) {
    ctx.addIssue({
      code: 'custom',
      path: ['secondaryRegions'],
      message:
        'must list at most one region with failover.domainName: Route 53 failover routes between one primary and one secondary',
    });
  }
  for (const [r, arn] of Object.entries(f.certificateArns)) {
    if (!regions.includes(r)) {
      issue(['certificateArns', r], 'names a region that is neither the primary nor a secondary region');
    } else if (ACM_CERTIFICATE_ARN.exec(arn)?.[1] !== r) {
      issue(['certificateArns', r], `must be a certificate in ${r} (API Gateway needs it in the API's own region)`);
    }
  }
}

/** The cross-field rule of `eventBridge`: a per-region source names a region of the app. */
export function checkEventBridge(
  e: z.output<typeof eventBridgeSchema>,
  regions: readonly string[],
  ctx: z.RefinementCtx,
): void {
  const sources = e.partnerEventSourceName;
  if (typeof sources !== 'object') return;
  for (const r of Object.keys(sources)) {
    if (!regions.includes(r)) {
      ctx.addIssue({
        code: 'custom',
        path: ['eventBridge', 'partnerEventSourceName', r],
        message: 'names a region that is neither the primary nor a secondary region',
      });
    }
  }
}

/** The partner event source `region` consumes, if any: a plain name belongs to the primary region. */
export function partnerEventSourceFor(
  config: {
    readonly primaryRegion: string;
    readonly eventBridge: { readonly partnerEventSourceName?: string | Readonly<Record<string, string>> | undefined };
  },
  region: string,
): string | undefined {
  const sources = config.eventBridge.partnerEventSourceName;
  if (sources === undefined) return undefined;
  if (typeof sources === 'string') return region === config.primaryRegion ? sources : undefined;
  return sources[region];
}
