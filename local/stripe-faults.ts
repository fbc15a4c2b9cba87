/**
 * Faults on demand for the local Stripe (local/stripe-server.ts): queued with `inject` for the next matching
 * requests, or decided per request by a policy (the soak test's steady rate). 429 (with `Retry-After` /
 * `Stripe-Should-Retry`), 5xx, latency, connection reset.
 */
import { type Answer, stripeError } from './stripe-lists';

/** Which requests a fault applies to (all given fields must match). */
export interface RequestMatch {
  method?: string;
  /** Exact path (without query) or a pattern. */
  path?: string | RegExp;
  /** The `Stripe-Account` / `Stripe-Context` of the request; `null` = platform requests only. */
  account?: string | null;
}

export type StripeFault = (
  | {
      kind: 'rate_limit';
      /** Sent as `Retry-After` when set. */
      retryAfterSeconds?: number;
      /** Sent as `Stripe-Should-Retry` when set. */
      shouldRetry?: boolean;
    }
  | { kind: 'server_error' /** @default 500 */; status?: number; shouldRetry?: boolean }
  /** Delays the answer, then answers normally. */
  | { kind: 'latency'; ms: number }
  /** Destroys the socket without an answer (recorded with status 0). */
  | { kind: 'reset' }
) & {
  /** How many matching requests this fault applies to. @default 1 */
  times?: number;
  match?: RequestMatch;
};

export interface FaultQueue {
  /** Queues a fault for the next `times` matching requests. Faults apply in the order they were injected. */
  inject(fault: StripeFault): void;
  /** Drops every fault not yet used. */
  clear(): void;
  /** The first queued fault matching the request, used up by one. */
  take(method: string, path: string, account: string | undefined): StripeFault | undefined;
}

export function createFaultQueue(): FaultQueue {
  let faults: Array<StripeFault & { remaining: number }> = [];
  return {
    inject(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    clear() {
      faults = [];
    },
    take(method, path, account) {
      for (const f of faults) {
        if (f.remaining <= 0) continue;
        const m = f.match;
        if (m?.method && m.method.toUpperCase() !== method) continue;
        if (m?.path !== undefined && (typeof m.path === 'string' ? m.path !== path : !m.path.test(path))) continue;
        if (m?.account !== undefined && (m.account ?? undefined) !== account) continue;
        f.remaining--;
        faults = faults.filter((x) => x.remaining > 0);
        return f;
      }
      return undefined;
    },
  };
}

/** The error answer a 429 or 5xx fault stands for (latency and reset have none: they change how, not what). */
export function faultAnswer(fault: StripeFault | undefined): Answer | undefined {
  if (fault?.kind === 'rate_limit') {
    const answer = stripeError(429, 'invalid_request_error', 'Too many requests hit the API too quickly.', {
      code: 'rate_limit',
    });
    answer.headers = {
      ...(fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {}),
      ...(fault.shouldRetry !== undefined ? { 'Stripe-Should-Retry': String(fault.shouldRetry) } : {}),
    };
    return answer;
  }
  if (fault?.kind === 'server_error') {
    const answer = stripeError(fault.status ?? 500, 'api_error', 'An unknown error occurred (injected).');
    if (fault.shouldRetry !== undefined) answer.headers = { 'Stripe-Should-Retry': String(fault.shouldRetry) };
    return answer;
  }
  return undefined;
}
