/**
 * The checks of `npm run preflight`: read-only calls against the target account that find, before a deploy, what
 * would make it fail or leave the pipeline dead. Each check gives one line: ok, or the problem and its fix.
 *
 * Every AWS client is made by `deps.client(Class, region)`, so the tests answer them with aws-sdk-client-mock; the
 * Stripe endpoint count goes through `deps.stripeFor(apiKey)`.
 */
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand, DescribeEventSourceCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type Stripe from 'stripe';
import { parseApiKey } from '../../lambdas/shared/secrets';
import { partnerEventSourceFor, type StripeWebhooksConfig } from '../../lib/config';

/** One check's outcome. */
export interface CheckResult {
  readonly check: string;
  readonly ok: boolean;
  /** What was found. */
  readonly detail: string;
  /** With a problem: what to do. */
  readonly fix?: string;
}

/** A regional stack of the synthesized app, as far as the checks need it. */
export interface PlannedStack {
  readonly stackName: string;
  readonly region: string;
  /** The CDK bootstrap version its template asks for. */
  readonly requiresBootstrapStackVersion?: number;
}

type ClientClass<C> = new (config: { region: string }) => C;

export interface PreflightDeps {
  /** Makes (or reuses) an AWS client for a region. */
  client<C>(Class: ClientClass<C>, region: string): C;
  /** A Stripe client for an API key (the endpoint count). */
  stripeFor(apiKey: string): Stripe;
}

/** Stripe allows this many webhook endpoints per account; a rotation needs one free while both are live. */
export const STRIPE_ENDPOINT_LIMIT = 16;
/** Stack statuses a deploy can start from. */
const STABLE = /_COMPLETE$/;
const CDK_BOOTSTRAP_STACK = 'CDKToolkit';

/** The AWS SDK's "no credentials" failure, whatever provider raised it. */
export function isCredentialsError(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name ?? '';
  return name === 'CredentialsProviderError' || /Could not load credentials/i.test(String((err as Error)?.message));
}

const errorName = (err: unknown) => (err as { name?: string } | null)?.name ?? '';
const ok = (check: string, detail: string): CheckResult => ({ check, ok: true, detail });
const problem = (check: string, detail: string, fix: string): CheckResult => ({ check, ok: false, detail, fix });

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

async function stackStatus(deps: PreflightDeps, region: string, stackName: string) {
  try {
    const out = await deps
      .client(CloudFormationClient, region)
      .send(new DescribeStacksCommand({ StackName: stackName }));
    return out.Stacks?.[0];
  } catch (err) {
    if (errorName(err) === 'ValidationError' || /does not exist/.test(String(err))) return undefined;
    throw err;
  }
}

function checkAccount(config: StripeWebhooksConfig, who: { Account?: string; Arn?: string }): CheckResult {
  if (config.account && who.Account !== config.account) {
    return problem(
      'account',
      `the credentials are for account ${who.Account}, the config deploys to ${config.account}`,
      'use credentials of the target account (AWS_PROFILE), or fix `account` in the config',
    );
  }
  return ok('account', `${who.Account} (${who.Arn})`);
}

async function checkBootstrap(deps: PreflightDeps, stack: PlannedStack, account: string): Promise<CheckResult> {
  const check = `bootstrap ${stack.region}`;
  const fix = `npx cdk bootstrap aws://${account}/${stack.region}`;
  const toolkit = await stackStatus(deps, stack.region, CDK_BOOTSTRAP_STACK);
  if (!toolkit) return problem(check, `no ${CDK_BOOTSTRAP_STACK} stack in ${stack.region}`, fix);
  if (!STABLE.test(toolkit.StackStatus ?? '') || /ROLLBACK_COMPLETE|DELETE/.test(toolkit.StackStatus ?? '')) {
    return problem(check, `${CDK_BOOTSTRAP_STACK} is ${toolkit.StackStatus}`, fix);
  }
  const version = Number(toolkit.Outputs?.find((o) => o.OutputKey === 'BootstrapVersion')?.OutputValue);
  const needed = stack.requiresBootstrapStackVersion ?? 6;
  if (!(version >= needed)) {
    return problem(
      check,
      `bootstrap version ${Number.isNaN(version) ? 'unknown' : version}, the app needs ${needed}`,
      fix,
    );
  }
  return ok(check, `${CDK_BOOTSTRAP_STACK} version ${version} (needs ${needed})`);
}

async function checkApiGatewayRole(deps: PreflightDeps, config: StripeWebhooksConfig, region: string) {
  const check = `API Gateway CloudWatch role ${region}`;
  const account = await deps.client(APIGatewayClient, region).send(new GetAccountCommand({}));
  const current = account.cloudwatchRoleArn;
  if (config.ingress.apiGatewayAccountRole) {
    return ok(check, current ? `set (${current}); the stack sets its own role` : 'not set yet; the stack sets it');
  }
  return current
    ? ok(check, `set: ${current}`)
    : problem(
        check,
        'not set, and ingress.apiGatewayAccountRole is false: API Gateway will refuse the stage with access logs',
        'set ingress.apiGatewayAccountRole to true, or set the role (aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<role arn>)',
      );
}

