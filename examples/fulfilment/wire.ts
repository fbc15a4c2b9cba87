/**
 * Wires the example fulfilment handler (handler.ts) into a pipeline, as the reference app does (bin/reference-app.ts):
 * a Node.js Lambda built like the pipeline's own, registered for `checkout.session.completed`. A pipeline that does
 * not subscribe to that type gets no handler.
 */
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NodeFunction, PROJECT_ROOT } from '../../lib/constructs/node-function';
import type { StripeWebhooks } from '../../lib/stripe-webhooks';

/** The event type the example handles. */
export const FULFILMENT_EVENT_TYPE = 'checkout.session.completed';

/** Adds the fulfilment handler Lambda (`<appName>-fulfilment`) to `webhooks`, when it subscribes to its type. */
export function addFulfilmentHandler(webhooks: StripeWebhooks): NodeFunction | undefined {
  const { config } = webhooks;
  if (!config.eventTypes.some((t) => t === '*' || t === FULFILMENT_EVENT_TYPE)) return undefined;
  const fn = new NodeFunction(webhooks, 'FulfilmentHandler', {
    entry: join(PROJECT_ROOT, 'examples/fulfilment/handler.ts'),
    functionName: `${config.appName}-fulfilment`,
    description: 'Example handler Lambda: fulfils an order when a Checkout Session completes',
    timeout: Duration.seconds(10),
    logRetention: config.logRetentionDays as RetentionDays,
    logRemovalPolicy:
      config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
  });
  webhooks.addHandler({ name: 'fulfilment', eventTypes: [FULFILMENT_EVENT_TYPE], handler: fn.function });
  return fn;
}
