/**
 * The hand-written verifier against stripe-node's `constructEvent`, the reference the ingress must agree with:
 * same verdict on everything Stripe sends, and stricter (and only stricter) where lambdas/ingress/signature.ts says.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { verifyStripeSignature } from '../../lambdas/ingress/signature';

const SECRET = 'whsec_test_primary';
const OTHER_SECRET = 'whsec_test_other';
const NOW = 1_760_000_000; // fixed clock, Unix seconds
const TOLERANCE = 300;
const BODY = JSON.stringify({ id: 'evt_1', object: 'event', type: 'charge.succeeded', data: { object: {} } });

function sign(payload: string, opts: { secret?: string; timestamp?: number; scheme?: string } = {}): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: opts.secret ?? SECRET,
    timestamp: opts.timestamp ?? NOW,
    ...(opts.scheme ? { scheme: opts.scheme } : {}),
  });
}

/** Just the `v1=` value of a header made by `sign`. */
function v1Of(header: string): string {
  return header.split(',v1=')[1] ?? '';
}

function ours(body: string | Buffer, header: string | undefined, secrets: readonly string[] = [SECRET]) {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return verifyStripeSignature(raw, header, secrets, { toleranceSeconds: TOLERANCE, nowSeconds: NOW });
}

/**
 * stripe-node's verdict. constructEvent verifies, then parses the payload as JSON: a SyntaxError (random test bodies
 * are not JSON) means the signature was accepted. Any other throw is a rejection: mostly
 * StripeSignatureVerificationError, but an empty `v1=` makes it throw a plain Error ("secureCompare must receive two
 * arguments"). Several secrets: accepted if any one verifies, which is what an integration rolling a secret does.
 */
function stripeAccepts(body: string | Buffer, header: string, secrets: readonly string[] = [SECRET]): boolean {
  return secrets.some((secret) => {
    try {
      Stripe.webhooks.constructEvent(body, header, secret, TOLERANCE, undefined, NOW * 1000);
      return true;
    } catch (err) {
      return err instanceof SyntaxError;
    }
  });
}

