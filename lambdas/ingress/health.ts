/**
 * The region's health as `GET /health` reports it to the Route 53 health check of the multi-region failover:
 * healthy while the event queue answers, because a region that cannot enqueue cannot accept a single webhook.
 *
 * The probe is `GetQueueAttributes` on the event queue (cheap, read-only, changes nothing), bounded by a short
 * timeout. Its result, healthy or not, is cached for `cacheMs` and concurrent callers share one probe: Route 53
 * checks from many places every 10 or 30 seconds, and a storm of health checks must not become a storm of SQS calls,
 * least of all while SQS is struggling.
 *
 * What it does not see: a disabled queue key (SendMessage needs kms:GenerateDataKey, GetQueueAttributes does not), a
 * broken processor (the region can still accept and queue events; the queue-age alarm covers that), and the signing
 * secret (a bad secret is the same in every region, so failing over would not help).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { describeError } from '../shared/errors';
import type { QueueClient } from '../shared/queue-client';

/** How long a probe's result is reused. */
export const DEFAULT_HEALTH_CACHE_MS = 30_000;
/** How long a probe may take before the queue counts as unreachable. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 2_000;

/** Why a region is unhealthy: a stable code for the 503 body and for logs. */
export type UnhealthyReason = 'queue_not_found' | 'queue_access_denied' | 'queue_timeout' | 'queue_unreachable';

/** The outcome of one probe. */
export type HealthStatus =
  | { readonly healthy: true; readonly checkedAt: number }
  | { readonly healthy: false; readonly reason: UnhealthyReason; readonly checkedAt: number };

/** Answers whether the region can take events now (from the cache when the last probe is recent enough). */
export type HealthCheck = () => Promise<HealthStatus>;

/** Options of `queueHealthCheck`. */
export interface QueueHealthCheckOptions {
  /** How long a result is reused. @default DEFAULT_HEALTH_CACHE_MS */
  readonly cacheMs?: number;
  /** Longest a probe may take (the SDK's own retries included). @default DEFAULT_HEALTH_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Logs a failed probe once per probe (not once per cached answer). */
  readonly logger?: Logger;
  /** The clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

function reasonOf(err: unknown, timedOut: boolean): UnhealthyReason {
  if (timedOut) return 'queue_timeout';
  // Stryker disable next-line StringLiteral: equivalent, any other text that names no error matches neither pattern
  const name = err instanceof Error ? err.name : '';
  // (A missing code reads as "undefined", which matches neither pattern either.)
  const code = String((err as { Code?: unknown; code?: unknown })?.Code ?? (err as { code?: unknown })?.code);
  if (/QueueDoesNotExist|NonExistentQueue/.test(`${name} ${code}`)) return 'queue_not_found';
  if (/AccessDenied|NotAuthorized|KMS\.AccessDenied/.test(`${name} ${code}`)) return 'queue_access_denied';
  return 'queue_unreachable';
}

/** A cached, single-flight health check that probes the event queue with GetQueueAttributes. */
export function queueHealthCheck(sqs: QueueClient, queueUrl: string, opts: QueueHealthCheckOptions = {}): HealthCheck {
  const cacheMs = opts.cacheMs ?? DEFAULT_HEALTH_CACHE_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const now = opts.now ?? Date.now;
  let cached: HealthStatus | undefined;
  let inFlight: Promise<HealthStatus> | undefined;

  async function probe(): Promise<HealthStatus> {
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    try {
      await sqs.getQueueAttributes({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }, { abortSignal: abort.signal });
      return { healthy: true, checkedAt: now() };
    } catch (err) {
      const reason = reasonOf(err, timedOut);
      opts.logger?.warn('health check failed: the event queue did not answer', { reason, error: describeError(err) });
      return { healthy: false, reason, checkedAt: now() };
    } finally {
      clearTimeout(timer);
    }
  }

  return () => {
    if (cached !== undefined && now() - cached.checkedAt < cacheMs) return Promise.resolve(cached);
    inFlight ??= probe()
      .then((status) => {
        cached = status;
        return status;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
