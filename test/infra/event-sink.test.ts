import { describe, expect, it } from 'vitest';
import { synthRegionalStack } from './helpers';

describe('EventSink', () => {
  it('is a custom EventBridge bus with an explicit name and no archive by default', () => {
    const { template } = synthRegionalStack();
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'stripe-webhooks-events' });
    template.resourceCountIs('AWS::Events::Archive', 0);
    template.hasOutput('EventBusName', {});
  });

  it('archives every event of the bus for the configured number of days', () => {
    const { template, stack } = synthRegionalStack({ eventSink: { archiveRetentionDays: 90 } });
    expect(stack.eventSink!.archive).toBeDefined();
    template.hasResourceProperties('AWS::Events::Archive', {
      RetentionDays: 90,
      EventPattern: { account: ['123456789012'] },
    });
  });
});
