import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_CONFIG,
  DEFAULT_EVENT_TYPES,
  DEFAULT_RUNBOOK_BASE_URL,
  loadConfig,
  parseConfig,
  partnerEventSourceFor,
} from '../../lib/config';

const dir = mkdtempSync(join(tmpdir(), 'stripe-webhooks-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The ConfigError message for `input`, or a failure when it is accepted. */
function errorFor(input: unknown): string {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`config was accepted: ${JSON.stringify(input)}`);
}

describe('defaults', () => {
  it('fill every field when nothing is configured', () => {
    expect(DEFAULT_CONFIG).toEqual({
      appName: 'stripe-webhooks',
      primaryRegion: 'us-east-1',
      secondaryRegions: [],
      removingRegions: [],
      eventTypes: DEFAULT_EVENT_TYPES,
      processor: { maxConcurrency: 5, batchSize: 10, timeoutSeconds: 30, memoryMb: 512 },
      ingress: {
        memoryMb: 256,
        timeoutSeconds: 10,
        throttleRatePerSecond: 200,
        throttleBurst: 400,
        maxBodyBytes: 1_048_576,
        signatureToleranceSeconds: 300,
        apiType: 'http',
        functionUrlReservedConcurrency: 10,
        waf: false,
        wafRateLimitPer5Minutes: 12_000,
        apiGatewayAccountRole: true,
        stripeIpAllowlist: false,
        allowedSourceIps: [],
      },
      queue: { maxReceiveCount: 10, retentionDays: 4, dlqRetentionDays: 14 },
      idempotency: { doneTtlDays: 35, leaseSeconds: 90 },
      eventSink: { enabled: true, archiveRetentionDays: 0 },
      reconcile: {
        enabled: true,
        intervalMinutes: 15,
        maxRequestsPerSecond: 5,
        graceSeconds: 300,
        overlapSeconds: 300,
      },
      failover: { certificateArns: {}, healthCheck: { intervalSeconds: 30, failureThreshold: 3 } },
      eventBridge: {},
      alarms: {
        runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
        thresholds: {
          dlqMessages: 1,
          queueAgeSeconds: 900,
          ingress5xxPer5Minutes: 5,
          enqueueFailuresPer5Minutes: 1,
          badSignaturesPer5Minutes: 10,
          lambdaErrorsPer5Minutes: 1,
          lambdaThrottlesPer5Minutes: 1,
          durationPercentOfTimeout: 80,
          stripe429sPer5Minutes: 10,
          leaseLostPer5Minutes: 1,
          reconcileMissedEvents: 1,
          rotationFailures: 1,
          wafBodyRuleMatchesPer5Minutes: 5,
        },
      },
      // X-Ray is off unless asked: Lambda cannot sample it down, and it would cost more than the pipeline.
      observability: { tracing: false },
      logRetentionDays: 30,
      removalPolicy: 'retain',
      stripe: {},
      stripeEndpoint: { manage: false },
      rotation: { webhookSecretDays: 90, apiKeyDays: 0, webhookOverlapHours: 24 },
    });
  });

  it('subscribe to the core payments events', () => {
    for (const type of ['payment_intent.succeeded', 'charge.refunded', 'charge.dispute.created', 'invoice.paid']) {
      expect(DEFAULT_CONFIG.eventTypes).toContain(type);
    }
  });

  it('derive the lease from the processor timeout when it is not set', () => {
    expect(parseConfig({ processor: { timeoutSeconds: 120 } }).idempotency.leaseSeconds).toBe(180);
    expect(
      parseConfig({ processor: { timeoutSeconds: 120 }, idempotency: { leaseSeconds: 600 } }).idempotency.leaseSeconds,
    ).toBe(600);
  });

  it('keep the other fields of a partially configured section', () => {
    const config = parseConfig({ processor: { maxConcurrency: 20 } });
    expect(config.processor).toEqual({ maxConcurrency: 20, batchSize: 10, timeoutSeconds: 30, memoryMb: 512 });
  });
});

describe('operations and security settings', () => {
  it('accept the REST API with WAF, an IP allowlist and an alarm e-mail', () => {
    const config = parseConfig({
      ingress: { apiType: 'rest', waf: true, stripeIpAllowlist: true, allowedSourceIps: ['203.0.113.0/24', '::1'] },
      alarms: { email: 'oncall@example.com', runbookBaseUrl: 'https://wiki.example.com/stripe/docs/' },
    });
    expect(config.ingress).toMatchObject({ apiType: 'rest', waf: true, stripeIpAllowlist: true });
    expect(config.alarms.email).toBe('oncall@example.com');
    // A trailing slash would give `docs//runbooks.md` links.
    expect(config.alarms.runbookBaseUrl).toBe('https://wiki.example.com/stripe/docs');
    expect(config.alarms.thresholds.dlqMessages).toBe(1);
  });
});

describe('loadConfig', () => {
  it('returns the defaults when neither context nor file is given', () => {
    expect(loadConfig(new App())).toEqual(DEFAULT_CONFIG);
  });

  it('merges the stripeWebhooks context over the defaults', () => {
    const app = new App({ context: { stripeWebhooks: { appName: 'acme-stripe', processor: { batchSize: 5 } } } });
    const config = loadConfig(app);
    expect(config.appName).toBe('acme-stripe');
    expect(config.processor).toEqual({ ...DEFAULT_CONFIG.processor, batchSize: 5 });
  });

  it('accepts the context as a JSON string, as `-c stripeWebhooks=...` passes it', () => {
    const app = new App({ context: { stripeWebhooks: '{"removalPolicy":"destroy"}' } });
    expect(loadConfig(app).removalPolicy).toBe('destroy');
  });

  it('merges the configFile over the context, section by section, replacing arrays', () => {
    const path = file(
      'prod.json',
      JSON.stringify({ processor: { maxConcurrency: 50 }, secondaryRegions: ['eu-west-1'], eventTypes: ['*'] }),
    );
    const app = new App({
      context: {
        configFile: path,
        stripeWebhooks: { processor: { batchSize: 4, maxConcurrency: 3 }, secondaryRegions: ['us-west-2'] },
      },
    });
    const config = loadConfig(app);
    expect(config.processor).toEqual({ ...DEFAULT_CONFIG.processor, batchSize: 4, maxConcurrency: 50 });
    expect(config.secondaryRegions).toEqual(['eu-west-1']);
    expect(config.eventTypes).toEqual(['*']);
  });

  it('names the config file in the error when it holds a bad value', () => {
    const path = file('bad.json', JSON.stringify({ queue: { maxReceiveCount: 2 } }));
    expect(() => loadConfig(new App({ context: { configFile: path } }))).toThrow(ConfigError);
    const message = (() => {
      try {
        loadConfig(new App({ context: { configFile: path } }));
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toContain(`(from defaults + ${path})`);
    expect(message).toMatch(/queue\.maxReceiveCount: must be >= 5 .*; got 2/);
  });

  it('fails clearly when the config file is missing or not JSON', () => {
    expect(() => loadConfig(new App({ context: { configFile: join(dir, 'missing.json') } }))).toThrow(
      /Cannot read config file .*missing\.json \(ENOENT\)/,
    );
    const broken = file('broken.json', '{ "appName": ');
    expect(() => loadConfig(new App({ context: { configFile: broken } }))).toThrow(/broken\.json is not valid JSON/);
    const array = file('array.json', '[]');
    expect(() => loadConfig(new App({ context: { configFile: array } }))).toThrow(/must hold a JSON object; got \[\]/);
  });

  it('rejects a stripeWebhooks context that is not an object', () => {
    expect(() => loadConfig(new App({ context: { stripeWebhooks: 'not json' } }))).toThrow(/must be a JSON object/);
  });
});

describe('validation errors name the field and the bad value', () => {
  it.each([
    [{ processor: { maxConcurrency: 1 } }, /processor\.maxConcurrency: must be >= 2 .*; got 1/],
    [{ processor: { maxConcurrency: 1001 } }, /processor\.maxConcurrency: must be <= 1000 .*; got 1001/],
    [{ processor: { batchSize: 11 } }, /processor\.batchSize: must be <= 10 .*FIFO.*; got 11/],
    [{ processor: { timeoutSeconds: 2.5 } }, /processor\.timeoutSeconds: must be a whole number.*; got 2\.5/],
    [{ ingress: { timeoutSeconds: 30 } }, /ingress\.timeoutSeconds: must be <= 29 .*; got 30/],
    [{ ingress: { maxBodyBytes: 10_000_000 } }, /ingress\.maxBodyBytes: must be <= 6291456 .*; got 10000000/],
    [{ queue: { maxReceiveCount: 3 } }, /queue\.maxReceiveCount: must be >= 5 .*; got 3/],
    [{ queue: { retentionDays: 15 } }, /queue\.retentionDays: must be <= 14 .*; got 15/],
    [{ queue: { dlqRetentionDays: 7 } }, /queue\.dlqRetentionDays: must be >= 14 .*; got 7/],
    [{ idempotency: { doneTtlDays: 7 } }, /idempotency\.doneTtlDays: must be >= 30 .*; got 7/],
    [
      { processor: { timeoutSeconds: 60 }, idempotency: { leaseSeconds: 60 } },
      /idempotency\.leaseSeconds: must exceed processor\.timeoutSeconds \(60\).*; got 60/,
    ],
    [{ logRetentionDays: 31 }, /logRetentionDays: must be one of CloudWatch Logs' retention values.*; got 31/],
    [{ appName: 'Stripe_Webhooks' }, /appName: must be 3\.\.40 lower-case .*; got "Stripe_Webhooks"/],
    [{ account: '1234' }, /account: must be a 12-digit AWS account id; got "1234"/],
    [{ primaryRegion: 'useast1' }, /primaryRegion: must be an AWS region name .*; got "useast1"/],
    [{ secondaryRegions: ['us-east-1'] }, /secondaryRegions\.0: must not repeat the primary region.*; got "us-east-1"/],
    [{ eventTypes: [] }, /eventTypes: must list at least one Stripe event type; got \[\]/],
    [{ eventTypes: ['Payment Intent'] }, /eventTypes\.0: must be a Stripe event type .*; got "Payment Intent"/],
    [{ eventTypes: ['charge.refunded', 'charge.refunded'] }, /eventTypes: must not list an event type twice/],
    [{ stripeApiVersion: 'latest' }, /stripeApiVersion: must be a Stripe API version .*; got "latest"/],
    [{ removalPolicy: 'delete' }, /removalPolicy: must be 'retain' or 'destroy'; got "delete"/],
    [{ stripeEndpoint: { manage: 'yes' } }, /stripeEndpoint\.manage: .*; got "yes"/],
    [{ stripe: { maxRequestsPerSecond: 0.5 } }, /stripe\.maxRequestsPerSecond: must be a whole number/],
    [
      { stripe: { maxRequestsPerSecond: 5 } },
      /reconcile\.maxRequestsPerSecond: must be below stripe\.maxRequestsPerSecond \(5\)/,
    ],
    [
      { reconcile: { maxRequestsPerSecond: 20 } },
      /reconcile\.maxRequestsPerSecond: must be below stripe\.maxRequestsPerSecond \(20, its test-mode default\)/,
    ],
    [{ stripeEndpoint: { apiVersion: 'latest' } }, /stripeEndpoint\.apiVersion: must be a Stripe API version/],
    [{ rotation: { webhookSecretDays: 1001 } }, /rotation\.webhookSecretDays: must be <= 1000 .*; got 1001/],
    [{ rotation: { apiKeyDays: -1 } }, /rotation\.apiKeyDays: must be >= 0 .*; got -1/],
    [{ rotation: { webhookOverlapHours: 0 } }, /rotation\.webhookOverlapHours: must be >= 1 .*; got 0/],
    [
      { rotation: { webhookSecretDays: 1, webhookOverlapHours: 24 } },
      /rotation\.webhookOverlapHours: must be shorter than the rotation interval .*; got 24/,
    ],
    [{ processor: 'fast' }, /processor: .*; got "fast"/],
    [
      { failover: { domainName: 'Webhooks.Example.com', hostedZoneId: 'Z1', hostedZoneName: 'example.com' } },
      /failover\.domainName: must be a lower-case DNS name .*; got "Webhooks\.Example\.com"/,
    ],
    [
      { failover: { domainName: 'webhooks.example.com' } },
      /failover\.hostedZoneId: is required with failover\.domainName/,
    ],
    [
      { failover: { domainName: 'webhooks.example.com', hostedZoneId: 'Z1' } },
      /failover\.hostedZoneName: is required with failover\.domainName/,
    ],
    [
      { failover: { domainName: 'webhooks.example.org', hostedZoneId: 'Z1', hostedZoneName: 'example.com' } },
      /failover\.domainName: must be in the hosted zone example\.com/,
    ],
    [{ failover: { hostedZoneId: 'Z1' } }, /failover\.hostedZoneId: is only used with failover\.domainName/],
    [
      { failover: { hostedZoneId: 'z-1', domainName: 'a.example.com' } },
      /failover\.hostedZoneId: must be a Route 53 hosted zone id/,
    ],
    [
      { failover: { healthCheck: { intervalSeconds: 20 } } },
      /failover\.healthCheck\.intervalSeconds: must be 10 or 30.*; got 20/,
    ],
    [{ failover: { healthCheck: { failureThreshold: 11 } } }, /failover\.healthCheck\.failureThreshold: must be <= 10/],
    [
      {
        secondaryRegions: ['us-west-2', 'eu-west-1'],
        failover: { domainName: 'webhooks.example.com', hostedZoneId: 'Z1', hostedZoneName: 'example.com' },
      },
      /secondaryRegions: must list at most one region with failover\.domainName/,
    ],
    [
      {
        secondaryRegions: ['us-west-2'],
        failover: {
          domainName: 'webhooks.example.com',
          hostedZoneId: 'Z1',
          hostedZoneName: 'example.com',
          certificateArns: {
            'us-west-2': 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
          },
        },
      },
      /failover\.certificateArns\.us-west-2: must be a certificate in us-west-2/,
    ],
    [
      {
        failover: {
          domainName: 'webhooks.example.com',
          hostedZoneId: 'Z1',
          hostedZoneName: 'example.com',
          certificateArns: {
            'eu-west-1': 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
          },
        },
      },
      /failover\.certificateArns\.eu-west-1: names a region that is neither the primary nor a secondary region/,
    ],
    [
      { eventBridge: { partnerEventSourceName: 'stripe.com/ed_1' } },
      /eventBridge\.partnerEventSourceName: must be a Stripe partner event source name .*; got "stripe\.com\/ed_1"/,
    ],
    [
      { eventBridge: { partnerEventSourceName: { 'eu-west-1': 'aws.partner/stripe.com/ed_1' } } },
      /eventBridge\.partnerEventSourceName\.eu-west-1: names a region that is neither the primary nor a secondary/,
    ],
    [
      { eventBridge: { partnerEventSourceName: 42 } },
      /eventBridge\.partnerEventSourceName: must be a partner event source name, or an object/,
    ],
    [{ ingress: { waf: true } }, /ingress\.waf: needs ingress\.apiType 'rest'.*HTTP API/],
    [
      { ingress: { apiType: 'websocket' } },
      /ingress\.apiType: must be 'http', 'rest' or 'function-url'; got "websocket"/,
    ],
    [
      { ingress: { apiType: 'function-url' }, secondaryRegions: ['us-west-2'] },
      /^ {2}- ingress\.apiType: 'function-url' needs a single region: .*; got "function-url"$/m,
    ],
    [
      {
        ingress: { apiType: 'function-url' },
        failover: { domainName: 'webhooks.example.com', hostedZoneId: 'Z1', hostedZoneName: 'example.com' },
      },
      /failover\.domainName: needs ingress\.apiType 'http': only the HTTP API has the custom domain/,
    ],
    [{ ingress: { apiType: 'function-url', waf: true } }, /ingress\.waf: needs ingress\.apiType 'rest'/],
    [{ ingress: { functionUrlReservedConcurrency: 901 } }, /ingress\.functionUrlReservedConcurrency: must be <= 900/],
    [
      { eventSink: { enabled: false, archiveRetentionDays: 30 } },
      /eventSink\.archiveRetentionDays: needs eventSink\.enabled: there is no bus to archive; got 30/,
    ],
    [
      { ingress: { allowedSourceIps: ['10.0.0.0/33'] } },
      /ingress\.allowedSourceIps\.0: must be an IPv4 or IPv6 .*; got "10\.0\.0\.0\/33"/,
    ],
    [{ ingress: { allowedSourceIps: ['stripe.com'] } }, /ingress\.allowedSourceIps\.0: must be an IPv4 or IPv6/],
    [{ alarms: { email: 'oncall' } }, /alarms\.email: must be an e-mail address; got "oncall"/],
    [{ alarms: { runbookBaseUrl: 'http://wiki/docs' } }, /alarms\.runbookBaseUrl: must be an https URL/],
    [{ alarms: { thresholds: { durationPercentOfTimeout: 120 } } }, /durationPercentOfTimeout: must be <= 100/],
    [{ alarms: { thresholds: { dlqMessages: 0 } } }, /alarms\.thresholds\.dlqMessages: must be >= 1 .*; got 0/],
  ])('%j', (input, expected) => {
    expect(errorFor(input)).toMatch(expected);
  });

  it('rejects unknown settings, so a typo cannot silently keep a default', () => {
    const message = errorFor({ processor: { maxConcurency: 50 }, retries: 3 });
    expect(message).toMatch(/processor\.maxConcurency: unknown setting/);
    expect(message).toMatch(/- retries: unknown setting/);
  });

  it('lists every problem at once', () => {
    const message = errorFor({ processor: { batchSize: 0 }, queue: { maxReceiveCount: 1 } });
    expect(message).toMatch(/processor\.batchSize/);
    expect(message).toMatch(/queue\.maxReceiveCount/);
  });
});

describe('failover and EventBridge settings', () => {
  const domain = {
    domainName: 'webhooks.example.com',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: 'example.com.',
  };

  it('accept a domain in its zone (trailing dot of the zone name dropped), with a certificate per region', () => {
    const cert = 'arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012';
    const config = parseConfig({
      secondaryRegions: ['us-west-2'],
      failover: { ...domain, certificateArns: { 'us-west-2': cert }, healthCheck: { intervalSeconds: 10 } },
    });
    expect(config.failover).toEqual({
      domainName: 'webhooks.example.com',
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      hostedZoneName: 'example.com',
      certificateArns: { 'us-west-2': cert },
      healthCheck: { intervalSeconds: 10, failureThreshold: 3 },
    });
  });

  it('accept the zone apex as the domain, and a single region with a domain (no failover partner)', () => {
    expect(parseConfig({ failover: { ...domain, domainName: 'example.com' } }).failover.domainName).toBe('example.com');
  });

  it('give a plain partner event source to the primary region only', () => {
    const config = parseConfig({
      secondaryRegions: ['eu-west-1'],
      eventBridge: { partnerEventSourceName: 'aws.partner/stripe.com/ed_61RM8ltWcTW4mbsxf16RJyfa2xSQ' },
    });
    expect(partnerEventSourceFor(config, 'us-east-1')).toBe('aws.partner/stripe.com/ed_61RM8ltWcTW4mbsxf16RJyfa2xSQ');
    expect(partnerEventSourceFor(config, 'eu-west-1')).toBeUndefined();
  });

  it('map partner event sources region by region', () => {
    const config = parseConfig({
      secondaryRegions: ['eu-west-1'],
      eventBridge: { partnerEventSourceName: { 'eu-west-1': 'aws.partner/stripe.com/ed_test_61RM8' } },
    });
    expect(partnerEventSourceFor(config, 'us-east-1')).toBeUndefined();
    expect(partnerEventSourceFor(config, 'eu-west-1')).toBe('aws.partner/stripe.com/ed_test_61RM8');
    expect(partnerEventSourceFor(parseConfig({}), 'us-east-1')).toBeUndefined();
  });
});
