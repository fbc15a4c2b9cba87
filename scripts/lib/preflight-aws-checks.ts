/** The preflight checks of AWS resources: account, bootstrap, API Gateway role, partner source, DNS, e-mail, table. */
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand, DescribeEventSourceCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { StripeWebhooksConfig } from '../../lib/config';
import {
  type CheckResult,
  errorName,
  ok,
  type PlannedStack,
  type PreflightDeps,
  problem,
  stackStatus,
} from './preflight-check';

/** Stack statuses a deploy can start from. */
const STABLE = /_COMPLETE$/;
const CDK_BOOTSTRAP_STACK = 'CDKToolkit';

export function checkAccount(config: StripeWebhooksConfig, who: { Account?: string; Arn?: string }): CheckResult {
  if (config.account && who.Account !== config.account) {
    return problem(
      'account',
      `the credentials are for account ${who.Account}, the config deploys to ${config.account}`,
      'use credentials of the target account (AWS_PROFILE), or fix `account` in the config',
    );
  }
  return ok('account', `${who.Account} (${who.Arn})`);
}

export async function checkBootstrap(deps: PreflightDeps, stack: PlannedStack, account: string): Promise<CheckResult> {
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

export async function checkApiGatewayRole(deps: PreflightDeps, config: StripeWebhooksConfig, region: string) {
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

export async function checkPartnerSource(deps: PreflightDeps, region: string, name: string): Promise<CheckResult> {
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

export async function checkHostedZone(deps: PreflightDeps, config: StripeWebhooksConfig): Promise<CheckResult> {
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

export async function checkCertificate(
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

export async function checkEmail(
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

export async function checkLeftoverTable(deps: PreflightDeps, config: StripeWebhooksConfig): Promise<CheckResult> {
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
