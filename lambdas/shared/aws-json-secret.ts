/**
 * A Secrets Manager secret read with the small aws4 JSON client (aws-json.ts), for the ingress: the same contract
 * as secretsManagerSecret in secrets.ts (Powertools Parameters over the SDK, which the processor keeps), without
 * loading the SDK on the path Stripe waits on.
 *
 * - The value is reused for `maxAgeSeconds` (Powertools' `maxAge`), so a rotation takes effect without a deploy.
 * - `refresh` bypasses the cache, at most once per `minRefreshIntervalMs`, so a flood of forged requests cannot turn
 *   into a flood of Secrets Manager calls (a refresh asked for sooner gets the cached value).
 * - Concurrent callers share one fetch; a failed fetch is not cached (the next call tries again).
 */
import type { AwsJsonClient } from './aws-json';
import { SecretFormatError, type SecretSource } from './secrets';

export interface AwsJsonSecretOptions {
  /** A Secrets Manager client (`awsJsonClient({ service: 'secretsmanager' })`). */
  readonly client: AwsJsonClient;
  readonly maxAgeSeconds: number;
  /** @default 10000 */
  readonly minRefreshIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export function awsJsonSecret(secretId: string, opts: AwsJsonSecretOptions): SecretSource {
  const now = opts.now ?? Date.now;
  const minRefresh = opts.minRefreshIntervalMs ?? 10_000;
  let cached: { value: string; fetchedAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  let lastForced = Number.NEGATIVE_INFINITY;

  function fetchValue(): Promise<string> {
    inFlight ??= opts.client
      .call<{ SecretString?: string }>('GetSecretValue', { SecretId: secretId })
      .then((out) => {
        if (typeof out.SecretString !== 'string') {
          throw new SecretFormatError(`secret ${secretId} has no string value`);
        }
        cached = { value: out.SecretString, fetchedAt: now() };
        return out.SecretString;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  return {
    async get({ refresh = false } = {}) {
      const t = now();
      const force = refresh && t - lastForced >= minRefresh;
      if (force) {
        lastForced = t;
        return fetchValue();
      }
      if (cached && t - cached.fetchedAt < opts.maxAgeSeconds * 1000) return cached.value;
      return fetchValue();
    },
  };
}
