/**
 * Route 53 failover: with a domain and a hosted zone, each region's HTTP API gets the public domain, a health check
 * on its own /health and its half of the failover record pair; without a domain, nothing of it, and each region
 * outputs its own URLs.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { HttpApi, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { describe, expect, it } from 'vitest';
import { HEALTHY_BODY_MATCH, RegionalFailover } from '../../lib/constructs/failover';
import { logicalId, NO_BUNDLING, onlyResource, synthApp } from './helpers';

const EU_CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
const failover = {
  domainName: 'webhooks.example.com',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'example.com',
  certificateArns: { 'eu-west-1': EU_CERT },
};
const { stacks, templates } = synthApp({ secondaryRegions: ['eu-west-1'], failover });
const primary = templates['us-east-1']!;
const secondary = templates['eu-west-1']!;

function recordOf(template: Template): Record<string, unknown> {
  return onlyResource(template, 'AWS::Route53::RecordSet').props;
}

describe('with a domain and a hosted zone', () => {
  it("gives each region's HTTP API the public domain as a regional TLS 1.2 custom domain on its $default stage", () => {
    for (const [template, stack] of [
      [primary, stacks[0]!],
      [secondary, stacks[1]!],
    ] as const) {
      const domain = onlyResource(template, 'AWS::ApiGatewayV2::DomainName');
      expect(domain.props.DomainName).toBe('webhooks.example.com');
      expect(domain.props.DomainNameConfigurations).toEqual([
        expect.objectContaining({ EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }),
      ]);
      template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
        ApiId: { Ref: logicalId(stack.ingress.api!) },
        DomainName: { Ref: domain.id },
        Stage: '$default',
      });
    }
  });

  it('uses the configured certificate in a region that has one, and creates a DNS-validated one elsewhere', () => {
    secondary.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    expect(onlyResource(secondary, 'AWS::ApiGatewayV2::DomainName').props.DomainNameConfigurations).toEqual([
      expect.objectContaining({ CertificateArn: EU_CERT }),
    ]);
    const cert = onlyResource(primary, 'AWS::CertificateManager::Certificate');
    expect(cert.props).toMatchObject({
      DomainName: 'webhooks.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'webhooks.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' }],
    });
    expect(onlyResource(primary, 'AWS::ApiGatewayV2::DomainName').props.DomainNameConfigurations).toEqual([
      expect.objectContaining({ CertificateArn: { Ref: cert.id } }),
    ]);
  });

  it("health-checks each region's own execute-api host (not the public name) for the ingress's healthy body", () => {
    for (const [template, stack, region] of [
      [primary, stacks[0]!, 'us-east-1'],
      [secondary, stacks[1]!, 'eu-west-1'],
    ] as const) {
      expect(onlyResource(template, 'AWS::Route53::HealthCheck').props.HealthCheckConfig).toMatchObject({
        Type: 'HTTPS_STR_MATCH',
        FullyQualifiedDomainName: {
          'Fn::Join': [
            '',
            [{ Ref: logicalId(stack.ingress.api!) }, `.execute-api.${region}.`, { Ref: 'AWS::URLSuffix' }],
          ],
        },
        Port: 443,
        EnableSNI: true,
        ResourcePath: '/health',
        SearchString: '"status":"ok"',
        RequestInterval: 30,
        FailureThreshold: 3,
        Inverted: false,
      });
    }
    // The text the health check looks for is the body the ingress answers when healthy.
    expect(JSON.stringify({ status: 'ok' })).toContain(HEALTHY_BODY_MATCH);
  });

  it('makes the primary the PRIMARY and the secondary the SECONDARY record of one name, each with its health check', () => {
    const p = recordOf(primary);
    const s = recordOf(secondary);
    for (const [record, template, role] of [
      [p, primary, 'PRIMARY'],
      [s, secondary, 'SECONDARY'],
    ] as const) {
      const domainId = onlyResource(template, 'AWS::ApiGatewayV2::DomainName').id;
      expect(record).toMatchObject({
        Name: 'webhooks.example.com.',
        Type: 'A',
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        Failover: role,
        HealthCheckId: { Ref: onlyResource(template, 'AWS::Route53::HealthCheck').id },
        AliasTarget: {
          DNSName: { 'Fn::GetAtt': [domainId, 'RegionalDomainName'] },
          HostedZoneId: { 'Fn::GetAtt': [domainId, 'RegionalHostedZoneId'] },
          EvaluateTargetHealth: true,
        },
      });
    }
    expect(p.SetIdentifier).toBe('stripe-webhooks-us-east-1');
    expect(s.SetIdentifier).toBe('stripe-webhooks-eu-west-1');
  });

  it('takes the health check interval and threshold from the config', () => {
    const fast = synthApp({
      secondaryRegions: ['eu-west-1'],
      failover: { ...failover, healthCheck: { intervalSeconds: 10, failureThreshold: 2 } },
    });
    for (const template of Object.values(fast.templates)) {
      expect(onlyResource(template, 'AWS::Route53::HealthCheck').props.HealthCheckConfig).toMatchObject({
        RequestInterval: 10,
        FailureThreshold: 2,
      });
    }
  });

  it('outputs the public webhook URL and the health check id in every region', () => {
    for (const template of [primary, secondary]) {
      template.hasOutput('PublicWebhookUrl', { Value: 'https://webhooks.example.com/stripe/webhook' });
      template.hasOutput('HealthCheckId', {
        Value: { Ref: onlyResource(template, 'AWS::Route53::HealthCheck').id },
      });
      template.hasOutput('WebhookUrl', { Description: Match.stringLikeRegexp('PublicWebhookUrl') });
    }
  });

  it('tells the rest of the app (the Stripe endpoint it registers) to use the public URL in every region', () => {
    for (const stack of stacks) expect(stack.stripeWebhookUrl).toBe('https://webhooks.example.com/stripe/webhook');
    const plain = synthApp({}).stacks[0]!;
    expect(plain.stripeWebhookUrl).toBe(plain.ingress.webhookUrl);
  });

  it('gives a single region the PRIMARY failover record with its health check, so a standby can join later', () => {
    const single = synthApp({ failover: { ...failover, certificateArns: {} } });
    const template = single.templates['us-east-1']!;
    const record = recordOf(template);
    expect(record).toMatchObject({
      Name: 'webhooks.example.com.',
      Type: 'A',
      Failover: 'PRIMARY',
      SetIdentifier: 'stripe-webhooks-us-east-1',
      HealthCheckId: { Ref: onlyResource(template, 'AWS::Route53::HealthCheck').id },
    });
    template.hasOutput('PublicWebhookUrl', { Value: 'https://webhooks.example.com/stripe/webhook' });
    // Adding a standby (the next deploy) adds only its SECONDARY record: the primary's record and health check are
    // exactly as they were, so CloudFormation changes nothing Route 53 could refuse (a failover record next to a
    // plain record of the same name and type).
    const pair = synthApp({ secondaryRegions: ['eu-west-1'], failover: { ...failover, certificateArns: {} } });
    const before = template.toJSON().Resources as Record<string, { Type: string }>;
    const after = pair.templates['us-east-1']!.toJSON().Resources as Record<string, { Type: string }>;
    for (const type of ['AWS::Route53::RecordSet', 'AWS::Route53::HealthCheck']) {
      const ofType = (r: Record<string, { Type: string }>) => Object.entries(r).filter(([, v]) => v.Type === type);
      expect(ofType(after), type).toEqual(ofType(before));
    }
    expect(recordOf(pair.templates['eu-west-1']!)).toMatchObject({
      Name: 'webhooks.example.com.',
      Failover: 'SECONDARY',
    });
  });
});

describe('without a domain', () => {
  it.each([
    ['one region', []],
    ['two regions', ['eu-west-1']],
  ])('%s: no custom domain, certificate, health check or record, and per-region URLs', (_name, secondaryRegions) => {
    const app = synthApp({ secondaryRegions });
    for (const stack of app.stacks) {
      const template = app.templates[stack.region]!;
      for (const type of [
        'AWS::Route53::RecordSet',
        'AWS::Route53::HealthCheck',
        'AWS::CertificateManager::Certificate',
        'AWS::ApiGatewayV2::DomainName',
        'AWS::ApiGatewayV2::ApiMapping',
      ]) {
        template.resourceCountIs(type, 0);
      }
      expect(Object.keys(template.toJSON().Outputs)).not.toContain('PublicWebhookUrl');
      const apiId = logicalId(stack.ingress.api!);
      template.hasOutput('WebhookUrl', {
        Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, '/stripe/webhook']] },
      });
      template.hasOutput('HealthUrl', {
        Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, '/health']] },
      });
    }
  });
});

describe('RegionalFailover', () => {
  it('refuses a health check interval Route 53 does not offer', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'S', { env: { region: 'us-east-1' } });
    const api = new HttpApi(stack, 'Api', { createDefaultStage: false });
    const stage = new HttpStage(stack, 'Stage', { httpApi: api, stageName: '$default' });
    expect(
      () =>
        new RegionalFailover(stack, 'F', {
          api,
          stage,
          domainName: 'webhooks.example.com',
          hostedZoneId: 'Z1',
          hostedZoneName: 'example.com',
          role: 'primary',
          healthCheckInterval: Duration.seconds(20),
        }),
    ).toThrow(/must be 10 or 30 s, got 20 s/);
  });
});
