/**
 * A Stripe request budget: at most `ratePerSecond` requests per second leave this container, spaced at least
 * 1/ratePerSecond apart in real time.
 *
 * Stripe limits an account's API requests per second (25/s in test mode, 100/s in live mode for most reads; its
 * answer beyond that is 429), and the merchant's own systems share that limit. Every processor container and the
 * reconciler take their share of one configured budget (`stripe.maxRequestsPerSecond`; the constructs divide it,
 * see lib/constructs/stripe-budget.ts), so together they stay under it however many run. 429 handling stays as it
 * was (the budget lowers the odds, it cannot see the merchant's traffic).
 *
 * Spacing by the time a request actually leaves (not by a schedule made in advance) means an event loop that stalls
 * and then wakes cannot release a burst: a budget of r/s never puts more than floor(r) + 1 requests in any second.
 * Waiters are served in order.
 */
export interface RequestBudget {
  /** Resolves when this request may be sent. */
  take(): Promise<void>;
  readonly ratePerSecond: number;
}

export interface RequestBudgetOptions {
  readonly ratePerSecond: number;
  /** @default performance.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly setTimer?: (fn: () => void, ms: number) => void;
}

export function requestBudget(opts: RequestBudgetOptions): RequestBudget {
  if (!(opts.ratePerSecond > 0)) throw new Error(`a request budget needs a rate above 0, got ${opts.ratePerSecond}`);
  const intervalMs = 1000 / opts.ratePerSecond;
  const now = opts.now ?? (() => performance.now());
  const setTimer = opts.setTimer ?? ((fn: () => void, ms: number) => void setTimeout(fn, ms));
  const waiting: Array<() => void> = [];
  let lastSent = Number.NEGATIVE_INFINITY;
  let timerSet = false;

  function pump(): void {
    timerSet = false;
    while (waiting.length > 0) {
      const t = now();
      const due = lastSent + intervalMs;
      if (t < due) {
        timerSet = true;
        setTimer(pump, due - t);
        return;
      }
      lastSent = t;
      waiting.shift()!();
    }
  }

  return {
    ratePerSecond: opts.ratePerSecond,
    take() {
      return new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (!timerSet) pump();
      });
    },
  };
}

/**
 * The Stripe request budget of a whole deployment when `stripe.maxRequestsPerSecond` is not set, by the API key's
 * mode: Stripe allows about 25 requests/s in test mode and 100/s in live mode; these leave a fifth of the test limit
 * and half of the live one to the merchant's own API traffic.
 */
export const DEFAULT_STRIPE_BUDGET = { test: 20, live: 50 } as const;

/**
 * A processor container's share of the deployment's Stripe budget: `maxRequestsPerSecond` (or the key mode's
 * default), less what the reconciler reserves for itself (`reservedPerSecond`, its own pace), divided by `shares`
 * (the processor's maximum concurrency: that many containers may run at once). One budget per key mode, made on
 * first use and kept for the container's life, so a rotated key of the same mode keeps the same budget.
 */
export function stripeBudgetShare(opts: {
  readonly maxRequestsPerSecond?: number | undefined;
  readonly reservedPerSecond: number;
  readonly shares: number;
}): (mode: 'live' | 'test' | undefined) => RequestBudget {
  const budgets = new Map<string, RequestBudget>();
  return (mode) => {
    // Stryker disable next-line StringLiteral: equivalent, any key other than 'live' and 'test' keeps the budget apart
    const key = mode ?? 'unknown';
    let budget = budgets.get(key);
    if (!budget) {
      const total = opts.maxRequestsPerSecond ?? DEFAULT_STRIPE_BUDGET[mode === 'live' ? 'live' : 'test'];
      const left = total - opts.reservedPerSecond;
      if (left <= 0) {
        throw new Error(
          `the Stripe budget (${total}/s) leaves nothing to the processor after the reconciler's ${opts.reservedPerSecond}/s`,
        );
      }
      budget = requestBudget({ ratePerSecond: left / Math.max(1, opts.shares) });
      budgets.set(key, budget);
    }
    return budget;
  };
}
