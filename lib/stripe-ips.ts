/**
 * Stripe's webhook source IPs, as shipped in lib/stripe-webhook-ips.json (a dated copy of
 * https://stripe.com/files/ips/ips_webhooks.json), and the IP/CIDR syntax the ingress allowlist accepts.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Where Stripe publishes the IPs it sends webhooks from. */
export const STRIPE_WEBHOOK_IPS_URL = 'https://stripe.com/files/ips/ips_webhooks.json';

/** The file the list is shipped in, next to this module. */
export const STRIPE_WEBHOOK_IPS_FILE = fileURLToPath(new URL('./stripe-webhook-ips.json', import.meta.url));

/** The shipped list: where it came from, when, and the addresses. */
export interface StripeWebhookIps {
  readonly source: string;
  /** The day the list was last compared with the source, YYYY-MM-DD. */
  readonly asOf: string;
  readonly WEBHOOKS: readonly string[];
}

/** Reads and checks the shipped list (every entry an IP address). */
export function loadStripeWebhookIps(file: string = STRIPE_WEBHOOK_IPS_FILE): StripeWebhookIps {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<StripeWebhookIps>;
  const ips = doc.WEBHOOKS;
  if (!Array.isArray(ips) || ips.length === 0 || !ips.every((ip) => typeof ip === 'string' && isIP(ip) !== 0)) {
    throw new Error(`${file}: WEBHOOKS must be a non-empty list of IP addresses`);
  }
  if (typeof doc.asOf !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(doc.asOf)) {
    throw new Error(`${file}: asOf must be a date (YYYY-MM-DD)`);
  }
  return { source: doc.source ?? STRIPE_WEBHOOK_IPS_URL, asOf: doc.asOf, WEBHOOKS: ips };
}

/** Whether `value` is an IPv4/IPv6 address or a CIDR block (`203.0.113.0/24`, `2001:db8::/32`). */
export function isIpOrCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * The source IPs the ingress accepts webhooks from: Stripe's list when `stripeIpAllowlist` is on, plus
 * `allowedSourceIps`. Empty means no IP check.
 */
export function ingressAllowlist(ingress: {
  readonly stripeIpAllowlist: boolean;
  readonly allowedSourceIps: readonly string[];
}): string[] {
  const stripe = ingress.stripeIpAllowlist ? loadStripeWebhookIps().WEBHOOKS : [];
  return [...new Set([...stripe, ...ingress.allowedSourceIps])];
}
