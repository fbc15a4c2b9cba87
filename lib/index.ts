/**
 * The library's main entry (`import { StripeWebhooks } from '<package>'`): the construct, the multi-region helper
 * and the configuration they validate. docs/library.md shows how to use them in an existing CDK app.
 */
export { type BuiltApp, buildApp } from './app';
export {
  ConfigError,
  DEFAULT_CONFIG,
  DEFAULT_EVENT_TYPES,
  type DeepPartial,
  loadConfig,
  parseConfig,
  type StripeWebhooksConfig,
} from './config';
export type { AddHandlerOptions, RegisteredHandler } from './constructs/handler-lambdas';
export type { RegionHealthCheck } from './constructs/health-check-alarms';
export { createRegionalStacks, RegionalStack, type RegionalStackProps } from './stacks/regional-stack';
export { type RegionRole, regionalHealthChecks, StripeWebhooks, type StripeWebhooksProps } from './stripe-webhooks';
