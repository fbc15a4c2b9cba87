/**
 * The deployment configuration: typed, validated with zod, every field documented with its default.
 * - schema.ts: the whole schema, its cross-field rules and the types that come from it (`z.output`);
 * - pipeline.ts, regions.ts, alarms.ts, observability.ts: the sections' schemas, each field with its JSDoc and `@default`;
 * - limits.ts: AWS's and Stripe's limits and formats the schemas check;
 * - load.ts: reading cdk.json context and config files, and the error that names every bad field.
 *
 * Infra only: zod stays out of the Lambda bundles (the Lambdas validate their environment with lambdas/shared/env.ts).
 */
export { DEFAULT_EVENT_TYPES, DEFAULT_RUNBOOK_BASE_URL, LOG_RETENTION_DAYS } from './limits';
export {
  CONFIG_CONTEXT_KEY,
  CONFIG_FILE_CONTEXT_KEY,
  ConfigError,
  loadConfig,
  mergeConfig,
  parseConfig,
} from './load';
export { partnerEventSourceFor } from './regions';
export {
  type AlarmsConfig,
  type AlarmThresholds,
  configSchema,
  DEFAULT_CONFIG,
  type DeepPartial,
  type DeepReadonly,
  type EventBridgeConfig,
  type EventSinkConfig,
  type FailoverConfig,
  type HealthCheckConfig,
  type IdempotencyConfig,
  type IngressConfig,
  type ObservabilityConfig,
  type ProcessorConfig,
  type QueueConfig,
  type ReconcileConfig,
  type RotationConfig,
  type StripeEndpointConfig,
  type StripeWebhooksConfig,
} from './schema';