describe('verifyStripeSignature agrees with stripe.webhooks.constructEvent', () => {
  it('accepts a body signed with the secret and returns the signed timestamp', () => {
    const header = sign(BODY);
    expect(ours(BODY, header)).toEqual({ ok: true, timestamp: NOW });
    expect(stripeAccepts(BODY, header)).toBe(true);
  });

  it('rejects a signature made with another secret', () => {
    const header = sign(BODY, { secret: OTHER_SECRET });
    expect(ours(BODY, header)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(stripeAccepts(BODY, header)).toBe(false);
  });

  it('rejects a body changed after signing (one byte, or re-serialised JSON)', () => {
    const header = sign(BODY);
    const tampered = BODY.replace('charge.succeeded', 'charge.succeedes');
    const reserialised = JSON.stringify(JSON.parse(BODY), null, 2);
    for (const body of [tampered, reserialised, `${BODY}\n`]) {
      expect(ours(body, header)).toMatchObject({ ok: false, reason: 'bad_signature' });
      expect(stripeAccepts(body, header)).toBe(false);
    }
  });

  it('accepts when one of several v1 signatures matches', () => {
    const good = v1Of(sign(BODY));
    const bad = v1Of(sign(BODY, { secret: OTHER_SECRET }));
    const header = `t=${NOW},v1=${bad},v1=${good},v0=${bad}`;
    expect(ours(BODY, header)).toEqual({ ok: true, timestamp: NOW });
    expect(stripeAccepts(BODY, header)).toBe(true);
  });

  it('accepts when the second of two active secrets signed it (a secret being rolled)', () => {
    const header = sign(BODY, { secret: OTHER_SECRET });
    expect(ours(BODY, header, [SECRET, OTHER_SECRET])).toEqual({ ok: true, timestamp: NOW });
    expect(stripeAccepts(BODY, header, [SECRET, OTHER_SECRET])).toBe(true);
    expect(ours(BODY, header, [SECRET])).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('ignores v0 signatures: a header with only v0 has no usable signature', () => {
    const header = sign(BODY, { scheme: 'v0' });
    expect(header).toMatch(/^t=\d+,v0=[0-9a-f]{64}$/);
    expect(ours(BODY, header)).toMatchObject({ ok: false, reason: 'no_v1_signature' });
    expect(stripeAccepts(BODY, header)).toBe(false);
  });

  it('rejects a missing or garbled header with the matching reason', () => {
    const good = v1Of(sign(BODY));
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'missing_signature'],
      ['', 'missing_signature'],
      ['garbage', 'malformed_signature'],
      [`v1=${good}`, 'malformed_signature'], // no t=
      [`t=,v1=${good}`, 'malformed_signature'],
      [`t=abc,v1=${good}`, 'malformed_signature'],
      [`t=${NOW}`, 'no_v1_signature'],
      [`t=${NOW},v1=`, 'bad_signature'],
      [`t=${NOW},v1=${good.toUpperCase()}`, 'bad_signature'], // hex is compared as text, as stripe-node does
    ];
    for (const [header, reason] of cases) {
      expect(ours(BODY, header), String(header)).toMatchObject({ ok: false, reason });
      if (header !== undefined) expect(stripeAccepts(BODY, header), header).toBe(false);
    }
  });

  it('tolerates a signature up to 300 s old and rejects one 301 s old', () => {
    for (const age of [0, 299, 300]) {
      const header = sign(BODY, { timestamp: NOW - age });
      expect(ours(BODY, header), `age ${age}`).toEqual({ ok: true, timestamp: NOW - age });
      expect(stripeAccepts(BODY, header)).toBe(true);
    }
    const stale = sign(BODY, { timestamp: NOW - 301 });
    expect(ours(BODY, stale)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(stripeAccepts(BODY, stale)).toBe(false);
  });

  it('checks the signature before the age: a forged stale request is a bad signature, not a stale one', () => {
    const header = sign(BODY, { secret: OTHER_SECRET, timestamp: NOW - 3600 });
    expect(ours(BODY, header)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a timestamp more than 300 s in the future, which stripe-node accepts (deliberately stricter)', () => {
    for (const ahead of [299, 300]) {
      const near = sign(BODY, { timestamp: NOW + ahead });
      expect(ours(BODY, near), `${ahead} s ahead`).toEqual({ ok: true, timestamp: NOW + ahead });
    }
    const future = sign(BODY, { timestamp: NOW + 301 });
    expect(ours(BODY, future)).toMatchObject({ ok: false, reason: 'future_timestamp' });
    expect(stripeAccepts(BODY, future)).toBe(true);
    const raw = Buffer.from(BODY);
    const relaxed = verifyStripeSignature(raw, future, [SECRET], {
      toleranceSeconds: TOLERANCE,
      nowSeconds: NOW,
      maxFutureSeconds: 600,
    });
    expect(relaxed).toEqual({ ok: true, timestamp: NOW + 301 });
  });

  it('rejects a duplicated header (two t=, comma-joined), which stripe-node accepts using the last t', () => {
    const first = sign(BODY, { timestamp: NOW - 10 });
    const second = sign(BODY, { timestamp: NOW });
    const joined = `${first},${second}`;
    expect(ours(BODY, joined)).toMatchObject({ ok: false, reason: 'malformed_signature' });
    expect(stripeAccepts(BODY, joined)).toBe(true);
  });

  it('does not trim header items: agrees with stripe-node on spaces, except `t=<n> ` which it parseInts', () => {
    const good = v1Of(sign(BODY));
    const agreeing: Array<[string, string]> = [
      [`t=${NOW}, v1=${good}`, 'no_v1_signature'],
      [` t=${NOW},v1=${good}`, 'malformed_signature'],
      [`t=${NOW},v1=${good} `, 'bad_signature'],
      [`t=${NOW},v1= ${good}`, 'bad_signature'],
      [`t= ${NOW},v1=${good}`, 'malformed_signature'],
    ];
    for (const [header, reason] of agreeing) {
      expect(ours(BODY, header), JSON.stringify(header)).toMatchObject({ ok: false, reason });
      // stripe-node's parseInt accepts ' <n>', our digits-only rule does not; every other case it rejects too.
      if (!header.startsWith('t= ')) expect(stripeAccepts(BODY, header), JSON.stringify(header)).toBe(false);
    }
    const trailingSpaceInT = `t=${NOW} ,v1=${good}`;
    expect(ours(BODY, trailingSpaceInT)).toMatchObject({ ok: false, reason: 'malformed_signature' });
    expect(stripeAccepts(BODY, trailingSpaceInT)).toBe(true);
  });

  it('verifies multi-byte UTF-8 bodies byte for byte', () => {
    const body = JSON.stringify({ id: 'evt_1', description: 'café ☕ 𝄞 Ünïcødé' });
    const header = sign(body);
    expect(ours(Buffer.from(body, 'utf8'), header)).toEqual({ ok: true, timestamp: NOW });
    expect(stripeAccepts(Buffer.from(body, 'utf8'), header)).toBe(true);
  });

  it('hashes the bytes received, where stripe-node hashes their lossy UTF-8 decoding', () => {
    // 0xff is not UTF-8: stripe-node decodes it to U+FFFD before hashing, so a signature over "{\uFFFD}" verifies
    // the bytes {0xff} there; we hash the bytes themselves, so only the bytes that were signed verify.
    const bytes = Buffer.from([0x7b, 0xff, 0x7d]);
    const overDecodedText = sign(bytes.toString('utf8'));
    expect(stripeAccepts(bytes, overDecodedText)).toBe(true);
    expect(ours(bytes, overDecodedText)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const overBytes = `t=${NOW},v1=${createHmac('sha256', SECRET).update(`${NOW}.`).update(bytes).digest('hex')}`;
    expect(ours(bytes, overBytes)).toEqual({ ok: true, timestamp: NOW });
  });

  it('ignores items without "=", even one that starts with t (stripe-node skips them too)', () => {
    const header = `${sign(BODY)},tt,`;
    expect(ours(BODY, header)).toEqual({ ok: true, timestamp: NOW });
    expect(stripeAccepts(BODY, header)).toBe(true);
  });

  it('never verifies with a secret of whitespace alone, whichever whitespace it is', () => {
    for (const blank of [' ', '\t', '\r', '\n', '\f', '\v', ' \t\r\n\f\v']) {
      const signedWithBlank = sign(BODY, { secret: blank.repeat(2) });
      expect(ours(BODY, signedWithBlank, [blank.repeat(2)]), JSON.stringify(blank)).toMatchObject({
        ok: false,
        reason: 'bad_signature',
      });
    }
    // A secret with whitespace around real characters is a secret like any other.
    const padded = ' whsec_padded\v';
    expect(ours(BODY, sign(BODY, { secret: padded }), [padded])).toEqual({ ok: true, timestamp: NOW });
  });

  it('never verifies with a blank secret and refuses an empty body (stripe-node accepts an empty Buffer)', () => {
    const blankSigned = sign(BODY, { secret: '' });
    expect(ours(BODY, blankSigned, ['', ' \n'])).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(stripeAccepts(BODY, blankSigned, [''])).toBe(false);
    const emptySigned = `t=${NOW},v1=${createHmac('sha256', SECRET).update(`${NOW}.`).digest('hex')}`;
    expect(ours('', emptySigned)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(stripeAccepts('', emptySigned)).toBe(false);
    // stripe-node only refuses a falsy payload: an empty Buffer is truthy, so there it verifies.
    expect(stripeAccepts(Buffer.alloc(0), emptySigned)).toBe(true);
  });
});

describe('verifyStripeSignature tells the sender what is wrong', () => {
  // The message is the body of the 400 answer, which Stripe's dashboard shows to whoever debugs the endpoint.
  const good = v1Of(sign(BODY));
  const cases: Array<[string, string, string | undefined, RegExp]> = [
    ['a header without t=', BODY, `v1=${good}`, /has no timestamp \(t=\)/],
    ['a t= that is not digits', BODY, `t=12ab,v1=${good}`, /timestamp \(t=\) is not a Unix time in seconds/],
    [
      'a header with two t=',
      BODY,
      `t=${NOW},t=${NOW},v1=${good}`,
      /more than one timestamp \(t=\); was the header sent twice/,
    ],
    ['a header without v1=', BODY, `t=${NOW},v0=${good}`, /has no v1 signature/],
    ['an empty body', '', `t=${NOW},v1=${good}`, /body is empty, so there is nothing signed/],
    ['a wrong signature', BODY, sign(BODY, { secret: OTHER_SECRET }), /No v1 signature matches .* byte for byte\./],
    ['a stale timestamp', BODY, sign(BODY, { timestamp: NOW - 301 }), /is 301 s old, more than the 300 s tolerated/],
    [
      'a future timestamp',
      BODY,
      sign(BODY, { timestamp: NOW + 302 }),
      /is 302 s in the future, more than the 300 s tolerated/,
    ],
  ];
  for (const [what, body, header, message] of cases) {
    it(`says what is wrong with ${what}`, () => {
      const verdict = ours(body, header);
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.message).toMatch(message);
    });
  }
});

describe('verifyStripeSignature on the real clock', () => {
  it('uses the current time when none is given: a fresh signature passes, one older than the tolerance does not', () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const verify = (timestamp: number) =>
      verifyStripeSignature(Buffer.from(BODY), sign(BODY, { timestamp }), [SECRET], { toleranceSeconds: TOLERANCE });
    expect(verify(nowSeconds)).toMatchObject({ ok: true });
    expect(verify(nowSeconds - TOLERANCE - 60)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(verify(nowSeconds + 400)).toMatchObject({ ok: false, reason: 'future_timestamp' });
  });
});

describe('verifyStripeSignature properties', () => {
  const secretArb = fc.string({ minLength: 1, maxLength: 40 }).map((s) => `whsec_${s}`);

  it('gives the same verdict as constructEvent for any body, secret pair and timestamp we do not reject as future', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
        secretArb,
        secretArb,
        fc.integer({ min: -2 * TOLERANCE, max: 300 }),
        fc.boolean(),
        fc.boolean(),
        (body, signingSecret, otherSecret, offset, signWithActive, tamper) => {
          const header = sign(body, { secret: signingSecret, timestamp: NOW + offset });
          const active = signWithActive ? [otherSecret, signingSecret] : [otherSecret];
          const received = Buffer.from(tamper ? `${body}x` : body, 'utf8');
          const verdict = verifyStripeSignature(received, header, active, {
            toleranceSeconds: TOLERANCE,
            nowSeconds: NOW,
          });
          expect(verdict.ok).toBe(stripeAccepts(received, header, active));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws and never accepts a garbage header', () => {
    const item = fc.tuple(fc.constantFrom('t', 'v1', 'v0', ' v1', 'x', ''), fc.string({ maxLength: 70 }));
    const structured = fc.array(item, { maxLength: 6 }).map((items) => items.map(([k, v]) => `${k}=${v}`).join(','));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), structured), fc.uint8Array({ maxLength: 200 }), (h, b) => {
        const verdict = verifyStripeSignature(Buffer.from(b), h, [SECRET, OTHER_SECRET], {
          toleranceSeconds: TOLERANCE,
          nowSeconds: NOW,
        });
        expect(verdict.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
