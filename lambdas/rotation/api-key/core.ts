/**
 * Rotation of the Stripe API key.
 *
 * Stripe has no public API to create keys, so this rotation never makes one: it validates and promotes a key an
 * operator staged (`npm run stage-api-key`, which writes it under `staged` in the current value, see ./document.ts).
 *
 * - createSecret: take the staged key; no staged key (or a malformed one, or the key in use) fails the rotation
 *   with a message saying what to do, and changes nothing. Otherwise put AWSPENDING = `{ "apiKey": <staged> }`.
 * - setSecret: nothing to set (Stripe created the key).
 * - testSecret: nothing to test when the pending version is empty or holds the current value (Secrets Manager
 *   testing the function as a rotation schedule is created, placeholder included). Otherwise a real Stripe call with
 *   the pending key (`GET /v1/balance`) must succeed, and so must a read of every object type the configured event
 *   types touch (./permissions.ts: a restricted key lacking one would fail every fetch of those events); the key must be of the same
 *   mode (live/test) as the key in use, and, when both keys may read `GET /v1/account`, of the same account. Any
 *   failure fails the rotation: the key is NEVER promoted, `RotationFailed` (Secret=api-key) is emitted and an error
 *   logged (runRotationStep does both).
 * - finishSecret: move AWSCURRENT to the pending version. The processor reads the new key within its cache TTL.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type Stripe from 'stripe';
import { describeError } from '../../shared/errors';
import { runRotationStep } from '../run-step';
import {
  isRotationEvent,
  pendingValueToTest,
  promotePending,
  putPending,
  RotationError,
  readCurrent,
  readPending,
} from '../secrets-manager';
import { isApiKeyFormat, keyMode, parseApiKeyDocument, serializeApiKeyDocument } from './document';
import { isKeyRefused, readChecksFor } from './permissions';

/** What the API key rotation needs. */
export interface ApiKeyRotationDeps {
  sm: SecretsManagerClient;
  /** A Stripe client for a given key (the pending one is tested with its own client). */
  stripeFor: (apiKey: string) => Stripe;
  logger: Logger;
  metrics?: Metrics;
  /**
   * The event types the pipeline processes (config `eventTypes`): the staged key must be able to read the object of
   * each (./permissions.ts). @default ['*'] (every type the processor knows)
   */
  eventTypes?: readonly string[];
}

/** The API key rotation: the four steps, and `handle` for the Secrets Manager event. */
export interface ApiKeyRotation {
  createSecret(secretId: string, token: string): Promise<void>;
  setSecret(secretId: string, token: string): Promise<void>;
  testSecret(secretId: string, token: string): Promise<void>;
  finishSecret(secretId: string, token: string): Promise<void>;
  handle(event: unknown): Promise<void>;
}

/** Whether a Stripe error says the key may not make this call (a restricted key without that permission). */
function isPermissionError(err: unknown): boolean {
  const e = err as { statusCode?: unknown; type?: unknown } | null;
  return e?.statusCode === 403 || e?.type === 'StripePermissionError';
}

