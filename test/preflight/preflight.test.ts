/**
 * `npm run preflight`: each check against an account played by aws-sdk-client-mock (one mocked client per service
 * and region, answering from a small description of the account) and the local Stripe server for the endpoint
 * count; and the CLI without credentials: one clear line, no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand, DescribeEventSourceCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { parseConfig, type StripeWebhooksConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { formatResults, type PlannedStack, type PreflightDeps, runPreflight } from '../../scripts/lib/preflight';

const ACCOUNT = '123456789012';
const CERT = `arn:aws:acm:us-west-2:${ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012`;
const SOURCE = 'aws.partner/stripe.com/ed_61RM8ltWcTW4mbsxf16RJyfa2xSQ';
const API_KEY = 'sk_test_preflightKey0000000001';

const error = (name: string) => Object.assign(new Error(`${name} (mock)`), { name });

/** The account as preflight would find it. Every field is what a healthy, never-deployed account has. */
interface World {
  toolkit: Record<string, { status: string; version: string } | undefined>;
  apiGatewayRole: Record<string, string | undefined>;
  partner: Record<string, string | undefined>;
  buses: Set<string>;
  zone: { name: string; private: boolean } | undefined;
  certificate: { status: string; names: string[] };
  secrets: Record<string, string>;
  stacks: Set<string>;
  table: boolean;
  subscriptions: Record<string, { email: string; arn: string }[] | undefined>;
}

let world: World;
let server: StripeServer;

beforeAll(async () => {
  server = await startStripeServer();
});
afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  world = {
    toolkit: {
      'us-east-1': { status: 'UPDATE_COMPLETE', version: '28' },
      'us-west-2': { status: 'CREATE_COMPLETE', version: '28' },
    },
    apiGatewayRole: {},
    partner: { [SOURCE]: 'ACTIVE' },
    buses: new Set([SOURCE]),
    zone: { name: 'example.com.', private: false },
    certificate: { status: 'ISSUED', names: ['webhooks.example.com'] },
    secrets: {},
    stacks: new Set(),
    table: false,
    subscriptions: {},
  };
});

