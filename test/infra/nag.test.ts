/**
 * cdk-nag (v3: a CDK validation plugin) over the whole app: zero unacknowledged errors and warnings from the AWS
 * Solutions, Serverless and PCI DSS 3.2.1 packs, and every acknowledgement scoped to one resource with a reason a reviewer can
 * check.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { createRegionalStacks, RegionalStack } from '../../lib/stacks/regional-stack';
import { NO_BUNDLING } from './helpers';

/** Everything multi-region turned on: a standby region, Route 53 failover, a partner event source per region. */
const FULL_MULTI_REGION = {
  secondaryRegions: ['eu-west-1'],
  failover: {
    domainName: 'webhooks.example.com',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: 'example.com',
  },
  eventBridge: {
    partnerEventSourceName: {
      'us-east-1': 'aws.partner/stripe.com/ed_61RM8ltWcTW4mbsxf16RJyfa2xSQ',
      'eu-west-1': 'aws.partner/stripe.com/ed_61RM8ltWcTW4mbsxf16RJyfa2xEU',
    },
  },
};

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

/** Synthesizes `app` with the three nag packs and returns every violation they report, as `rule at path (severity)`. */
function nagViolations(app: App): string[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app), new PCIDSS321Checks(app));
  let assemblyDir: string;
  try {
    assemblyDir = app.synth().directory;
  } catch (err) {
    // Any finding, error or warning, fails the synth (a pack reports success only when it found nothing); in a test
    // run the message carries the report.
    return [String(err)];
  }
  const report = JSON.parse(readFileSync(join(assemblyDir, 'validation-report.json'), 'utf8')) as ValidationReport;
  return report.pluginReports.flatMap((r) =>
    r.violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath} (${v.severity})`),
    ),
  );
}

function newApp(): App {
  const outdir = mkdtempSync(join(tmpdir(), 'stripe-webhooks-nag-'));
  outdirs.push(outdir);
  return new App({ outdir, context: NO_BUNDLING });
}

/** Every acknowledgement in the tree: where, which rule, why. */
function acknowledgements(root: IConstruct): { construct: IConstruct; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          construct,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag', () => {
  it('reports no unacknowledged error or warning for the default config', () => {
    const app = newApp();
    createRegionalStacks(app, parseConfig({}));
    expect(nagViolations(app)).toEqual([]);
  });

  it('reports none for a multi-region dev config with an archive and a pinned API version either', () => {
    const app = newApp();
    createRegionalStacks(
      app,
      parseConfig({
        secondaryRegions: ['eu-west-1'],
        removalPolicy: 'destroy',
        eventSink: { archiveRetentionDays: 7 },
        stripeApiVersion: '2025-09-30.clover',
      }),
    );
    expect(nagViolations(app)).toEqual([]);
  });

  it('reports none with the Stripe endpoint managed by the stack and both secrets rotating on a schedule', () => {
    const app = newApp();
    createRegionalStacks(
      app,
      parseConfig({
        stripeEndpoint: { manage: true, apiVersion: '2025-09-30.clover' },
        rotation: { webhookSecretDays: 30, apiKeyDays: 60 },
      }),
    );
    expect(nagViolations(app)).toEqual([]);
  });

  it('reports none for the lean config: a function URL ingress and no event sink', () => {
    const app = newApp();
    createRegionalStacks(app, parseConfig({ ingress: { apiType: 'function-url' }, eventSink: { enabled: false } }));
    expect(nagViolations(app)).toEqual([]);
  });

  it('reports none for the REST API variant without WAF', () => {
    const app = newApp();
    createRegionalStacks(app, parseConfig({ ingress: { apiType: 'rest' } }));
    expect(nagViolations(app)).toEqual([]);
  });

  it('reports none with X-Ray tracing on, REST stage included (nothing then excuses missing tracing)', () => {
    const app = newApp();
    createRegionalStacks(app, parseConfig({ ingress: { apiType: 'rest' }, observability: { tracing: true } }));
    expect(nagViolations(app)).toEqual([]);
    const ids = acknowledgements(app).map((a) => a.id);
    expect(ids).not.toContain('Serverless-APIGWXrayEnabled');
    // CDK's X-Ray statement (Resource "*", the only scope X-Ray has) is acknowledged only now.
    expect(ids).toContain('AwsSolutions-IAM5[Resource::*]');
    // Only the Provider framework function of the endpoint custom resource, which aws-cdk-lib cannot trace.
    expect(
      acknowledgements(app)
        .filter((a) => a.id === 'Serverless-LambdaTracing')
        .map((a) => a.construct.node.path),
    ).toEqual([expect.stringMatching(/WebhookEndpoint\/Provider\/framework-onEvent/)]);
  });

  it('reports none for the REST API with WAF, the Stripe IP allowlist and an alarm e-mail', () => {
    const app = newApp();
    createRegionalStacks(
      app,
      parseConfig({
        ingress: { apiType: 'rest', waf: true, stripeIpAllowlist: true },
        alarms: { email: 'oncall@example.com' },
      }),
    );
    expect(nagViolations(app)).toEqual([]);
  });

  it('reports none for two regions with Route 53 failover and Stripe EventBridge sources in both', () => {
    const app = newApp();
    createRegionalStacks(app, parseConfig(FULL_MULTI_REGION));
    expect(nagViolations(app)).toEqual([]);
  });

  it('reports none for an EU pair with a managed endpoint and the us-east-1 monitoring stack', () => {
    const app = newApp();
    const { monitoring } = buildApp(
      app,
      parseConfig({
        primaryRegion: 'eu-west-1',
        secondaryRegions: ['eu-central-1'],
        failover: FULL_MULTI_REGION.failover,
        stripeEndpoint: { manage: true },
        rotation: { apiKeyDays: 30 },
      }),
    );
    expect(monitoring).toBeDefined();
    expect(nagViolations(app)).toEqual([]);
  });

  it('reports none with every optional alarm on: reconciler, rotation (with its EventBridge rule), health checks', () => {
    const app = newApp();
    new RegionalStack(app, 'AllAlarms', {
      env: { account: '123456789012', region: 'us-east-1' },
      config: parseConfig({ alarms: { email: 'oncall@example.com' } }),
      healthChecks: [
        { region: 'us-east-1', healthCheckId: 'abcdef01-2345-6789-abcd-ef0123456789' },
        { region: 'us-west-2', healthCheckId: 'fedcba98-7654-3210-fedc-ba9876543210' },
      ],
    });
    expect(nagViolations(app)).toEqual([]);
  });

  it('does report an error when there is one (the harness is live)', () => {
    const app = newApp();
    new Queue(new Stack(app, 'Careless'), 'PlainQueue');
    expect(nagViolations(app).join('\n')).toMatch(/AwsSolutions-SQS4/);
  });

  it('does report a warning-level finding too', () => {
    const app = newApp();
    new Table(new Stack(app, 'Careless'), 'NoPitr', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    expect(nagViolations(app).join('\n')).toMatch(/WARNING.*Point-in-time Recovery[\s\S]*AwsSolutions-DDB3/);
  });

  describe.each([
    ['the default config', {}, []],
    [
      'two regions with failover and EventBridge sources',
      FULL_MULTI_REGION,
      // The partner-events DLQ; the replica region's secrets key, named by alias (StripeSecrets.grantPutValue).
      ['AwsSolutions-SQS3', 'AwsSolutions-IAM5[Resource::arn:aws:kms:eu-west-1:<AWS::AccountId>:key/*]'],
    ],
  ])('acknowledgements for %s', (_name, input, extra) => {
    const app = new App({ context: NO_BUNDLING });
    createRegionalStacks(app, parseConfig(input));
    const acks = acknowledgements(app);

    it('exist only for the findings reviewed in the constructs', () => {
      expect([...new Set(acks.map((a) => a.id))].sort()).toEqual(
        [
          'AwsSolutions-APIG4',
          'AwsSolutions-SMG4',
          'Serverless-EventBusDLQ',
          'Serverless-LambdaDLQ',
          // The Provider framework of the Stripe endpoint custom resource (lib/constructs/webhook-endpoint.ts).
          'Serverless-LambdaDefaultMemorySize',
          'Serverless-LambdaEventSourceMappingDestination',
          'Serverless-LambdaTracing',
          'Serverless-SQSRedrivePolicy',
          ...extra,
        ].sort(),
      );
    });

    it('accept a secret without a rotation schedule (SMG4) only for the on-demand API key', () => {
      const smg4 = acks.filter((a) => a.id === 'AwsSolutions-SMG4').map((a) => a.construct.node.path);
      expect(smg4).toEqual(['stripe-webhooks-us-east-1/Default/StripeSecrets/ApiKey']);
    });

    it('accept no missing rotation schedule once both secrets rotate on a schedule', () => {
      const scheduled = new App({ context: NO_BUNDLING });
      createRegionalStacks(scheduled, parseConfig({ rotation: { apiKeyDays: 30 } }));
      expect(acknowledgements(scheduled).filter((a) => a.id === 'AwsSolutions-SMG4')).toEqual([]);
    });

    it('each carry a reason of at least 20 characters', () => {
      expect(acks.length).toBeGreaterThan(0);
      for (const { construct, id, reason } of acks) {
        expect(reason.trim().length, `${id} on ${construct.node.path}`).toBeGreaterThanOrEqual(20);
      }
    });

    it('are each scoped to one resource, never to a stack or the app', () => {
      for (const { construct, id } of acks) {
        const isResource =
          CfnResource.isCfnResource(construct) ||
          (construct.node.defaultChild !== undefined && CfnResource.isCfnResource(construct.node.defaultChild));
        expect(isResource, `${id} on ${construct.node.path}`).toBe(true);
        expect(Stack.isStack(construct)).toBe(false);
      }
    });

    it('for the REST variant, add only the API Gateway findings reviewed in the Ingress construct', () => {
      const restApp = new App({ context: NO_BUNDLING });
      createRegionalStacks(restApp, parseConfig({ ingress: { apiType: 'rest' } }));
      const ids = new Set(acknowledgements(restApp).map((a) => a.id));
      const added = [...ids].filter((id) => !acks.some((a) => a.id === id)).sort();
      expect(added).toEqual([
        'AwsSolutions-APIG2',
        'AwsSolutions-APIG3',
        'AwsSolutions-APIG6',
        'AwsSolutions-COG4',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'PCI.DSS.321-APIGWAssociatedWithWAF',
        'PCI.DSS.321-APIGWCacheEnabledAndEncrypted',
        'PCI.DSS.321-APIGWExecutionLoggingEnabled',
        'PCI.DSS.321-APIGWSSLEnabled',
        'Serverless-APIGWXrayEnabled',
      ]);
      const withWaf = new App({ context: NO_BUNDLING });
      createRegionalStacks(withWaf, parseConfig({ ingress: { apiType: 'rest', waf: true } }));
      // With a web ACL on the stage there is nothing to excuse for APIG3 (nor its PCI twin).
      expect(acknowledgements(withWaf).map((a) => a.id)).not.toContain('AwsSolutions-APIG3');
      expect(acknowledgements(withWaf).map((a) => a.id)).not.toContain('PCI.DSS.321-APIGWAssociatedWithWAF');
    });

    it('acknowledge IAM wildcards only for a specific finding (appliesTo), not the whole rule', () => {
      for (const { id } of acks.filter((a) => a.id.startsWith('AwsSolutions-IAM'))) {
        expect(id).toMatch(/^AwsSolutions-IAM[45]\[.+\]$/);
      }
    });
  });
});
