/**
 * Locally, GET /health also reports the queues (issue 12): the event queue's visible messages, the ones in flight
 * (received, not yet deleted) and the DLQ's depth, read with GetQueueAttributes (nothing is received). On AWS the
 * route stays as the ingress answers it: a health check must not cost a queue read per call beyond its own.
 */
import { HEALTH_PATH } from '../lambdas/ingress/core';
import type { QueueFigures } from '../ops/queues';
import type { HttpHandler } from './http-adapter';

/** Adds `{ local: { queueDepth, inFlight, dlqDepth } }` to the ingress's GET /health answer (its status unchanged). */
export function withLocalHealth(handle: HttpHandler, figures: () => Promise<QueueFigures>): HttpHandler {
  return async (event) => {
    const answer = await handle(event);
    if (event.requestContext.http.method !== 'GET' || event.rawPath !== HEALTH_PATH) return answer;
    try {
      const body = JSON.parse(String(answer.body ?? '{}')) as Record<string, unknown>;
      return { ...answer, body: JSON.stringify({ ...body, local: await figures() }) };
    } catch {
      return answer; // The queues could not be read: the ingress's own answer still says whether it is healthy.
    }
  };
}
