/** StripeWebhooks.addHandler: invoke permission for exactly the handlers, checks at synth, alarm, dashboard, logs. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseHandlerTargets } from '../../lambdas/processor/handler-lambdas';
import { StripeWebhooks, type StripeWebhooksProps } from '../../lib/stripe-webhooks';
import { NO_BUNDLING, statementsOfFunction } from './helpers';

function pipeline(props: StripeWebhooksProps = {}) {
  const stack = new Stack(new App({ context: NO_BUNDLING }), 'Payments', {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const webhooks = new StripeWebhooks(stack, 'Stripe', { appName: 'payments', ...props });
  const fn = (id: string, timeout = Duration.seconds(10)) =>
    new LambdaFunction(stack, id, {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({})'),
      timeout,
    });
  return { stack, webhooks, fn };
}

describe('addHandler', () => {
  it('lets the processor invoke exactly the registered handlers, and tells it which and for what', () => {
    const { stack, webhooks, fn } = pipeline();
    const fulfil = fn('Fulfil');
    fn('NotAHandler');
    webhooks.addHandler({ name: 'fulfil', eventTypes: ['checkout.session.completed'], handler: fulfil });
    const template = Template.fromStack(stack);

    const invoke = statementsOfFunction(template, 'payments-processor').filter((s) =>
      [s.Action].flat().includes('lambda:InvokeFunction'),
    );
    const fulfilId = stack.getLogicalId(fulfil.node.defaultChild as never);
    expect(invoke).toHaveLength(1);
    expect(JSON.stringify(invoke[0]!.Resource)).toContain(fulfilId);
    expect(JSON.stringify(invoke[0]!.Resource)).not.toContain('NotAHandler');

    const env = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { FunctionName: 'payments-processor' },
      }),
    )[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    const targets = JSON.stringify(env.Properties.Environment.Variables.HANDLER_LAMBDAS);
    expect(targets).toContain('\\"name\\":\\"fulfil\\"');
    expect(targets).toContain('\\"timeoutMs\\":10000');
    expect(targets).toContain(fulfilId);
  });

  it('gives each handler an error alarm on the alarm topic, a dashboard row and a log group of its own', () => {
    const { stack, webhooks, fn } = pipeline();
    webhooks.addHandler({ name: 'fulfil', eventTypes: ['checkout.session.completed'], handler: fn('Fulfil') });
    webhooks.addHandler({ name: 'ledger', eventTypes: ['invoice.*'], handler: fn('Ledger') });
    const template = Template.fromStack(stack);
    for (const name of ['fulfil', 'ledger']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `payments-handler-${name}-errors`,
        MetricName: 'Errors',
        AlarmActions: [Match.anyValue()],
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/stripe-webhooks/payments/handler/${name}`,
        RetentionInDays: 30,
      });
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: Match.objectLike({ Ref: Match.stringLikeRegexp('LogGroupfulfil') }) },
    });
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('Handler fulfil: invocations, errors, p99 duration');
    expect(body).toContain('Handler ledger');
  });

  it('refuses a timeout that does not leave 10 s of the processor timeout, naming the fix', () => {
    const { webhooks, fn } = pipeline({ processor: { timeoutSeconds: 30 } });
    expect(() =>
      webhooks.addHandler({ name: 'slow', eventTypes: ['invoice.paid'], handler: fn('Slow', Duration.seconds(25)) }),
    ).toThrow(
      "addHandler slow: its timeout (25 s) must leave 10 s of the processor's (30 s): set processor.timeoutSeconds to at least 35",
    );
    webhooks.addHandler({ name: 'fits', eventTypes: ['invoice.paid'], handler: fn('Fits', Duration.seconds(20)) });
  });

  it('refuses event types the pipeline does not subscribe to, duplicate names, and imported functions without a timeout', () => {
    const { stack, webhooks, fn } = pipeline({ eventTypes: ['invoice.paid', 'checkout.session.completed'] });
    expect(() => webhooks.addHandler({ eventTypes: ['customer.created'], handler: fn('A') })).toThrow(
      'addHandler A: customer.created matches none of the event types the pipeline subscribes to',
    );
    webhooks.addHandler({ eventTypes: ['invoice.*'], handler: fn('B') });
    expect(() => webhooks.addHandler({ name: 'B', eventTypes: ['invoice.paid'], handler: fn('C') })).toThrow(
      'addHandler B: a handler of that name is already registered',
    );
    const imported = LambdaFunction.fromFunctionName(stack, 'Imported', 'elsewhere');
    expect(() => webhooks.addHandler({ name: 'imp', eventTypes: ['invoice.paid'], handler: imported })).toThrow(
      'addHandler imp: pass `timeout`',
    );
    webhooks.addHandler({ name: 'imp', eventTypes: ['invoice.paid'], handler: imported, timeout: Duration.seconds(5) });
    expect(webhooks.handlers.map((h) => h.name)).toEqual(['B', 'imp']);
  });

  it('leaves a pipeline without handlers as it was: no HANDLER_LAMBDAS, no invoke permission', () => {
    const { stack } = pipeline();
    const template = Template.fromStack(stack);
    expect(JSON.stringify(template.toJSON())).not.toContain('HANDLER_LAMBDAS');
    const invoke = statementsOfFunction(template, 'payments-processor').filter((st) =>
      [st.Action].flat().includes('lambda:InvokeFunction'),
    );
    expect(invoke).toEqual([]);
    expect(parseHandlerTargets(undefined)).toEqual([]);
  });
});
