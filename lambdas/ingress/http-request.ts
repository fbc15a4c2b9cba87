/**
 * The HTTP side of the ingress: one request shape for both API Gateway flavours (HTTP API payload 2.0, REST API
 * payload 1.0), the JSON answers and the 4xx refusal, so core.ts holds only what the ingress decides.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * What the ingress answers an HTTP request with: a valid result for payload format 2.0 (HTTP API,
 * `APIGatewayProxyStructuredResultV2`) and 1.0 (REST API, `APIGatewayProxyResult`) alike.
 */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * An HTTP request, whichever API Gateway flavour delivered it: the routing, size, IP and signature checks run on
 * this, so the HTTP API and the REST API variants behave identically.
 */
export interface HttpRequest {
  readonly method: string;
  /** The route path, without a stage prefix. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | null | undefined;
  readonly isBase64Encoded: boolean;
  /** The TCP peer API Gateway saw (not a client-supplied header). */
  readonly sourceIp: string | undefined;
  /** API Gateway's request id (`requestId` in the access logs). */
  readonly requestId: string | undefined;
}

/** A request refused with a 4xx: `error` is a stable, low-cardinality code, `message` a sentence for humans. */
export class Rejection extends Error {
  override name = 'Rejection';
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * A request header, looked up case-insensitively. API Gateway v2 lower-cases names and joins repeated headers with
 * a comma; other callers (the local runtime, tests) may not, so differently-cased copies are joined the same way.
 */
export function header(headers: HttpRequest['headers'] | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && key.toLowerCase() === name) values.push(value);
  }
  return values.length === 0 ? undefined : values.join(',');
}

/** Bytes the body will have once decoded, computed without decoding it. */
export function decodedLength(body: string, isBase64: boolean): number {
  if (!isBase64) return Buffer.byteLength(body); // a string's UTF-8 bytes (the default encoding)
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  return Math.floor((body.length * 3) / 4) - padding;
}

/** The request path without the stage prefix API Gateway adds for a named (non-`$default`) stage. */
export function routePath(event: APIGatewayProxyEventV2): string {
  const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
  const stage = event.requestContext?.stage;
  if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) return path.slice(stage.length + 1);
  return path;
}

export function fromHttpApi(event: APIGatewayProxyEventV2): HttpRequest {
  return {
    method: (event.requestContext?.http?.method ?? '').toUpperCase(),
    path: routePath(event),
    headers: event.headers ?? {},
    body: event.body,
    isBase64Encoded: event.isBase64Encoded === true,
    sourceIp: event.requestContext?.http?.sourceIp,
    requestId: event.requestContext?.requestId,
  };
}

/**
 * A REST API (payload 1.0) request. `resource` is the matched resource (`/stripe/webhook`), free of any stage or
 * custom-domain base path; a repeated header is joined with commas from `multiValueHeaders`, as the HTTP API does.
 */
export function fromRestApi(event: APIGatewayProxyEvent): HttpRequest {
  const headers: Record<string, string | undefined> = { ...event.headers };
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values && values.length > 0) headers[name] = values.join(',');
  }
  return {
    method: (event.httpMethod ?? '').toUpperCase(),
    path: event.resource || event.path || '/',
    headers,
    body: event.body,
    isBase64Encoded: event.isBase64Encoded === true,
    sourceIp: event.requestContext?.identity?.sourceIp,
    requestId: event.requestContext?.requestId,
  };
}

export function isJsonMediaType(contentType: string): boolean {
  // Stryker disable next-line OptionalChaining: equivalent, split always returns at least one element
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}
