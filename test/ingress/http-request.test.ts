/**
 * The request both API Gateway flavours are read into (path, method, headers, body size, source IP, request id),
 * including the partial events a misconfigured integration or a hand-made test event can hand the Lambda.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  decodedLength,
  fromHttpApi,
  fromRestApi,
  header,
  isJsonMediaType,
  isRecord,
  json,
  Rejection,
  routePath,
} from '../../lambdas/ingress/http-request';
import { httpEvent, restEvent } from './helpers';

/** An HTTP API event as a partial integration might send it (no requestContext, or parts of it). */
function partialHttp(event: Record<string, unknown>): APIGatewayProxyEventV2 {
  return event as unknown as APIGatewayProxyEventV2;
}

function partialRest(event: Record<string, unknown>): APIGatewayProxyEvent {
  return event as unknown as APIGatewayProxyEvent;
}

describe('Rejection and json', () => {
  it('names a refusal Rejection and keeps its status, code, message and headers', () => {
    const r = new Rejection(405, 'method_not_allowed', 'POST only.', { allow: 'POST' });
    expect([r.name, r.status, r.error, r.message, r.headers]).toEqual([
      'Rejection',
      405,
      'method_not_allowed',
      'POST only.',
      { allow: 'POST' },
    ]);
    expect(new Rejection(404, 'not_found', 'No.').headers).toEqual({});
  });

  it('answers JSON that no cache keeps, with extra headers added', () => {
    expect(json(200, { ok: true }, { allow: 'GET' })).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', allow: 'GET' },
      body: '{"ok":true}',
    });
  });

  it.each([
    [{}, true],
    [null, false],
    [[], false],
    ['{}', false],
    [undefined, false],
  ])('isRecord(%j) is %s', (value, expected) => {
    expect(isRecord(value)).toBe(expected);
  });
});

describe('header', () => {
  it('finds a header whatever its case, and joins differently-cased copies with a comma', () => {
    const headers = { 'Content-Type': 'application/json', 'Stripe-Signature': 't=1', 'stripe-signature': 'v1=a' };
    expect(header(headers, 'stripe-signature')).toBe('t=1,v1=a');
    expect(header(headers, 'content-type')).toBe('application/json');
    expect(header(headers, 'accept')).toBeUndefined();
  });

  it('skips a header whose value is undefined, and answers undefined when there are no headers', () => {
    expect(header({ 'Content-Type': undefined, 'content-type': 'application/json' }, 'content-type')).toBe(
      'application/json',
    );
    expect(header({ 'content-type': undefined }, 'content-type')).toBeUndefined();
    expect(header(undefined, 'content-type')).toBeUndefined();
  });
});

describe('decodedLength', () => {
  it.each(['', 'h', 'hi', 'hey', 'hello', 'héllo wörld'])('counts the bytes of %j as base64 decoding would', (text) => {
    const encoded = Buffer.from(text, 'utf8').toString('base64');
    expect(decodedLength(encoded, true)).toBe(Buffer.from(encoded, 'base64').length);
  });

  it('counts UTF-8 bytes, not characters, of a body that is not base64', () => {
    expect(decodedLength('héllo', false)).toBe(6);
    expect(decodedLength('aGk=', false)).toBe(4);
  });
});

describe('isJsonMediaType', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON; charset=utf-8', true],
    [' application/json ;x=1', true],
    ['application/jsonp', false],
    ['text/plain', false],
    ['', false],
  ])('%j is JSON: %s', (value, expected) => {
    expect(isJsonMediaType(value)).toBe(expected);
  });
});

describe('routePath (HTTP API)', () => {
  it('drops a named stage prefix, and only a whole path segment of it', () => {
    expect(routePath(httpEvent({ path: '/prod/stripe/webhook', stage: 'prod' }))).toBe('/stripe/webhook');
    expect(routePath(httpEvent({ path: '/production/health', stage: 'prod' }))).toBe('/production/health');
    expect(routePath(httpEvent({ path: '/stripe/webhook', stage: 'prod' }))).toBe('/stripe/webhook');
    expect(routePath(httpEvent({ path: '/health', stage: 'h' }))).toBe('/health');
  });

  it('keeps the path of the $default stage, even one that starts with /$default/', () => {
    expect(routePath(httpEvent({ path: '/$default/health', stage: '$default' }))).toBe('/$default/health');
  });

  it('falls back to requestContext.http.path, then to /', () => {
    const event = httpEvent({ path: '/health' });
    expect(routePath(partialHttp({ ...event, rawPath: undefined }))).toBe('/health');
    expect(routePath(partialHttp({ requestContext: { stage: 'prod' } }))).toBe('/');
    expect(routePath(partialHttp({}))).toBe('/');
  });
});

describe('fromHttpApi', () => {
  it('reads method, path, headers, body, source IP and request id from a payload 2.0 event', () => {
    const event = httpEvent({ method: 'post', body: 'e30=', isBase64Encoded: true, headers: { a: '1' } });
    expect(fromHttpApi(event)).toEqual({
      method: 'POST',
      path: '/stripe/webhook',
      headers: { a: '1' },
      body: 'e30=',
      isBase64Encoded: true,
      sourceIp: '3.18.12.63',
      requestId: 'req-1',
    });
  });

  it('reads an event without requestContext as a request with no method, source IP or request id', () => {
    expect(fromHttpApi(partialHttp({ rawPath: '/health' }))).toEqual({
      method: '',
      path: '/health',
      headers: {},
      body: undefined,
      isBase64Encoded: false,
      sourceIp: undefined,
      requestId: undefined,
    });
    expect(fromHttpApi(partialHttp({ rawPath: '/health', requestContext: {} })).method).toBe('');
  });
});

describe('fromRestApi', () => {
  it('keeps headers that have no multi-value copy, and a single value over an empty list', () => {
    const event = restEvent({ headers: { 'Content-Type': 'application/json', 'X-One': 'a' } });
    const req = fromRestApi({ ...event, multiValueHeaders: { 'X-One': [], 'X-Two': ['b', 'c'] } });
    expect(req.headers).toEqual({ 'Content-Type': 'application/json', 'X-One': 'a', 'X-Two': 'b,c' });
  });

  it('routes by resource, then by path, then /', () => {
    expect(fromRestApi(partialRest({ resource: '', path: '/health' })).path).toBe('/health');
    expect(fromRestApi(partialRest({ resource: '/stripe/webhook', path: '/webhooks/stripe/webhook' })).path).toBe(
      '/stripe/webhook',
    );
    expect(fromRestApi(partialRest({})).path).toBe('/');
  });

  it('reads an event without requestContext as a request with no method, source IP or request id', () => {
    expect(fromRestApi(partialRest({ resource: '/health', body: null }))).toEqual({
      method: '',
      path: '/health',
      headers: {},
      body: null,
      isBase64Encoded: false,
      sourceIp: undefined,
      requestId: undefined,
    });
    expect(fromRestApi(partialRest({ requestContext: {} })).sourceIp).toBeUndefined();
  });

  it('reads the peer address and request id API Gateway gives', () => {
    const req = fromRestApi(restEvent({ method: 'get', sourceIp: '10.0.0.1', body: 'e30=', isBase64Encoded: true }));
    expect([req.method, req.sourceIp, req.requestId, req.body, req.isBase64Encoded]).toEqual([
      'GET',
      '10.0.0.1',
      'rest-req-1',
      'e30=',
      true,
    ]);
  });
});
