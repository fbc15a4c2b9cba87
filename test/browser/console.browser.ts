/**
 * `npm run test:browser`: the local console in a real browser (Debian's Chromium, headless, driven by
 * playwright-core through `executablePath`: playwright's own browser download does not work on these machines).
 * Signed events, a duplicate delivery, a poison event and a forged one go through the pipeline; the page shows each
 * with its status as it happens (live, without a reload); the poison event is redriven from the DLQ page once its
 * cause is fixed. A screenshot of the event list is taken every run; with UPDATE_SCREENSHOT=1 it replaces
 * docs/console.png (the README's picture), otherwise it goes to a temporary folder so a run changes no tracked file.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_WEBHOOK_SECRET, type LocalPipeline, startLocalPipeline } from '../../local/pipeline';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const README_SCREENSHOT = new URL('../../docs/console.png', import.meta.url).pathname;

let pipeline: LocalPipeline;
let browser: Browser;
let page: Page;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  dir = await mkdtemp(join(tmpdir(), 'console-browser-'));
  pipeline = await startLocalPipeline({
    port: 0,
    sinkFile: join(dir, 'processed.jsonl'),
    logLevel: 'SILENT',
    console: true,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await pipeline?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function server() {
  if (pipeline.stripe.kind !== 'offline') throw new Error('expected the embedded Stripe');
  return pipeline.stripe.server;
}

let n = 0;
/** An event over 30 s old: a 404 for its object is final, not "not replicated yet". */
function event(type: string, object: Record<string, unknown>) {
  n += 1;
  return {
    id: `evt_browser_${Date.now().toString(36)}_${n}`,
    object: 'event',
    api_version: '2025-09-30.clover',
    created: Math.floor(Date.now() / 1000) - 60 + n,
    livemode: false,
    pending_webhooks: 1,
    type,
    data: { object },
  };
}

async function deliver(body: Record<string, unknown>, secret = LOCAL_WEBHOOK_SECRET): Promise<number> {
  const text = JSON.stringify(body);
  const res = await fetch(pipeline.webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: text, secret }),
    },
    body: text,
  });
  await res.arrayBuffer();
  return res.status;
}

const row = (eventId: string) => page.locator(`#events tr[data-event="${eventId}"]`);
const statusIn = (eventId: string) => row(eventId).locator('[data-status]');
const counter = (id: string) => page.locator(`[data-counter="${id}"] b`);

describe('the local console in Chromium', () => {
  it('shows events as they move, the DLQ with its reason, and redrives from the page', async () => {
    await page.goto(`${pipeline.url}/_console`);
    await expect.poll(() => page.title()).toContain('Events');

    // What a newcomer's first minutes send: a payment going through its states, a customer, an invoice.
    const pi = 'pi_browser_1';
    const states = ['requires_payment_method', 'processing', 'succeeded'] as const;
    const events = states.map((status, i) =>
      event(['payment_intent.created', 'payment_intent.processing', 'payment_intent.succeeded'][i]!, {
        id: pi,
        object: 'payment_intent',
        status,
        amount: 2500,
      }),
    );
    server().setObject({ id: pi, object: 'payment_intent', status: 'succeeded', amount: 2500, currency: 'eur' });
    server().setObject({ id: 'cus_browser_1', object: 'customer', email: 'ada@example.com' });
    server().setObject({ id: 'in_browser_1', object: 'invoice', status: 'paid', amount_paid: 2500 });
    const customer = event('customer.created', { id: 'cus_browser_1', object: 'customer' });
    const invoice = event('invoice.paid', { id: 'in_browser_1', object: 'invoice', status: 'paid' });
    const poison = event('payment_intent.succeeded', { id: 'pi_browser_gone', object: 'payment_intent' });

    for (const e of [...events, customer, invoice]) expect(await deliver(e)).toBe(200);
    expect(await deliver(invoice)).toBe(200); // Stripe's copy
    expect(await deliver(poison)).toBe(200);
    expect(await deliver(customer, 'whsec_forged_00000000000000000000')).toBe(400);

    // The page updates itself (server-sent events): no reload between the deliveries and these checks.
    for (const e of [...events, customer, invoice]) {
      await expect.poll(() => statusIn(e.id).getAttribute('data-status'), { timeout: 20_000 }).toBe('done');
    }
    await expect.poll(() => statusIn(poison.id).getAttribute('data-status'), { timeout: 20_000 }).toBe('dlq');
    await expect.poll(() => counter('accepted').textContent()).toBe('7');
    await expect.poll(() => counter('rejected').textContent()).toBe('1');
    await expect.poll(() => counter('dlq-depth').textContent()).toBe('1');
    expect(await row(invoice.id).locator('td').nth(5).textContent()).toBe('2'); // two accepted deliveries
    const shot = process.env.UPDATE_SCREENSHOT === '1' ? README_SCREENSHOT : join(dir, 'console.png');
    expect((await page.screenshot({ path: shot, fullPage: true })).length).toBeGreaterThan(10_000);

    // The per-object timeline: the states handed to the handler, in order.
    await page.goto(`${pipeline.url}/_console/objects/${pi}`);
    expect(await page.locator('#timeline [data-state]').allTextContents()).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);

    // The DLQ page names the reason; the cause is fixed (the object exists), then the button redrives it.
    await page.goto(`${pipeline.url}/_console/dlq`);
    await expect.poll(() => page.locator(`#dlq tr[data-event="${poison.id}"]`).textContent()).toContain('object_gone');
    server().setObject({ id: 'pi_browser_gone', object: 'payment_intent', status: 'succeeded', amount: 1 });
    await page.click('button[data-action="redrive"]');
    await expect.poll(() => page.locator('[data-flash]').textContent()).toContain('1 message(s) moved');

    await page.goto(`${pipeline.url}/_console/events/${poison.id}`);
    await expect
      .poll(() => page.locator('h2 [data-status]').first().getAttribute('data-status'), { timeout: 20_000 })
      .toBe('done');
    expect(await page.locator('#attempts tr').count()).toBe(3); // header, the dead-lettered try, the redriven one
  });
});