async function checkPartnerSource(deps: PreflightDeps, region: string, name: string): Promise<CheckResult> {
  const check = `partner event source ${region}`;
  const eb = deps.client(EventBridgeClient, region);
  let state: string | undefined;
  try {
    state = (await eb.send(new DescribeEventSourceCommand({ Name: name }))).State;
  } catch (err) {
    if (errorName(err) !== 'ResourceNotFoundException') throw err;
    return problem(
      check,
      `${name} does not exist in ${region}`,
      "create Stripe's Amazon EventBridge destination for this account and region in the Stripe Dashboard",
    );
  }
  if (state !== 'ACTIVE') {
    return problem(
      check,
      `${name} is ${state}`,
      `associate it with an event bus: aws events create-event-bus --region ${region} --name ${name} --event-source-name ${name}`,
    );
  }
  try {
    await eb.send(new DescribeEventBusCommand({ Name: name }));
  } catch (err) {
    if (errorName(err) !== 'ResourceNotFoundException') throw err;
    return problem(
      check,
      `${name} is ACTIVE but has no event bus`,
      `aws events create-event-bus --region ${region} --name ${name} --event-source-name ${name}`,
    );
  }
  return ok(check, `${name} is ACTIVE, with its event bus`);
}

async function checkHostedZone(deps: PreflightDeps, config: StripeWebhooksConfig): Promise<CheckResult> {
  const { hostedZoneId, hostedZoneName } = config.failover;
  const check = 'hosted zone';
  try {
    const zone = (await deps.client(Route53Client, 'us-east-1').send(new GetHostedZoneCommand({ Id: hostedZoneId })))
      .HostedZone;
    if (zone?.Name?.replace(/\.$/, '') !== hostedZoneName) {
      return problem(
        check,
        `${hostedZoneId} is ${zone?.Name}, not ${hostedZoneName}`,
        'fix failover.hostedZoneId or failover.hostedZoneName',
      );
    }
    if (zone?.Config?.PrivateZone) {
      return problem(
        check,
        `${hostedZoneId} is a private zone`,
        'use the public hosted zone of the domain: Stripe resolves it from the internet',
      );
    }
    return ok(check, `${hostedZoneId} (${hostedZoneName}), public`);
  } catch (err) {
    if (errorName(err) !== 'NoSuchHostedZone') throw err;
    return problem(
      check,
      `${hostedZoneId} does not exist in this account`,
      'create the public hosted zone, or fix failover.hostedZoneId',
    );
  }
}

function covers(names: readonly string[], domain: string): boolean {
  return names.some((n) => n === domain || (n.startsWith('*.') && domain.split('.').slice(1).join('.') === n.slice(2)));
}

async function checkCertificate(
  deps: PreflightDeps,
  config: StripeWebhooksConfig,
  region: string,
): Promise<CheckResult> {
  const check = `certificate ${region}`;
  const arn = config.failover.certificateArns[region];
  const domain = config.failover.domainName!;
  if (!arn) return ok(check, `none configured: the stack creates one for ${domain}, validated through DNS in the zone`);
  const cert = (await deps.client(ACMClient, region).send(new DescribeCertificateCommand({ CertificateArn: arn })))
    .Certificate;
  const names = [cert?.DomainName ?? '', ...(cert?.SubjectAlternativeNames ?? [])];
  if (cert?.Status !== 'ISSUED') {
    return problem(
      check,
      `${arn} is ${cert?.Status}`,
      'finish its validation (ACM console), or remove it from failover.certificateArns',
    );
  }
  if (!covers(names, domain)) {
    return problem(
      check,
      `${arn} covers ${names.join(', ')}, not ${domain}`,
      'use a certificate for the domain in this region',
    );
  }
  return ok(check, `${arn} is ISSUED for ${domain}`);
}

/** The secrets: real values in place (or none yet on a first deploy), and no leftover of a deleted stack. */
async function checkSecrets(
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

async function checkEndpointCount(deps: PreflightDeps, apiKey: string | undefined): Promise<CheckResult> {
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

async function checkEmail(
  deps: PreflightDeps,
  config: StripeWebhooksConfig,
  region: string,
  topic: string,
  account: string,
) {
  const check = `alarm e-mail ${region}`;
  const arn = `arn:aws:sns:${region}:${account}:${topic}`;
  try {
    const subs = await deps.client(SNSClient, region).send(new ListSubscriptionsByTopicCommand({ TopicArn: arn }));
    const mine = subs.Subscriptions?.find((s) => s.Protocol === 'email' && s.Endpoint === config.alarms.email);
    if (!mine)
      return problem(
        check,
        `${config.alarms.email} is not subscribed to ${topic}`,
        'deploy again: the stack subscribes it',
      );
    if (mine.SubscriptionArn === 'PendingConfirmation') {
      return problem(
        check,
        `${config.alarms.email} has not confirmed ${topic}`,
        'click the link in the "AWS Notification - Subscription Confirmation" mail; alarms reach nobody until then',
      );
    }
    return ok(check, `${config.alarms.email} confirmed on ${topic}`);
  } catch (err) {
    if (errorName(err) !== 'NotFoundException') throw err;
    return ok(check, `${topic} not created yet: confirm the mail the first deploy sends to ${config.alarms.email}`);
  }
}

async function checkLeftoverTable(deps: PreflightDeps, config: StripeWebhooksConfig): Promise<CheckResult> {
  const name = `${config.appName}-idempotency`;
  const check = `table ${name}`;
  try {
    await deps.client(DynamoDBClient, config.primaryRegion).send(new DescribeTableCommand({ TableName: name }));
  } catch (err) {
    if (errorName(err) !== 'ResourceNotFoundException') throw err;
    return ok(check, 'free: the first deploy creates it');
  }
  return problem(
    check,
    'exists but the stack does not (left by a deleted or failed stack?): the deploy would fail with "already exists"',
    `restore its stack, or turn off its deletion protection and delete it (aws dynamodb update-table --region ${config.primaryRegion} --table-name ${name} --no-deletion-protection-enabled)`,
  );
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
