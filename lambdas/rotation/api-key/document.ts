/**
 * The API key secret as the API-key rotation reads and writes it:
 *
 *   { "apiKey": "rk_live_...", "staged": { "apiKey": "rk_live_...", "stagedAt": "2026-11-26T10:00:00.000Z" } }
 *
 * `apiKey` is what every Lambda uses (lambdas/shared/secrets.ts `parseApiKey` reads only it). `staged` is a key an
 * operator put there with `npm run stage-api-key` and that no Lambda uses until a rotation has validated it against
 * Stripe and promoted it. A plain `sk_...` value and the placeholder the stack creates (`apiKey: ""`) read as a
 * document without a staged key.
 */
import { SecretFormatError } from '../../shared/secrets';

/** A staged key waiting for a rotation to validate and promote it. */
export interface StagedApiKey {
  readonly apiKey: string;
  readonly stagedAt: string;
}

/** The API key secret's value. */
export interface ApiKeyDocument {
  /** The key in use; '' while the secret still holds the stack's placeholder. */
  readonly apiKey: string;
  readonly staged?: StagedApiKey;
}

/** Secret (`sk_`) and restricted (`rk_`) keys, live or test mode. Publishable keys (`pk_`) cannot call the API. */
const API_KEY = /^(sk|rk)_(live|test)_[A-Za-z0-9]{10,}$/;

/** Whether `key` looks like a Stripe secret or restricted key. */
export function isApiKeyFormat(key: string): boolean {
  return API_KEY.test(key);
}

/** `live` or `test`, from the key's prefix; undefined when it is not a Stripe key. */
export function keyMode(key: string): 'live' | 'test' | undefined {
  return API_KEY.exec(key)?.[2] as 'live' | 'test' | undefined;
}

/** Reads the secret value (plain key, `{ apiKey }`, `{ apiKey, staged }` or the placeholder). */
export function parseApiKeyDocument(value: string): ApiKeyDocument {
  const trimmed = value.trim();
  if (!trimmed.startsWith('{')) return { apiKey: trimmed };
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch {
    throw new SecretFormatError('API key secret value is not valid JSON');
  }
  const { apiKey, staged } = doc as { apiKey?: unknown; staged?: unknown };
  if (apiKey !== undefined && typeof apiKey !== 'string') throw new SecretFormatError('"apiKey" must be a string');
  if (staged === undefined || staged === null) return { apiKey: apiKey ?? '' };
  const s = staged as { apiKey?: unknown; stagedAt?: unknown };
  if (typeof s.apiKey !== 'string' || typeof s.stagedAt !== 'string') {
    throw new SecretFormatError('"staged" must be { "apiKey": string, "stagedAt": string }');
  }
  return { apiKey: apiKey ?? '', staged: { apiKey: s.apiKey, stagedAt: s.stagedAt } };
}

/** The JSON stored in Secrets Manager. */
export function serializeApiKeyDocument(doc: ApiKeyDocument): string {
  return JSON.stringify({
    apiKey: doc.apiKey,
    ...(doc.staged ? { staged: { apiKey: doc.staged.apiKey, stagedAt: doc.staged.stagedAt } } : {}),
  });
}
