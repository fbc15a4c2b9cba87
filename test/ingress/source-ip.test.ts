/**
 * The optional source-IP allowlist: a webhook from outside the list gets 403 and never reaches the queue, whichever
 * API Gateway flavour delivered it; health checks and the EventBridge path are not affected.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '../../lambdas/ingress/core';
import { createSourceIpAllowlist, parseAllowedSourceIps } from '../../lambdas/ingress/source-ip';
import { decodeMessage } from '../../lambdas/shared/queue-message';
import { loadStripeWebhookIps } from '../../lib/stripe-ips';
import { captureOutput } from '../support/capture-output';
import {
  eventBridgeEvent,
  httpEvent,
  paymentIntentEvent,
  restEvent,
  SECRET,
  signedWebhook,
  signHeader,
  useIngressQueue,
} from './helpers';

const STRIPE_IPS = loadStripeWebhookIps().WEBHOOKS;

const queue = useIngressQueue({ allowedSourceIps: STRIPE_IPS });
const ingress = queue.ingress;

/** A correctly signed webhook through the HTTP API from `sourceIp`. */
function fromIp(sourceIp: string, id: string) {
  const event = signedWebhook(paymentIntentEvent({ id, objectId: `pi_${id}` }));
  return { ...event, requestContext: { ...event.requestContext, http: { ...event.requestContext.http, sourceIp } } };
}

describe('createSourceIpAllowlist', () => {
  const list = createSourceIpAllowlist(['3.18.12.63', '203.0.113.0/24', '2001:db8::/32'])!;

  it('allows listed addresses, addresses inside a listed block, and IPv4 seen as IPv4-mapped IPv6', () => {
    for (const ip of ['3.18.12.63', '203.0.113.200', '2001:db8::1', '::ffff:3.18.12.63']) {
      expect(list.allows(ip), ip).toBe(true);
    }
  });

  it('refuses everything else, and a missing or malformed address (fail closed)', () => {
    for (const ip of ['3.18.12.64', '203.0.114.1', '2001:db9::1', '', undefined, 'not-an-ip', '3.18.12.63, 1.1.1.1']) {
      expect(list.allows(ip), String(ip)).toBe(false);
    }
  });

  it('is no check at all when the list is empty, and refuses a malformed entry at start-up', () => {
    expect(createSourceIpAllowlist([])).toBeUndefined();
    expect(() => createSourceIpAllowlist(['10.0.0.0/33'])).toThrow(/not an IP address or CIDR block/);
    expect(() => createSourceIpAllowlist(['stripe.com'])).toThrow(/not an IP address or CIDR block/);
  });

  it('reads the comma-separated environment variable', () => {
    expect(parseAllowedSourceIps(' 3.18.12.63, 203.0.113.0/24 ,,')).toEqual(['3.18.12.63', '203.0.113.0/24']);
    expect(parseAllowedSourceIps(undefined)).toEqual([]);
  });
});

