/**
 * Stripe secrets at run time: never in environment variables or CloudFormation parameters, always read through a
 * cache with a TTL so a rotation takes effect without a deploy.
 *
 * The webhook signing secret value in Secrets Manager is JSON:
 *   { "secrets": [ { "secret": "whsec_...", "endpointId": "we_...", "expiresAt": "2026-12-01T00:00:00Z" } ] }
 * Every entry whose `expiresAt` is absent or in the future is active (during a rotation the old and the new
 * endpoint's secrets are both listed). For hand-made secrets a plain `whsec_...` string, or several separated by
 * commas, is accepted too.
 *
 * The API key secret value is either the plain key (`sk_...`/`rk_...`) or JSON `{ "apiKey": "sk_..." }` (the form
 * the API-key rotation writes, which may also carry a staged key).
 */

/** A secret value behind a cache. `refresh` bypasses the cache (used once after a signature failure). */
export interface SecretSource {
  get(options?: { refresh?: boolean }): Promise<string>;
}

export interface WebhookSecretEntry {
  readonly secret: string;
  readonly endpointId?: string;
  readonly expiresAt?: string;
}

export interface WebhookSecretDocument {
  readonly secrets: readonly WebhookSecretEntry[];
}

export class SecretFormatError extends Error {
  override name = 'SecretFormatError';
}

/** Parses a webhook signing secret value (JSON document, or one or more comma-separated `whsec_...`). */
export function parseWebhookSecretDocument(value: string): WebhookSecretDocument {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch {
      throw new SecretFormatError('webhook secret value is not valid JSON');
    }
    const list = (doc as { secrets?: unknown }).secrets;
    if (!Array.isArray(list)) throw new SecretFormatError('webhook secret JSON must have a "secrets" array');
    const secrets = list.map((e, i) => {
      if (typeof e !== 'object' || e === null || typeof (e as { secret?: unknown }).secret !== 'string') {
        throw new SecretFormatError(`webhook secret entry ${i} must have a "secret" string`);
      }
      return e as WebhookSecretEntry;
    });
    return { secrets };
  }
  const secrets = trimmed
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((secret) => ({ secret }));
  return { secrets };
}

/** The signing secrets to accept now: every entry not yet expired. Throws if none is left. */
export function activeWebhookSecrets(doc: WebhookSecretDocument, now: Date = new Date()): string[] {
  const active = doc.secrets
    .filter((e) => e.expiresAt === undefined || Date.parse(e.expiresAt) > now.getTime())
    .map((e) => e.secret);
  if (active.length === 0) throw new SecretFormatError('no active webhook signing secret');
  return active;
}

/** Parses an API key secret value (plain key or `{ "apiKey": ... }`). */
export function parseApiKey(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch {
      throw new SecretFormatError('API key secret value is not valid JSON');
    }
    const key = (doc as { apiKey?: unknown }).apiKey;
    if (typeof key !== 'string' || key === '') throw new SecretFormatError('API key secret JSON must have "apiKey"');
    return key;
  }
  if (trimmed === '') throw new SecretFormatError('API key secret is empty');
  return trimmed;
}

/** A fixed value (the local runtime and tests: secrets come from the environment there). */
export function staticSecret(value: string): SecretSource {
  return { get: async () => value };
}

/**
 * A Secrets Manager secret through Powertools Parameters' cache (`maxAgeSeconds`). `refresh` forces a fetch but is
 * rate-limited to one per `minRefreshIntervalMs`, so a flood of forged requests cannot turn into a flood of
 * Secrets Manager calls.
 */
export async function secretsManagerSecret(
  secretId: string,
  options: { maxAgeSeconds: number; minRefreshIntervalMs?: number; client?: unknown },
): Promise<SecretSource> {
  const { SecretsProvider } = await import('@aws-lambda-powertools/parameters/secrets');
  const provider = new SecretsProvider(
    options.client ? { awsSdkV3Client: options.client as never } : { clientConfig: {} },
  );
  const minRefresh = options.minRefreshIntervalMs ?? 10_000;
  let lastForced = 0;
  return {
    async get({ refresh = false } = {}) {
      const now = Date.now();
      const force = refresh && now - lastForced >= minRefresh;
      if (force) lastForced = now;
      const value = await provider.get(secretId, { maxAge: options.maxAgeSeconds, forceFetch: force });
      if (typeof value !== 'string') throw new SecretFormatError(`secret ${secretId} has no string value`);
      return value;
    },
  };
}

/**
 * secretsManagerSecret, set up on first use: no import or client work at cold start, and a failed set-up is tried
 * again on the next call rather than kept for the life of the container.
 */
export function lazySecretsManagerSecret(
  secretId: string,
  options: Parameters<typeof secretsManagerSecret>[1],
): SecretSource {
  let source: Promise<SecretSource> | undefined;
  return {
    async get(getOptions) {
      source ??= secretsManagerSecret(secretId, options).catch((err: unknown) => {
        source = undefined;
        throw err;
      });
      return (await source).get(getOptions);
    },
  };
}
