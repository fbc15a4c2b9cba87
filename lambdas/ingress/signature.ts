/**
 * Stripe webhook signature verification on the raw request bytes.
 *
 * Hand-written with node:crypto instead of calling `stripe.webhooks.constructEvent`, so the ingress bundle does not
 * carry the `stripe` package (hundreds of kilobytes, parsed on every cold start) for one HMAC. test/ingress proves it
 * gives the same verdict as stripe-node on everything Stripe can send, and pins down where it is deliberately stricter:
 *
 * - a timestamp more than `maxFutureSeconds` ahead of our clock is rejected (stripe-node accepts any future
 *   timestamp; a signature from the future means a broken clock or a signing key used outside Stripe);
 * - a header with more than one `t=` (two Stripe-Signature headers, which API Gateway joins with a comma) is
 *   malformed (stripe-node silently keeps the last `t`);
 * - `t` must be all digits (stripe-node uses `parseInt`, which accepts `t=123abc` or `t=123 ` as 123);
 * - the HMAC covers the exact bytes received (stripe-node first decodes them as UTF-8, so two different invalid
 *   byte sequences that decode to the same U+FFFD text verify alike there; Stripe only ever sends valid UTF-8);
 * - `toleranceSeconds: 0` does not switch the age check off (in stripe-node it does).
 *
 * - an empty body is refused whatever its type (stripe-node refuses an empty string but verifies an empty Buffer).
 *
 * Like stripe-node, only the `v1` scheme counts (`v0` and unknown schemes are ignored), a request is accepted when
 * any `v1` matches the HMAC under any active secret, blank secrets never verify anything, and items are not trimmed
 * (`t=1, v1=...` has no `v1` item: Stripe never puts spaces in the header).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a Stripe-Signature header was refused. Low-cardinality: used as an error code and a metric dimension. */
export type SignatureFailure =
  | 'missing_signature'
  | 'malformed_signature'
  | 'no_v1_signature'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'bad_signature';

/** The outcome of {@link verifyStripeSignature}: the signed timestamp, or a reason code and a sentence for the caller. */
export type SignatureVerdict =
  | { ok: true; timestamp: number }
  | { ok: false; reason: SignatureFailure; message: string };

/** Options of {@link verifyStripeSignature}. */
export interface VerifyOptions {
  /** Oldest accepted signature age, seconds (Stripe's libraries use 300). */
  toleranceSeconds: number;
  /** The current time, Unix seconds. @default Math.floor(Date.now() / 1000) */
  nowSeconds?: number;
  /** How far ahead of our clock a signature timestamp may be, seconds. @default 300 */
  maxFutureSeconds?: number;
}

/** The signature scheme Stripe uses today; `v0` (test-mode legacy) and unknown schemes are ignored. */
const EXPECTED_SCHEME = 'v1';
const DIGITS = /^[0-9]+$/;
/** stripe-node's `isBlankWebhookSecret`: such a key would let anyone compute a valid signature. */
const BLANK = /^[ \t\r\n\f\v]*$/;

function fail(reason: SignatureFailure, message: string): SignatureVerdict {
  return { ok: false, reason, message };
}

/**
 * Verifies a `Stripe-Signature` header (`t=<unix seconds>,v1=<hex hmac>[,v1=...][,v0=...]`) against the raw body.
 * Never throws on any header or body; the signature is checked before the timestamp, as stripe-node does, so a
 * stale or future verdict means the request really was signed by Stripe.
 */
export function verifyStripeSignature(
  rawBody: Buffer,
  header: string | undefined,
  secrets: readonly string[],
  opts: VerifyOptions,
): SignatureVerdict {
  if (header === undefined || header === '') {
    return fail('missing_signature', 'The Stripe-Signature header is missing.');
  }

  let timestampText: string | undefined;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq === -1) continue; // stripe-node ignores items without '=' (e.g. a trailing comma)
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (key === 't') {
      if (timestampText !== undefined) {
        return fail(
          'malformed_signature',
          'The Stripe-Signature header has more than one timestamp (t=); was the header sent twice?',
        );
      }
      timestampText = value;
    } else if (key === EXPECTED_SCHEME) {
      signatures.push(value);
    }
  }
  if (timestampText === undefined) {
    return fail('malformed_signature', 'The Stripe-Signature header has no timestamp (t=).');
  }
  const timestamp = DIGITS.test(timestampText) ? Number(timestampText) : Number.NaN;
  if (!Number.isSafeInteger(timestamp)) {
    return fail('malformed_signature', 'The Stripe-Signature timestamp (t=) is not a Unix time in seconds.');
  }
  if (signatures.length === 0) {
    return fail('no_v1_signature', 'The Stripe-Signature header has no v1 signature.');
  }
  if (rawBody.length === 0) {
    return fail('bad_signature', 'The request body is empty, so there is nothing signed to verify.');
  }

  // Stripe signs `${t}.${body}`; like stripe-node we use the parsed timestamp (so `t=0123` signs as `123.`).
  // Buffer.from(string) encodes as UTF-8.
  const prefix = Buffer.from(`${timestamp}.`);
  const candidates = signatures.map((s) => Buffer.from(s));
  let matched = false;
  for (const secret of secrets) {
    if (BLANK.test(secret)) continue;
    const expected = Buffer.from(createHmac('sha256', secret).update(prefix).update(rawBody).digest('hex'));
    // Compare the hex text, as stripe-node does (an upper-case hex signature is not Stripe's and does not match).
    if (candidates.some((c) => c.length === expected.length && timingSafeEqual(c, expected))) {
      matched = true;
      break;
    }
  }
  if (!matched) {
    return fail(
      'bad_signature',
      'No v1 signature matches the request body under any active signing secret: check the endpoint secret and ' +
        'that the body is passed on byte for byte.',
    );
  }

  const now = Math.floor(opts.nowSeconds ?? Date.now() / 1000);
  const maxFuture = opts.maxFutureSeconds ?? 300;
  const age = now - timestamp;
  if (age > opts.toleranceSeconds) {
    return fail(
      'stale_timestamp',
      `The signature timestamp is ${age} s old, more than the ${opts.toleranceSeconds} s tolerated.`,
    );
  }
  if (-age > maxFuture) {
    return fail(
      'future_timestamp',
      `The signature timestamp is ${-age} s in the future, more than the ${maxFuture} s tolerated.`,
    );
  }
  return { ok: true, timestamp };
}