/** One mocked client per service and region, answering from `world`. */
function deps(): PreflightDeps {
  const clients = new Map<string, unknown>();
  const make = <C>(Class: new (c: { region: string }) => C, region: string): C => {
    const client = new Class({ region }) as C & object;
    const m = mockClient(client as never) as ReturnType<typeof mockClient>;
    const notFound = (name: string) => () => Promise.reject(error(name));
    if (client instanceof STSClient)
      m.on(GetCallerIdentityCommand).resolves({
        Account: ACCOUNT,
        Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/me`,
      });
    if (client instanceof CloudFormationClient) {
      m.on(DescribeStacksCommand).callsFake(({ StackName }: { StackName: string }) => {
        if (StackName === 'CDKToolkit') {
          const t = world.toolkit[region];
          if (!t)
            return Promise.reject(
              Object.assign(error('ValidationError'), { message: 'Stack with id CDKToolkit does not exist' }),
            );
          return {
            Stacks: [
              {
                StackName,
                StackStatus: t.status,
                Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: t.version }],
              },
            ],
          };
        }
        if (!world.stacks.has(StackName))
          return Promise.reject(
            Object.assign(error('ValidationError'), { message: `Stack with id ${StackName} does not exist` }),
          );
        return { Stacks: [{ StackName, StackStatus: 'UPDATE_COMPLETE' }] };
      });
    }
    if (client instanceof APIGatewayClient)
      m.on(GetAccountCommand).callsFake(() => ({ cloudwatchRoleArn: world.apiGatewayRole[region] }));
    if (client instanceof EventBridgeClient) {
      m.on(DescribeEventSourceCommand).callsFake(({ Name }: { Name: string }) =>
        world.partner[Name] ? { Name, State: world.partner[Name] } : notFound('ResourceNotFoundException')(),
      );
      m.on(DescribeEventBusCommand).callsFake(({ Name }: { Name: string }) =>
        world.buses.has(Name) ? { Name } : notFound('ResourceNotFoundException')(),
      );
    }
    if (client instanceof Route53Client) {
      m.on(GetHostedZoneCommand).callsFake(() =>
        world.zone
          ? {
              HostedZone: {
                Id: 'Z0123456789ABCDEFGHIJ',
                Name: world.zone.name,
                Config: { PrivateZone: world.zone.private },
              },
            }
          : notFound('NoSuchHostedZone')(),
      );
    }
    if (client instanceof ACMClient) {
      m.on(DescribeCertificateCommand).callsFake(() => ({
        Certificate: {
          DomainName: world.certificate.names[0],
          SubjectAlternativeNames: world.certificate.names,
          Status: world.certificate.status,
        },
      }));
    }
    if (client instanceof SecretsManagerClient) {
      m.on(GetSecretValueCommand).callsFake(({ SecretId }: { SecretId: string }) =>
        SecretId in world.secrets ? { SecretString: world.secrets[SecretId] } : notFound('ResourceNotFoundException')(),
      );
    }
    if (client instanceof DynamoDBClient) {
      m.on(DescribeTableCommand).callsFake(() =>
        world.table ? { Table: {} } : notFound('ResourceNotFoundException')(),
      );
    }
    if (client instanceof SNSClient) {
      m.on(ListSubscriptionsByTopicCommand).callsFake(({ TopicArn }: { TopicArn: string }) => {
        const subs = world.subscriptions[TopicArn];
        if (!subs) return Promise.reject(error('NotFoundException'));
        return { Subscriptions: subs.map((s) => ({ Protocol: 'email', Endpoint: s.email, SubscriptionArn: s.arn })) };
      });
    }
    return client;
  };
  return {
    client: <C>(Class: new (c: { region: string }) => C, region: string) => {
      const key = `${Class.name}:${region}`;
      if (!clients.has(key)) clients.set(key, make(Class, region));
      return clients.get(key) as C;
    },
    stripeFor: (key) => createStripeClient(key, { apiBase: server.url }),
  };
}

/** Two regions with a domain, a partner source, an alarm e-mail, a managed endpoint and a certificate in one. */
const CONFIG: StripeWebhooksConfig = parseConfig({
  account: ACCOUNT,
  secondaryRegions: ['us-west-2'],
  failover: {
    domainName: 'webhooks.example.com',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: 'example.com',
    certificateArns: { 'us-west-2': CERT },
  },
  eventBridge: { partnerEventSourceName: SOURCE },
  alarms: { email: 'oncall@example.com' },
});
const STACKS: PlannedStack[] = [
  { stackName: 'stripe-webhooks-us-east-1', region: 'us-east-1', requiresBootstrapStackVersion: 6 },
  { stackName: 'stripe-webhooks-us-west-2', region: 'us-west-2', requiresBootstrapStackVersion: 6 },
];
const WHO = { Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/me` };

async function lines(config = CONFIG): Promise<string[]> {
  return formatResults(await runPreflight(config, STACKS, deps(), WHO));
}

const failures = (out: string[]) => out.filter((l) => l.startsWith('FAIL'));

describe('preflight on a fresh account ready for the first deploy', () => {
  it('prints one ok line per check and nothing else', async () => {
    const out = await lines();
    expect(failures(out)).toEqual([]);
    expect(out.map((l) => l.replace(/:.*/, ''))).toEqual([
      'ok    account',
      'ok    bootstrap us-east-1',
      'ok    bootstrap us-west-2',
      'ok    partner event source us-east-1',
      'ok    hosted zone',
      'ok    certificate us-east-1',
      'ok    certificate us-west-2',
      'ok    secret stripe-webhooks/stripe-api-key',
      'ok    secret stripe-webhooks/stripe-webhook-secret',
      'ok    table stripe-webhooks-idempotency',
      'ok    Stripe webhook endpoints',
      'ok    alarm e-mail us-east-1',
      'ok    alarm e-mail us-west-2',
    ]);
  });
});

describe('preflight finds what would break the deploy, each with its fix', () => {
  it('the wrong account, a region not bootstrapped, an old bootstrap', async () => {
    world.toolkit['us-west-2'] = undefined;
    world.toolkit['us-east-1'] = { status: 'UPDATE_COMPLETE', version: '5' };
    const out = failures(
      formatResults(await runPreflight(CONFIG, STACKS, deps(), { ...WHO, Account: '999999999999' })),
    );
    expect(out).toEqual([
      expect.stringMatching(
        /^FAIL {2}account: .*999999999999.*123456789012.*Fix: use credentials of the target account/,
      ),
      expect.stringMatching(
        /bootstrap us-east-1: bootstrap version 5, the app needs 6\. Fix: npx cdk bootstrap aws:\/\/123456789012\/us-east-1/,
      ),
      expect.stringMatching(
        /bootstrap us-west-2: no CDKToolkit stack in us-west-2\. Fix: npx cdk bootstrap aws:\/\/123456789012\/us-west-2/,
      ),
    ]);
  });

  it('a partner event source not yet associated, a private zone, a certificate still pending', async () => {
    world.partner[SOURCE] = 'PENDING';
    world.zone = { name: 'example.com.', private: true };
    world.certificate = { status: 'PENDING_VALIDATION', names: ['webhooks.example.com'] };
    expect(failures(await lines())).toEqual([
      expect.stringMatching(/partner event source us-east-1: .* is PENDING\. Fix: associate it with an event bus/),
      expect.stringMatching(/hosted zone: .* private zone/),
      expect.stringMatching(/certificate us-west-2: .* PENDING_VALIDATION/),
    ]);
  });

  it('leftovers of a deleted stack under the names the deploy will create', async () => {
    world.secrets['stripe-webhooks/stripe-api-key'] = JSON.stringify({ apiKey: API_KEY });
    world.table = true;
    expect(failures(await lines())).toEqual([
      expect.stringMatching(/secret stripe-webhooks\/stripe-api-key: exists but the stack does not.*delete-secret/),
      expect.stringMatching(
        /table stripe-webhooks-idempotency: exists but the stack does not.*--no-deletion-protection-enabled/,
      ),
    ]);
  });

  it('after the first deploy: placeholders still in the secrets, and an unconfirmed alarm e-mail', async () => {
    world.stacks.add('stripe-webhooks-us-east-1');
    world.secrets['stripe-webhooks/stripe-api-key'] = JSON.stringify({ apiKey: '', placeholder: 'x' });
    world.secrets['stripe-webhooks/stripe-webhook-secret'] = JSON.stringify({ secrets: [], placeholder: 'y' });
    world.subscriptions[`arn:aws:sns:us-east-1:${ACCOUNT}:stripe-webhooks-alarms`] = [
      { email: 'oncall@example.com', arn: 'PendingConfirmation' },
    ];
    world.subscriptions[`arn:aws:sns:us-west-2:${ACCOUNT}:stripe-webhooks-alarms`] = [
      { email: 'oncall@example.com', arn: `arn:aws:sns:us-west-2:${ACCOUNT}:stripe-webhooks-alarms:1` },
    ];
    expect(failures(await lines())).toEqual([
      expect.stringMatching(/stripe-api-key: holds the stack's placeholder.*put-secret-value/),
      expect.stringMatching(/stripe-webhook-secret: holds the stack's placeholder/),
      expect.stringMatching(/alarm e-mail us-east-1: oncall@example.com has not confirmed/),
    ]);
  });

  it("an account at Stripe's endpoint limit (counted with the key in the secret)", async () => {
    world.stacks.add('stripe-webhooks-us-east-1');
    world.secrets['stripe-webhooks/stripe-api-key'] = JSON.stringify({ apiKey: API_KEY });
    world.secrets['stripe-webhooks/stripe-webhook-secret'] = JSON.stringify({ secrets: [{ secret: 'whsec_x' }] });
    const stripe = createStripeClient(API_KEY, { apiBase: server.url });
    for (let i = 0; i < 15; i++) {
      await stripe.webhookEndpoints.create({ url: `https://example.com/${i}`, enabled_events: ['*'] });
    }
    expect(failures(await lines()).filter((l) => !l.includes('alarm e-mail'))).toEqual([
      expect.stringMatching(/Stripe webhook endpoints: 15 of Stripe's 16: a rotation or URL change needs a free one/),
    ]);
  });

  it('a REST ingress told to keep an account without the API Gateway CloudWatch role', async () => {
    const rest = parseConfig({ account: ACCOUNT, ingress: { apiType: 'rest', apiGatewayAccountRole: false } });
    const out = formatResults(await runPreflight(rest, STACKS.slice(0, 1), deps(), WHO));
    expect(failures(out)).toEqual([
      expect.stringMatching(
        /API Gateway CloudWatch role us-east-1: not set.*Fix: set ingress\.apiGatewayAccountRole to true/,
      ),
    ]);
  });
});

describe('npm run preflight without credentials', () => {
  it('says so in one line, with what to do, and exits 1 without a stack trace', () => {
    const out = spawnSync(
      join(PROJECT_ROOT, 'node_modules/.bin/tsx'),
      ['scripts/preflight.ts', '-c', 'configFile=config/prod.example.json'],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: '/nonexistent',
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );
    expect(out.status).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^preflight: no AWS credentials found: set AWS_PROFILE .* then run it again$/),
    ]);
  });
});