export function createApiKeyRotation(deps: ApiKeyRotationDeps): ApiKeyRotation {
  const { sm, logger } = deps;

  async function createSecret(secretId: string, token: string): Promise<void> {
    const current = parseApiKeyDocument((await readCurrent(sm, secretId)).value);
    if ((await readPending(sm, secretId, token)) !== undefined) {
      logger.info('createSecret: the pending value exists already', { versionId: token });
      return;
    }
    const staged = current.staged?.apiKey;
    if (!staged) {
      throw new RotationError(
        'no staged API key: create the key in the Stripe Dashboard, stage it with `npm run stage-api-key`, then ' +
          'rotate again (nothing was changed)',
      );
    }
    if (!isApiKeyFormat(staged)) {
      throw new RotationError('the staged API key is not a Stripe secret or restricted key (sk_/rk_ live/test)');
    }
    if (staged === current.apiKey) throw new RotationError('the staged API key is the key already in use');
    await putPending(sm, secretId, token, serializeApiKeyDocument({ apiKey: staged }));
    logger.info('createSecret: staged key put as the pending value', {
      versionId: token,
      stagedAt: current.staged?.stagedAt,
      mode: keyMode(staged),
    });
  }

  async function setSecret(): Promise<void> {
    // Nothing to do: the key was created in the Stripe Dashboard.
  }

  async function testSecret(secretId: string, token: string): Promise<void> {
    const pendingValue = await pendingValueToTest(sm, secretId, token);
    if (pendingValue === undefined) {
      // Secrets Manager testing the function without a rotation (a rotation schedule being created): pass.
      logger.info('testSecret: the pending version holds no new value; nothing to test', { versionId: token });
      return;
    }
    const pendingKey = parseApiKeyDocument(pendingValue).apiKey;
    const currentKey = parseApiKeyDocument((await readCurrent(sm, secretId)).value).apiKey;

    const currentMode = keyMode(currentKey);
    if (currentMode !== undefined && keyMode(pendingKey) !== currentMode) {
      throw new RotationError(
        `the staged key is a ${keyMode(pendingKey) ?? 'malformed'}-mode key but the key in use is ${currentMode}-mode`,
      );
    }

    const pendingStripe = deps.stripeFor(pendingKey);
    try {
      await pendingStripe.balance.retrieve();
    } catch (err) {
      throw new RotationError(`Stripe refused the staged key (GET /v1/balance): ${describeError(err)}`, {
        cause: err,
      });
    }

    await checkReads(pendingStripe);

    // Same account: a key of another Stripe account would make every fetch of the processor a 404. Restricted keys
    // may lack the permission to read the account; then this check is skipped (and logged).
    if (currentMode !== undefined) {
      try {
        const [before, after] = await Promise.all([
          deps.stripeFor(currentKey).accounts.retrieveCurrent(),
          pendingStripe.accounts.retrieveCurrent(),
        ]);
        if (before.id !== after.id) {
          throw new RotationError(`the staged key belongs to account ${after.id}, the key in use to ${before.id}`);
        }
      } catch (err) {
        if (!isPermissionError(err)) throw err;
        logger.info('testSecret: a key may not read the account; same-account check skipped', {
          error: describeError(err),
        });
      }
    }
    logger.info('testSecret: Stripe accepted the staged key', { versionId: token });
  }

  /**
   * Reads every object type the pipeline fetches with the staged key; fails naming every type the key may not read.
   * Other refusals (a product the account does not use answers 400/404) say nothing about the key and are logged.
   */
  async function checkReads(stripe: Stripe): Promise<void> {
    const refused: string[] = [];
    for (const check of readChecksFor(deps.eventTypes ?? ['*'])) {
      try {
        // rawRequest takes GET parameters in the path only.
        await stripe.rawRequest('GET', check.list ? `${check.path}?limit=1` : check.path);
      } catch (err) {
        if (isKeyRefused(err)) refused.push(`${check.objectType} (GET ${check.path})`);
        else
          logger.warn('testSecret: a read failed for another reason than the key', {
            path: check.path,
            error: describeError(err),
          });
      }
    }
    if (refused.length > 0) {
      throw new RotationError(
        `the staged key may not read what the processor fetches: ${refused.join(', ')}; give the restricted key ` +
          'Read on these resources, stage it again and rotate (nothing was changed)',
      );
    }
  }

  async function finishSecret(secretId: string, token: string): Promise<void> {
    const outcome = await promotePending(sm, secretId, token);
    logger.info('finishSecret: the staged key is now AWSCURRENT', { versionId: token, outcome });
  }

  const steps = { createSecret, setSecret, testSecret, finishSecret };

  async function handle(event: unknown): Promise<void> {
    if (!isRotationEvent(event)) throw new RotationError('unsupported event: expected a Secrets Manager rotation step');
    await runRotationStep(event, steps, { sm, logger, metrics: deps.metrics, secret: 'api-key' });
  }

  return { ...steps, handle };
}
