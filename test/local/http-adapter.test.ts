import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpAdapter, startHttpAdapter } from '../../local/http-adapter';

let adapter: HttpAdapter;
let last: APIGatewayProxyEventV2 | undefined;
let behaviour: 'echo' | 'throw' = 'echo';

beforeAll(async () => {
  adapter = await startHttpAdapter({
    handler: async (event) => {
      last = event;
      if (behaviour === 'throw') throw new Error('handler failure');
      return { statusCode: 202, headers: { 'x-seen': event.rawPath }, body: JSON.stringify({ ok: true }) };
    },
  });
});
afterAll(async () => {
  await adapter.close();
});

describe('local HTTP adapter (API Gateway HTTP API stand-in)', () => {
  it('binds to loopback only', () => {
    expect(adapter.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('builds a payload 2.0 event with lower-cased headers and a text body', async () => {
    behaviour = 'echo';
    const res = await fetch(`${adapter.url}/stripe/webhook?x=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': 't=1,v1=abc' },
      body: '{"id":"evt_1"}',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-seen')).toBe('/stripe/webhook');
    expect(last).toMatchObject({
      version: '2.0',
      rawPath: '/stripe/webhook',
      rawQueryString: 'x=1',
      body: '{"id":"evt_1"}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/stripe/webhook' }, stage: '$default' },
    });
    expect(last!.headers['stripe-signature']).toBe('t=1,v1=abc');
  });

  it('hands a binary body over base64-encoded, byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await fetch(`${adapter.url}/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(last!.isBase64Encoded).toBe(true);
    expect(Buffer.from(last!.body!, 'base64').equals(bytes)).toBe(true);
  });

  it('joins a repeated header with commas, as API Gateway does', async () => {
    const http = await import('node:http');
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${adapter.url}/h`, { method: 'POST' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.setHeader('Stripe-Signature', ['t=1,v1=a', 't=2,v1=b']);
      req.end('{}');
    });
    expect(last!.headers['stripe-signature']).toBe('t=1,v1=a,t=2,v1=b');
  });

  it('keeps a path that starts with // a path (not a host), and answers an unparseable target with 400', async () => {
    const http = await import('node:http');
    const post = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: adapter.port, path, method: 'POST' }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end('{}');
      });
    behaviour = 'echo';
    expect((await post('//stripe/webhook')).status).toBe(202);
    expect(last!.rawPath).toBe('//stripe/webhook');
    expect(await post('http://127.0.0.1/stripe/webhook?x=1')).toMatchObject({ status: 202 });
    expect(last).toMatchObject({ rawPath: '/stripe/webhook', rawQueryString: 'x=1' });
    expect(await post('http://[/stripe/webhook')).toEqual({ status: 400, body: '{"message":"Bad Request"}' });
  });

  it('answers 500 when the handler throws, and keeps serving', async () => {
    behaviour = 'throw';
    const res = await fetch(`${adapter.url}/stripe/webhook`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
    behaviour = 'echo';
    expect((await fetch(`${adapter.url}/health`)).status).toBe(202);
  });
});
