/**
 * `npm run refresh-stripe-ips`: fetches Stripe's published webhook IPs and rewrites lib/stripe-webhook-ips.json with
 * them and today's date, keeping the file's other fields. Review the diff (`git diff lib/stripe-webhook-ips.json`)
 * and deploy: the ingress's allowlist (`ingress.stripeIpAllowlist`) is built from this file at synth time.
 *
 * `-- --url <url>` reads a mirror of the list instead (e.g. behind a proxy that blocks stripe.com).
 *
 * Refuses to write anything but a non-empty list of IP addresses, so a changed or broken answer cannot lock Stripe
 * out silently.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { relative } from 'node:path';
import { STRIPE_WEBHOOK_IPS_FILE, STRIPE_WEBHOOK_IPS_URL } from '../lib/stripe-ips';
import { CliError, describeCliError, isMain, parseCommandLine, runMain } from './cli';

export interface RefreshOptions {
  /** @default STRIPE_WEBHOOK_IPS_URL */
  readonly url?: string;
  /** @default lib/stripe-webhook-ips.json */
  readonly file?: string;
  /** @default new Date() */
  readonly now?: Date;
}

export interface RefreshResult {
  readonly added: string[];
  readonly removed: string[];
  readonly asOf: string;
}

/** Fetches the list, checks it, and rewrites the file; returns what changed. Throws (and writes nothing) on a bad answer. */
export async function refreshStripeIps(opts: RefreshOptions = {}): Promise<RefreshResult> {
  const url = opts.url ?? STRIPE_WEBHOOK_IPS_URL;
  const file = opts.file ?? STRIPE_WEBHOOK_IPS_FILE;
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const body = (await res.json()) as { WEBHOOKS?: unknown };
  const ips = body.WEBHOOKS;
  if (!Array.isArray(ips) || ips.length === 0 || !ips.every((ip) => typeof ip === 'string' && isIP(ip) !== 0)) {
    throw new Error(`${url} did not answer a non-empty WEBHOOKS list of IP addresses; ${file} left unchanged`);
  }
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { WEBHOOKS?: string[] };
  const before = new Set(doc.WEBHOOKS ?? []);
  const after = new Set(ips as string[]);
  const asOf = (opts.now ?? new Date()).toISOString().slice(0, 10);
  const updated = { ...doc, source: url, asOf, WEBHOOKS: [...after] };
  writeFileSync(file, `${JSON.stringify(updated, null, 2)}\n`);
  return {
    added: [...after].filter((ip) => !before.has(ip)),
    removed: [...before].filter((ip) => !after.has(ip)),
    asOf,
  };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseCommandLine(
    { args: argv, options: { url: { type: 'string' } }, strict: true },
    'usage: npm run refresh-stripe-ips [-- --url <mirror of ips_webhooks.json>] [--debug]',
  );
  let result: RefreshResult;
  try {
    result = await refreshStripeIps(values.url ? { url: values.url } : {});
  } catch (err) {
    // Offline or refused: say so in one line, and that the file is as it was.
    const file = relative(process.cwd(), STRIPE_WEBHOOK_IPS_FILE);
    throw new CliError(`${describeCliError(err)}; ${file} left unchanged`, undefined, 1, err);
  }
  const { added, removed, asOf } = result;
  console.log(
    `${relative(process.cwd(), STRIPE_WEBHOOK_IPS_FILE)}: as of ${asOf}; added ${added.length}, removed ${removed.length}`,
  );
  for (const ip of added) console.log(`  + ${ip}`);
  for (const ip of removed) console.log(`  - ${ip}`);
}

if (isMain(import.meta.url)) runMain(main);
