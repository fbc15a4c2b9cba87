/** The preflight checks of the Stripe secrets and of the Stripe account (its webhook endpoint count). */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseApiKey } from '../../lambdas/shared/secrets';
import type { StripeWebhooksConfig } from '../../lib/config';
import { type CheckResult, errorName, ok, type PreflightDeps, problem } from './preflight-check';

/** Stripe allows this many webhook endpoints per account; a rotation needs one free while both are live. */
export const STRIPE_ENDPOINT_LIMIT = 16;
/** The secrets: real values in place (or none yet on a first deploy), and no leftover of a deleted stack. */
export async function checkSecrets(
  deps: PreflightDeps,
  config: StripeWebhooksConfig,
  stackExists: boolean,
): Promise<{ results: CheckResult[]; apiKey?: string }> {
  const region = config.primaryRegion;
  const sm = deps.client(SecretsManagerClient, region);
  const results: CheckResult[] = [];
  let apiKey: string | undefined;
  for (const [kind, name] of [
    ['API key', `${config.appName}/stripe-api-key`],
    ['webhook signing secret', `${config.appName}/stripe-webhook-secret`],
  ] as const) {
    const check = `secret ${name}`;
    let value: string | undefined;
    try {
      value = (await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (err) {
      if (errorName(err) !== 'ResourceNotFoundException') throw err;
    }
    if (value === undefined) {
      if (stackExists)
        results.push(problem(check, 'missing, but the stack exists', 'deploy the stack again to recreate it'));
      else if (kind === 'API key' && config.stripeEndpoint.manage) {
        results.push(
          problem(
            check,
            'not created yet, and stripeEndpoint.manage needs the key at deploy time',
            'deploy with stripeEndpoint.manage false first, put the key, then turn it on (docs/deploy.md)',
          ),
        );
      } else results.push(ok(check, 'not created yet: the first deploy creates a placeholder; put the value after it'));
      continue;
    }
    if (!stackExists) {
      results.push(
        problem(
          check,
          'exists but the stack does not (left by a deleted stack?): the deploy would fail with "already exists"',
          `restore its stack, or delete it: aws secretsmanager delete-secret --region ${region} --secret-id ${name} --force-delete-without-recovery`,
        ),
      );
      continue;
    }
    const real = kind === 'API key' ? tryApiKey(value) : hasWebhookSecret(value);
    if (!real) {
      results.push(
        problem(
          check,
          "holds the stack's placeholder: the pipeline refuses everything until it is set",
          `aws secretsmanager put-secret-value --region ${region} --secret-id ${name} --secret-string file://value.json (docs/deploy.md)`,
        ),
      );
      continue;
    }
    if (kind === 'API key') apiKey = real as string;
    results.push(ok(check, 'holds a value'));
  }
  return { results, ...(apiKey ? { apiKey } : {}) };
}

function tryApiKey(value: string): string | undefined {
  try {
    return parseApiKey(value);
  } catch {
    return undefined;
  }
}

function hasWebhookSecret(value: string): boolean {
  return /whsec_/.test(value);
}

export async function checkEndpointCount(deps: PreflightDeps, apiKey: string | undefined): Promise<CheckResult> {
  const check = 'Stripe webhook endpoints';
  if (!apiKey) return ok(check, 'not counted: no API key yet');
  let count = 0;
  for await (const _ of deps.stripeFor(apiKey).webhookEndpoints.list({ limit: 100 })) count++;
  if (count >= STRIPE_ENDPOINT_LIMIT - 1) {
    return problem(
      check,
      `${count} of Stripe's ${STRIPE_ENDPOINT_LIMIT}: a rotation or URL change needs a free one`,
      'delete endpoints no longer used (Stripe Dashboard, Developers, Webhooks)',
    );
  }
  return ok(check, `${count} of Stripe's ${STRIPE_ENDPOINT_LIMIT}`);
}
