/**
 * The checks of `npm run preflight`: read-only calls against the target account that find, before a deploy, what
 * would make it fail or leave the pipeline dead. Each check gives one line: ok, or the problem and its fix.
 *
 * Every AWS client is made by `deps.client(Class, region)`, so the tests answer them with aws-sdk-client-mock; the
 * Stripe endpoint count goes through `deps.stripeFor(apiKey)`. The checks: preflight-aws-checks.ts (AWS resources),
 * preflight-secret-checks.ts (the secrets and the Stripe account); preflight-check.ts what they share.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { partnerEventSourceFor, type StripeWebhooksConfig } from '../../lib/config';
import {
  checkAccount,
  checkApiGatewayRole,
  checkBootstrap,
  checkCertificate,
  checkEmail,
  checkHostedZone,
  checkLeftoverTable,
  checkPartnerSource,
} from './preflight-aws-checks';
import {
  type CheckResult,
  errorName,
  isCredentialsError,
  type PlannedStack,
  type PreflightDeps,
  problem,
  stackStatus,
} from './preflight-check';
import { checkEndpointCount, checkSecrets } from './preflight-secret-checks';

export { type CheckResult, isCredentialsError, type PlannedStack, type PreflightDeps } from './preflight-check';
export { STRIPE_ENDPOINT_LIMIT } from './preflight-secret-checks';

/** Runs a check; an unexpected error becomes its problem line (a missing credential is thrown: it stops everything). */
async function guarded(check: string, run: () => Promise<CheckResult | CheckResult[]>): Promise<CheckResult[]> {
  try {
    return [await run()].flat();
  } catch (err) {
    if (isCredentialsError(err)) throw err;
    const name = errorName(err);
    const denied = name === 'AccessDeniedException' || name === 'AccessDenied' || /not authorized/i.test(String(err));
    return [
      problem(
        check,
        `${name || 'error'}: ${(err as Error).message ?? String(err)}`,
        denied ? 'run preflight with credentials that may read this (the deploy needs them too)' : 'see the error',
      ),
    ];
  }
}

/** Who the credentials are: the first call, unguarded (without credentials nothing can be checked). */
export async function callerIdentity(
  deps: PreflightDeps,
  config: StripeWebhooksConfig,
): Promise<{ Account?: string; Arn?: string }> {
  return deps.client(STSClient, config.primaryRegion).send(new GetCallerIdentityCommand({}));
}

/** Every check for `config`, whose app synthesized to `stacks` (primary first), as `who`. */
export async function runPreflight(
  config: StripeWebhooksConfig,
  stacks: readonly PlannedStack[],
  deps: PreflightDeps,
  who: { Account?: string; Arn?: string },
): Promise<CheckResult[]> {
  const account = config.account ?? who.Account ?? 'unknown';
  const results: CheckResult[] = [checkAccount(config, who)];
  for (const stack of stacks)
    results.push(...(await guarded(`bootstrap ${stack.region}`, () => checkBootstrap(deps, stack, account))));
  const regional = stacks.filter(
    (s) => s.stackName.startsWith(`${config.appName}-`) && s.stackName !== `${config.appName}-monitoring`,
  );
  if (config.ingress.apiType === 'rest') {
    for (const s of regional)
      results.push(
        ...(await guarded(`API Gateway CloudWatch role ${s.region}`, () =>
          checkApiGatewayRole(deps, config, s.region),
        )),
      );
  }
  for (const s of regional) {
    const source = partnerEventSourceFor(config, s.region);
    if (source)
      results.push(
        ...(await guarded(`partner event source ${s.region}`, () => checkPartnerSource(deps, s.region, source))),
      );
  }
  if (config.failover.domainName) {
    results.push(...(await guarded('hosted zone', () => checkHostedZone(deps, config))));
    for (const s of regional)
      results.push(...(await guarded(`certificate ${s.region}`, () => checkCertificate(deps, config, s.region))));
  }
  const primaryStack = await stackStatus(deps, config.primaryRegion, `${config.appName}-${config.primaryRegion}`);
  let apiKey: string | undefined;
  results.push(
    ...(await guarded('secrets', async () => {
      const out = await checkSecrets(deps, config, primaryStack !== undefined);
      apiKey = out.apiKey;
      return out.results;
    })),
  );
  if (!primaryStack) results.push(...(await guarded('table', () => checkLeftoverTable(deps, config))));
  results.push(...(await guarded('Stripe webhook endpoints', () => checkEndpointCount(deps, apiKey))));
  if (config.alarms.email) {
    for (const s of regional)
      results.push(
        ...(await guarded(`alarm e-mail ${s.region}`, () =>
          checkEmail(deps, config, s.region, `${config.appName}-alarms`, account),
        )),
      );
    if (stacks.some((s) => s.stackName === `${config.appName}-monitoring`)) {
      results.push(
        ...(await guarded('alarm e-mail us-east-1 (health checks)', () =>
          checkEmail(deps, config, 'us-east-1', `${config.appName}-health-alarms`, account),
        )),
      );
    }
  }
  return results;
}

/** The lines preflight prints: one per check. */
export function formatResults(results: readonly CheckResult[]): string[] {
  return results.map((r) => (r.ok ? `ok    ${r.check}: ${r.detail}` : `FAIL  ${r.check}: ${r.detail}. Fix: ${r.fix}`));
}
