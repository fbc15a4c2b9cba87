/**
 * Stripe's `Idempotency-Key` on POSTs, for the local Stripe (local/stripe-server.ts): the same key (per API key) and
 * the same parameters replay the first answer (`Idempotent-Replayed: true`), other parameters are refused. Like
 * Stripe, answers of 5xx are not kept (the request may be retried).
 */
import { type Answer, stripeError } from './stripe-lists';
import type { RequestContext } from './stripe-webhook-endpoints';

export type Route = (method: string, path: string, ctx: RequestContext) => Answer;

/** `route` with idempotency keys: call the result with the request's `Idempotency-Key` header. */
export function withIdempotencyKeys(
  route: Route,
): (method: string, path: string, ctx: RequestContext, key: string | undefined) => Answer {
  /** POST answers by API key + Idempotency-Key, with the request they answered. */
  const seen = new Map<string, { fingerprint: string; answer: Answer }>();
  return (method, path, ctx, key) => {
    if (method !== 'POST' || key === undefined) return route(method, path, ctx);
    const cacheKey = `${ctx.apiKey ?? ''}\u0000${key}`;
    const fingerprint = `${method} ${path}\u0000${ctx.account ?? ''}\u0000${ctx.body}`;
    const first = seen.get(cacheKey);
    if (first) {
      if (first.fingerprint !== fingerprint) {
        return stripeError(
          400,
          'idempotency_error',
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      }
      return { ...first.answer, headers: { ...first.answer.headers, 'Idempotent-Replayed': 'true' } };
    }
    const answer = route(method, path, ctx);
    if (answer.status < 500) seen.set(cacheKey, { fingerprint, answer });
    return answer;
  };
}
