/**
 * The reference app for a validated config: the library's stacks (buildApp) plus the example handler Lambda in every
 * region. `bin/app.ts` (cdk synth/deploy) and the tools that synthesize offline (scripts/lib/synth.ts: lint:cfn,
 * preflight) build exactly this.
 */
import type { Construct } from 'constructs';
import { addFulfilmentHandler } from '../examples/fulfilment/wire';
import { type BuiltApp, buildApp, type StripeWebhooksConfig } from '../lib/index';

export function buildReferenceApp(scope: Construct, config: StripeWebhooksConfig): BuiltApp {
  const built = buildApp(scope, config);
  for (const stack of built.stacks) addFulfilmentHandler(stack.webhooks);
  return built;
}
