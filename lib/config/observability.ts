/** The configuration of what the deployment records about itself beyond logs and metrics: X-Ray tracing. */
import { z } from 'zod';
import { flag, type Strict } from './limits';

/** What the deployment records about itself beyond logs and metrics. */
export const observabilityShape = {
  /**
   * X-Ray tracing: active tracing on every Lambda (the processor adds a subsegment per AWS call and per Stripe fetch)
   * and on the REST API stage (`ingress.apiType: 'rest'`). Off by default for its cost: Lambda's active tracing
   * samples by a rule no one can change (the first request each second and 5% of the rest), which at low volume
   * traces nearly every event, and traces cost more than the rest of the pipeline ($5.53 per million webhooks against
   * $5.16, docs/performance.md). Off, the Lambdas get no X-Ray permission and the processor does not load the tracer.
   * @default false
   */
  tracing: flag().default(false),
};
export const observabilitySchema: Strict<typeof observabilityShape> = z.strictObject(observabilityShape);
