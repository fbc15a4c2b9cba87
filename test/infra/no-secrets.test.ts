import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { createRegionalStacks, RegionalStack } from '../../lib/stacks/regional-stack';
import { NO_BUNDLING } from './helpers';

/** Substrings that would mean a Stripe credential made it into a template. */
const SECRET_MARKERS = [/sk_live_/, /sk_test_/, /(?<![A-Za-z0-9])rk_/, /rk_live_/, /rk_test_/, /whsec_/];

function findSecretMarkers(text: string): string[] {
  return SECRET_MARKERS.filter((re) => re.test(text)).map(String);
}

describe('synthesized templates', () => {
  const app = new App({ context: NO_BUNDLING });
  const stacks = createRegionalStacks(
    app,
    parseConfig({ secondaryRegions: ['eu-west-1'], stripeApiVersion: '2025-09-30.clover' }),
  );
  // Every other shape of the app too: REST API with WAF and the IP allowlist, alarm e-mail, optional alarms.
  stacks.push(
    ...createRegionalStacks(
      app,
      parseConfig({
        appName: 'stripe-webhooks-rest',
        ingress: { apiType: 'rest', waf: true, stripeIpAllowlist: true, allowedSourceIps: ['203.0.113.0/24'] },
        alarms: { email: 'oncall@example.com' },
      }),
    ),
    new RegionalStack(app, 'stripe-webhooks-everything', {
      env: { region: 'us-east-1' },
      config: parseConfig({ appName: 'stripe-webhooks-all' }),
      healthChecks: [{ region: 'us-east-1', healthCheckId: '11111111-1111-1111-1111-111111111111' }],
    }),
  );
  const assembly = app.synth();

  it.each(stacks.map((s) => s.stackName))('%s contains nothing that looks like a Stripe secret', (name) => {
    const template = JSON.stringify(assembly.getStackByName(name).template);
    expect(template.length).toBeGreaterThan(10_000);
    expect(findSecretMarkers(template)).toEqual([]);
  });

  it('would notice a planted secret (the scan itself works)', () => {
    for (const planted of ['sk_live_51abc', 'sk_test_51abc', 'rk_live_51abc', '"rk_abc"', 'whsec_abc123']) {
      expect(findSecretMarkers(`{"Value":${JSON.stringify(planted)}}`)).not.toEqual([]);
    }
    expect(findSecretMarkers('{"Name":"stripe-webhooks/stripe-webhook-secret","network_mode":"x"}')).toEqual([]);
  });

  it('passes no secret through a Lambda environment variable or a stack parameter', () => {
    for (const stack of stacks) {
      const template = assembly.getStackByName(stack.stackName).template as {
        Resources: Record<
          string,
          { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }
        >;
        Parameters?: Record<string, unknown>;
      };
      const names = Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .flatMap((r) => Object.keys(r.Properties?.Environment?.Variables ?? {}));
      expect(names.length).toBeGreaterThan(0);
      // Secret *ids* are fine (…_SECRET_ID); a variable named like a secret value is not.
      expect(
        names.filter((n) => /SECRET|API_KEY|TOKEN|PASSWORD/.test(n) && !/_SECRET_ID$|^SECRET_CACHE_/.test(n)),
      ).toEqual([]);
      expect(Object.keys(template.Parameters ?? {}).filter((p) => !p.startsWith('BootstrapVersion'))).toEqual([]);
      // Nor a value that looks like a Stripe key or signing secret, under whatever name.
      const values = Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .flatMap((r) => Object.values(r.Properties?.Environment?.Variables ?? {}))
        .map((v) => JSON.stringify(v));
      expect(values.filter((v) => findSecretMarkers(v).length > 0)).toEqual([]);
    }
  });
});
