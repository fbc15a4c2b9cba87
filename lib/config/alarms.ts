/** The configuration of the CloudWatch alarms: where they notify, where their runbooks live, what makes each fire. */
import { z } from 'zod';
import { DEFAULT_RUNBOOK_BASE_URL, int, type Section, type Strict } from './limits';

const count = (fallback: number) => int(1, 1_000_000, 'an alarm fires when the value reaches it').default(fallback);

/**
 * What makes each alarm fire. Counts are per 5-minute period (every alarm evaluates one 5-minute period unless its
 * runbook section says otherwise); an alarm fires when the value reaches the threshold.
 */
export const alarmThresholdsShape = {
  /** Messages visible on the DLQ: every one is a payments event that was not processed. @default 1 */
  dlqMessages: count(1),
  /**
   * Age of the oldest message on the event queue, seconds. A message retried `maxReceiveCount` times with the
   * default 180 s visibility timeout is 15 minutes old when it reaches the DLQ.
   * @default 900
   */
  queueAgeSeconds: int(60, 1_209_600, 'SQS keeps a message at most 14 days').default(900),
  /** 5xx answers of the API per 5 minutes (Stripe retries them, but a steady stream means events are waiting). @default 5 */
  ingress5xxPer5Minutes: count(5),
  /** Verified events the ingress could not put on the queue, per 5 minutes. @default 1 */
  enqueueFailuresPer5Minutes: count(1),
  /** Webhooks refused for a bad signature per 5 minutes: an attack, or a secret mismatch after a rotation. @default 10 */
  badSignaturesPer5Minutes: count(10),
  /** Lambda `Errors` (invocations that threw or timed out) per function per 5 minutes. @default 1 */
  lambdaErrorsPer5Minutes: count(1),
  /** Lambda `Throttles` per function per 5 minutes. @default 1 */
  lambdaThrottlesPer5Minutes: count(1),
  /** p99 `Duration` as a percentage of the function timeout (1..100). @default 80 */
  durationPercentOfTimeout: int(1, 100, 'a percentage of the function timeout').default(80),
  /** Stripe 429 answers (processor and reconciler) per 5 minutes. @default 10 */
  stripe429sPer5Minutes: count(10),
  /** Events whose lease expired before they were marked done (possible double processing), per 5 minutes. @default 1 */
  leaseLostPer5Minutes: count(1),
  /** Events the reconciler found that no delivery had brought in, per 5 minutes. @default 1 */
  reconcileMissedEvents: count(1),
  /** Failed rotations of a Stripe secret (`RotationFailed`, per secret), per 5 minutes. @default 1 */
  rotationFailures: count(1),
  /**
   * With `ingress.waf`: requests per 5 minutes whose body matched an injection rule that only counts (XSS, LFI, RFI,
   * SSRF, Log4j, Java deserialization; lib/constructs/web-acl.ts says why they do not block).
   * @default 5
   */
  wafBodyRuleMatchesPer5Minutes: count(5),
};
export const alarmThresholdsSchema: Strict<typeof alarmThresholdsShape> = z.strictObject(alarmThresholdsShape);

/** CloudWatch alarms and where they notify. */
export const alarmsShape = {
  /** E-mail address subscribed to the alarm topic (confirm the subscription from the mail). @default - none */
  email: z.email('must be an e-mail address').optional(),
  /**
   * URL of the docs folder; each alarm's description links `<runbookBaseUrl>/runbooks.md#<alarm anchor>`. Point it
   * at your fork or internal mirror so on-call engineers land on the runbook you maintain.
   * @default DEFAULT_RUNBOOK_BASE_URL
   */
  runbookBaseUrl: z
    .url({ protocol: /^https$/, error: 'must be an https URL' })
    .transform((u) => u.replace(/\/+$/, ''))
    .default(DEFAULT_RUNBOOK_BASE_URL),
  /** What makes each alarm fire. */
  thresholds: alarmThresholdsSchema.prefault({}) as Section<typeof alarmThresholdsSchema>,
};
export const alarmsSchema: Strict<typeof alarmsShape> = z.strictObject(alarmsShape);
