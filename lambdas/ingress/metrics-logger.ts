/**
 * Where the ingress's Powertools Metrics reports its own problems: the structured logger, minus the notice that an
 * invocation published no metric. Most invocations publish none: an accepted webhook is counted by the front (API
 * Gateway's route metrics or the function URL's), health checks and 404s record nothing, and Route 53's checkers call
 * /health every few seconds from many places. A WARN line per call would bury real warnings and cost log bytes.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

export function ingressMetricsLogger(logger: Logger) {
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (message: unknown) => {
      if (!String(message).startsWith('No application metrics to publish')) logger.warn(String(message));
    },
    error: (message: unknown) => logger.error(String(message)),
  };
}
