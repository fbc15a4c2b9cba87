/**
 * Errors that decide what happens to a message.
 *
 * - PermanentError: retrying cannot help (malformed message, object that does not exist, a handler that rejects
 *   the event). The processor moves the message to the DLQ at once, with the reason attached.
 * - RetryableError: try again later, optionally after `retryAfterSeconds` (a Stripe 429, a 5xx, a lease held by
 *   another invocation). The processor reports the record as failed so SQS redelivers it.
 * Anything else is treated as retryable: SQS's maxReceiveCount bounds the retries and then the DLQ holds it.
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(
    message: string,
    readonly code: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A short, log-safe description of any thrown value (no stack, no request bodies). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code !== ''
      ? `${err.name}(${code}): ${err.message}`
      : `${err.name}: ${err.message}`;
  }
  try {
    return String(err);
  } catch {
    // A thrown value without a string form (an object without a prototype): String() throws in turn.
    return Object.prototype.toString.call(err);
  }
}
