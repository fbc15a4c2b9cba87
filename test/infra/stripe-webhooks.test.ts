/** The StripeWebhooks construct in a consumer's own stack: props validation, region rules, typed properties. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config';
import { RegionalStack } from '../../lib/stacks/regional-stack';
import { StripeWebhooks } from '../../lib/stripe-webhooks';
import { NO_BUNDLING } from './helpers';

function consumerStack(region?: string): Stack {
  const app = new App({ context: NO_BUNDLING });
  return new Stack(app, 'Payments', region ? { env: { account: '123456789012', region } } : {});
}

describe('StripeWebhooks in an existing stack', () => {
  it("takes the stack's region as the primary region when the props name none", () => {
    const webhooks = new StripeWebhooks(consumerStack('eu-west-1'), 'Stripe', { appName: 'payments' });
    expect(webhooks.config.primaryRegion).toBe('eu-west-1');
    expect(webhooks.region).toBe('eu-west-1');
    expect(webhooks.regionRole).toBe('primary');
  });

  it('exposes the queue, DLQ, table, bus, URL, alarm topic and functions as typed properties', () => {
    const stack = consumerStack('eu-west-1');
    const webhooks = new StripeWebhooks(stack, 'Stripe', { appName: 'payments' });
    const resolve = (v: unknown) => JSON.stringify(stack.resolve(v));
    expect(resolve(webhooks.queue.queueName)).toContain(
      stack.getLogicalId(webhooks.eventQueue.queue.node.defaultChild as never),
    );
    expect(webhooks.deadLetterQueue).toBe(webhooks.eventQueue.deadLetterQueue);
    expect(webhooks.table).toBe(webhooks.idempotencyTable.table);
    expect(webhooks.eventBus).toBe(webhooks.eventSink!.bus);
    expect(webhooks.alarmTopic).toBe(webhooks.alarms.topic);
    expect(webhooks.ingressFunction).toBe(webhooks.ingress.function);
    expect(webhooks.processorFunction).toBe(webhooks.processor.function);
    expect(resolve(webhooks.webhookUrl)).toContain('/stripe/webhook');
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', { QueueName: 'payments-events.fifo' });
  });

  it('validates its props like the config, with the same messages', () => {
    const props = { appName: 'payments', processor: { batchSize: 11 } };
    let fromConfig = '';
    try {
      parseConfig(props);
    } catch (err) {
      fromConfig = (err as Error).message.split('\n')[1] ?? '';
    }
    expect(fromConfig).toContain('processor.batchSize');
    const build = () => new StripeWebhooks(consumerStack('eu-west-1'), 'Stripe', props);
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(fromConfig);
  });

  it('refuses a primary region other than the stack region, and a secondary outside secondaryRegions', () => {
    expect(() => new StripeWebhooks(consumerStack('eu-west-1'), 'Stripe', { primaryRegion: 'us-east-1' })).toThrow(
      'primaryRegion is us-east-1 but the stack is in eu-west-1',
    );
    expect(
      () =>
        new StripeWebhooks(consumerStack('eu-west-1'), 'Stripe', {
          primaryRegion: 'us-east-1',
          secondaryRegions: ['us-west-2'],
          regionRole: 'secondary',
        }),
    ).toThrow('not one of secondaryRegions (us-west-2)');
    expect(() => new StripeWebhooks(consumerStack(), 'Stripe', { regionRole: 'secondary' })).toThrow(
      'a secondary region needs a stack with an explicit env.region',
    );
  });

  it('is what a RegionalStack holds, under the id Default: the same logical ids as the construct alone', () => {
    const config = parseConfig({});
    const env = { account: '123456789012', region: 'us-east-1' };
    // Same stack name in two apps: some ids (event source permissions) include the stack's path.
    const regional = new RegionalStack(new App({ context: NO_BUNDLING }), 'S', { env, config });
    const plain = new Stack(new App({ context: NO_BUNDLING }), 'S', { env });
    new StripeWebhooks(plain, 'Default', config);
    const ids = (s: Stack) => Object.keys(Template.fromStack(s).toJSON().Resources as object).sort();
    expect(ids(regional)).toEqual(ids(plain));
    expect(ids(regional)).toContain(regional.getLogicalId(regional.processor.function.node.defaultChild as never));
  });
});
