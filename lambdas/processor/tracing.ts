/**
 * X-Ray through Powertools Tracer, for the processor when `observability.tracing` is on (POWERTOOLS_TRACE_ENABLED):
 * a subsegment per AWS SDK call (SQS, DynamoDB, EventBridge, Lambda), per outgoing HTTPS request (the Stripe API),
 * one per Stripe fetch with the event type as annotation, and the `## handler` subsegment around each invocation.
 *
 * Its own module so that handler.ts imports it only when tracing is on: the Tracer and the X-Ray SDK it loads cost
 * about 20 ms of CPU at every cold start (lambdas/processor/handler.ts), for traces nobody records when tracing is off.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { TraceFn } from './deps';

export interface ProcessorTracing {
  /** The client, its calls traced (Tracer.captureAWSv3Client). */
  captureClient<T>(client: T): T;
  /** See ProcessorDeps.trace. */
  readonly trace: TraceFn;
  /** Runs one invocation inside a `## <handler>` subsegment, annotated with ColdStart and Service. */
  invocation<T>(work: () => Promise<T>): Promise<T>;
}

export function createProcessorTracing(serviceName: string): ProcessorTracing {
  const tracer = new Tracer({ serviceName });

  /**
   * A subsegment of the invocation's segment. It is not made the current segment: groups of one batch run
   * concurrently, and a shared "current" subsegment would file one group's calls under another group's fetch.
   */
  const trace: TraceFn = async (name, annotations, work) => {
    const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    if (!parent) return work();
    const subsegment = parent.addNewSubsegment(name);
    for (const [key, value] of Object.entries(annotations)) subsegment.addAnnotation(key, value);
    try {
      return await work();
    } catch (err) {
      subsegment.addError(err as Error);
      throw err;
    } finally {
      subsegment.close();
    }
  };

  return {
    captureClient: (client) => tracer.captureAWSv3Client(client),
    trace,
    // What Powertools' captureLambdaHandler middleware does (response not captured: it lists message ids only),
    // written out so the processor needs no middy.
    async invocation(work) {
      const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
      if (!segment) return work();
      const handlerSegment = segment.addNewSubsegment(`## ${process.env._HANDLER ?? 'handler'}`);
      tracer.setSegment(handlerSegment);
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
      try {
        return await work();
      } catch (err) {
        tracer.addErrorAsMetadata(err as Error);
        throw err;
      } finally {
        handlerSegment.close();
        tracer.setSegment(segment);
      }
    },
  };
}
