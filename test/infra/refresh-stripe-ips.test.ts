/** `npm run refresh-stripe-ips` against a local stand-in for stripe.com/files/ips/ips_webhooks.json. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStripeWebhookIps, STRIPE_WEBHOOK_IPS_FILE } from '../../lib/stripe-ips';
import { refreshStripeIps } from '../../scripts/refresh-stripe-ips';

let server: Server;
let base: string;
/** What the stand-in answers next. */
let answer: { status: number; body: unknown } = { status: 200, body: {} };
const dir = mkdtempSync(join(tmpdir(), 'refresh-ips-'));

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function copyOfShipped(name: string): string {
  const file = join(dir, name);
  copyFileSync(STRIPE_WEBHOOK_IPS_FILE, file);
  return file;
}

describe('refreshStripeIps', () => {
  it('rewrites the list and its date, keeps the other fields, and reports what changed', async () => {
    const file = copyOfShipped('ok.json');
    const shipped = loadStripeWebhookIps();
    const next = [...shipped.WEBHOOKS.slice(1), '198.51.100.10'];
    answer = { status: 200, body: { WEBHOOKS: next } };
    const result = await refreshStripeIps({
      url: `${base}/ips_webhooks.json`,
      file,
      now: new Date('2027-03-04T05:06:07Z'),
    });
    expect(result).toEqual({ added: ['198.51.100.10'], removed: [shipped.WEBHOOKS[0]], asOf: '2027-03-04' });
    const written = loadStripeWebhookIps(file);
    expect(written).toMatchObject({ asOf: '2027-03-04', WEBHOOKS: next, source: `${base}/ips_webhooks.json` });
    expect(JSON.parse(readFileSync(file, 'utf8')).note).toBe(
      JSON.parse(readFileSync(STRIPE_WEBHOOK_IPS_FILE, 'utf8')).note,
    );
  });

  it.each([
    ['an error status', { status: 503, body: {} }],
    ['an empty list', { status: 200, body: { WEBHOOKS: [] } }],
    ['something that is not an IP', { status: 200, body: { WEBHOOKS: ['3.18.12.63', 'stripe.com'] } }],
    ['another shape', { status: 200, body: { API: ['3.18.12.63'] } }],
  ])('refuses %s and leaves the file as it was', async (_what, bad) => {
    const file = copyOfShipped(`bad-${bad.status}.json`);
    const before = readFileSync(file, 'utf8');
    answer = bad;
    await expect(refreshStripeIps({ url: `${base}/ips_webhooks.json`, file })).rejects.toThrow();
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});