describe('createSourceIpAllowlist: entries and peers in every spelling', () => {
  it('checks an IPv4 peer seen through an IPv6 socket as IPv4, in any spelling, and nothing else as IPv4', () => {
    const list = createSourceIpAllowlist(['3.18.12.63', '10.0.0.0/8'])!;
    for (const ip of ['::FFFF:3.18.12.63', '0:0:0:0:0:ffff:3.18.12.63', '::ffff:312:c3f', '::ffff:10.200.1.2']) {
      expect(list.allows(ip), ip).toBe(true);
    }
    for (const ip of ['fe80::ffff:3.18.12.63', '::3.18.12.63', '::ffff:3.18.12.634', '::ffff:11.0.0.1']) {
      expect(list.allows(ip), ip).toBe(false);
    }
  });

  it('trims the spaces around an entry and around the peer address', () => {
    const list = createSourceIpAllowlist([' 3.18.12.63 ', ' 2001:db8::/32'])!;
    expect(list.allows(' 3.18.12.63 ')).toBe(true);
    expect(list.allows('2001:db8::7 ')).toBe(true);
  });

  it('takes IPv6 addresses and blocks of up to 128 bits, and IPv4 blocks of 0 to 32 bits', () => {
    const list = createSourceIpAllowlist(['2001:db8::1', '2001:db8:1::/48', '2001:db8:2::5/128', '192.0.2.7/32'])!;
    for (const ip of ['2001:db8::1', '2001:db8:1:ffff::1', '2001:db8:2::5', '192.0.2.7']) {
      expect(list.allows(ip), ip).toBe(true);
    }
    for (const ip of ['2001:db8::2', '2001:db8:2::6', '192.0.2.8', '192.0.2.6']) {
      expect(list.allows(ip), ip).toBe(false);
    }
    const everything = createSourceIpAllowlist(['0.0.0.0/0'])!;
    expect(everything.allows('198.51.100.1')).toBe(true);
  });

  it('checks a block by its prefix, not as the single address it starts with', () => {
    expect(createSourceIpAllowlist(['203.0.113.0/24'])!.allows('203.0.113.200')).toBe(true);
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/-1', '10.0.0.0/1.5', '10.0.0.0/', '10.0.0.0/8/8', 'stripe.com'])(
    'refuses the entry %j at start-up, naming it',
    (entry) => {
      expect(() => createSourceIpAllowlist(['3.18.12.63', entry])).toThrow(
        `allowed source IP "${entry}" is not an IP address or CIDR block`,
      );
    },
  );
});

describe('the webhook route with an allowlist', () => {
  it("accepts a signed webhook from one of Stripe's webhook IPs", async () => {
    const res = await ingress().handleHttp(fromIp(STRIPE_IPS[0]!, 'evt_ip_ok'));
    expect(res.statusCode).toBe(200);
    expect((await queue.drain()).map((m) => decodeMessage(m.Body ?? '').eventId)).toEqual(['evt_ip_ok']);
  });

  it('answers 403 to a correctly signed webhook from anywhere else, and enqueues nothing', async () => {
    const res = await ingress().handleHttp(fromIp('198.51.100.7', 'evt_ip_outsider'));
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'source_ip_not_allowed' });
    expect(await queue.drain()).toEqual([]);
  });

  it('checks the REST API peer address (requestContext.identity.sourceIp) the same way', async () => {
    const payload = JSON.stringify(paymentIntentEvent({ id: 'evt_ip_rest' }));
    const headers = { 'Content-Type': 'application/json', 'Stripe-Signature': signHeader(payload) };
    const app = ingress();
    expect((await app.handleRest(restEvent({ body: payload, headers, sourceIp: '198.51.100.7' }))).statusCode).toBe(
      403,
    );
    expect((await app.handleRest(restEvent({ body: payload, headers, sourceIp: STRIPE_IPS[1]! }))).statusCode).toBe(
      200,
    );
  });

  it('does not read the signing secret for a request from outside the list', async () => {
    const get = vi.fn(async () => SECRET);
    const res = await ingress({ webhookSecrets: { get } }).handleHttp(fromIp('198.51.100.7', 'evt_ip_nosecret'));
    expect(res.statusCode).toBe(403);
    expect(get).not.toHaveBeenCalled();
  });

  it('leaves /health and the EventBridge path alone (Route 53 checkers and AWS are not Stripe webhook IPs)', async () => {
    const app = ingress();
    expect(
      (await app.handleHttp(httpEvent({ method: 'GET', path: '/health', sourceIp: '15.177.2.10' }))).statusCode,
    ).toBe(200);
    await app.handleEventBridge(eventBridgeEvent(paymentIntentEvent({ id: 'evt_ip_eb' })));
    expect((await queue.drain()).map((m) => decodeMessage(m.Body ?? '').eventId)).toEqual(['evt_ip_eb']);
  });

  it('counts the refusal as WebhookRejected with Reason source_ip_not_allowed and logs the address', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    let lines: string[];
    try {
      lines = await captureOutput(async () => {
        const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'stripe-ingress' });
        const app = ingress({ metrics, logger: new Logger({ serviceName: 'stripe-ingress', logLevel: 'INFO' }) });
        // WebhookRejected is a single-metric line, written at once: nothing is left to publish after it.
        await app.handleHttp(fromIp('198.51.100.7', 'evt_ip_metric'));
      });
    } finally {
      vi.unstubAllEnvs();
    }
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toContainEqual(
      expect.objectContaining({ WebhookRejected: 1, Reason: 'source_ip_not_allowed', service: 'stripe-ingress' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        message: 'request rejected',
        status: 403,
        reason: 'source_ip_not_allowed',
        sourceIp: '198.51.100.7',
        apiRequestId: 'req-1',
      }),
    );
  });
});
