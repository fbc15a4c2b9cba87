import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ingressAllowlist, isIpOrCidr, loadStripeWebhookIps, STRIPE_WEBHOOK_IPS_URL } from '../../lib/stripe-ips';

const dir = mkdtempSync(join(tmpdir(), 'stripe-ips-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Stripe's webhook IPs, as shipped", () => {
  it('name their source and the day they were checked, and hold only IP addresses', () => {
    const list = loadStripeWebhookIps();
    expect(list.source).toBe(STRIPE_WEBHOOK_IPS_URL);
    expect(list.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(list.WEBHOOKS.length).toBeGreaterThanOrEqual(10);
    expect(list.WEBHOOKS.every((ip) => isIpOrCidr(ip) && !ip.includes('/'))).toBe(true);
  });

  it('refuse a file that lost its addresses or its date', () => {
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, JSON.stringify({ asOf: '2026-01-01', WEBHOOKS: [] }));
    expect(() => loadStripeWebhookIps(empty)).toThrow(/non-empty list of IP addresses/);
    const undated = join(dir, 'undated.json');
    writeFileSync(undated, JSON.stringify({ WEBHOOKS: ['3.18.12.63'] }));
    expect(() => loadStripeWebhookIps(undated)).toThrow(/asOf must be a date/);
  });
});

describe('isIpOrCidr', () => {
  it.each(['3.18.12.63', '203.0.113.0/24', '0.0.0.0/0', '2001:db8::/32', '::1', '10.0.0.1/32'])('accepts %s', (v) => {
    expect(isIpOrCidr(v)).toBe(true);
  });
  it.each(['10.0.0.0/33', '2001:db8::/129', 'stripe.com', '10.0.0.0/', '10.0.0.0/8/8', '', '1.2.3'])(
    'refuses %j',
    (v) => {
      expect(isIpOrCidr(v)).toBe(false);
    },
  );
});

describe('ingressAllowlist', () => {
  it("is empty (no check) unless Stripe's list or extra addresses are asked for", () => {
    expect(ingressAllowlist({ stripeIpAllowlist: false, allowedSourceIps: [] })).toEqual([]);
    expect(ingressAllowlist({ stripeIpAllowlist: false, allowedSourceIps: ['203.0.113.0/24'] })).toEqual([
      '203.0.113.0/24',
    ]);
  });

  it("adds the extra addresses to Stripe's list, once each", () => {
    const stripe = loadStripeWebhookIps().WEBHOOKS;
    const list = ingressAllowlist({ stripeIpAllowlist: true, allowedSourceIps: ['203.0.113.7', stripe[0]!] });
    expect(list).toEqual([...stripe, '203.0.113.7']);
  });
});
